"""Suite v1, ``accurate_retrieval``: facts a memory must resolve before it can keep them.

Six phenomena, one ``Question.category`` each, in shuffled rounds (every category once per six questions):

* ``coreference`` — the fact names its subject by a description or a pronoun whose referent is named
  earlier: "Everyone in the valley knew Tobias Moreau as the clockmaker." ... (later, often chunks
  later) "The clockmaker's home town is Calder Heights." -> "What is the home town of Tobias Moreau?";
  objects take a pronoun in the next sentence ("The Copper Gate stands ... Its access code is 4821.").
* ``split`` — one fact over two sentences, next to each other or a few sentences apart (so often across
  a chunk boundary): "The access code of the Copper Gate was changed not long ago." "The new code is
  4821."
* ``three_hop`` — three separate facts chained (``hops=3``): "The employer of Mira Okafor is the
  Lantern Guild." "The Lantern Guild owns the Jade Vault." "The access code of the Jade Vault is 4821."
  -> "What is the access code of the vault owned by the employer of Mira Okafor?"
* ``relative_date`` — an action told with a relative date ("yesterday", "three days ago", "last
  Friday") under a dated session header many sentences above it -> "When did Mira Okafor repair the roof
  of the Copper Gate?", gold the absolute date (``7 May 2023``).
* ``set`` — the answer is a set told over several far-apart sentences: "Which gates does Mira Okafor
  guard?" (``keyword_hit``: the share of the set named).
* ``unanswerable`` — an attribute the stream never states, of an entity it names only in passing ("A
  traveller asked the way to the Jade Lighthouse.") and never in a fact: gold ``not mentioned``, scored
  as LoCoMo scores its adversarial category (``metadata["unanswerable"] = True``). A memory of facts
  holds nothing about the entity, so the reader abstains; raw text holds its name, and a reader that
  finds the name answers something.

Every phenomenon also occurs about entities nobody asks about (distractors of the same shape), among
the v0-style distractor facts and filler prose, so a shape alone never gives an answer away.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Sequence

from memenv.tasks.loaders import LOCOMO_ADVERSARIAL_ANSWERS
from memenv.tasks.records import Question
from memenv.tasks.synthetic.stream import _distractor_facts, _sentence, _world_filler
from memenv.tasks.synthetic.v0 import RETRIEVAL_ATTRIBUTES, _Attribute
from memenv.tasks.synthetic.v1.common import (
    WEEKDAYS,
    PlanV1,
    PoolsV1,
    Slot,
    categories,
    day,
    note_slot,
    session_header,
)
from memenv.tasks.synthetic.vocabulary import DESCRIPTIONS, OBJECT_KINDS, TERRAIN

CATEGORIES = ("coreference", "split", "three_hop", "relative_date", "set", "unanswerable")
UNANSWERABLE = LOCOMO_ADVERSARIAL_ANSWERS
"""Gold answers of an unanswerable question (LoCoMo's adversarial answers, as the LoCoMo loader gives them)."""

DISTRACTOR_FACTS_PER_1K = 4
PHENOMENON_DISTRACTORS_PER_1K = 0.4  # of each phenomenon, about entities nobody asks about
RELATIVE_GAP = (24, 44)  # sentences between a relative date and the header that dates it


# v0's fact shapes, and two more that the three-hop chains need.
ATTRIBUTES = {
    **RETRIEVAL_ATTRIBUTES,
    "owns": _Attribute("org", "object", "The {s} owns the {v}.", "What does the {s} own?"),
    "mayor": _Attribute("place", "person", "The mayor of {s} is {v}.", "Who is the mayor of {s}?"),
}

# Coreference. People: an introduction that gives a description, then the fact about "the <description>".
PERSON_INTROS = (
    "Everyone in the valley knew {p} as the {d}.",
    "{p} became the {d} of the district many years ago.",
    "Long ago {p} took over the workshop of the old {d} and became the {d}.",
)
PERSON_COREF = {
    "home_town": "The {d}'s home town is {v}.",
    "employer": "The employer of the {d} is the {v}.",
    "birth_year": "The {d} was born in {v}.",
}
# Objects: an introduction, and in the next sentence the fact with a pronoun.
OBJECT_INTROS = (
    "The {o} stands at the end of the {t}.",
    "Few people have ever been inside the {o}.",
    "The {o} was built long before anyone now living was born.",
)
OBJECT_COREF = {
    "access_code": "Its access code is {v}.",
    "location": "It is located in {v}.",
    "keeper": "It is guarded by {v}.",
}
# Split facts: the subject and the attribute in one sentence, the value in another without the subject.
SPLITS = {
    "access_code": ("The access code of the {s} was changed not long ago.", "The new code is {v}."),
    "location": ("For years nobody knew where the {s} had been taken.", "It turned up at last in {v}."),
    "keeper": ("The {s} went without a guard for a whole season.", "Then the post went to {v}."),
    "home_town": ("{s} moved around a great deal as a child.", "The family finally settled in {v}."),
    "employer": ("{s} spent months looking for steady work.", "In the end it was the {v} that signed the contract."),
    "birth_year": ("{s} rarely mentioned the year of their birth.", "The parish register gives it as {v}."),
    "founded": ("Records of the founding of the {s} were lost for a long time.", "A ledger later showed the year {v}."),
}  # fmt: skip
# Three-hop chains: (attributes in order, question with {x} = the named start and {kind} = the middle
# or end entity's kind word). Each link's value is the next link's subject.
CHAINS = (
    (("employer", "owns", "access_code"), "What is the access code of the {kind} owned by the employer of {x}?"),
    (("employer", "owns", "location"), "In which town is the {kind} owned by the employer of {x} located?"),
    (("home_town", "mayor", "birth_year"), "In which year was the mayor of the home town of {x} born?"),
    (("home_town", "mayor", "employer"), "Who is the employer of the mayor of the home town of {x}?"),
)
# Relative dates: (past tense, question verb phrase); {o} is an object.
ACTIONS = (
    ("repaired the roof of the {o}", "repair the roof of the {o}"),
    ("painted the doors of the {o}", "paint the doors of the {o}"),
    ("cleaned the windows of the {o}", "clean the windows of the {o}"),
    ("inspected the cellars of the {o}", "inspect the cellars of the {o}"),
    ("replaced the lock of the {o}", "replace the lock of the {o}"),
    ("swept the stairs of the {o}", "sweep the stairs of the {o}"),
)
# (words, days back; None: "last <weekday>", resolved against the header's date)
RELATIVE = (("yesterday", 1), ("the day before yesterday", 2), ("two days ago", 2), ("three days ago", 3),
            ("four days ago", 4), ("a week ago", 7), ("last {weekday}", None))  # fmt: skip
# Set answers: a person guards several objects of one kind, or an organisation owns them.
SET_KINDS = {
    "keeper": ("{p} guards the {o}.", "{p} also guards the {o}.", "Which {kinds} does {p} guard?"),
    "owns": ("The {p} owns the {o}.", "The {p} also owns the {o}.", "Which {kinds} does the {p} own?"),
}
PLURALS = {"Observatory": "observatories"}
# Unanswerable questions ask about an entity the stream names only in passing, in sentences like these
# (no fact template's words, no value of any attribute).
PASSING = {
    "person": ("{x} waved from across the square.", "Nobody had seen {x} for weeks.", "A parcel came for {x}."),
    "object": ("A traveller asked the way to the {x}.", "Someone painted a picture of the {x}.",
               "Children dared each other to touch the {x}."),
    "org": ("A letter from the {x} arrived at the inn.", "The {x} was mentioned at dinner.",
            "Someone wore a badge of the {x}."),
    "place": ("The road to {x} was closed for a day.", "A cart from {x} passed through.",
              "Rumours came from {x} again."),
}  # fmt: skip


def _plural(kind: str) -> str:
    return PLURALS.get(kind, kind.lower() + "s")


def _relative(rng: random.Random, said: dt.date) -> tuple[str, dt.date]:
    words, back = rng.choice(RELATIVE)
    if back is not None:
        return words, said - dt.timedelta(days=back)
    weekday = rng.randrange(7)
    back = (said.weekday() - weekday) % 7 or 7
    return words.format(weekday=WEEKDAYS[weekday]), said - dt.timedelta(days=back)


def build(world: random.Random, stream: random.Random, context_tokens: int, n: int) -> PlanV1:
    pools = PoolsV1(world)
    start = dt.date(2023, 1, 2) + dt.timedelta(days=world.randrange(700))
    questions: list[Question] = []
    placed: list[tuple[float, str]] = []
    slots: list[Slot] = []
    dated: list[tuple[str, dt.date, tuple[int, int]]] = []
    descriptions = list(DESCRIPTIONS)
    world.shuffle(descriptions)
    kinds = categories(world, CATEGORIES, n)
    relative_ranks = [i for i, c in enumerate(kinds) if c == "relative_date"]
    # Relative-date statements go in date order, so session dates never decrease along the stream.
    said_days = sorted(world.sample(range(60, 1400), len(relative_ranks)))

    def add(category: str, question: str, answers: tuple[str, ...], evidence: Sequence[str], **extra: object) -> None:
        metric = extra.pop("metric", "subem")
        hops = extra.pop("hops", 1)
        questions.append(
            Question(
                question=question,
                answers=answers,
                metric=str(metric),
                category=category,
                hops=int(hops),  # type: ignore[call-overload]
                metadata={"evidence": tuple(evidence), **extra},
                evidence=tuple(evidence),
            )
        )

    for q_index, category in enumerate(kinds):
        key = f"q{q_index}"
        if category == "coreference":
            if world.random() < 0.5:
                name = world.choice(sorted(PERSON_COREF))
                attribute = ATTRIBUTES[name]
                subject, value = pools.take("person"), pools.take(attribute.value)
                d = descriptions.pop()
                intro = world.choice(PERSON_INTROS).format(p=subject, d=d)
                fact = _sentence(PERSON_COREF[name].format(d=d, v=value))
                first = stream.uniform(0.0, 0.6)
                placed += [(first, _sentence(intro)), (stream.uniform(first, 1.0), fact)]
                statements = (_sentence(intro), fact)
            else:
                name = world.choice(sorted(OBJECT_COREF))
                attribute = ATTRIBUTES[name]
                subject, value = pools.take("object"), pools.take(attribute.value)
                intro = world.choice(OBJECT_INTROS).format(o=subject, t=world.choice(TERRAIN))
                fact = OBJECT_COREF[name].format(v=value)
                at = stream.random()
                placed += [(at, intro), (at, fact)]  # the pronoun's sentence comes right after
                statements = (intro, fact)
            note = attribute.fact.format(s=subject, v=value)
            slots.append(note_slot(key, statements, note))
            add(category, attribute.question.format(s=subject), (value,), statements, entity=subject, attribute=name)
        elif category == "split":
            name = world.choice(sorted(SPLITS))
            attribute = ATTRIBUTES[name]
            subject, value = pools.take(attribute.subject), pools.take(attribute.value)
            first_text, second_text = SPLITS[name]
            first, second = _sentence(first_text.format(s=subject)), second_text.format(v=value)
            at = stream.random()
            # Next to each other, or one to three sentences apart (often across a chunk boundary).
            gap = 0.0 if stream.random() < 0.5 else stream.randint(1, 3) * 22 / max(context_tokens, 1)
            placed += [(at, first), (min(at + gap, 0.999999), second)]
            slots.append(note_slot(key, (first, second), attribute.fact.format(s=subject, v=value)))
            add(
                category,
                attribute.question.format(s=subject),
                (value,),
                (first, second),
                entity=subject,
                attribute=name,
            )
        elif category == "three_hop":
            names, template = world.choice(CHAINS)
            entities = [pools.take(ATTRIBUTES[names[0]].subject)]
            for link in names:
                entities.append(pools.take(ATTRIBUTES[link].value))
            statements = tuple(
                ATTRIBUTES[link].fact.format(s=entities[i], v=entities[i + 1]) for i, link in enumerate(names)
            )
            thirds = [stream.uniform(0.0, 0.33), stream.uniform(0.34, 0.66), stream.uniform(0.67, 1.0)]
            stream.shuffle(thirds)
            placed += list(zip(thirds, statements, strict=True))
            middle = entities[2] if names[1] == "owns" else entities[1]
            question = template.format(x=entities[0], kind=middle.split()[-1].lower())
            for i, statement in enumerate(statements):
                slots.append(note_slot(f"{key}/{i}", (statement,), statement))
            bridge = tuple(entities[1:-1])
            add(category, question, (entities[-1],), statements, hops=3, entity=entities[0], bridge=bridge,
                attribute=">".join(names))  # fmt: skip
        elif category == "relative_date":
            person, obj = pools.take("person"), pools.take("object")
            past, present = world.choice(ACTIONS)
            said = start + dt.timedelta(days=said_days[relative_ranks.index(q_index)])
            words, when = _relative(world, said)
            action = past.format(o=obj)
            if world.random() < 0.5:
                statement = f"{person} {action} {words}."
            else:
                statement = f"{_sentence(words)}, {person} {action}."
            rank = relative_ranks.index(q_index)
            placed.append(((rank + stream.uniform(0.15, 0.85)) / len(relative_ranks), statement))
            dated.append((statement, said, RELATIVE_GAP))
            header = session_header(said)
            slots.append(note_slot(key, (statement,), f"On {day(when)}, {person} {action}."))
            answers = (day(when), f"{when:%B} {when.day}, {when.year}")
            add(category, f"When did {person} {present.format(o=obj)}?", answers, (header, statement), entity=person,
                said=day(said))  # fmt: skip
        elif category == "set":
            relation = world.choice(sorted(SET_KINDS))
            first_text, more_text, template = SET_KINDS[relation]
            owner = pools.take("person" if relation == "keeper" else "org")
            kind = world.choice(OBJECT_KINDS)
            items = [
                pools.take_where("object", lambda o, k=kind: o.endswith(" " + k)) for _ in range(world.randint(2, 4))
            ]
            statements = tuple(
                (first_text if i == 0 else more_text).format(p=owner, o=item) for i, item in enumerate(items)
            )
            positions = sorted(stream.random() for _ in items)
            placed += list(zip(positions, statements, strict=True))
            verb = "guards" if relation == "keeper" else "owns"
            lead = owner if relation == "keeper" else f"The {owner}"

            def render(seen: Sequence[str], statements: tuple[str, ...] = statements, items: list[str] = items,
                       lead: str = lead, verb: str = verb) -> dict[str, str]:  # fmt: skip
                known = [item for item, s in zip(items, statements, strict=True) if s in seen]
                listed = " and ".join(f"the {item}" for item in known)
                return {"": f"{lead} {verb} {listed}."}

            slots.append(Slot(key, statements, render))
            add(category, template.format(p=owner, kinds=_plural(kind)), tuple(items), statements,
                metric="keyword_hit", entity=owner, attribute=relation)  # fmt: skip
        else:  # unanswerable: an entity reserved here, named only in passing, never in a fact
            name = world.choice(sorted(ATTRIBUTES))
            attribute = ATTRIBUTES[name]
            subject = pools.take(attribute.subject)
            mentions = world.sample(PASSING[attribute.subject], 2)
            placed += [(stream.random(), _sentence(m.format(x=subject))) for m in mentions]
            add(category, attribute.question.format(s=subject), UNANSWERABLE, (), entity=subject, attribute=name,
                unanswerable=True)  # fmt: skip

    # Distractors: v0-style facts, and each phenomenon about entities nobody asks about.
    count = round(DISTRACTOR_FACTS_PER_1K * context_tokens / 1000)
    placed += _distractor_facts(stream, pools, ATTRIBUTES, count)
    each = round(PHENOMENON_DISTRACTORS_PER_1K * context_tokens / 1000)
    free_descriptions = descriptions[: max(len(descriptions) - 4, 0)]
    for i in range(each):
        at = stream.random()
        name = stream.choice(sorted(OBJECT_COREF))
        placed += [
            (at, stream.choice(OBJECT_INTROS).format(o=stream.choice(pools.rest("object")), t=stream.choice(TERRAIN))),
            (at, OBJECT_COREF[name].format(v=stream.choice(pools.rest(ATTRIBUTES[name].value)))),
        ]
        if i < len(free_descriptions):
            name = stream.choice(sorted(PERSON_COREF))
            d = free_descriptions[i]
            someone = stream.choice(pools.rest("person"))
            value = stream.choice(pools.rest(ATTRIBUTES[name].value))
            placed += [
                (stream.uniform(0, 0.5), _sentence(stream.choice(PERSON_INTROS).format(p=someone, d=d))),
                (stream.uniform(0.5, 1), _sentence(PERSON_COREF[name].format(d=d, v=value))),
            ]
        name = stream.choice(sorted(SPLITS))
        first_text, second_text = SPLITS[name]
        at = stream.random()
        placed += [
            (at, _sentence(first_text.format(s=stream.choice(pools.rest(ATTRIBUTES[name].subject))))),
            (at, second_text.format(v=stream.choice(pools.rest(ATTRIBUTES[name].value)))),
        ]
        past, _ = stream.choice(ACTIONS)
        words = stream.choice(RELATIVE)[0].format(weekday=stream.choice(WEEKDAYS))
        action = past.format(o=stream.choice(pools.rest("object")))
        placed.append((stream.random(), f"{stream.choice(pools.rest('person'))} {action} {words}."))
        relation = stream.choice(sorted(SET_KINDS))
        owner = stream.choice(pools.rest("person" if relation == "keeper" else "org"))
        placed.append((stream.random(), SET_KINDS[relation][1].format(p=owner, o=stream.choice(pools.rest("object")))))
    return PlanV1(
        questions=questions,
        placed=placed,
        filler=_world_filler(pools.rest("person"), pools.rest("place")),
        separator="\n",
        metadata={"distractor_facts": count, "phenomenon_distractors": each},
        sessions=True,
        start=start,
        dated=dated,
        slots=slots,
    )
