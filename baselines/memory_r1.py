"""``memory-r1``: a deterministic heuristic memory manager for the fact bank of ``MemoryR1-v0``.

It plays the role of Memory-R1's trained memory manager — one operation list per chunk — with plain
text heuristics, so the leaderboard has an offline, repeatable fact-bank baseline. Nothing in it
knows the synthetic generators' templates; the sentence tests are the ones the ``mem-alpha`` and
``mem1`` heuristics use (:mod:`baselines.mem_alpha`, :mod:`baselines.mem1`).

Per chunk it:

1. **Extracts candidate facts**: the sentences of the chunk (:func:`baselines.mem1.split_units`;
   a labelled-example line stays whole) that state a fact (:func:`baselines.mem_alpha.is_fact`:
   dense in names and numbers, or a name/number tied to a state verb, or a specific first-person
   statement) or carry a labelled example (``Input: ... Label: 3``).
2. **Compares each with the similar facts it is shown** — the JSON list in the observation (the bank
   entries most similar to the chunk) plus the facts it is adding in the same reply:

   - the same words as an entry (case and punctuation aside) -> ``NONE`` on that entry;
   - the same statement with one short span changed (:func:`baselines.mem_alpha.is_update_of`)
     -> ``UPDATE`` that entry with the new text (a fact added earlier in the same reply is rewritten
     in place instead — the later statement wins);
   - otherwise -> ``ADD``.
3. **Replies** ``{"memory": [...]}`` as JSON (``""`` when there is nothing to do).

``add_only=True`` gives the comparison variant: the same extraction, exact repeats skipped, every
other fact ADDed — changed facts pile up next to their outdated versions.

Known limits (honest ones): the manager only sees the ``similar_k`` entries most similar to the
whole chunk, so an outdated fact that does not make that list is added to, not updated; it never
DELETEs (a contradiction it can detect is always a changed value, which UPDATE handles); and the
update rule cannot tell a changed value from a different subject with the same value when the
subject is the differing span.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from baselines.facts import (
    UpdateIndex,
    diff_key,
    has_labelled_example,
    is_fact,
    is_update_of,
    split_units,
    states_something,
)
from memenv.parsing import dump_json


def shown_entries(view: str) -> list[tuple[str, str]]:
    """``(id, text)`` of the entries listed in a ``MemoryR1-v0`` memory view (the JSON line)."""
    for line in view.splitlines():
        line = line.strip()
        if not line.startswith("["):
            continue
        try:
            items = json.loads(line)
        except ValueError:
            return []
        return [
            (str(item["id"]), item["text"])
            for item in items
            if isinstance(item, dict) and isinstance(item.get("text"), str) and item.get("id") is not None
        ]
    return []


def is_candidate_fact(unit: str) -> bool:
    """Whether a unit is worth a bank entry: a labelled example, or a fact statement
    (:func:`~baselines.mem_alpha.is_fact`) that states something — a state/definition verb, a number,
    a time or a first-person statement — rather than only naming people and places."""
    if has_labelled_example(unit):
        return True
    # The word-level test first: it is cheaper than is_fact's name analysis and rejects most units.
    return states_something(unit) and is_fact(unit)


@dataclass
class _Known:
    id: str | None  # None: added in this reply (the bank assigns its id)
    text: str
    words: tuple[str, ...]
    op: dict[str, Any] | None = None  # the operation of this reply that concerns it, if any


@dataclass
class MemoryR1Manager:
    """The ``memory-r1`` heuristic manager: ``policy(obs, info) -> operation list (JSON)`` for ``MemoryR1-v0``.

    Stateless: it reads the bank entries it is shown from the observation, so one instance can play
    any number of episodes, interleaved or not.

    Args:
        add_only: never UPDATE (changed facts are ADDed next to their old versions) — the ablation.
    """

    add_only: bool = False
    name: str = "memory-r1"

    def __call__(self, obs: dict[str, str], info: dict[str, Any] | None = None) -> str:
        chunk = obs.get("chunk", "")
        if not chunk:
            return ""
        known = [_Known(i, text, diff_key(text)) for i, text in shown_entries(obs.get("memory", ""))]
        # Positions in `known` by the words they may be updated or repeated by; it misses none.
        index = UpdateIndex()
        for position, entry in enumerate(known):
            index.add(position, entry.words)
        ops: list[dict[str, Any]] = []
        for unit in split_units(chunk):
            if not is_candidate_fact(unit):
                continue
            words = diff_key(unit)
            # In list order, as a scan of all of `known` would meet them (the index files no statement
            # without words, and a candidate fact has words: a label is a number, a fact 3+ words).
            near = sorted(index.candidates(words)) if words else range(len(known))
            repeat = next((known[i] for i in near if known[i].words == words), None)
            if repeat is not None:
                if repeat.id is not None and repeat.op is None and not self.add_only:
                    repeat.op = {"id": repeat.id, "text": repeat.text, "event": "NONE"}
                    ops.append(repeat.op)
                continue
            position = None if self.add_only else next((i for i in near if is_update_of(known[i].words, words)), None)
            if position is None:
                op = {"id": "", "text": unit, "event": "ADD"}
                ops.append(op)
                known.append(_Known(None, unit, words, op))
                index.add(len(known) - 1, words)
                continue
            changed = known[position]
            if changed.op is not None and changed.op["event"] in ("ADD", "UPDATE"):
                changed.op["text"] = unit  # this reply already writes it: the later statement wins
            else:
                if changed.op is not None:  # a NONE on this entry, superseded by the update
                    ops.remove(changed.op)
                changed.op = {"id": changed.id, "text": unit, "event": "UPDATE", "old_memory": changed.text}
                ops.append(changed.op)
            index.discard(position, changed.words)
            changed.text, changed.words = unit, words
            index.add(position, words)
        # dump_json escapes "<" and "✿", so chunk text in a fact can never pass for a call marker.
        return dump_json({"memory": ops}) if ops else ""


memory_r1_heuristic = MemoryR1Manager()
"""The default ``memory-r1`` heuristic manager (ADD / UPDATE / NONE)."""

memory_r1_add_only = MemoryR1Manager(add_only=True, name="memory-r1-add-only")
"""The ablation that only ADDs (same extraction), for the conflict-resolution comparison."""
