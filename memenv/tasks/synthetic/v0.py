"""Suite ``v0``: the first four generators, kept byte-identical (results published under v0 stay reproducible).

See :mod:`memenv.tasks.synthetic` for what each competency holds. Nothing here may change what an
episode contains; ``tests/test_synthetic.py`` pins v0 episodes by hash.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from memenv.tasks.records import Question
from memenv.tasks.synthetic.stream import _distractor_facts, _Plan, _Pools, _sentence, _story_filler, _world_filler
from memenv.tasks.synthetic.vocabulary import (
    EVENT_ECHOES,
    EVENT_ROOTS,
    EVENTS,
    SAMPLE_TEMPLATES,
    SUBJECTS,
    SUMMARY_QUESTIONS,
    TOPICS,
)

MULTI_HOP_SHARE = 0.3
DISTRACTOR_FACTS_PER_1K = 4
CONFLICT_DISTRACTORS_PER_1K = 8


# --------------------------------------------------------------------------------------------------
# accurate_retrieval
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Attribute:
    subject: str  # pool kind of the subject
    value: str  # pool kind (or "code"/"year") of the value
    fact: str  # with {s} and {v}
    question: str  # with {s}


RETRIEVAL_ATTRIBUTES = {
    "access_code": _Attribute(
        "object", "code", "The access code of the {s} is {v}.", "What is the access code of the {s}?"
    ),
    "keeper": _Attribute("object", "person", "{v} guards the {s}.", "Who guards the {s}?"),
    "location": _Attribute("object", "place", "The {s} is located in {v}.", "In which town is the {s} located?"),
    "home_town": _Attribute("person", "place", "The home town of {s} is {v}.", "What is the home town of {s}?"),
    "employer": _Attribute("person", "org", "The employer of {s} is the {v}.", "Who is the employer of {s}?"),
    "birth_year": _Attribute("person", "year", "{s} was born in {v}.", "In which year was {s} born?"),
    "founded": _Attribute("org", "year", "The {s} was founded in {v}.", "In which year was the {s} founded?"),
}
# Two-hop chains: (link attribute, value attribute, question with {p} = person and {kind} = the kind
# word of the linked entity). The link's person is the only clue; the linked entity is not named.
CHAINS = (
    ("keeper", "access_code", "What is the access code of the {kind} that {p} guards?"),
    ("keeper", "location", "In which town is the {kind} that {p} guards located?"),
    ("employer", "founded", "In which year was the {kind} that is the employer of {p} founded?"),
)


def _accurate_retrieval(world: random.Random, stream: random.Random, context_tokens: int, n: int) -> _Plan:
    pools = _Pools(world)
    n_multi = round(n * MULTI_HOP_SHARE)
    kinds = ["multi_hop"] * n_multi + ["single_hop"] * (n - n_multi)
    world.shuffle(kinds)
    questions: list[Question] = []
    placed: list[tuple[float, str]] = []
    names = sorted(RETRIEVAL_ATTRIBUTES)
    for category in kinds:
        if category == "single_hop":
            name = world.choice(names)
            attribute = RETRIEVAL_ATTRIBUTES[name]
            subject = pools.take(attribute.subject)
            value = pools.take(attribute.value)
            sentence = attribute.fact.format(s=subject, v=value)
            placed.append((stream.random(), sentence))
            questions.append(
                Question(
                    question=attribute.question.format(s=subject),
                    answers=(value,),
                    metric="subem",
                    category=category,
                    metadata={"entity": subject, "attribute": name, "evidence": (sentence,)},
                    evidence=(sentence,),
                )
            )
            continue
        link_name, value_name, template = world.choice(CHAINS)
        link, target = RETRIEVAL_ATTRIBUTES[link_name], RETRIEVAL_ATTRIBUTES[value_name]
        person = pools.take("person")
        entity = pools.take(target.subject)
        value = pools.take(target.value)
        # keeper: subject = entity, value = person; employer: subject = person, value = entity.
        link_sentence = (
            link.fact.format(s=entity, v=person)
            if link.subject == target.subject
            else link.fact.format(s=person, v=entity)
        )
        value_sentence = target.fact.format(s=entity, v=value)
        # The two sentences sit in different halves of the stream, in either order.
        first, second = stream.uniform(0.0, 0.45), stream.uniform(0.55, 1.0)
        if stream.random() < 0.5:
            first, second = second, first
        placed += [(first, link_sentence), (second, value_sentence)]
        questions.append(
            Question(
                question=template.format(p=person, kind=entity.split()[-1].lower()),
                answers=(value,),
                metric="subem",
                category=category,
                hops=2,
                metadata={
                    "entity": person,
                    "bridge": entity,
                    "attribute": f"{link_name}>{value_name}",
                    "evidence": (link_sentence, value_sentence),
                },
                evidence=(link_sentence, value_sentence),
            )
        )

    # Distractor facts: same shapes, other entities, one consistent value per (attribute, entity).
    count = round(DISTRACTOR_FACTS_PER_1K * context_tokens / 1000)
    placed += _distractor_facts(stream, pools, RETRIEVAL_ATTRIBUTES, count)
    return _Plan(
        questions=questions,
        placed=placed,
        filler=_world_filler(pools.rest("person"), pools.rest("place")),
        metadata={"multi_hop_share": MULTI_HOP_SHARE, "distractor_facts": count},
    )


# --------------------------------------------------------------------------------------------------
# conflict_resolution
# --------------------------------------------------------------------------------------------------

CONFLICT_ATTRIBUTES = {
    "residence": _Attribute("person", "place", "{s} lives in {v}.", "Where does {s} live now?"),
    "workplace": _Attribute("person", "org", "{s} works for the {v}.", "Which organisation does {s} work for now?"),
    "access_code": _Attribute(
        "object", "code", "The access code of the {s} is {v}.", "What is the access code of the {s} now?"
    ),
    "keeper": _Attribute("object", "person", "{v} is the keeper of the {s}.", "Who is the keeper of the {s} now?"),
}
CONFLICT_PREAMBLE = (
    "This record is a log of facts that change over time. When a later statement contradicts an "
    "earlier one, the later statement is the current truth and replaces the earlier one."
)


def _conflict_resolution(world: random.Random, stream: random.Random, context_tokens: int, n: int) -> _Plan:
    pools = _Pools(world)
    names = sorted(CONFLICT_ATTRIBUTES)
    questions: list[Question] = []
    placed: list[tuple[float, str]] = []
    for _ in range(n):
        name = world.choice(names)
        attribute = CONFLICT_ATTRIBUTES[name]
        subject = pools.take(attribute.subject)
        # Distinct values, so the final one differs from every earlier one (never A -> B -> A).
        values = [pools.take(attribute.value) for _ in range(world.randint(2, 4))]
        statements = [attribute.fact.format(s=subject, v=v) for v in values]
        positions = sorted(stream.random() for _ in values)
        placed += list(zip(positions, statements, strict=True))
        questions.append(
            Question(
                question=attribute.question.format(s=subject),
                answers=(values[-1],),
                metric="subem",
                category="conflict",
                metadata={
                    "entity": subject,
                    "attribute": name,
                    "first_value": values[0],
                    "outdated": tuple(values[:-1]),
                    "statements": tuple(statements),
                    "evidence": (statements[-1],),
                },
                evidence=(statements[-1],),
            )
        )
    # Distractor facts of the same shapes that never change (restating a fact repeats its value).
    count = round(CONFLICT_DISTRACTORS_PER_1K * context_tokens / 1000)
    placed += _distractor_facts(stream, pools, CONFLICT_ATTRIBUTES, count)
    return _Plan(
        questions=questions,
        header=[CONFLICT_PREAMBLE],
        placed=placed,
        filler=_world_filler(pools.rest("person"), pools.rest("place")),
        metadata={"distractor_facts": count},
    )


# --------------------------------------------------------------------------------------------------
# test_time_learning
ICL_HEADER = "Each line below pairs an input with its label."
ICL_QUESTION = "Input: {sample}\nWhich label does this input get? Answer as \\boxed{{label}}."


def _sample(topic: str, rng: random.Random) -> str:
    nouns, verbs, adjectives = TOPICS[topic]
    noun, noun2, noun3 = rng.sample(nouns, 3)
    text = rng.choice(SAMPLE_TEMPLATES).format(
        subj=rng.choice(SUBJECTS),
        verb=rng.choice(verbs),
        adj=rng.choice(adjectives),
        noun=noun,
        noun2=noun2,
        noun3=noun3,
    )
    return _sentence(text)


def _test_time_learning(world: random.Random, stream: random.Random, context_tokens: int, n: int) -> _Plan:
    topics = world.sample(sorted(TOPICS), world.randint(6, 10))
    labels = dict(zip(topics, world.sample(range(100), len(topics)), strict=True))
    questions = []
    asked: set[str] = set()
    for _ in range(n):
        topic = world.choice(topics)
        sample = _sample(topic, world)
        asked.add(sample)
        questions.append(
            Question(
                question=ICL_QUESTION.format(sample=sample),
                answers=(str(labels[topic]),),
                metric="boxed_label_em",
                category="classification",
                metadata={"topic": topic, "sample": sample},
            )
        )

    def example(rng: random.Random) -> str:
        while True:  # questions are new samples: never repeat one in the stream
            topic = rng.choice(topics)
            sample = _sample(topic, rng)
            if sample not in asked:
                return f"Input: {sample} Label: {labels[topic]}"

    return _Plan(
        questions=questions,
        header=[ICL_HEADER],
        filler=example,
        separator="\n",
        metadata={"labels": {t: labels[t] for t in topics}, "num_classes": len(topics)},
    )


# --------------------------------------------------------------------------------------------------
# long_range_understanding
# --------------------------------------------------------------------------------------------------


def _with_class_examples(questions: list[Question], pieces: Sequence[str]) -> list[Question]:
    """Each classification question with the stream's examples of its class as evidence."""
    by_label: dict[str, list[str]] = {}
    for piece in pieces:
        head, marker, label = piece.rpartition(" Label: ")
        if marker and head.startswith("Input: "):
            by_label.setdefault(label, []).append(piece)
    return [replace(q, evidence=tuple(by_label.get(q.answers[0], ()))) for q in questions]


def _long_range_understanding(world: random.Random, stream: random.Random, context_tokens: int, n: int) -> _Plan:
    pools = _Pools(world)
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
    keywords = {"all": (*characters, *events), "events": tuple(events), "characters": tuple(characters)}
    questions = [
        Question(
            question=text,
            answers=keywords[part],
            metric="keyword_hit",
            category="summary",
            metadata={"characters": tuple(characters), "events": tuple(events)},
        )
        for text, part in SUMMARY_QUESTIONS[: min(n, len(SUMMARY_QUESTIONS))]
    ]

    placed: list[tuple[float, str]] = []
    intros: list[str] = []
    span = 1.0 / len(events)
    for i, (event, kind) in enumerate(zip(events, kinds, strict=True)):
        a, b = world.sample(characters, 2)
        start = (i + world.uniform(0.1, 0.5)) * span
        intro = EVENTS[kind].format(e=f"the {event}", a=a, b=b)
        intros.append(_sentence(intro))
        placed.append((start, intros[-1]))
        # Echoes keep the event alive before the next one starts, in story order.
        for j, template in enumerate(world.sample(EVENT_ECHOES, 2)):
            echo = template.format(e=f"the {event}", a=a, b=b, town=town)
            placed.append((start + (j + 1) * 0.2 * span, _sentence(echo)))

    # The sentences that introduce the events (and name who took part) are what every summary rests on.
    questions = [replace(q, evidence=tuple(intros)) for q in questions]
    return _Plan(
        questions=questions,
        placed=placed,
        filler=_story_filler(characters, pools.rest("person"), town),
        metadata={"characters": tuple(characters), "events": tuple(events), "town": town},
    )


BUILDERS: dict[str, Callable[[random.Random, random.Random, int, int], _Plan]] = {
    "accurate_retrieval": _accurate_retrieval,
    "conflict_resolution": _conflict_resolution,
    "test_time_learning": _test_time_learning,
    "long_range_understanding": _long_range_understanding,
}
