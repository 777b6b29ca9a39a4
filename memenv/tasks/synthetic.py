"""Deterministic synthetic episodes for the four competencies, from a few K to millions of tokens.

:func:`generate` builds one :class:`~memenv.tasks.records.Episode` from ``(competency, seed,
context_tokens, chunk_tokens, num_questions)``; the same arguments always give the same episode, in any
process (every random draw comes from a :class:`random.Random` seeded with a string, never from the
global RNG or from ``hash()``). :func:`generate_suite` makes several episodes per competency.

The world is procedural: people (first x last names, 6,000+ combinations), places, organisations,
objects and four-digit codes. The stream is prose: the few facts that questions ask about are mixed
into distractor facts of the same shape about other entities and into filler narrative, so most of
the stream is never asked about and a memory must keep the right sentences, not just some sentences.
Every asked fact is stated in one sentence, and no gold answer is a substring of another value of the
same attribute (the value pools are substring-free; SubEM asks "is the gold inside the prediction").

Competencies (``Question.metric`` / ``Question.category``):

* ``accurate_retrieval`` (``subem``; ``single_hop`` / ``multi_hop``): about 70 % single facts
  ("The access code of the Copper Gate is 4821." -> "What is the access code of the Copper Gate?")
  and 30 % two-hop chains whose two sentences sit in different halves of the stream ("Mira Okafor
  guards the Copper Gate." ... "The access code of the Copper Gate is 4821." -> "What is the access
  code of the gate that Mira Okafor guards?", ``hops=2``). About 4 distractor facts per 1K tokens.
* ``conflict_resolution`` (``subem``; ``conflict``): each asked fact takes 2-4 values over the
  stream in an identical sentence ("Mira Okafor lives in Calder Heights." ... "Mira Okafor lives in
  Port Senna."); the last value is new (never A -> B -> A) and is the gold answer. A preamble in the
  first chunk says that later statements override earlier ones. ``Question.metadata`` holds
  ``first_value``, ``outdated`` (all earlier values, in order) and ``statements`` (every sentence).
* ``test_time_learning`` (``boxed_label_em``; ``classification``): 6-10 topics, each with its own
  vocabulary and an arbitrary label (distinct random integers 0-99); the stream is one example per
  line, ``Input: <sentence> Label: <n>``; questions are new sentences of a topic: "Input: ...\\nWhich
  label does this input get? Answer as \\boxed{label}."
* ``long_range_understanding`` (``keyword_hit``; ``summary``): a story over the whole stream with
  3-4 main characters who recur throughout and 6-8 named events in order ("the Saltmarsh flood");
  up to three questions (summary, events, characters) whose answers are the keywords.

Questions depend only on ``(competency, seed, num_questions)``; the stream around them also depends on
``context_tokens`` and ``chunk_tokens``. So the same seed asks the same questions at 8K and at 1M
tokens, with more distractors: a length-scaling curve compares like with like.

>>> episode = generate("accurate_retrieval", seed=0, context_tokens=4096)
>>> episode.id, len(episode.chunks) >= 8, episode.questions[0].metric
('accurate_retrieval-0-4096', True, 'subem')
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from memenv import tokenizer
from memenv.tasks.chunking import pack
from memenv.tasks.records import COMPETENCIES, Episode, Question

__all__ = ["MIN_CHUNK_TOKENS", "generate", "generate_suite"]

MIN_CHUNK_TOKENS = 64
"""Smallest ``chunk_tokens``: every generated sentence (and example line) fits in one chunk."""

MAX_QUESTIONS = 100
"""Largest ``num_questions``: asked entities are reserved from finite pools."""

MIN_FREE = 16  # values of each pool never reserved for questions, left to distractors

MULTI_HOP_SHARE = 0.3
DISTRACTOR_FACTS_PER_1K = 4
CONFLICT_DISTRACTORS_PER_1K = 8
_BATCH = 4096  # sentences generated and token-counted per batch

# --------------------------------------------------------------------------------------------------
# Vocabulary. Within each value pool no word is a substring of another (tests check it), so no value
# of an attribute contains another value of the same attribute.
# --------------------------------------------------------------------------------------------------

FIRST_NAMES = (
    "Mira", "Tobias", "Alice", "Bram", "Celeste", "Dorian", "Elspeth", "Farid", "Greta", "Hugo",
    "Ingrid", "Jonas", "Kaveh", "Leona", "Matteo", "Nadia", "Oskar", "Priya", "Quentin", "Rosalind",
    "Soren", "Thea", "Ulrich", "Vera", "Wendell", "Ximena", "Yusuf", "Zora", "Anselm", "Beatrix",
    "Cyrus", "Delphine", "Emeric", "Fiona", "Gideon", "Hollis", "Isolde", "Jasper", "Kirsten", "Lucius",
    "Marguerite", "Nikolai", "Odile", "Percival", "Rhea", "Silas", "Tamsin", "Viggo", "Wilhelmina",
    "Yara", "Zeno", "Amara", "Bastian", "Cosima", "Dmitri", "Esme", "Florian", "Gwendolyn", "Horatio",
    "Imogen", "Joaquin", "Katya", "Lorcan", "Maren", "Niamh", "Orla", "Piet", "Ravi", "Saoirse",
    "Teodor", "Valentin", "Yann", "Zuri", "Agnes", "Benedikt", "Clementine", "Edmund", "Felix",
)  # fmt: skip
LAST_NAMES = (
    "Okafor", "Moreau", "Lindqvist", "Castellan", "Abernathy", "Brightwater", "Calloway", "Dufresne",
    "Eriksen", "Fairweather", "Halvorsen", "Ishikawa", "Jablonski", "Kowalczyk", "Lachance", "Montague",
    "Nakamura", "Oyelaran", "Pemberton", "Quennell", "Rasmussen", "Sandoval", "Thornbury", "Underhill",
    "Vasquez", "Whitlock", "Yamamoto", "Zielinski", "Achterberg", "Blackwood", "Cardenas", "Delacroix",
    "Ellingsen", "Fontaine", "Grimaldi", "Hargreaves", "Iversen", "Jovanovic", "Kettering", "Lockhart",
    "Marchetti", "Novak", "Ostrowski", "Petrakis", "Rourke", "Tanaka", "Valdivia", "Wexley", "Yilmaz",
    "Zamora", "Ashdown", "Bellamy", "Corrigan", "Drummond", "Everhart", "Farrow", "Gallagher",
    "Holloway", "Ingram", "Kinsella", "Larkspur", "Merriweather", "Northcott", "Oduya", "Prescott",
    "Quayle", "Renwick", "Stavros", "Trevelyan", "Voskuijlen", "Winslow", "Mbeki", "Saarinen",
    "Haddad", "Rinaldi", "Kuznetsov", "Lefebvre", "Osei",
)  # fmt: skip
PLACE_ROOTS = (
    "Calder", "Senna", "Marrow", "Wyck", "Ember", "Thistle", "Bracken", "Oriel", "Hadley", "Corwen",
    "Asterly", "Bellmere", "Dunmore", "Fallow", "Greyholt", "Kestrel", "Larch", "Myrtle", "Norwood",
    "Ostler", "Pellham", "Ravel", "Tarn", "Umber", "Vintry", "Wolde", "Yarrow", "Zephyr", "Quillon",
    "Juniper",
)  # fmt: skip
PLACE_FORMS = ("{} Heights", "{} Hollow", "{} Crossing", "{} Reach", "Port {}", "{} Vale", "{} Landing", "{} Green")
ORG_ROOTS = (
    "Lantern", "Meridian", "Cobalt", "Granite", "Beacon", "Silverline", "Northwind", "Ironbark", "Foxglove",
    "Bluewater", "Redfern", "Highgate", "Stonebridge", "Wildrose", "Goldleaf", "Oakhurst", "Kingfisher",
    "Starling", "Tidewater", "Harrowgate",
)  # fmt: skip
ORG_KINDS = ("Guild", "Society", "Company", "Institute", "Trust", "Academy", "Bank", "Press")
MATERIALS = (
    "Copper", "Iron", "Silver", "Golden", "Crimson", "Azure", "Ivory", "Obsidian", "Jade", "Marble",
    "Cedar", "Pewter", "Scarlet", "Onyx", "Gilded", "Rusted", "Sunken", "Eastern", "Western", "Northern",
    "Southern", "Painted", "Whispering", "Broken",
)  # fmt: skip
OBJECT_KINDS = ("Gate", "Vault", "Tower", "Bridge", "Archive", "Lighthouse", "Mill", "Chapel", "Observatory", "Cistern")

# Filler narrative. It never uses the words of a fact template ("access", "code", "guards", "located",
# "employer", "born", "founded", "lives", "works", "keeper"), so only facts answer fact questions.
WEATHER = ("fog", "rain", "frost", "heat", "wind", "drizzle", "snow", "hail")
GOODS = ("apples", "wool", "salt", "lamp oil", "barley", "cheese", "nails", "candles", "herring", "rope")
TERRAIN = ("river path", "ridge", "orchard", "marsh road", "sea wall", "old quarry", "birch wood", "meadow")
TREES = ("oak", "willow", "chestnut", "yew", "linden", "pear tree")
ANIMALS = ("goat", "heron", "stray dog", "donkey", "fox", "pair of geese")
TIMES = ("morning", "afternoon", "evening", "night")
SEASONS = ("spring", "summer", "autumn", "winter")
ROLES = (
    "the miller", "a fisherman", "an old sailor", "the schoolteacher", "a young clerk", "the baker",
    "a shepherd", "the ferryman", "a widow from the hills", "the blacksmith", "a pedlar", "the priest",
)  # fmt: skip
WORLD_FILLER = (
    "{p} walked along the {terrain} toward {place} while the {weather} settled in.",
    "In {place} the market opened late, and the stalls sold {goods} until dusk.",
    "Nobody in {place} could remember who first planted the {tree} beside the {terrain}.",
    "{p} wrote a long letter about the {weather} and never sent it.",
    "The {weather} lasted {n} days, and most families in {place} stayed indoors.",
    "A traveller from {place} traded {goods} for {n} coins at the crossroads.",
    "{p} spent the {time} mending a fence near the {terrain}.",
    "Every {season} the children of {place} raced each other to the {terrain} and back.",
    "The road between {place} and {place2} was muddy again after the {weather}.",
    "{p} and {p2} argued about the price of {goods} over a slow dinner.",
    "Some said the {tree} by the {terrain} was older than {place} itself.",
    "A {animal} wandered into the square of {place} and nobody claimed it.",
    "{p} kept a small notebook of birds seen along the {terrain}.",
    "The bells of {place} rang twice in the {time} for reasons no one explained.",
    "In the {season}, {p} repaired boats for anyone who asked politely.",
    "{p} learned to bake bread from a neighbour in {place}.",
    "The inn at {place} served {goods} stew on cold evenings.",
    "Few visitors stayed in {place} for more than {n} nights.",
    "{p} sketched the view of the {terrain} from memory.",
    "It was the {weather} that {p} remembered best about that {season}.",
    "{p} carried a basket of {goods} up the hill to {place}.",
    "Travellers from {place2} often stopped at {place} to rest their horses.",
)


def _people() -> list[str]:
    return [f"{first} {last}" for first in FIRST_NAMES for last in LAST_NAMES]


def _places() -> list[str]:
    return [form.format(root) for root in PLACE_ROOTS for form in PLACE_FORMS]


def _orgs() -> list[str]:
    return [f"{root} {kind}" for root in ORG_ROOTS for kind in ORG_KINDS]


def _objects() -> list[str]:
    return [f"{material} {kind}" for material in MATERIALS for kind in OBJECT_KINDS]


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


def _render(template: str, rng: random.Random, draws: dict[str, Callable[[random.Random], str]]) -> str:
    text = template.format_map(_Slots(rng, draws))
    return text[0].upper() + text[1:]


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
    known: dict[tuple[str, str], str] = {}
    count = round(DISTRACTOR_FACTS_PER_1K * context_tokens / 1000)
    for _ in range(count):
        name = stream.choice(names)
        attribute = RETRIEVAL_ATTRIBUTES[name]
        subject = stream.choice(pools.rest(attribute.subject))
        value = known.setdefault((name, subject), stream.choice(pools.rest(attribute.value)))
        placed.append((stream.random(), attribute.fact.format(s=subject, v=value)))
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
    known: dict[tuple[str, str], str] = {}
    count = round(CONFLICT_DISTRACTORS_PER_1K * context_tokens / 1000)
    for _ in range(count):
        name = stream.choice(names)
        attribute = CONFLICT_ATTRIBUTES[name]
        subject = stream.choice(pools.rest(attribute.subject))
        value = known.setdefault((name, subject), stream.choice(pools.rest(attribute.value)))
        placed.append((stream.random(), attribute.fact.format(s=subject, v=value)))
    return _Plan(
        questions=questions,
        header=[CONFLICT_PREAMBLE],
        placed=placed,
        filler=_world_filler(pools.rest("person"), pools.rest("place")),
        metadata={"distractor_facts": count},
    )


# --------------------------------------------------------------------------------------------------
# test_time_learning
# --------------------------------------------------------------------------------------------------

# topic -> (nouns, past-tense verbs, adjectives); no word is shared between topics.
TOPICS: dict[str, tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]] = {
    "cooking": (
        ("saucepan", "garlic", "oven", "dough", "recipe", "skillet", "broth", "pastry", "ladle", "butter",
         "onion", "kitchen"),
        ("simmered", "kneaded", "seasoned", "roasted", "whisked", "baked"),
        ("crispy", "savory", "buttery", "tender", "spicy", "caramelized"),
    ),
    "sailing": (
        ("mast", "hull", "anchor", "tide", "rudder", "sail", "deck", "keel", "compass", "mooring", "voyage",
         "jib"),
        ("steered", "moored", "hoisted", "anchored", "tacked", "navigated"),
        ("windward", "salty", "nautical", "choppy", "coastal", "leeward"),
    ),
    "astronomy": (
        ("telescope", "comet", "orbit", "nebula", "planet", "galaxy", "meteor", "eclipse", "constellation",
         "asteroid", "observatory", "starlight"),
        ("observed", "charted", "tracked", "measured", "photographed", "catalogued"),
        ("celestial", "distant", "lunar", "stellar", "faint", "cosmic"),
    ),
    "gardening": (
        ("tulip", "compost", "seedling", "trowel", "hedge", "greenhouse", "fertilizer", "rosebush", "soil",
         "mulch", "flowerbed", "shears"),
        ("pruned", "planted", "watered", "weeded", "repotted", "raked"),
        ("leafy", "blooming", "fragrant", "overgrown", "shady", "fertile"),
    ),
    "finance": (
        ("invoice", "ledger", "dividend", "mortgage", "portfolio", "interest", "loan", "budget", "audit",
         "shares", "bond", "tax"),
        ("audited", "invested", "borrowed", "refinanced", "balanced", "deducted"),
        ("fiscal", "quarterly", "profitable", "overdue", "annual", "monetary"),
    ),
    "medicine": (
        ("patient", "fever", "diagnosis", "prescription", "clinic", "surgeon", "bandage", "vaccine",
         "symptom", "nurse", "stethoscope", "infection"),
        ("treated", "diagnosed", "bandaged", "vaccinated", "examined", "prescribed"),
        ("clinical", "chronic", "feverish", "sterile", "acute", "medical"),
    ),
    "music": (
        ("violin", "melody", "orchestra", "chord", "rhythm", "piano", "conductor", "symphony", "tempo",
         "choir", "guitar", "drum"),
        ("tuned", "rehearsed", "composed", "strummed", "conducted", "harmonized"),
        ("melodic", "acoustic", "rhythmic", "harmonic", "choral", "orchestral"),
    ),
    "mining": (
        ("ore", "shaft", "pickaxe", "tunnel", "quarry", "coal", "drill", "seam", "mineral", "cart",
         "dynamite", "helmet"),
        ("excavated", "drilled", "blasted", "hauled", "tunneled", "dug"),
        ("underground", "rocky", "dusty", "deep", "subterranean", "sooty"),
    ),
    "weaving": (
        ("loom", "thread", "wool", "spindle", "fabric", "yarn", "tapestry", "needle", "shuttle", "cloth",
         "silk", "pattern"),
        ("wove", "spun", "stitched", "knitted", "dyed", "embroidered"),
        ("woolen", "silken", "threadbare", "colorful", "handwoven", "frayed"),
    ),
    "football": (
        ("goal", "striker", "referee", "penalty", "stadium", "midfielder", "ball", "tackle", "goalkeeper",
         "match", "pitch", "league"),
        ("scored", "tackled", "dribbled", "kicked", "defended", "passed"),
        ("offside", "athletic", "competitive", "defensive", "fast", "energetic"),
    ),
    "railway": (
        ("locomotive", "platform", "timetable", "carriage", "signal", "track", "stationmaster", "junction",
         "ticket", "engine", "rails", "freight"),
        ("departed", "shunted", "coupled", "boarded", "whistled", "rerouted"),
        ("punctual", "express", "steam", "delayed", "overnight", "narrow-gauge"),
    ),
    "chess": (
        ("bishop", "knight", "pawn", "rook", "checkmate", "gambit", "opening", "endgame", "tournament",
         "board", "queen", "castling"),
        ("sacrificed", "castled", "captured", "promoted", "blundered", "resigned"),
        ("tactical", "positional", "strategic", "decisive", "blitz", "grandmaster"),
    ),
}  # fmt: skip
SUBJECTS = (
    "my neighbour",
    "the teacher",
    "a stranger",
    "our team",
    "the old man",
    "my sister",
    "the new intern",
    "everyone",
)
# Every template carries five topic words (two nouns, a verb, an adjective, a third noun) and few
# generic ones, so examples of a class share vocabulary but no two are alike.
SAMPLE_TEMPLATES = (
    "{subj} {verb} the {adj} {noun} before the {noun2} and the {noun3} were ready.",
    "After lunch, {subj} {verb} a {adj} {noun} and talked about the {noun2} and the {noun3}.",
    "The {noun} looked {adj} once {subj} {verb} the {noun2} with the {noun3}.",
    "Yesterday {subj} {verb} the {noun}, then checked the {adj} {noun2} and the {noun3}.",
    "{subj} {verb} the {adj} {noun}, and later the {noun2} and the {noun3} as well.",
    "Nobody expected that {subj} {verb} the {noun} next to the {adj} {noun2} and {noun3}.",
)
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
    return text[0].upper() + text[1:]


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

EVENT_ROOTS = (
    "Saltmarsh", "Harrow", "Greyfell", "Ashcombe", "Varnholt", "Odell", "Brindle", "Cresswell", "Dunlow",
    "Fenwick", "Gorsedd", "Kilbride", "Lowmoor", "Merrow", "Penhallow", "Rookhaven", "Stonecrop",
    "Wychwood",
)  # fmt: skip
# event kind -> (the sentence that introduces it, with {e} = "the <Root> <kind>", {a}, {b} characters).
EVENTS = {
    "flood": "In the wet year came {e}, and {a} carried neighbours to the hills on a borrowed cart.",
    "treaty": "{a} and {b} stood in the town hall as {e} was signed, ending years of quarrels over the land.",
    "fire": "{e} began in a bakery at night, and {a} organised the bucket lines until dawn.",
    "famine": "During {e} the granaries stood empty, and {a} shared the last sacks of grain.",
    "rebellion": "{e} broke out when the tax collectors returned, and {a} spoke for the rebels.",
    "eclipse": "On the day of {e} the sky went dark at noon, and {a} calmed the frightened crowd.",
    "duel": "{a} faced {b} at sunrise in {e}, and neither of them ever spoke of it plainly.",
    "wedding": "{e} joined {a} and {b}, and the whole town danced for three nights.",
    "election": "{a} stood against {b} in {e} and won by a handful of votes.",
    "plague": "{e} emptied the streets for a season, and {a} nursed the sick without rest.",
    "shipwreck": "{e} left the harbour strewn with timber, and {a} rowed out to find survivors.",
    "strike": "{e} shut the mills for a month, and {b} carried the workers' demands to the owners.",
    "trial": "At {e}, {a} testified against {b} before a packed courtroom.",
    "exile": "After {e}, {b} left the town on foot and did not return for years.",
}
EVENT_ECHOES = (
    "Long after {e}, {a} still dreamed about it.",
    "In the weeks after {e}, {a} and {b} rarely spoke of anything else.",
    "{e} changed how the people of {town} saw {a}.",
    "Children in {town} made up songs about {e}.",
)
STORY_FILLER = (
    "{a} spent the {time} mending nets by the {terrain}.",
    "{a} and {b} walked to the market in {town} and bought {goods}.",
    "The {weather} kept {a} indoors, reading old letters by the fire.",
    "{m} asked {a} for advice about a quarrel with a neighbour.",
    "{a} visited {m}, who lived at the edge of {town}, and stayed for supper.",
    "Every {season} {a} climbed the {terrain} to look out over {town}.",
    "{b} teased {a} about a lost bet, and they both laughed.",
    "{m} sold {goods} to {a} at a price that was almost fair.",
    "{a} wrote in a diary that the {weather} would not last.",
    "The streets of {town} were quiet in the {time}, and {a} liked them that way.",
    "{a} fed a {animal} that had wandered into the yard.",
    "{m} told {a} a story about the {tree} by the {terrain}.",
    "{a} and {m} repaired the roof of the old school before the {weather} came.",
    "Nobody in {town} baked bread like {b}, or so {a} always said.",
)
SUMMARY_QUESTIONS = (
    ("Summarize the story: who are the main characters and what were the major events?", "all"),
    ("What were the major events of the story, in order?", "events"),
    ("Who are the main characters of the story?", "characters"),
)


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
        intros.append(intro[0].upper() + intro[1:])
        placed.append((start, intros[-1]))
        # Echoes keep the event alive before the next one starts, in story order.
        for j, template in enumerate(world.sample(EVENT_ECHOES, 2)):
            echo = template.format(e=f"the {event}", a=a, b=b, town=town)
            placed.append((start + (j + 1) * 0.2 * span, echo[0].upper() + echo[1:]))

    draws = {
        "a": _choice(characters),
        "m": _choice(pools.rest("person")),
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
        text = rng.choice(STORY_FILLER).format_map(slots)
        return text[0].upper() + text[1:]

    # The sentences that introduce the events (and name who took part) are what every summary rests on.
    questions = [replace(q, evidence=tuple(intros)) for q in questions]
    return _Plan(
        questions=questions,
        placed=placed,
        filler=filler,
        metadata={"characters": tuple(characters), "events": tuple(events), "town": town},
    )


_BUILDERS: dict[str, Callable[[random.Random, random.Random, int, int], _Plan]] = {
    "accurate_retrieval": _accurate_retrieval,
    "conflict_resolution": _conflict_resolution,
    "test_time_learning": _test_time_learning,
    "long_range_understanding": _long_range_understanding,
}


# --------------------------------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------------------------------


def _check_int(name: str, value: object, minimum: int, expected: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{name} must be an int ({expected}), got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be {expected}, got {value}")
    return value


def generate(
    competency: str,
    *,
    seed: int,
    context_tokens: int = 8192,
    chunk_tokens: int = 512,
    num_questions: int = 10,
) -> Episode:
    """One synthetic episode (see the module docstring for what each competency holds).

    Args:
        competency: one of :data:`~memenv.tasks.records.COMPETENCIES`.
        seed: any int; same arguments -> identical episode.
        context_tokens: target length of the stream in o200k_base tokens (the result lands within a
            sentence of it; a few percent over at most for tiny contexts). Must be >= ``chunk_tokens``.
        chunk_tokens: token budget per chunk (one env step), >= :data:`MIN_CHUNK_TOKENS`. Sentences
            are packed greedily and never split; no chunk exceeds the budget.
        num_questions: questions to ask, 1 to :data:`MAX_QUESTIONS`; ``long_range_understanding``
            asks at most 3 (summary, events, characters).

    Returns:
        An :class:`Episode` with id ``f"{competency}-{seed}-{context_tokens}"``, ``source="synthetic"``
        and the generator's parameters in ``metadata``. Every question's ``evidence`` holds the stream
        statements its answer rests on: the fact sentence(s) (accurate retrieval; the same tuple is in
        ``metadata["evidence"]``), the statement of the current value (conflict resolution), the
        stream's examples of the asked class (test-time learning), the sentences that introduce the
        events (long-range understanding).

    Raises:
        ValueError: an argument is unknown or out of range (the message names it and what is expected),
            or ``context_tokens`` is too small to state the asked facts.
    """
    if competency not in _BUILDERS:
        raise ValueError(f"competency must be one of {', '.join(COMPETENCIES)}; got {competency!r}")
    _check_int("seed", seed, -(2**63), "any integer")
    _check_int("chunk_tokens", chunk_tokens, MIN_CHUNK_TOKENS, f">= {MIN_CHUNK_TOKENS}")
    _check_int("context_tokens", context_tokens, chunk_tokens, f">= chunk_tokens ({chunk_tokens})")
    _check_int("num_questions", num_questions, 1, f"between 1 and {MAX_QUESTIONS}")
    if num_questions > MAX_QUESTIONS:
        raise ValueError(f"num_questions must be between 1 and {MAX_QUESTIONS}, got {num_questions}")

    # Questions come from their own RNG so that they do not depend on the stream length.
    world = random.Random(f"memenv.synthetic/{competency}/{seed}/questions/{num_questions}")
    stream = random.Random(f"memenv.synthetic/{competency}/{seed}/stream/{context_tokens}/{chunk_tokens}")
    plan = _BUILDERS[competency](world, stream, context_tokens, num_questions)

    fixed = plan.header + [sentence for _, sentence in plan.placed]
    used = sum(_count(fixed, plan.separator))
    if used > context_tokens:
        raise ValueError(
            f"context_tokens={context_tokens} is too small for {num_questions} questions of {competency}: "
            f"the sentences they need (facts, story events) take {used} tokens; raise context_tokens "
            "or lower num_questions"
        )
    filler = _fill(plan.filler, stream, context_tokens - used, plan.separator) if plan.filler else []
    pieces = plan.header + _weave(plan.placed, filler)
    questions = plan.questions
    if competency == "test_time_learning":
        questions = _with_class_examples(questions, pieces)
    chunks = pack(pieces, chunk_tokens, separator=plan.separator)
    metadata = {
        "generator": "memenv.tasks.synthetic",
        "competency": competency,
        "seed": seed,
        "context_tokens": context_tokens,
        "chunk_tokens": chunk_tokens,
        "num_questions": len(plan.questions),
        **plan.metadata,
    }
    return Episode(
        id=f"{competency}-{seed}-{context_tokens}",
        chunks=tuple(chunks),
        questions=tuple(questions),
        competency=competency,
        source="synthetic",
        metadata=metadata,
    )


def generate_suite(competencies: Sequence[str] | str, *, episodes: int, seed: int, **kwargs: int) -> list[Episode]:
    """``episodes`` episodes per competency, competency by competency, with seeds ``seed .. seed+episodes-1``.

    ``kwargs`` (``context_tokens``, ``chunk_tokens``, ``num_questions``) go to :func:`generate`. A
    single competency name is accepted in place of a list.
    """
    if isinstance(competencies, str):
        competencies = (competencies,)
    if not competencies:
        raise ValueError(f"competencies must name at least one of {', '.join(COMPETENCIES)}")
    _check_int("episodes", episodes, 1, ">= 1")
    _check_int("seed", seed, -(2**63), "any integer")
    return [generate(c, seed=seed + i, **kwargs) for c in competencies for i in range(episodes)]
