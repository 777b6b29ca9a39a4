"""How a competency builder's plan becomes a stream: fixed sentences woven into generated filler.

Shared by every suite: :class:`_Plan` (what a builder returns), :func:`_fill` and :func:`_weave` (the
filler and where the fixed sentences go), :class:`_Pools` (entities reserved for questions),
:func:`_distractor_facts` (facts of the asked shapes that nobody asks about), and the template helpers
(:func:`_sentence`, :func:`_render`, :func:`_choice`, :func:`_world_filler`, :func:`_story_filler`).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from memenv import tokenizer
from memenv.tasks.records import Question
from memenv.tasks.synthetic.vocabulary import (
    ANIMALS,
    GOODS,
    ROLES,
    SEASONS,
    STORY_FILLER,
    TERRAIN,
    TIMES,
    TREES,
    WEATHER,
    WORLD_FILLER,
    _objects,
    _orgs,
    _people,
    _places,
)

MIN_FREE = 16  # values of each pool never reserved for questions, left to distractors
_BATCH = 4096  # sentences generated and token-counted per batch

# --------------------------------------------------------------------------------------------------
# Plans: what a competency builder returns, and how a plan becomes chunks
# --------------------------------------------------------------------------------------------------


@dataclass
class _Plan:
    """A competency's stream before filling: fixed header, sentences at fractional positions, filler.

    ``placed`` holds ``(position in [0, 1), sentence)``; :func:`_weave` puts each sentence at that share
    of the filler, keeping the given order for equal positions.
    """

    questions: list[Question]
    header: list[str] = field(default_factory=list)
    placed: list[tuple[float, str]] = field(default_factory=list)
    filler: Callable[[random.Random], str] | None = None
    separator: str = " "
    metadata: dict[str, Any] = field(default_factory=dict)


def _count(pieces: Sequence[str], separator: str) -> list[int]:
    # Counted with the separator in front, as chunking.pack counts them.
    return tokenizer.count_tokens_batch([separator + p for p in pieces])


def _fill(make: Callable[[random.Random], str], rng: random.Random, budget: int, separator: str) -> list[str]:
    """Sentences from ``make`` until their tokens reach ``budget`` (the last one may overshoot)."""
    out: list[str] = []
    used = 0
    while used < budget:
        batch = [make(rng) for _ in range(_BATCH)]
        for sentence, n in zip(batch, _count(batch, separator), strict=True):
            if used >= budget:
                break
            out.append(sentence)
            used += n
    return out


def _weave(placed: Iterable[tuple[float, str]], filler: Sequence[str]) -> list[str]:
    order = sorted(enumerate(placed), key=lambda item: (item[1][0], item[0]))
    out: list[str] = []
    j = 0
    n = len(filler)
    for i, sentence in enumerate(filler):
        while j < len(order) and order[j][1][0] * n <= i:
            out.append(order[j][1][1])
            j += 1
        out.append(sentence)
    out.extend(item[1][1] for item in order[j:])
    return out


class _Slots(dict):
    """Template slots drawn on first use, in the template's field order (deterministic, and a template
    only pays for the draws it uses)."""

    def __init__(self, rng: random.Random, draws: dict[str, Callable[[random.Random], str]]) -> None:
        super().__init__()
        self.rng = rng
        self.draws = draws

    def __missing__(self, key: str) -> str:
        value = self[key] = self.draws[key](self.rng)
        return value


def _sentence(text: str) -> str:
    """``text`` with its first letter upper-cased (a template that opens with a slot or a lower-case word)."""
    return text[0].upper() + text[1:]


def _render(template: str, rng: random.Random, draws: dict[str, Callable[[random.Random], str]]) -> str:
    return _sentence(template.format_map(_Slots(rng, draws)))


def _choice(options: Sequence[str]) -> Callable[[random.Random], str]:
    return lambda rng: rng.choice(options)


def _world_filler(people: Sequence[str], places: Sequence[str]) -> Callable[[random.Random], str]:
    def person(rng: random.Random) -> str:
        # Most filler people are unnamed, so a name stays a strong clue (as in real prose).
        return rng.choice(people) if rng.random() < 0.3 else rng.choice(ROLES)

    draws = {
        "p": person,
        "p2": person,
        "place": _choice(places),
        "place2": _choice(places),
        "weather": _choice(WEATHER),
        "goods": _choice(GOODS),
        "terrain": _choice(TERRAIN),
        "tree": _choice(TREES),
        "animal": _choice(ANIMALS),
        "time": _choice(TIMES),
        "season": _choice(SEASONS),
        "n": lambda rng: str(rng.randint(2, 40)),
    }
    return lambda rng: _render(rng.choice(WORLD_FILLER), rng, draws)


def _story_filler(characters: Sequence[str], people: Sequence[str], town: str) -> Callable[[random.Random], str]:
    """Everyday story sentences about the main ``characters`` ({a}, {b}), minor ``people`` ({m}) and ``town``."""
    draws = {
        "a": _choice(characters),
        "m": _choice(people),
        "town": lambda rng: town,
        "time": _choice(TIMES),
        "terrain": _choice(TERRAIN),
        "goods": _choice(GOODS),
        "weather": _choice(WEATHER),
        "season": _choice(SEASONS),
        "animal": _choice(ANIMALS),
        "tree": _choice(TREES),
    }

    def filler(rng: random.Random) -> str:
        slots = _Slots(rng, draws)
        # {b} is a second main character, never the same person as {a}.
        slots["b"] = rng.choice([c for c in characters if c != slots["a"]])
        return _sentence(rng.choice(STORY_FILLER).format_map(slots))

    return filler


class _Pools:
    """Entity and value pools, shuffled by the question RNG; asked ones are taken (reserved) from the front.

    Distractors and filler draw only from what is left, so an asked entity appears only in its own
    facts and a gold value is never stated about anything else (a wrong sentence cannot contain it).
    """

    def __init__(self, rng: random.Random) -> None:
        self.free: dict[str, list[str]] = {
            "person": _people(),
            "place": _places(),
            "org": _orgs(),
            "object": _objects(),
            "code": [str(v) for v in range(1000, 10000)],
            "year": [str(v) for v in range(1820, 2000)],
        }
        for pool in self.free.values():
            rng.shuffle(pool)
        self._taken = dict.fromkeys(self.free, 0)
        self._rest: dict[str, list[str]] = {}

    def take(self, kind: str) -> str:
        pool = self.free[kind]
        i = self._taken[kind]
        if i >= len(pool) - MIN_FREE:  # keep some of every pool for distractors
            raise ValueError(f"num_questions is too large: the {kind} pool ({len(pool)}) is exhausted")
        self._taken[kind] = i + 1
        self._rest.pop(kind, None)
        return pool[i]

    def rest(self, kind: str) -> list[str]:
        if kind not in self._rest:
            self._rest[kind] = self.free[kind][self._taken[kind] :]
        return self._rest[kind]


class _FactShape(Protocol):
    """What :func:`_distractor_facts` reads of an attribute (every suite's fact templates have it)."""

    @property
    def subject(self) -> str: ...  # pool kind of the subject
    @property
    def value(self) -> str: ...  # pool kind of the value
    @property
    def fact(self) -> str: ...  # the statement, with {s} and {v}


def _distractor_facts(
    stream: random.Random, pools: _Pools, attributes: Mapping[str, _FactShape], count: int
) -> list[tuple[float, str]]:
    """``count`` facts of the shapes in ``attributes`` about entities nobody asks about (what ``pools`` has
    left), each at a random position; a fact stated twice repeats its value, so these facts never change."""
    names = sorted(attributes)
    known: dict[tuple[str, str], str] = {}
    placed: list[tuple[float, str]] = []
    for _ in range(count):
        name = stream.choice(names)
        attribute = attributes[name]
        subject = stream.choice(pools.rest(attribute.subject))
        value = known.setdefault((name, subject), stream.choice(pools.rest(attribute.value)))
        placed.append((stream.random(), attribute.fact.format(s=subject, v=value)))
    return placed
