"""Write a LoCoMo-format dataset of memenv's own text: schema-true, deterministic, free to share.

    python benchmarks/locomo_like.py --out data/locomo_like.json --conversations 10
    python -m baselines.leaderboard --dataset data/locomo_like.json --source locomo --out results-locomo-like

LoCoMo's ``locomo10.json`` is the real benchmark (download it from the LoCoMo repository); this file has
its schema and its kinds of questions, written from templates here, so the real-data pipeline (loader,
dated chunk headers, evidence ids, categories, the short-answer reader, the recall metrics) can be run
and measured anywhere. Each conversation has two speakers and dated sessions in which they mention
facts about themselves ("My dog is called Pepper."), things they did with a relative date ("I ran a
charity race last Saturday!"), and small talk. Questions, in LoCoMo's categories:

* 4 single-hop: one fact ("What is Mara's dog called?" -> ``Pepper``);
* 2 temporal: when an activity happened, the gold written as LoCoMo writes it (``7 May 2023``,
  ``The week before 9 June 2023``, ``The Saturday before 25 May 2023``);
* 1 multi-hop: every activity of one kind over several sessions (``pottery, hiking``);
* 5 adversarial: a fact never mentioned (gold from the other speaker's facts, as LoCoMo's adversarial
  questions swap the person), kept only with ``include_adversarial=True``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
from pathlib import Path
from typing import Any

NAMES = ("Mara", "Teo", "Ines", "Jonas", "Priya", "Oskar", "Lena", "Farid", "Yara", "Bram", "Nadia", "Viktor")
FACTS = {  # attribute -> (statement, question, values)
    "pet": ("My dog is called {v}.", "What is {p}'s dog called?", ("Pepper", "Biscuit", "Juniper", "Marlow")),
    "home": ("I grew up in {v}, by the sea.", "Where did {p} grow up?", ("Lisbon", "Gdansk", "Valparaiso", "Oban")),
    "job": ("I work as a {v} these days.", "What does {p} work as?", ("nurse", "carpenter", "translator", "chef")),
    "instrument": ("I play the {v} in a small band.", "Which instrument does {p} play?", ("cello", "banjo", "oboe")),
    "book": ('I just finished "{v}", loved it.', "Which book did {p} just finish?", ("The Salt Road", "Low Tide")),
    "car": ("I finally bought a {v}, second hand.", "What car did {p} buy?", ("green Volvo", "red Fiat", "blue Skoda")),
    "sibling": ("My sister {v} is visiting next month.", "What is the name of {p}'s sister?", ("Ilse", "Rosa", "Mina")),
    "food": (
        "Nothing beats {v} on a cold evening.",
        "What is {p}'s favourite food?",
        ("lentil soup", "ramen", "paella"),
    ),
}
ACTIVITIES = {  # activity (as the text names it) -> (kind, what was said, question clause)
    "charity race": ("sport", "ran a charity race", "run a charity race"),
    "hiking": ("sport", "went hiking in the hills", "go hiking in the hills"),
    "swimming": ("sport", "went swimming in the lake", "go swimming in the lake"),
    "pottery": ("craft", "made a bowl in my pottery class", "make a bowl in a pottery class"),
    "painting": ("craft", "finished a painting of a sunrise", "finish a painting of a sunrise"),
    "knitting": ("craft", "did some knitting and finished a scarf", "finish knitting a scarf"),
    "museum": ("outing", "took the kids to the museum", "take the kids to the museum"),
    "jazz concert": ("outing", "went to a jazz concert downtown", "go to a jazz concert"),
}
WHEN = ("yesterday", "last week", "last Saturday", "two days ago", "last weekend")
SMALL_TALK = (
    "How have you been?",
    "That sounds lovely!",
    "Work has been busy, but I'm hanging in there.",
    "I love hearing about your week.",
    "The weather was awful here, rain every single day.",
    "Let's catch up again soon!",
    "Thanks, that means a lot to me.",
    "I've been trying to get more sleep and drink less coffee.",
    "My neighbours are renovating, so it's noisy all day.",
    "I keep meaning to call my parents more often.",
    "Honestly, I needed a quiet weekend after that month.",
    "The kids have been full of energy lately.",
    "I tried a new recipe and it turned out surprisingly well.",
    "Traffic on the way home was unbelievable.",
    "It's good to have someone to talk to about all this.",
    "I'm thinking about rearranging the living room.",
    "We finally fixed the leaking tap in the kitchen.",
    "Do you ever feel like the weeks just fly by?",
    "I read an article about sleep that made me rethink my evenings.",
    "Our street had a little festival with food stalls and music.",
    "I'm proud of you for sticking with it.",
    "That reminds me of something my grandmother used to say.",
    "I started keeping a journal, just a few lines a day.",
    "The garden is finally coming back to life.",
    "We should plan something together when things calm down.",
    "I had a long talk with an old friend from school.",
    "Sometimes the small routines are what keep me going.",
    "I can't believe how fast this year is going.",
)


def _header(when: dt.datetime) -> str:
    hour = when.hour % 12 or 12
    return f"{hour}:{when.minute:02d} {'am' if when.hour < 12 else 'pm'} on {when.day} {when:%B}, {when.year}"


def _date(day: dt.date) -> str:
    return f"{day.day} {day:%B} {day.year}"


def _gold_when(expression: str, said: dt.date) -> str:
    """The gold as LoCoMo's annotators write it."""
    if expression == "yesterday":
        return _date(said - dt.timedelta(days=1))
    if expression == "two days ago":
        return _date(said - dt.timedelta(days=2))
    if expression == "last week":
        return f"The week before {_date(said)}"
    if expression == "last weekend":
        return f"The weekend before {_date(said)}"
    return f"The Saturday before {_date(said)}"


def conversation(index: int, sessions: int = 30) -> dict[str, Any]:
    rng = random.Random(f"locomo-like/{index}")
    a, b = rng.sample(NAMES, 2)
    facts = {p: {k: rng.choice(v[2]) for k, v in rng.sample(sorted(FACTS.items()), 5)} for p in (a, b)}
    start = dt.datetime(2023, 3, 1, 9, 0) + dt.timedelta(days=rng.randrange(60))
    conv: dict[str, Any] = {"speaker_a": a, "speaker_b": b}
    qa: list[dict[str, Any]] = []
    told = {p: list(facts[p]) for p in (a, b)}
    done: dict[tuple[str, str], list[tuple[str, str]]] = {}  # (person, kind) -> [(activity, dia_id)]
    when = start
    for n in range(1, sessions + 1):
        when += dt.timedelta(days=rng.randrange(4, 16), hours=rng.randrange(0, 9), minutes=rng.randrange(0, 60))
        conv[f"session_{n}_date_time"] = _header(when)
        turns: list[dict[str, str]] = []

        def say(speaker: str, text: str, turns: list[dict[str, str]] = turns, n: int = n) -> str:
            dia_id = f"D{n}:{len(turns) + 1}"
            turns.append({"speaker": speaker, "dia_id": dia_id, "text": text})
            return dia_id

        for turn in range(rng.randrange(14, 25)):
            speaker = (a, b)[turn % 2]
            roll = rng.random()
            if roll < 0.04 and told[speaker]:
                attribute = told[speaker].pop()
                statement, question, _ = FACTS[attribute]
                dia_id = say(speaker, f"{rng.choice(SMALL_TALK)} {statement.format(v=facts[speaker][attribute])}")
                answer = facts[speaker][attribute]
                qa.append(
                    {"question": question.format(p=speaker), "answer": answer, "evidence": [dia_id], "category": 4}
                )
                other = b if speaker == a else a
                if attribute not in facts[other]:  # never said about the other speaker: adversarial
                    qa.append(
                        {
                            "question": question.format(p=other),
                            "evidence": [dia_id],
                            "category": 5,
                            "adversarial_answer": answer,
                        }
                    )
            elif roll < 0.065:
                activity = rng.choice(sorted(ACTIVITIES))
                kind, clause, ask = ACTIVITIES[activity]
                expression = rng.choice(WHEN)
                text = f"I {clause} {expression}!" if rng.random() < 0.5 else f"Guess what, {expression} I {clause}."
                dia_id = say(speaker, text)
                said = when.date()
                qa.append(
                    {
                        "question": f"When did {speaker} {ask}?",
                        "answer": _gold_when(expression, said),
                        "evidence": [dia_id],
                        "category": 2,
                    }
                )
                done.setdefault((speaker, kind), []).append((activity, dia_id))
            else:
                say(speaker, " ".join(rng.sample(SMALL_TALK, rng.randrange(1, 4))))
        conv[f"session_{n}"] = turns
    for (person, kind), items in sorted(done.items()):
        names = list(dict.fromkeys(activity for activity, _ in items))
        if len(names) >= 2:
            qa.append(
                {
                    "question": f"What {kind} activities has {person} done?",
                    "answer": ", ".join(names),
                    "evidence": [dia_id for _, dia_id in items],
                    "category": 1,
                }
            )
    return {"sample_id": f"like-{index}", "qa": qa, "conversation": conv}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=Path("data/locomo_like.json"), help="where to write the JSON")
    parser.add_argument("--conversations", type=int, default=10, help="how many conversations")
    parser.add_argument("--sessions", type=int, default=30, help="sessions per conversation")
    args = parser.parse_args(argv)
    if args.conversations < 1 or args.sessions < 1:
        parser.error("--conversations and --sessions must be >= 1")
    data = [conversation(i, args.sessions) for i in range(args.conversations)]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(data, indent=1) + "\n")
    counts = {c: sum(q["category"] == c for s in data for q in s["qa"]) for c in range(1, 6)}
    print(f"wrote {args.out}: {len(data)} conversations, questions per category {counts}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
