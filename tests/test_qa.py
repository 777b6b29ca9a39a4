"""Tests for memenv.qa: per-question rows with recall and context ids, the QA signal, and the fixture must-shows."""

from __future__ import annotations

from pathlib import Path

import gymnasium as gym
import pytest

import memenv  # noqa: F401  (registers the environments)
from baselines.systems import make_system
from memenv import metrics
from memenv.memory import Memory
from memenv.qa import QAReport, answer_questions, memory_context, rescore
from memenv.readers import EvidenceReader, Passage, ReaderContext
from memenv.tasks import load
from memenv.tasks.records import Question

LOCOMO = Path(__file__).parent / "fixtures" / "locomo10_tiny.json"


def test_rows_carry_recall_and_the_ids_the_reader_was_given() -> None:
    memory = Memory(seed=0)
    gate = memory.insert("semantic", "The access code of the Copper Gate is 4821.")
    memory.insert("episodic", "It rained all day.")
    memory.set_core("Mira guards the Copper Gate.")
    questions = [
        Question("What is the access code of the Copper Gate?", ("4821",), "subem", evidence=("Code 4821.",)),
        Question("Who guards the Iron Tower?", ("Tobias Reyes",), "subem"),
    ]
    report = answer_questions(questions, memory_context(memory, top_k=1), EvidenceReader())
    first, second = report.per_question
    assert first["prediction"] == "4821" and first["score"] == 1.0
    assert first["answer_recall"] == 1.0 and first["evidence_recall"] == 1.0  # "code", "4821" both shown
    assert first["context_ids"] == ["core", f"semantic:{gate.id}"]  # the rain entry shares no word
    assert second["answer_recall"] == 0.0 and second["evidence_recall"] is None
    assert report.accuracy == 0.5
    assert report.answer_recall == 0.5
    assert (report.evidence_recall, report.evidence_left_out) == (1.0, 1)
    info = report.as_info()
    assert QAReport.from_info(info) == report
    info["per_question"][0]["context_ids"].append("mutated")
    assert report.per_question[0]["context_ids"] == ["core", f"semantic:{gate.id}"]  # info is a copy


def test_signal_picks_r1() -> None:
    report = QAReport(0.25, (), answer_recall=0.5, evidence_recall=0.75)
    assert [report.signal(s) for s in ("reader", "answer_recall", "evidence_recall")] == [0.25, 0.5, 0.75]
    with pytest.raises(ValueError, match="no question of this episode names its evidence"):
        QAReport(0.25, ()).signal("evidence_recall")
    with pytest.raises(ValueError, match="qa signal must be one of"):
        report.signal("f1")


def test_recall_is_computed_on_exactly_the_context_given() -> None:
    question = Question("What did Nadia make?", ("a vase",), "token_f1", evidence=("Nadia: Ilse and I made a vase.",))
    given = ReaderContext("", (Passage("[Dialogue at 8 May 2023]\nNadia: Ilse and I made a vase.", "chunk", "3"),))
    row = answer_questions([question], lambda _q: given, EvidenceReader()).per_question[0]
    assert row["context_ids"] == ["chunk:3"]
    seen = metrics.recall_tokens(given.passages[0].text)
    assert row["answer_recall"] == metrics.answer_recall(question.answers, seen) == 1.0
    assert row["evidence_recall"] == metrics.evidence_recall(question.evidence, seen) == 1.0


def gold_in_stream(question: Question, chunks: tuple[str, ...]) -> bool:
    stream = metrics.recall_tokens(chunks)
    return any(all(t in stream for t in metrics.normalize_answer(a).split()) for a in question.answers)


def test_locomo_fixture_recall_orders_the_systems() -> None:
    episodes = load("locomo", LOCOMO)
    reader = EvidenceReader()
    runs = {name: [make_system(name, rag_k=1).run(ep, reader) for ep in episodes] for name in SYSTEMS}
    for episode, run in zip(episodes, runs["long-context"], strict=True):
        for question, row in zip(episode.questions, run.qa.per_question, strict=True):
            if gold_in_stream(question, episode.chunks):
                assert row["answer_recall"] == 1.0, row  # a system that sees everything holds every gold token
            if question.evidence:
                assert row["evidence_recall"] == 1.0
    recall = {name: sum(r.qa.answer_recall for r in runs[name]) / len(episodes) for name in SYSTEMS}
    assert recall["no-memory"] == 0.0
    assert all(r.qa.evidence_recall == 0.0 for r in runs["no-memory"])
    assert recall["rag-top-k"] <= recall["long-context"]
    assert recall["long-context"] >= 0.8 and recall["rag-top-k"] > 0


SYSTEMS = ("long-context", "rag-top-k", "no-memory")


def test_locomo_short_answers_resolve_the_session_date() -> None:
    episode = load("locomo", LOCOMO)[0]
    question = next(q for q in episode.questions if q.category == "temporal")  # "When did Nadia start pottery ...?"
    row = make_system("long-context").run(episode, EvidenceReader()).qa.per_question[1]
    assert row["question"] == question.question
    # "I started pottery classes on Monday!" said on 3 March 2023 (a Friday): the Monday before
    assert row["prediction"] == "Monday, 27 February 2023"


@pytest.mark.parametrize("env_id", ["MemAlpha-v0", "MEM1-v0", "MemoryR1-v0"])
def test_qa_signal_makes_r1_a_recall(env_id: str) -> None:
    episodes = load("locomo", LOCOMO)
    results = {}
    for signal in ("reader", "answer_recall", "evidence_recall"):
        env = gym.make(env_id, episodes=episodes, qa_signal=signal)
        env.reset(seed=0)
        action = ""
        terminated = False
        while not terminated:
            chunk = env.unwrapped.current_chunk
            action = {
                "MemAlpha-v0": '<tool_call>{"name": "new_memory_insert", "arguments": '
                '{"memory_type": "episodic_memory", "content": %s}}</tool_call>',
                "MEM1-v0": '<tool_call>{"name": "memory_rewrite", "arguments": {"new_memory": %s}}</tool_call>',
                "MemoryR1-v0": '{"memory": [{"id": "0", "text": %s, "event": "ADD"}]}',
            }[env_id] % __import__("json").dumps(chunk)
            _, _, terminated, _, info = env.step(action)
        qa = info["qa"]
        results[signal] = info["reward_components"]["r1_qa"]
        assert results[signal] == {"reader": qa["accuracy"], "answer_recall": qa["answer_recall"]}.get(
            signal, qa["evidence_recall"]
        )
    assert results["answer_recall"] > 0.5 and results["evidence_recall"] > 0.5


def test_qa_signal_is_checked() -> None:
    with pytest.raises(ValueError, match="qa_signal must be one of"):
        gym.make("MemAlpha-v0", qa_signal="f1")
    episode = load("longmemeval", Path(__file__).parent / "fixtures" / "longmemeval_s_tiny.json")[1]  # no evidence
    env = gym.make("MemAlpha-v0", episodes=[episode], qa_signal="evidence_recall")
    with pytest.raises(ValueError, match="needs questions that name their evidence"):
        env.reset(seed=0)


class YesJudge:
    """A judge model that accepts everything and counts the prompts it was sent."""

    def __init__(self) -> None:
        self.prompts: list[str] = []

    def complete(self, prompt: str, max_new_tokens: int | None = None) -> str:
        self.prompts.append(prompt)
        return "yes"


def test_rows_record_the_judges_verdict_when_a_judge_was_asked() -> None:
    judged = Question("Where did Ana move?", ("Lisbon",), "llm_judge", metadata={"benchmark": "longmemeval"})
    plain = Question("What is the code?", ("4821",), "subem")
    context = ReaderContext("Ana moved to Porto. The code is 4821.", ())
    judge = YesJudge()
    report = answer_questions([judged, plain], lambda _q: context, EvidenceReader(), judge=judge)
    first, second = report.per_question
    assert len(judge.prompts) == 1 and "Where did Ana move?" in judge.prompts[0]  # only the llm_judge question
    assert first["judge"] == {"verdict": True, "reply": "yes"} and first["score"] == 1.0
    assert "judge" not in second and second["score"] == 1.0
    # A plain callable judge has no reply to keep; rescoring replaces the earlier verdict.
    rescored = rescore(report, [judged, plain], scoring="default", judge=lambda q, answers, prediction: False)
    assert rescored.per_question[0]["judge"] == {"verdict": False, "reply": None}
    assert rescored.per_question[0]["score"] == 0.0 and rescored.accuracy == 0.5
    assert "judge" not in rescore(report, [judged, plain], scoring="default").per_question[0]  # no judge, no verdict


def test_mem0_profile_records_the_verdict_of_its_judged_extra() -> None:
    question = Question(
        "What does Mel like?",
        ("pottery",),
        "token_f1",
        category="single_hop",
        metadata={"benchmark": "locomo", "locomo_category": 4},
    )
    context = ReaderContext("Mel likes pottery a lot.", ())
    report = answer_questions([question], lambda _q: context, EvidenceReader(), scoring="mem0", judge=YesJudge())
    row = report.per_question[0]
    assert row["extra_scores"]["llm_judge"] == 0.0  # Mem0's judge wants a JSON label; "yes" is not CORRECT
    assert row["judge"] == {"verdict": False, "reply": "yes"}
