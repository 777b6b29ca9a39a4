"""Suite v1, ``test_time_learning``: more classes, shared words, rare classes, and labels that change.

12 to 16 topics out of 18 (v0 has 6 to 10 out of 12), each an arbitrary label (distinct integers 0-99);
some classes are common and some rare (up to :data:`RARITY` times rarer), while questions ask about every
class alike. Two phenomena, one ``Question.category`` each, alternating:

* ``overlapping_classes`` — every class borrows words from a neighbouring class: in 80 % of its
  examples one or two of the three nouns (and in 40 % the adjective) come from the neighbour's
  vocabulary. A rare class's few examples are then outvoted by a common neighbour's many examples that
  use its words; a memory that keeps each class as a whole (its vocabulary, its label) is not.
* ``relabelled`` — three or four classes are relabelled between 60 % and 85 % of the stream by a
  notice ("Notice: from here on, the inputs that used to be labelled 23 are labelled 71 instead."); the
  examples after it carry the new label, the (more numerous) ones before it the old one. The gold answer
  is the new label.

The stream is one example per line, ``Input: <sentence> Label: <n>``, as in v0; questions are new
sentences of an asked class.
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence
from dataclasses import replace

from memenv.metrics import STOP_WORDS
from memenv.tasks.records import Question
from memenv.tasks.synthetic.stream import _sentence
from memenv.tasks.synthetic.v1.common import PlanV1, Slot, categories
from memenv.tasks.synthetic.vocabulary import SAMPLE_TEMPLATES, SUBJECTS, TOPICS, TOPICS_V1_EXTRA

CATEGORIES = ("overlapping_classes", "relabelled")
TOPICS_V1 = {**TOPICS, **TOPICS_V1_EXTRA}
BORROW_NOUN = 0.8  # share of examples with a noun (half of them two) from the neighbouring class
BORROW_SECOND = 0.5  # of those, the share that borrow a second noun
BORROW_ADJECTIVE = 0.4  # share with the neighbour's adjective
RARITY = 20.0  # the most common class is up to this many times as frequent as the rarest
RELABEL_SPAN = (0.6, 0.85)  # where in the stream the notices come
HEADER = (
    "Each line below pairs an input with its label. A notice may reassign a label: from then on, every "
    "input of that class gets the new label."
)
QUESTION = "Input: {sample}\nWhich label does this input get? Answer as \\boxed{{label}}."
NOTICE = "Notice: from here on, the inputs that used to be labelled {old} are labelled {new} instead."


def _sample(topic: str, neighbour: str, rng: random.Random) -> str:
    nouns, verbs, adjectives = TOPICS_V1[topic]
    other_nouns, _, other_adjectives = TOPICS_V1[neighbour]
    noun, noun2, noun3 = rng.sample(nouns, 3)
    if rng.random() < BORROW_NOUN:
        noun3 = rng.choice(other_nouns)
        if rng.random() < BORROW_SECOND:
            noun2 = rng.choice([w for w in other_nouns if w != noun3])
    adjective = rng.choice(other_adjectives if rng.random() < BORROW_ADJECTIVE else adjectives)
    text = rng.choice(SAMPLE_TEMPLATES).format(
        subj=rng.choice(SUBJECTS), verb=rng.choice(verbs), adj=adjective, noun=noun, noun2=noun2, noun3=noun3
    )
    return _sentence(text)


def _prototype(topic: str, examples: Sequence[str], label: int, new: int | None, notice: str | None) -> Slot:
    """The oracle's entry for one class: every content word its examples have used so far, with the
    class's current label (``new`` once ``notice`` has been read).

    With overlapping vocabularies a class is best kept as what its examples say together: a few raw
    examples that borrowed the neighbour's words vote for the wrong class, the class's whole vocabulary
    (its borrowed words included) does not. The slot is rendered once per example read, in order, so it
    keeps its vocabulary between calls instead of reading every example again.
    """
    words: dict[str, None] = {}
    done: list[int] = [0]

    noticed = [False]

    def render(seen: Sequence[str]) -> dict[str, str]:
        for statement in seen[done[0] :]:
            if statement == notice:
                noticed[0] = True
                continue
            sample = statement.removeprefix("Input: ").rpartition(" Label: ")[0]
            words.update(dict.fromkeys(w for w in re.findall(r"[\w-]+", sample.lower()) if w not in STOP_WORDS))
        done[0] = len(seen)
        current = new if new is not None and noticed[0] else label
        return {"": f"Input: {' '.join(words)} Label: {current}"}

    statements = tuple(dict.fromkeys(examples)) + ((notice,) if notice is not None else ())
    return Slot(topic, statements, render)


def build(world: random.Random, stream: random.Random, context_tokens: int, n: int) -> PlanV1:
    topics = world.sample(sorted(TOPICS_V1), world.randint(12, 16))
    neighbour = {t: topics[(i + 1) % len(topics)] for i, t in enumerate(topics)}
    relabelled = world.sample(topics, world.randint(3, 4))
    numbers = world.sample(range(100), len(topics) + len(relabelled))
    labels = dict(zip(topics, numbers, strict=False))
    new = dict(zip(relabelled, numbers[len(topics) :], strict=True))
    stable = [t for t in topics if t not in new]
    # Some classes are common, some rare (up to RARITY times rarer); questions ask every class alike.
    weights = [RARITY ** -world.random() for _ in topics]
    questions: list[Question] = []
    asked: set[str] = set()
    for category in categories(world, CATEGORIES, n):
        topic = world.choice(relabelled if category == "relabelled" else stable)
        sample = _sample(topic, neighbour[topic], world)
        asked.add(sample)
        questions.append(
            Question(
                question=QUESTION.format(sample=sample),
                answers=(str(new.get(topic, labels[topic])),),
                metric="boxed_label_em",
                category=category,
                metadata={"topic": topic, "sample": sample, "old_label": str(labels[topic])},
            )
        )
    notices = {t: NOTICE.format(old=labels[t], new=new[t]) for t in relabelled}
    placed = [(stream.uniform(*RELABEL_SPAN), notices[t]) for t in relabelled]

    def example(rng: random.Random) -> str:
        while True:  # questions are new samples: never repeat one in the stream
            topic = rng.choices(topics, weights)[0]
            sample = _sample(topic, neighbour[topic], rng)
            if sample not in asked:
                return f"Input: {sample} Label: {labels[topic]}"

    def finish(pieces: list[str]) -> list[str]:
        """Examples after a class's notice carry its new label."""
        out: list[str] = []
        moved: dict[str, str] = {}  # old label suffix -> new
        notice_of = {text: t for t, text in notices.items()}
        for piece in pieces:
            if piece in notice_of:
                t = notice_of[piece]
                moved[f" Label: {labels[t]}"] = f" Label: {new[t]}"
            elif piece.startswith("Input: "):
                head, marker, label = piece.rpartition(" Label: ")
                old = f"{marker}{label}"
                if old in moved:
                    piece = head + moved[old]
            out.append(piece)
        return out

    def complete(pieces: list[str]) -> tuple[list[Question], list[Slot]]:
        """Each question's evidence (its class's examples) and the oracle's slots (one prototype per
        asked class)."""
        class_of = {str(labels[t]): t for t in topics} | {str(new[t]): t for t in relabelled}
        examples: dict[str, list[str]] = {t: [] for t in topics}
        for piece in pieces:
            head, marker, label = piece.rpartition(" Label: ")
            if marker and head.startswith("Input: ") and label in class_of:
                examples[class_of[label]].append(piece)
        wanted = {q.metadata["topic"] for q in questions}
        slots = [_prototype(t, examples[t], labels[t], new.get(t), notices.get(t)) for t in topics if t in wanted]
        with_evidence = [replace(q, evidence=tuple(examples[q.metadata["topic"]])) for q in questions]
        return with_evidence, slots

    return PlanV1(
        questions=questions,
        header=[HEADER],
        placed=placed,
        filler=example,
        separator="\n",
        metadata={
            "labels": {t: labels[t] for t in topics},
            "relabelled": {t: new[t] for t in relabelled},
            "num_classes": len(topics),
        },
        prose=False,
        finish=finish,
        complete=complete,
    )
