"""Tests for memenv.readers.answers: question kinds and short answers, each rule on hand-made sentences."""

from __future__ import annotations

import datetime as dt

import pytest

from memenv.readers.answers import question_kind, short_answer, stem

SAID = dt.date(2023, 5, 8)


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        ("When did Caroline go to the support group?", "when"),
        ("In which year was Mira born?", "when"),
        ("What date is the wedding?", "when"),
        ("How long ago was her 18th birthday?", "how_long_ago"),
        ("How long has she known them?", "how_long"),
        ("How many kids does Mel have?", "number"),
        ("How much did the bike cost?", "number"),
        ("Who guards the Copper Gate?", "who"),
        ("Whose dog is Max?", "who"),
        ("Where did she move from?", "where"),
        ("In which town is the Iron Tower located?", "where"),
        ("Did Melanie make the bowl?", "yes_no"),
        ("Would Caroline enjoy a trail run?", "yes_no"),
        ("What did Caroline research?", "what"),
        ("What does Maria feel when doing yoga?", "what"),  # "when" is not the question word here
        ("Why did Jon close his bank account?", "what"),
    ],
)
def test_question_kind(question: str, kind: str) -> None:
    assert question_kind(question) == kind


def test_stem_matches_inflections_for_matching_only() -> None:
    assert stem("researching") == stem("research") == "research"
    assert stem("agencies") == "agency"
    assert stem("running") == "run"
    assert stem("Melanie's") == "melanie"
    assert stem("class") == "class"  # "ss" is not a plural


@pytest.mark.parametrize(
    ("question", "sentence", "expected"),
    [
        # when: relative dates resolved against the day it was said; the day itself without one
        ("When did she go to the support group?", "I went to a support group yesterday.", "7 May 2023"),
        ("When did Mel run the race?", "We ran a charity race last Saturday!", "Saturday, 6 May 2023"),
        ("When did she paint it?", "I painted it in 2022, a while back.", "2022"),
        ("When did she get a dog?", "I got a dog and named him Max.", "8 May 2023"),
        # durations
        ("How long ago was her 18th birthday?", "A friend made it for my 18th ten years ago.", "ten years ago"),
        ("How long has she had her friends?", "I've known these friends for 4 years.", "4 years"),
        ("How long has Mel been painting?", "I've been painting since 2016.", "since 2016"),
        # numbers, people, places, yes/no
        ("How many kids does Mel have?", "Mel has three kids and a dog.", "three"),
        ("Who guards the Copper Gate?", "Mira Okafor guards the Copper Gate.", "Mira Okafor"),
        ("Who performed at the concert?", "It was Matt Patterson, he is so talented!", "Matt Patterson"),
        ("Where does Mira Okafor live now?", "Mira Okafor lives in Port Senna.", "Port Senna"),
        ("Where has Melanie camped?", "We camped at the beach last summer.", "beach"),
        ("Did Melanie make the bowl?", "Yeah, I made this bowl in my class.", "yes"),
        ("Would she move back?", "I don't think I'd ever move back.", "no"),
        # what: the phrase that is not in the question
        ("What is the access code of the Copper Gate?", "The access code of the Copper Gate is 4821.", "4821"),
        ("What did Caroline research?", "Researching adoption agencies is my plan.", "adoption agencies"),
        ("What was Melanie's favorite book?", 'I loved reading "Charlotte\'s Web" as a kid.', "Charlotte's Web"),
    ],
)
def test_short_answer_rules(question: str, sentence: str, expected: str) -> None:
    assert short_answer(question, sentence, SAID) == expected


def test_when_without_any_date_falls_back_to_the_what_rule() -> None:
    assert short_answer("When did she get a dog?", "I got a dog and named him Max.", None) == "Max"


def test_excluded_words_are_no_answer() -> None:
    # the second hop of a chain answers with what it adds, not the bridge entity found by the first hop
    sentence = "The access code of the Copper Gate is 4821."
    question = "What is the access code of the gate that Mira Okafor guards?"
    assert short_answer(question, sentence, exclude=["copper"]) == "4821"


def test_function_words_and_time_words_are_never_the_answer() -> None:
    assert short_answer("What did she do?", "I'm sure it's fine.") == "fine"
    assert short_answer("What is the name of her puppy?", "We got the puppy two weeks ago, Coco.") == "Coco"
    assert short_answer("What is it?", "The the, of a.") == ""


def test_rarity_prefers_the_specific_phrase() -> None:
    sentence = "It sounds great, and raising awareness for mental health is rewarding."
    rare = {"mental": 5.0, "health": 4.0, "sounds": 0.5, "great": 0.3, "rewarding": 1.0}
    answer = short_answer("What did the race raise awareness for?", sentence, rarity=lambda w: rare.get(w.lower(), 1.0))
    assert answer == "mental health"
