"""Tests for suite v1 of the generators (memenv.tasks.synthetic.v1) and for what it must show.

Per phenomenon (``Question.category``): the generator emits it, the oracle's memory answers it, and a
writer that stores the raw chunks does measurably worse on it. Plus determinism, lengths, and the
mechanics each phenomenon relies on (dated sessions, flashbacks, relabelling, passing mentions).
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter, defaultdict

import pytest

from baselines.oracle import OracleWriter, notes_of
from baselines.systems import EnvPolicy, Oracle, store_all
from memenv import tokenizer
from memenv.metrics import score_question
from memenv.readers import EvidenceReader, ReaderContext
from memenv.readers.dates import header_date, parse_date
from memenv.tasks.records import COMPETENCIES, Episode
from memenv.tasks.synthetic import generate
from memenv.tasks.synthetic.v1 import CATEGORIES
from memenv.tasks.synthetic.v1.learning import NOTICE

READER = EvidenceReader()


def v1(competency: str, seed: int = 0, context_tokens: int = 8192, **kwargs: int) -> Episode:
    return generate(competency, seed=seed, context_tokens=context_tokens, suite="v1", **kwargs)


def _lines(episode: Episode) -> list[str]:
    return [line for chunk in episode.chunks for line in chunk.split("\n")]


# --------------------------------------------------------------------------------------------------
# Determinism, lengths, categories
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("competency", COMPETENCIES)
def test_v1_is_deterministic_and_not_v0(competency: str) -> None:
    episode = v1(competency, seed=3, context_tokens=4096)
    assert episode == v1(competency, seed=3, context_tokens=4096)
    assert episode.id == f"{competency}-v1-3-4096"
    assert episode.metadata["suite"] == "v1" and episode.metadata["oracle_notes"]
    v0 = generate(competency, seed=3, context_tokens=4096)
    assert episode.chunks != v0.chunks and "oracle_notes" not in v0.metadata
    assert v1(competency, seed=4, context_tokens=4096).questions != episode.questions


@pytest.mark.parametrize("competency", COMPETENCIES)
def test_v1_same_seed_asks_the_same_questions_at_every_length(competency: str) -> None:
    def asked(episode: Episode) -> list[tuple]:
        return [(q.question, q.answers, q.metric, q.category, q.hops) for q in episode.questions]

    short = v1(competency, seed=9, context_tokens=2048, chunk_tokens=256)
    long = v1(competency, seed=9, context_tokens=65536)
    assert asked(short) == asked(long)
    assert short.chunks != long.chunks


@pytest.mark.parametrize("competency", COMPETENCIES)
@pytest.mark.parametrize(("context_tokens", "chunk_tokens"), [(2048, 512), (32768, 512), (4096, 64)])
def test_v1_chunks_fit_budget_and_total_is_near_target(competency: str, context_tokens: int, chunk_tokens: int) -> None:
    episode = v1(competency, context_tokens=context_tokens, chunk_tokens=chunk_tokens)
    counts = tokenizer.count_tokens_batch(list(episode.chunks))
    assert max(counts) <= chunk_tokens
    assert abs(sum(counts) - context_tokens) <= 0.1 * context_tokens


def test_v1_generates_a_million_tokens() -> None:
    episode = v1("conflict_resolution", context_tokens=1_000_000, chunk_tokens=4096)
    assert sum(tokenizer.count_tokens_batch(list(episode.chunks))) >= 950_000
    assert [q.question for q in episode.questions] == [q.question for q in v1("conflict_resolution").questions]


@pytest.mark.parametrize("competency", COMPETENCIES)
def test_v1_emits_every_phenomenon_of_its_competency(competency: str) -> None:
    counts = Counter(q.category for q in v1(competency, num_questions=10).questions)
    assert set(counts) == set(CATEGORIES[competency])
    expected = {
        "accurate_retrieval": lambda c: sorted(c.values()) == [1, 1, 2, 2, 2, 2],  # rounds of six
        "conflict_resolution": lambda c: set(c.values()) == {2},
        "test_time_learning": lambda c: set(c.values()) == {5},
        "long_range_understanding": lambda c: c["summary"] == 3 and c["order"] + c["causality"] == 7,
    }
    assert expected[competency](counts), counts


def test_v1_rejects_an_unknown_suite() -> None:
    with pytest.raises(ValueError, match="suite must be one of v0, v1; got 'v2'"):
        generate("accurate_retrieval", seed=0, suite="v2")


# --------------------------------------------------------------------------------------------------
# The must-show: per phenomenon, the oracle answers it and raw chunks do measurably worse
# --------------------------------------------------------------------------------------------------

SEEDS = (0, 1, 2)


QUESTIONS = {
    "accurate_retrieval": 12,
    "conflict_resolution": 15,
    "test_time_learning": 10,
    "long_range_understanding": 10,
}


def _per_category(system: object, competency: str) -> dict[str, float]:
    scores: dict[str, list[float]] = defaultdict(list)
    for seed in SEEDS:
        episode = v1(competency, seed=seed, context_tokens=16384, num_questions=QUESTIONS[competency])
        result = system.run(episode, READER)  # type: ignore[attr-defined]
        for row in result.qa.per_question:
            scores[row["category"]].append(row["score"])
    return {category: sum(values) / len(values) for category, values in scores.items()}


@pytest.mark.parametrize("competency", COMPETENCIES)
def test_oracle_answers_every_phenomenon_and_raw_chunks_do_worse(competency: str) -> None:
    oracle = _per_category(Oracle(), competency)
    raw = _per_category(EnvPolicy("store-all", store_all, "MemAlpha-v1"), competency)
    assert set(oracle) == set(raw) == set(CATEGORIES[competency])
    for category in CATEGORIES[competency]:
        assert oracle[category] >= 0.9, (category, oracle)
        assert raw[category] <= oracle[category] - 0.2, (category, oracle[category], raw[category])


# --------------------------------------------------------------------------------------------------
# The oracle
# --------------------------------------------------------------------------------------------------


def _play(episode: Episode) -> tuple[list[dict], list[set[str]]]:
    """Play the oracle in MemAlpha-v1; return the final memory's semantic texts and, per step, the lines read."""
    import gymnasium as gym

    env = gym.make("MemAlpha-v1")
    writer = OracleWriter(notes_of(episode))
    obs, info = env.reset(seed=0, options={"episode": episode})
    done = False
    read: set[str] = set()
    while not done:
        read |= set(obs["chunk"].split("\n"))
        before = {e.text for e in env.unwrapped.memory.entries("semantic")}
        obs, _, done, _, info = env.step(writer(obs, info))
        added = {e.text for e in env.unwrapped.memory.entries("semantic")} - before
        # Nothing is written before the statement that reveals it has been read.
        revealed = {n["text"] for n in notes_of(episode) if n["after"] in read}
        assert added <= revealed
        assert all(r["ok"] for r in info["tool_results"]), info["tool_results"]
    memory = env.unwrapped.memory
    return [e.text for e in memory.entries("semantic")], [memory.core]


@pytest.mark.parametrize("competency", COMPETENCIES)
def test_oracle_memory_is_the_final_state_of_its_notes(competency: str) -> None:
    episode = v1(competency, context_tokens=4096)
    semantic, _ = _play(episode)
    final: dict[str, str] = {}
    for note in notes_of(episode):
        final[note["key"]] = note["text"]
    expected = sorted(text for key, text in final.items() if key != "core" and text)
    assert sorted(semantic) == expected


def test_oracle_never_reads_the_questions() -> None:
    import dataclasses

    episode = v1("conflict_resolution", context_tokens=4096)
    blind = dataclasses.replace(
        episode, questions=tuple(dataclasses.replace(q, question="?", answers=("x",)) for q in episode.questions)
    )
    assert _play(blind) == _play(episode)
    assert not any(q.question in note["text"] for q in episode.questions for note in notes_of(episode))


def test_oracle_refuses_episodes_without_ground_truth() -> None:
    with pytest.raises(ValueError, match="needs a suite-v1 synthetic episode"):
        notes_of(generate("accurate_retrieval", seed=0, context_tokens=2048))


# --------------------------------------------------------------------------------------------------
# The mechanics behind each phenomenon
# --------------------------------------------------------------------------------------------------


def test_relative_dates_sit_many_lines_below_the_header_that_dates_them() -> None:
    episode = v1("accurate_retrieval", seed=1, context_tokens=16384, num_questions=12)
    lines = _lines(episode)
    questions = [q for q in episode.questions if q.category == "relative_date"]
    assert questions
    for q in questions:
        header, statement = q.evidence
        at = lines.index(statement)
        above = [i for i in range(at) if header_date(lines[i]) is not None]
        assert lines[above[-1]] == header  # the session it belongs to
        assert at - above[-1] >= 10  # far enough that it is rarely in the same chunk
        said = header_date(header)
        assert said is not None and parse_date(f"on {q.answers[0]}") < said


def test_session_dates_never_decrease_except_in_flashbacks() -> None:
    episode = v1("conflict_resolution", seed=2, context_tokens=32768)
    dates = [(line, header_date(line)) for line in _lines(episode) if header_date(line) is not None]
    present = [date for line, date in dates if not line.startswith("[From an old letter")]
    assert present == sorted(present)
    letters = [date for line, date in dates if line.startswith("[From an old letter")]
    assert letters and max(letters) < min(present)  # a letter tells of an older time


def test_coreference_facts_do_not_name_their_subject() -> None:
    episode = v1("accurate_retrieval", seed=0, context_tokens=16384, num_questions=30)
    questions = [q for q in episode.questions if q.category == "coreference"]
    assert questions
    for q in questions:
        intro, fact = q.evidence
        assert q.metadata["entity"] in intro and q.metadata["entity"] not in fact
        assert q.answers[0] in fact and q.answers[0] not in intro


def test_split_facts_put_subject_and_value_in_different_sentences() -> None:
    episode = v1("accurate_retrieval", seed=0, context_tokens=16384, num_questions=30)
    for q in (q for q in episode.questions if q.category == "split"):
        first, second = q.evidence
        assert q.metadata["entity"] in first and q.answers[0] not in first
        assert q.answers[0] in second and q.metadata["entity"] not in second


def test_unanswerable_entities_are_named_only_in_passing() -> None:
    episode = v1("accurate_retrieval", seed=0, context_tokens=16384, num_questions=30)
    questions = [q for q in episode.questions if q.category == "unanswerable"]
    assert questions
    lines = _lines(episode)
    for q in questions:
        mentions = [line for line in lines if q.metadata["entity"] in line]
        assert len(mentions) == 2 and q.evidence == ()
        assert not any(re.search(r"\d{4}| is | guards ", line) for line in mentions)
        assert q.metadata["unanswerable"] is True
        # Scored as LoCoMo scores its adversarial category; the reader abstains on an empty memory.
        answer = READER.answer(q, ReaderContext(""))
        assert answer == "not mentioned"
        assert score_question(q, answer).rule == "locomo_adversarial" and score_question(q, answer).score == 1.0


def test_relabelling_notice_changes_the_labels_after_it() -> None:
    episode = v1("test_time_learning", seed=4, context_tokens=16384)
    lines = _lines(episode)
    for topic, new in episode.metadata["relabelled"].items():
        old = episode.metadata["labels"][topic]
        at = lines.index(NOTICE.format(old=old, new=new))
        assert not any(line.endswith(f" Label: {new}") for line in lines[:at])
        assert not any(line.endswith(f" Label: {old}") for line in lines[at:])
        assert 0.55 < at / len(lines) < 0.9
    for q in episode.questions:
        relabelled = q.metadata["topic"] in episode.metadata["relabelled"]
        assert (q.category == "relabelled") == relabelled


def test_look_alike_entities_share_a_name_word_and_take_the_current_value() -> None:
    episode = v1("conflict_resolution", seed=0, context_tokens=16384, num_questions=20)
    questions = [q for q in episode.questions if q.category == "look_alike"]
    assert questions
    lines = _lines(episode)
    for q in questions:
        entity, other = q.metadata["entity"], q.metadata["look_alike"]
        assert entity != other and set(entity.split()) & set(other.split())
        about_other = [line for line in lines if other in line]
        assert len(about_other) == 2 and q.answers[0] in about_other[0] and q.answers[0] not in about_other[1]


def test_story_order_and_causes_are_never_stated_in_one_sentence() -> None:
    episode = v1("long_range_understanding", seed=0, context_tokens=16384)
    for q in episode.questions:
        if q.category in ("order", "causality"):
            asked, answer = q.metadata["event"], q.answers[0]
            assert not any(asked in line and answer in line for line in _lines(episode))
    causes = episode.metadata["causes"]
    assert causes and all(list(episode.metadata["events"]).index(c) < list(episode.metadata["events"]).index(e)
                          for e, c in causes.items())  # fmt: skip


def test_relative_date_gold_is_the_header_date_minus_the_offset() -> None:
    episode = v1("accurate_retrieval", seed=3, context_tokens=8192, num_questions=12)
    for q in (q for q in episode.questions if q.category == "relative_date"):
        said = parse_date(q.metadata["said"])
        gold = parse_date(q.answers[0])
        assert said is not None and gold is not None and dt.timedelta(days=1) <= said - gold <= dt.timedelta(days=7)
