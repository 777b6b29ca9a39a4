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
import re
from collections import Counter
from dataclasses import dataclass
from typing import Any, NamedTuple

from baselines.facts import (
    Probe,
    UpdateIndex,
    has_labelled_example,
    read_statement,
    split_units,
    update_overlap,
)
from memenv import tokenizer
from memenv.envs.mem1 import paragraph_reply


def merge_units(kept: list[str], new: list[str]) -> list[str]:
    """``kept`` then ``new`` in order, where a new unit drops an older restatement or an older value of
    the same fact (one short span changed) and goes to the end as the most recent.

    Whether a unit is dropped depends on that unit and each new unit after it, pair by pair, never on
    what was dropped before. So the new units (a chunk's worth) go one by one into an
    :class:`~baselines.facts.UpdateIndex`, each first looking up the earlier new units it restates or
    updates, and then every kept unit looks up all of them: the index misses no restatement and no
    update (:func:`~baselines.facts.is_update_of`) looked up from either side, so the result is the one
    of comparing every pair.
    """
    arriving = [(unit, read) for unit in new if (read := read_unit(unit)).words]  # a unit without words is skipped
    index = UpdateIndex()  # is_update_of's defaults, as _PROBES
    dropped = [False] * len(arriving)
    for j, (_, read) in enumerate(arriving):
        words = read.words
        # Looked up before it is added, a unit never finds itself (every unit would, in both buckets).
        # Most units share no edge with the earlier ones: index.may_find tells in two lookups.
        for i in index.candidates(words, read.probe) if index.may_find(read.probe) else ():
            earlier = arriving[i][1].words
            if earlier == words or update_overlap(earlier, words) is not None:
                dropped[i] = True
        index.add(j, words)
    merged = []
    for unit in kept:
        read = read_unit(unit)
        if read.words and index.may_find(read.probe):
            words = read.words
            later = (arriving[j][1].words for j in index.candidates(words, read.probe))
            if any(w == words or update_overlap(words, w) is not None for w in later):
                continue
        merged.append(unit)
    merged += [unit for (unit, _), gone in zip(arriving, dropped, strict=True) if not gone]
    return merged


def unit_scores(units: list[str], recency: float) -> list[float]:
    """Recency-weighted salience of each unit (``units`` oldest first)."""
    reads = list(map(read_unit, units))
    mentions = Counter(itertools.chain.from_iterable(read.names for read in reads))
    rare = {name for name, count in mentions.items() if count == 1}  # named by one unit only
    n = len(units)
    scores = []
    for rank, read in enumerate(reads, start=1):
        score = read.score + 0.25 * len(read.names & rare)
        if read.fact:
            score += 1.0
        scores.append(score * ((1.0 - recency) + recency * rank / n))
    return scores


def select_units(units: list[str], scores: list[float], budget_tokens: int) -> list[str]:
    """The best-scoring units whose joined text fits ``budget_tokens``, in their original order."""
    chosen: list[int] = []
    used = 0
    # Best first; among equal scores the newer unit wins (a stable sort of the newest-first indices).
    for i in sorted(range(len(units) - 1, -1, -1), key=scores.__getitem__, reverse=True):
        joiner = 1 if chosen else 0  # the newline that joins it
        # Once the budget is nearly spent most units cannot fit even at their fewest tokens: those are
        # passed over without being counted (most of a chunk's units are never chosen).
        if used + joiner + read_unit(units[i]).min_tokens > budget_tokens:
            continue
        cost = _unit_tokens(units[i]) + joiner
        if used + cost <= budget_tokens:
            chosen.append(i)
            used += cost
    return [units[i] for i in sorted(chosen)]


@functools.lru_cache(maxsize=8192)
def _unit_tokens(unit: str) -> int:
    return tokenizer.count_tokens(unit)


def min_tokens(text: str) -> int:
    """A lower bound on ``tokenizer.count_tokens(text)``, without encoding it: the ASCII letters and digits
    that open the text or follow a space (U+0020).

    Why: o200k_base's pre-tokenizer cuts text into pieces, each of at least one token, and a piece holds
    a space only as its first character or among whitespace alone (see ``encoding()._pat_str``: words
    may take one leading character, punctuation one leading space; the rest are numbers and whitespace
    runs). So no piece holds two such letters or digits — the space before the second would be inside
    it — and each lies in a piece of its own. Cutting out long whitespace runs
    (:func:`memenv.tokenizer.encode`) only cuts pieces further.
    """
    return len(_OPENING_CHARACTERS.findall(text))


_OPENING_CHARACTERS = re.compile(r"(?:^| )[A-Za-z0-9]")


class UnitReading(NamedTuple):
    """All that the rewriter reads from one unit (see :func:`read_unit`)."""

    words: tuple[str, ...]  # its diff words (baselines.facts.diff_key), what merge_units compares
    probe: Probe  # their UpdateIndex.probe, with merge_units' index parameters
    score: float  # its salience score
    names: frozenset[str]  # its distinct names
    fact: bool  # whether it states a fact or holds a labelled example
    min_tokens: int  # a lower bound on its token count (min_tokens)


_PROBES = UpdateIndex()  # merge_units' index parameters, for read_unit


@functools.lru_cache(maxsize=8192)
def read_unit(unit: str) -> UnitReading:
    """What the rewriter reads from ``unit``, worked out once and memoised: a kept unit comes back in the
    paragraph at every step while it stays (a plain function of the text, so the cache cannot go stale).

    Equal to the separate readings (``tests/test_heuristic_speedups.py`` checks it): ``diff_key(unit)``,
    ``salience(unit)``'s score and entities, ``is_fact(unit) or has_labelled_example(unit)``, and
    ``min_tokens(unit)`` (the count itself is read only for units that may fit, see select_units)."""
    info, fact, words = read_statement(unit)  # salience, is_fact and diff_key from one pass
    return UnitReading(
        words=words,
        probe=_PROBES.probe(words),
        score=info.score,
        names=frozenset(info.entities),
        fact=fact or has_labelled_example(unit),
        min_tokens=min_tokens(unit),
    )


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
