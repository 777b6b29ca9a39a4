"""What every suite-v1 builder shares: the plan it returns, dated sessions, and the oracle's ground truth.

* :class:`PlanV1` — a :class:`~memenv.tasks.synthetic.stream._Plan` plus what v1 adds: statements that
  need a dated session header, flashbacks (an older, dated state recounted later), a last pass over the
  woven pieces, and the :class:`Slot` list the oracle writer works from.
* :func:`add_sessions` — cuts the stream into dated sessions: a header line such as
  ``[Notes written on 8 May 2023]`` every few sentences, with the dates the plan requires where it
  requires them, and a flashback header (``[From an old letter, dated 3 March 2021]``) before each
  recounted state.
* :class:`Slot` (:func:`note_slot` for a one-note slot) and :func:`oracle_notes` — the generator's
  ground truth for the oracle: for every piece of memory a perfect writer would keep (a resolved fact,
  the current value of a slot, one relabelled example), the stream statements that reveal it and how it
  reads once they have been read.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from memenv.tasks.records import Question
from memenv.tasks.synthetic.stream import _Plan, _Pools

MONTHS = (
    "January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
    "November", "December",
)  # fmt: skip
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")

SESSION_EVERY = (14, 30)
"""Sentences between two regular session headers (drawn per session)."""
HEADER_SHARE = 0.03
"""Share of the filler budget left for session headers, so the stream stays near ``context_tokens``."""


def day(date: dt.date) -> str:
    """``8 May 2023``."""
    return f"{date.day} {MONTHS[date.month - 1]} {date.year}"


def session_header(date: dt.date) -> str:
    """A regular session header line."""
    return f"[Notes written on {day(date)}]"


def flashback_header(date: dt.date) -> str:
    """The header of a recounted, older state."""
    return f"[From an old letter, dated {day(date)}]"


def categories(world: random.Random, names: Sequence[str], n: int) -> list[str]:
    """``n`` question categories: shuffled rounds of ``names``, so every category appears once per round."""
    out: list[str] = []
    while len(out) < n:
        block = list(names)
        world.shuffle(block)
        out += block
    return out[:n]


class PoolsV1(_Pools):
    """:class:`_Pools` that can also reserve an entity with a property (same kind, same last name, ...)."""

    def take_where(self, kind: str, keep: Callable[[str], bool]) -> str:
        """Reserve the first free entity of ``kind`` for which ``keep`` holds."""
        pool = self.free[kind]
        start = self._taken[kind]
        for j in range(start, len(pool)):
            if keep(pool[j]):
                pool[start], pool[j] = pool[j], pool[start]
                return self.take(kind)
        raise ValueError(f"num_questions is too large: no free {kind} left with the property asked for")


@dataclass
class Slot:
    """One thing a perfect memory keeps, as the oracle writer learns it.

    Attributes:
        key: the memory slot (``"core"`` is the core memory; anything else a semantic entry).
        statements: the stream statements (whole lines) that reveal or change it.
        render: the seen statements (in stream order) -> ``{subkey: note}``; a slot may hold several
            entries (a current value and its history), each under its own subkey (``""`` for one).
    """

    key: str
    statements: tuple[str, ...]
    render: Callable[[Sequence[str]], dict[str, str]]


def note_slot(key: str, statements: Sequence[str], note: str) -> Slot:
    """A slot whose one entry is ``note``, written once every one of ``statements`` has been read."""
    need = len(statements)
    return Slot(key, tuple(statements), lambda seen: {"": note} if len(seen) == need else {})


def oracle_notes(slots: Sequence[Slot], pieces: Sequence[str]) -> tuple[dict[str, str], ...]:
    """Every change a perfect writer makes, in stream order: ``{"key", "text", "after"}``.

    ``after`` is the statement whose reading makes the change (the writer applies a note once that
    line has been read); ``text`` is the entry's new content, ``""`` to remove it. A note's key is the
    slot's key, or ``key/subkey`` for a slot that holds several entries.
    """
    index: dict[str, int] = {}
    for i, piece in enumerate(pieces):
        index.setdefault(piece, i)
    notes: list[tuple[int, int, dict[str, str]]] = []
    for slot in slots:
        missing = [s for s in slot.statements if s not in index]
        if missing:
            raise AssertionError(f"slot {slot.key!r}: statement not in the stream: {missing[0]!r}")
        ordered = sorted(slot.statements, key=index.__getitem__)
        before: dict[str, str] = {}
        for j, statement in enumerate(ordered):
            now = slot.render(ordered[: j + 1])
            for sub in [*now, *(s for s in before if s not in now)]:
                if now.get(sub, "") != before.get(sub, ""):
                    key = f"{slot.key}/{sub}" if sub else slot.key
                    notes.append(
                        (index[statement], len(notes), {"key": key, "text": now.get(sub, ""), "after": statement})
                    )
            before = now
    notes.sort(key=lambda item: (item[0], item[1]))
    return tuple(note for _, _, note in notes)


@dataclass
class PlanV1(_Plan):
    """A v1 builder's plan (see the module docstring).

    Attributes (beyond :class:`_Plan`'s):
        sessions: cut the stream into dated sessions (:func:`add_sessions`).
        start: the date of the first session.
        dated: ``(statement, date, (min, max) gap)``: the session holding the statement is dated
            ``date`` and its header sits between ``min`` and ``max`` sentences before it (fewer only
            when the previous dated statement is closer). Dates must not decrease along the stream.
        flashbacks: ``(statement, date)``: the statement is an older state, told under its own header.
        finish: a last pass over the woven pieces (before sessions), e.g. relabelling examples.
        slots: the oracle's ground truth (:func:`oracle_notes`).
        complete: for plans whose questions or slots depend on the final pieces (the examples of a
            class): the final pieces -> (questions with their evidence, more slots).
    """

    prose: bool = True  # pieces end with sentence punctuation (token counts differ for example lists)
    sessions: bool = False
    start: dt.date = dt.date(2023, 1, 2)
    dated: list[tuple[str, dt.date, tuple[int, int]]] = field(default_factory=list)
    flashbacks: list[tuple[str, dt.date]] = field(default_factory=list)
    finish: Callable[[list[str]], list[str]] | None = None
    slots: list[Slot] = field(default_factory=list)
    complete: Callable[[list[str]], tuple[list[Question], list[Slot]]] | None = None


def add_sessions(
    pieces: list[str],
    rng: random.Random,
    start: dt.date,
    dated: Sequence[tuple[str, dt.date, tuple[int, int]]] = (),
    flashbacks: Sequence[tuple[str, dt.date]] = (),
) -> list[str]:
    """``pieces`` cut into dated sessions (see :class:`PlanV1` for ``dated`` and ``flashbacks``).

    A regular header opens the stream and then comes every :data:`SESSION_EVERY` sentences; its date
    never decreases: between two required dates the sessions spread evenly over the days between them,
    after the last one they come 1-3 days apart. A flashback statement is wrapped in its
    own header and a header that returns to the current date.
    """
    index: dict[str, int] = {}
    for i, piece in enumerate(pieces):
        index.setdefault(piece, i)
    headers: dict[int, dt.date | None] = {}
    blocked: list[tuple[int, int]] = []  # (header, statement): no other header may open in between
    previous = -1
    for statement, date, (low, high) in sorted(dated, key=lambda item: index[item[0]]):
        i = index[statement]
        h = max(previous + 1, i - rng.randint(low, high), 0)
        headers[h] = date
        blocked.append((h, i))
        previous = i
    position = 0
    while position < len(pieces):
        if position not in headers and not any(h < position <= i for h, i in blocked):
            headers[position] = None
        position += rng.randint(*SESSION_EVERY)

    # Regular sessions between two required dates are spread evenly over the days between them (so a
    # header other than a statement's own usually carries another date); after the last, 1-3 days apart.
    anchors = [(0, start), *sorted((h, d) for h, d in headers.items() if d is not None)]
    dates: dict[int, dt.date] = {}
    last = start
    for h in sorted(headers):
        fixed = headers[h]
        if fixed is None:
            before = max((a for a in anchors if a[0] <= h), key=lambda a: a[0])
            after = next((a for a in anchors if a[0] > h), None)
            if after is None:
                fixed = last + dt.timedelta(days=rng.randint(1, 3))
            else:
                share = (h - before[0]) / (after[0] - before[0])
                fixed = before[1] + dt.timedelta(days=round(share * (after[1] - before[1]).days))
        last = max(last, fixed)
        dates[h] = last

    back = {index[statement]: date for statement, date in flashbacks}
    out: list[str] = []
    current = start
    for i, piece in enumerate(pieces):
        if i in dates:
            current = dates[i]
            out.append(session_header(current))
        if i in back:
            out += [flashback_header(back[i]), piece, session_header(current)]
        else:
            out.append(piece)
    return out
