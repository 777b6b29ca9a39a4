"""``oracle``: a ceiling, not a competitor — the writer that knows what the questions will need.

A synthetic suite is only worth something if a well-organised memory can solve it with the same reader
every system gets. The oracle shows that for suite v1: it writes, with Mem-α's tools in ``MemAlpha-v1``,
exactly the memory a perfect writer would build. It knows which stream statements the questions depend
on (the generator's ground truth, ``Episode.metadata["oracle_notes"]``, see
:func:`memenv.tasks.synthetic.v1.common.oracle_notes`) but never a question's text, and it writes each
fact in the best self-contained form the stream allows: pronouns and descriptions resolved to names,
relative dates made absolute, a fact split over two sentences joined, the current value of a changing
fact kept up to date (stale values become "before X, it was Y" history notes, withdrawn ones are
removed), an example relabelled when the stream announces it, and a core with the story's cast and its
events in order.

It reads like any writer: a note is written only once the statement that reveals it has been read (it
arrives in a chunk), and a note that changes is updated in place (``memory_update`` on the id the env
returned for the insert, read back from ``info["tool_results"]``). So its memory after the last chunk is
what the stream, read in order, justifies — nothing from later chunks leaks into earlier steps.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from memenv.parsing import render_tool_calls
from memenv.tasks.records import Episode

CORE = "core"
"""The note key that names the core memory; any other key is a semantic entry."""


def notes_of(episode: Episode) -> tuple[dict[str, str], ...]:
    """The oracle's ground truth of a v1 synthetic episode.

    Raises:
        ValueError: the episode has none (a v0 or real-data episode): the oracle only plays suite v1.
    """
    notes = episode.metadata.get("oracle_notes")
    if notes is None:
        raise ValueError(
            f"episode {episode.id!r} has no oracle notes: the oracle writer needs a suite-v1 synthetic episode "
            "(memenv.tasks.synthetic.generate(..., suite='v1'), or memenv leaderboard --suite v1)"
        )
    return tuple(notes)


def _call(name: str, **arguments: str) -> dict[str, Any]:
    return {"name": name, "arguments": arguments}


class OracleWriter:
    """``policy(obs, info) -> reply`` for ``MemAlpha-v1``: writes the ground-truth notes as they are revealed.

    Args:
        notes: the episode's ``metadata["oracle_notes"]`` (``{"key", "text", "after"}``, in stream order).

    One instance plays one episode (it starts over when ``info["step"] == 0``).
    """

    def __init__(self, notes: Sequence[dict[str, str]]) -> None:
        self.notes = list(notes)
        self.reset()

    def reset(self) -> None:
        self._next = 0
        self._read: set[str] = set()
        self._ids: dict[str, str] = {}  # note key -> memory id
        self._pending: dict[str, str] = {}  # content inserted by the last reply -> note key

    def __call__(self, obs: dict[str, str], info: dict[str, Any]) -> str:
        if info.get("step", 0) == 0:
            self.reset()
        self._learn_ids(info.get("tool_results") or [])
        chunk = obs.get("chunk", "")
        if not chunk:
            return ""
        self._read.update(line.strip() for line in chunk.splitlines())
        calls: list[dict[str, Any]] = []
        inserts: dict[str, dict[str, Any]] = {}  # note key -> its insert call in this reply
        while self._next < len(self.notes) and self.notes[self._next]["after"] in self._read:
            self._apply(self.notes[self._next], calls, inserts)
            self._next += 1
        self._pending = {call["arguments"]["content"]: key for key, call in inserts.items()}
        return render_tool_calls(calls) if calls else ""

    def _learn_ids(self, results: Iterable[dict[str, Any]]) -> None:
        for result in results:
            if result.get("name") == "new_memory_insert" and result.get("ok") and result.get("memory_id"):
                key = self._pending.get((result.get("arguments") or {}).get("content", ""))
                if key is not None:
                    self._ids[key] = result["memory_id"]
        self._pending = {}

    def _apply(self, note: dict[str, str], calls: list[dict[str, Any]], inserts: dict[str, dict[str, Any]]) -> None:
        key, text = note["key"], note["text"]
        if key == CORE:
            calls.append(_call("memory_update", memory_type="core_memory", new_content=text))
        elif key in inserts:  # inserted earlier in this same reply: rewrite (or drop) that insert
            if text:
                inserts[key]["arguments"]["content"] = text
            else:
                calls.remove(inserts.pop(key))
        elif key in self._ids:
            if text:
                calls.append(_call("memory_update", memory_type="semantic_memory", new_content=text,
                                   memory_id=self._ids[key]))  # fmt: skip
            else:
                calls.append(_call("memory_delete", memory_type="semantic_memory", memory_id=self._ids.pop(key)))
        elif text:
            call = _call("new_memory_insert", memory_type="semantic_memory", content=text)
            calls.append(call)
            inserts[key] = call
