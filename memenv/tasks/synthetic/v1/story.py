"""Suite v1, ``long_range_understanding``: a story whose order and causes the stream never spells out.

The story is v0's (3-4 main characters who recur throughout, 6-8 named events in order, echoes of each
event, everyday filler), with two more phenomena; one ``Question.category`` each, in shuffled rounds:

* ``order`` — "What happened right after the Saltmarsh flood?" / "... right before ...": the answer is
  the next (previous) event, which only the order of the events' introductions tells.
* ``causality`` — some events are said to follow from an earlier one, named by its circumstances
  only: "People said it was the rising water of the wet year that led to the Harrow treaty." ->
  "What led to the Harrow treaty?", gold "Saltmarsh flood" (the event whose introduction tells of the
  wet year).
* ``summary`` — v0's three questions (summary, events, characters), scored by keyword hit.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

from memenv.tasks.records import Question
from memenv.tasks.synthetic.stream import _sentence, _story_filler
from memenv.tasks.synthetic.v1.common import PlanV1, PoolsV1, Slot, categories, note_slot
from memenv.tasks.synthetic.vocabulary import (
    EVENT_DESCRIPTIONS,
    EVENT_ECHOES,
    EVENT_ROOTS,
    EVENTS,
    SUMMARY_QUESTIONS,
)

CATEGORIES = ("order", "causality", "summary")
CAUSES = (
    "People said it was {d} that led to the {e}.",
    "Without {d}, there would have been no {e}.",
    "The {e} came about because of {d}.",
)
ORDER_QUESTIONS = {
    "after": "What happened right after the {e}?",
    "before": "What happened right before the {e}?",
}
CAUSE_QUESTION = "What led to the {e}?"
CAST = "Among those who lived through these years was {c}."


def build(world: random.Random, stream: random.Random, context_tokens: int, n: int) -> PlanV1:
    pools = PoolsV1(world)
    characters: list[str] = []
    target = world.randint(3, 4)
    while len(characters) < target:
        person = pools.take("person")
        # Main characters differ in first and last name, so each keyword names exactly one of them.
        if all(not set(person.split()) & set(c.split()) for c in characters):
            characters.append(person)
    town = pools.take("place")
    kinds = world.sample(sorted(EVENTS), world.randint(6, 8))
    events = [f"{root} {kind}" for root, kind in zip(world.sample(EVENT_ROOTS, len(kinds)), kinds, strict=True)]
    span = 1.0 / len(events)
    placed: list[tuple[float, str]] = []
    intros: list[str] = []
    starts: list[float] = []
    for i, (event, kind) in enumerate(zip(events, kinds, strict=True)):
        a, b = world.sample(characters, 2)
        start = (i + stream.uniform(0.1, 0.4)) * span
        intros.append(_sentence(EVENTS[kind].format(e=f"the {event}", a=a, b=b)))
        starts.append(start)
        placed.append((start, intros[-1]))
        for j, template in enumerate(world.sample(EVENT_ECHOES, 2)):
            echo = template.format(e=f"the {event}", a=a, b=b, town=town)
            placed.append((start + (j + 2) * 0.2 * span, _sentence(echo)))
    # Every main character is named in some introduction (or in a line of the cast near the start).
    cast = [CAST.format(c=c) for c in characters if not any(c in intro for intro in intros)]
    placed += [(0.0, line) for line in cast]

    # Causes: an event follows from the one before it (or the one before that), named by description.
    causes: dict[int, tuple[int, str]] = {}
    for j in range(1, len(events)):
        if world.random() < 0.65 or (j == len(events) - 1 and len(causes) < 2):
            i = j - 1 if j == 1 or world.random() < 0.7 else j - 2
            text = world.choice(CAUSES).format(d=EVENT_DESCRIPTIONS[kinds[i]], e=events[j])
            causes[j] = (i, _sentence(text))
            placed.append((starts[j] + 0.1 * span, causes[j][1]))

    # Questions: shuffled rounds of the categories, each drawing from what is left of its kind.
    order_pool = [("after", i) for i in range(len(events) - 1)] + [("before", i) for i in range(1, len(events))]
    world.shuffle(order_pool)
    cause_pool = sorted(causes)
    world.shuffle(cause_pool)
    summary_pool = list(range(len(SUMMARY_QUESTIONS)))
    keywords = {"all": (*characters, *events), "events": tuple(events), "characters": tuple(characters)}
    questions: list[Question] = []
    for category in categories(world, CATEGORIES, n):
        pools_left = {"order": order_pool, "causality": cause_pool, "summary": summary_pool}
        if not pools_left[category]:
            category = next((c for c in CATEGORIES if pools_left[c]), "")
            if not category:
                break
        if category == "summary":
            text, part = SUMMARY_QUESTIONS[summary_pool.pop(0)]
            metadata = {"characters": tuple(characters), "events": tuple(events)}
            question = Question(
                text, keywords[part], "keyword_hit", category, evidence=tuple(intros), metadata=metadata
            )
        elif category == "order":
            direction, i = order_pool.pop()
            j = i + 1 if direction == "after" else i - 1
            evidence = (intros[min(i, j)], intros[max(i, j)])
            metadata = {"event": events[i], "direction": direction}
            text = ORDER_QUESTIONS[direction].format(e=events[i])
            question = Question(text, (events[j],), "subem", category, evidence=evidence, metadata=metadata)
        else:
            j = cause_pool.pop()
            i, cause = causes[j]
            metadata = {"event": events[j], "cause_sentence": cause}
            text = CAUSE_QUESTION.format(e=events[j])
            question = Question(text, (events[i],), "subem", category, evidence=(intros[i], cause), metadata=metadata)
        questions.append(question)

    # The oracle: a core with the cast and the events in order; a note per neighbouring pair and per cause.
    def core(seen: Sequence[str]) -> dict[str, str]:
        told = [events[intros.index(s)] for s in seen if s in intros]
        named = [c for c in characters if any(c in s for s in seen)]
        named.sort(key=lambda c: next(k for k, s in enumerate(seen) if c in s))
        lines = []
        if named:
            lines.append("Main characters: " + ", ".join(named) + ".")
        if told:
            lines.append("Events in order: " + ", ".join(f"the {e}" for e in told) + ".")
        return {"": "\n".join(lines)}

    slots = [Slot("core", (*cast, *intros), core)]
    for i in range(len(events) - 1):
        first, second = events[i], events[i + 1]
        pair = (intros[i], intros[i + 1])
        after = f"{_sentence(first)}: right after the {first} came the {second}."
        before = f"{_sentence(second)}: right before the {second} came the {first}."
        slots += [note_slot(f"after {i}", pair, after), note_slot(f"before {i + 1}", pair, before)]
    for j, (i, text) in causes.items():
        note = f"{_sentence(events[j])}: it was the {events[i]} that led to the {events[j]}."
        slots.append(note_slot(f"cause {j}", (intros[i], text), note))

    return PlanV1(
        questions=questions,
        placed=placed,
        filler=_story_filler(characters, pools.rest("person"), town),
        separator="\n",
        metadata={
            "characters": tuple(characters),
            "events": tuple(events),
            "town": town,
            "causes": {events[j]: events[i] for j, (i, _) in sorted(causes.items())},
        },
        slots=slots,
    )
