"""``mem1``: a deterministic heuristic rewriter for the flat memory paragraph of ``MEM1-v0``.

It plays the role of a MEM1 / MemAgent model — one new paragraph per chunk, under a token budget —
with plain text heuristics, so the leaderboard has an offline, repeatable flat-memory baseline.
Nothing in it knows the synthetic generators' templates: it reads prose, dialogue transcripts and
labelled example lists the same way, with the sentence tests shared with the ``mem-alpha`` writer
(:mod:`baselines.mem_alpha`: :func:`~baselines.mem_alpha.salience`, :func:`~baselines.mem_alpha.is_fact`,
:func:`~baselines.mem_alpha.is_update_of`).

Per chunk it:

1. **Splits into units.** The paragraph and the chunk are split into lines, and lines into
   sentences (:func:`split_units`); a line that holds a labelled example (``Input: ... Label: 3``)
   stays one unit, so an example never loses its label. The paragraph keeps one unit per line, oldest
   first, so its order is its age.
2. **De-duplicates and updates.** Each new unit is compared with every kept unit (lowercased
   words): a restatement drops the older copy; a statement equal to a kept one except for one short
   span (:func:`~baselines.mem_alpha.is_update_of`: a changed value of the same fact) *replaces*
   it. Either way the new unit goes to the end, as the most recent.
3. **Scores.** A unit's salience is the shared score (density of names and numbers, bonuses for
   names, numbers and times) plus 1 if it states a fact (:func:`~baselines.mem_alpha.is_fact`) or
   carries a labelled example, plus 0.25 per name that no other unit mentions (rare names are the
   specific ones). It is weighted by recency: ``(1 - recency) + recency * rank / n`` for the unit at
   age rank ``rank`` of ``n`` (newest = ``n``).
4. **Rewrites.** The best units that fit the budget (greedy by score, counted with the one
   tokenizer), in their original order, one per line.

Known limits (honest ones): the update rule cannot tell a changed value from a different subject
with the same value when the subject is the differing span; recency weighting slowly pushes out old
facts that are never restated; there is no summarising — units are kept verbatim or dropped.
"""

from __future__ import annotations

import functools
import itertools
from collections import Counter
from dataclasses import dataclass
from typing import Any

from baselines.facts import (
    Probe,
    UpdateIndex,
    diff_key,
    has_labelled_example,
    is_fact,
    salience,
    split_units,
    update_overlap,
)
from memenv import tokenizer
from memenv.envs.mem1 import paragraph_reply


def merge_units(kept: list[str], new: list[str]) -> list[str]:
    """``kept`` then ``new`` in order, where a new unit drops an older restatement or an older value of
    the same fact (one short span changed) and goes to the end as the most recent.

    Whether a unit is dropped depends on that unit and each new unit after it, pair by pair, never on
    what was dropped before. So the new units (a chunk's worth) are indexed once in an
    :class:`~baselines.facts.UpdateIndex`, and every unit looks up the new units that may drop it: the
    index misses no restatement and no update (:func:`~baselines.facts.is_update_of`) in either
    direction, so the result is the one of comparing every pair.
    """
    arriving = [(unit, words) for unit in new if (words := diff_key(unit))]  # a unit without words is skipped
    index = UpdateIndex()  # is_update_of's defaults, as _PROBES
    for j, (_, words) in enumerate(arriving):
        index.add(j, words)

    def dropped(unit: str, position: int) -> bool:
        """Whether a new unit after ``position`` (in ``arriving``; -1: a kept unit) restates or updates it."""
        words, probe = _probe(unit)
        for j in index.candidates(words, probe) if words else ():  # without words: equals and updates nothing
            if j > position:
                later = arriving[j][1]
                if later == words or update_overlap(words, later) is not None:  # type: ignore[arg-type]
                    return True
        return False

    merged = [unit for unit in kept if not dropped(unit, -1)]
    merged += [unit for j, (unit, _) in enumerate(arriving) if not dropped(unit, j)]
    return merged


def unit_scores(units: list[str], recency: float) -> list[float]:
    """Recency-weighted salience of each unit (``units`` oldest first)."""
    signals = list(map(_unit_signals, units))
    mentions = Counter(itertools.chain.from_iterable(names for _, names, _ in signals))
    rare = {name for name, count in mentions.items() if count == 1}  # named by one unit only
    n = len(units)
    scores = []
    for rank, (salience_score, names, fact) in enumerate(signals, start=1):
        score = salience_score + 0.25 * len(names & rare)
        if fact:
            score += 1.0
        scores.append(score * ((1.0 - recency) + recency * rank / n))
    return scores


# A kept unit comes back in the paragraph at every step: its analysis is memoised.


@functools.lru_cache(maxsize=8192)
def _unit_signals(unit: str) -> tuple[float, frozenset[str], bool]:
    """Salience score, distinct names, and whether the unit states a fact or a labelled example."""
    info = salience(unit)
    return info.score, frozenset(info.entities), is_fact(unit) or has_labelled_example(unit)


_PROBES = UpdateIndex()  # merge_units' index parameters, for _probe


@functools.lru_cache(maxsize=8192)
def _probe(unit: str) -> tuple[tuple[str, ...], Probe]:
    """The unit's diff words and their :meth:`~baselines.facts.UpdateIndex.probe`: a kept unit is looked
    up at every step while it stays, so both are kept with it."""
    words = diff_key(unit)
    return words, _PROBES.probe(words)


def select_units(units: list[str], scores: list[float], budget_tokens: int) -> list[str]:
    """The best-scoring units whose joined text fits ``budget_tokens``, in their original order."""
    counts = list(map(_unit_tokens, units))
    chosen: list[int] = []
    used = 0
    # Best first; among equal scores the newer unit wins (a stable sort of the newest-first indices).
    for i in sorted(range(len(units) - 1, -1, -1), key=scores.__getitem__, reverse=True):
        cost = counts[i] + (1 if chosen else 0)  # the newline that joins it
        if used + cost <= budget_tokens:
            chosen.append(i)
            used += cost
    return [units[i] for i in sorted(chosen)]


@functools.lru_cache(maxsize=8192)
def _unit_tokens(unit: str) -> int:
    return tokenizer.count_tokens(unit)


@dataclass
class Mem1Rewriter:
    """The ``mem1`` heuristic: ``policy(obs, info) -> new paragraph`` for ``MEM1-v0``.

    Stateless: everything it needs is in the observation (the paragraph is the memory, its line
    order the age of its units), so one instance can play any number of episodes, interleaved or not.

    Args:
        budget_tokens: the env's ``memory_token_budget`` (default 1024).
        margin_tokens: room left below the budget, so the paragraph is never cut by the env.
        recency: weight of recency against salience, in [0, 1] (0 = salience only).
    """

    budget_tokens: int = 1024
    margin_tokens: int = 16
    recency: float = 0.5
    name: str = "mem1"

    def __post_init__(self) -> None:
        if self.budget_tokens - self.margin_tokens < 1:
            raise ValueError(f"budget_tokens must exceed margin_tokens, got {self.budget_tokens}, {self.margin_tokens}")
        if not 0.0 <= self.recency <= 1.0:
            raise ValueError(f"recency must be in [0, 1], got {self.recency}")

    def __call__(self, obs: dict[str, str], info: dict[str, Any] | None = None) -> str:
        chunk = obs.get("chunk", "")
        if not chunk:
            return ""
        units = merge_units(split_units(obs.get("memory", "")), split_units(chunk))
        if not units:
            return ""
        kept = select_units(units, unit_scores(units, self.recency), self.budget_tokens - self.margin_tokens)
        # Chunk text in the paragraph must stay data: text that would read as a call goes in an escaped one.
        return paragraph_reply("\n".join(kept))


mem1_heuristic = Mem1Rewriter()
"""The default ``mem1`` heuristic policy (budget 1024 tokens, as ``MEM1-v0``'s default)."""
