"""Suite v1, ``conflict_resolution``: facts that change, where "the last statement wins" is not enough.

The stream is a dated log (a session header every few sentences). Each asked slot (a person's home or
employer, an object's access code or keeper) takes two or three values over time; five phenomena, one
``Question.category`` each, in shuffled rounds:

* ``out_of_order`` — the oldest value is told last, in an older dated passage ("[From an old letter,
  dated 3 March 2021]" then "Mira Okafor lives in Calder Heights."): a writer that lets the latest
  statement win keeps a stale value. Asks the current value.
* ``indirect_update`` — the latest change does not restate the fact: "Mira Okafor has moved again, this
  time to Port Senna." Asks the current value.
* ``look_alike`` — a similar entity (same last name; an object of the same material) later takes the
  asked entity's current value and then changes it: "Nadia Okafor lives in Port Senna." ... "Nadia
  Okafor lives in Wyck Hollow." A writer that keys facts by their wording conflates the two. Asks the
  current value of the original entity.
* ``retraction`` — the latest value is withdrawn ("The report that Mira Okafor lives in Port Senna was
  a mistake and has been withdrawn."), so the one before it holds again. Asks the current value.
* ``history`` — "Where did Mira Okafor live before Port Senna?": the value before a given one, in time
  order, in a slot of three or four values.

Slots nobody asks about change too, and v0-style facts that never change fill the log around them.
"""

from __future__ import annotations

import datetime as dt
import itertools
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from memenv.tasks.records import Question
from memenv.tasks.synthetic.stream import _distractor_facts, _sentence, _world_filler
from memenv.tasks.synthetic.v1.common import PlanV1, PoolsV1, Slot, categories, day

CATEGORIES = ("out_of_order", "indirect_update", "look_alike", "retraction", "history")
STATIC_DISTRACTORS_PER_1K = 6
CHANGING_DISTRACTORS_PER_1K = 0.5
PREAMBLE = (
    "This record is a dated log of facts that change over time. When statements disagree, the one about "
    "the later date is the current truth; an old letter tells of an earlier time, and a withdrawn report "
    "no longer holds."
)


@dataclass(frozen=True)
class _Changing:
    subject: str  # pool kind of the subject
    value: str  # pool kind of the value
    fact: str  # the direct statement, {s} and {v}
    indirect: str  # a change that does not restate the fact
    current: str  # question: the value now
    before: str  # question: the value before {v}
    current_note: str  # the oracle's note of the current value
    history_note: str  # the oracle's note "before {b} it was {a}"


ATTRIBUTES = {
    "residence": _Changing(
        "person",
        "place",
        "{s} lives in {v}.",
        "{s} has moved again, this time to {v}.",
        "Where does {s} live now?",
        "Where did {s} live before {v}?",
        "{s} lives in {v} now.",
        "Before {b}, {s} used to live in {a}.",
    ),
    "workplace": _Changing(
        "person",
        "org",
        "{s} works for the {v}.",
        "{s} has changed jobs again, this time joining the {v}.",
        "Which organisation does {s} work for now?",
        "Which organisation did {s} work for before the {v}?",
        "{s} works for the {v} now.",
        "Before the {b}, {s} used to work for the {a}.",
    ),
    "access_code": _Changing(
        "object",
        "code",
        "The access code of the {s} is {v}.",
        "The lock of the {s} was reset once more, and the new combination is {v}.",
        "What is the access code of the {s} now?",
        "What was the access code of the {s} before {v}?",
        "The access code of the {s} is {v} now.",
        "Before {b}, the access code of the {s} was {a}.",
    ),
    "keeper": _Changing(
        "object",
        "person",
        "{v} is the keeper of the {s}.",
        "Guard duty at the {s} has passed again, this time to {v}.",
        "Who is the keeper of the {s} now?",
        "Who was the keeper of the {s} before {v}?",
        "{v} is the keeper of the {s} now.",
        "Before {b}, the keeper of the {s} was {a}.",
    ),
}


def _retraction(fact: str) -> str:
    clause = fact.rstrip(".")
    if clause.startswith("The "):
        clause = "t" + clause[1:]
    return f"The report that {clause} was a mistake and has been withdrawn."


def _look_alike(entity: str, kind: str) -> Callable[[str], bool]:
    """A predicate for a different entity that shares the last word (people) or the first (objects)."""
    if kind == "person":
        last = entity.split()[-1]
        return lambda other: other != entity and other.split()[-1] == last
    first = entity.split()[0]
    return lambda other: other != entity and other.split()[0] == first


def _slot(key: str, attribute: _Changing, subject: str, events: dict[str, tuple[str, str, int | None]]) -> Slot:
    """The oracle's slot for one entity: its current value and one history note per change.

    ``events``: statement -> (``"set"`` or ``"retract"``, value, flashback date ordinal or None). Present
    statements are ordered by when they are read; a flashback's value is older than every present one.
    """

    def render(seen: Sequence[str]) -> dict[str, str]:
        timeline: list[tuple[tuple[int, int], str]] = []
        retracted: set[str] = set()
        for i, statement in enumerate(seen):
            op, value, flashback = events[statement]
            if op == "retract":
                retracted.add(value)
            else:
                timeline.append(((0, flashback) if flashback is not None else (1, i), value))
        values = [value for _, value in sorted(timeline) if value not in retracted]
        if not values:
            return {}
        notes = {"now": attribute.current_note.format(s=subject, v=values[-1])}
        for a, b in itertools.pairwise(values):
            notes[f"before {b}"] = attribute.history_note.format(s=subject, a=a, b=b)
        return notes

    return Slot(key, tuple(events), render)


def build(world: random.Random, stream: random.Random, context_tokens: int, n: int) -> PlanV1:
    pools = PoolsV1(world)
    start = dt.date(2023, 1, 2) + dt.timedelta(days=world.randrange(700))
    names = sorted(ATTRIBUTES)
    questions: list[Question] = []
    placed: list[tuple[float, str]] = []
    slots: list[Slot] = []
    flashbacks: list[tuple[str, dt.date]] = []
    for q_index, category in enumerate(categories(world, CATEGORIES, n)):
        name = world.choice(names)
        attribute = ATTRIBUTES[name]
        subject = pools.take(attribute.subject)
        # Values of one slot share no word ("Wildrose Bank" never follows "Lantern Bank"), so a question that
        # names one value ("... before the Lantern Bank?") does not share words with its answer.
        values: list[str] = []
        for _ in range(world.randint(3, 4) if category == "history" else world.randint(2, 3)):
            used = {word for value in values for word in value.split()}
            values.append(pools.take_where(attribute.value, lambda v, used=used: not set(v.split()) & used))
        facts = [_sentence(attribute.fact.format(s=subject, v=v)) for v in values]
        events: dict[str, tuple[str, str, int | None]] = {
            f: ("set", v, None) for f, v in zip(facts, values, strict=True)
        }
        metadata: dict[str, object] = {"entity": subject, "attribute": name, "values": tuple(values)}
        positions = sorted(stream.uniform(0.0, 0.75) for _ in values)
        answer = values[-1]
        question = attribute.current.format(s=subject)
        if category == "out_of_order":
            # Told in time order, except the oldest value, recounted last under an older date.
            told = facts[1:]
            when = start - dt.timedelta(days=world.randint(200, 900))
            placed += list(zip(positions[: len(told)], told, strict=True))
            placed.append((stream.uniform(max(positions[len(told) - 1], 0.75), 1.0), facts[0]))
            flashbacks.append((facts[0], when))
            events[facts[0]] = ("set", values[0], when.toordinal())
            evidence = (facts[-1], facts[0])
            metadata["recounted"] = day(when)
        elif category == "indirect_update":
            facts[-1] = _sentence(attribute.indirect.format(s=subject, v=values[-1]))
            events = {f: ("set", v, None) for f, v in zip(facts, values, strict=True)}
            placed += list(zip(positions, facts, strict=True))
            evidence = (facts[-1],)
        elif category == "look_alike":
            other = pools.take_where(attribute.subject, _look_alike(subject, attribute.subject))
            then = pools.take(attribute.value)
            placed += list(zip(positions, facts, strict=True))
            later = sorted(stream.uniform(positions[-1], 1.0) for _ in range(2))
            placed += [
                (later[0], _sentence(attribute.fact.format(s=other, v=values[-1]))),
                (later[1], _sentence(attribute.fact.format(s=other, v=then))),
            ]
            evidence = (facts[-1],)
            metadata["look_alike"] = other
        elif category == "retraction":
            withdrawn = _retraction(facts[-1])
            placed += list(zip(positions, facts, strict=True))
            placed.append((stream.uniform(positions[-1], 1.0), withdrawn))
            events[withdrawn] = ("retract", values[-1], None)
            answer = values[-2]
            evidence = (facts[-2], withdrawn)
            metadata["withdrawn"] = values[-1]
        else:  # history
            placed += list(zip(positions, facts, strict=True))
            j = world.randint(1, len(values) - 1)
            answer = values[j - 1]
            question = attribute.before.format(s=subject, v=values[j])
            evidence = (facts[j - 1], facts[j])
        slots.append(_slot(f"q{q_index}", attribute, subject, events))
        questions.append(
            Question(
                question=question,
                answers=(answer,),
                metric="subem",
                category=category,
                metadata={**metadata, "evidence": evidence},
                evidence=evidence,
            )
        )

    # Slots nobody asks about change as well; facts that never change fill the log around them.
    changing = round(CHANGING_DISTRACTORS_PER_1K * context_tokens / 1000)
    for _ in range(changing):
        attribute = ATTRIBUTES[stream.choice(names)]
        subject = stream.choice(pools.rest(attribute.subject))
        positions = sorted(stream.random() for _ in range(2))
        for at in positions:
            value = stream.choice(pools.rest(attribute.value))
            placed.append((at, _sentence(attribute.fact.format(s=subject, v=value))))
    count = round(STATIC_DISTRACTORS_PER_1K * context_tokens / 1000)
    placed += _distractor_facts(stream, pools, ATTRIBUTES, count)  # every fact opens with a capital already
    return PlanV1(
        questions=questions,
        header=[PREAMBLE],
        placed=placed,
        filler=_world_filler(pools.rest("person"), pools.rest("place")),
        separator="\n",
        metadata={"distractor_facts": count, "changing_distractors": changing},
        sessions=True,
        start=start,
        flashbacks=flashbacks,
        slots=slots,
    )
