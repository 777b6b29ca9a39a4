"""Tests for the leaderboard: the orderings it must show, its outputs, its CLI, and its LLM paths.

The orderings run on a small suite (32K-token streams, a long-context window of 8K, two episodes per
competency); ``make leaderboard`` shows the same orderings on the default suite (64K, 30K window).
The LLM paths run a tiny random model built from a config, and a fake OpenAI server on 127.0.0.1.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest
from openai_fake import ChatHandler, completion, serve

from baselines.leaderboard import RECALLS, ProgressBar, build_suite, evaluate, main, markdown_table
from baselines.systems import make_systems
from memenv.cli import main as cli_main
from memenv.readers import EvidenceReader
from memenv.tasks.records import COMPETENCIES

FIXTURES = Path(__file__).parent / "fixtures"
LEARNED = ("mem1", "memory-r1", "mem-alpha")


@pytest.fixture(scope="module")
def small_board() -> dict[str, dict[str, Any]]:
    suite = build_suite(COMPETENCIES, episodes=2, seed=0, context_tokens=32_768, chunk_tokens=512)
    names = ["long-context", "rag-top-k", *LEARNED, "no-memory"]
    return evaluate(make_systems(names, window_tokens=8192), suite, EvidenceReader(), progress=False)


def test_rag_beats_long_context_when_the_stream_exceeds_the_window(small_board: dict) -> None:
    rag, window = small_board["rag-top-k"], small_board["long-context"]
    assert window["memory_tokens"] == 8192  # the stream (32K) is longer than the window
    assert rag["mean"] > window["mean"]
    # Facts spread over the whole stream: the window sees only its last quarter.
    assert rag["scores"]["accurate_retrieval"] > window["scores"]["accurate_retrieval"]


@pytest.mark.parametrize("name", LEARNED)
def test_every_learned_heuristic_beats_writing_nothing(small_board: dict, name: str) -> None:
    system, nothing = small_board[name], small_board["no-memory"]
    assert nothing["mean"] == 0.0 and nothing["memory_tokens"] == 0
    assert system["mean"] > nothing["mean"] + 0.2
    for competency in COMPETENCIES:
        assert system["scores"][competency] > nothing["scores"][competency], competency


def test_mem_alpha_uses_a_fraction_of_the_stream(small_board: dict) -> None:
    mem_alpha = small_board["mem-alpha"]
    assert mem_alpha["compression"] < 0.3
    assert mem_alpha["mean"] >= small_board["rag-top-k"]["mean"]


def test_markdown_table_orders_by_mean() -> None:
    common = {"memory_tokens": 10.0, "compression": 0.5, "wall_seconds": 1.0, "evidence_recall": None}
    results = {
        "a": {"scores": {"x": 0.25}, "mean": 0.25, "answer_recall": 0.5, **common},
        "b": {**common, "scores": {"x": 0.75}, "mean": 0.75, "answer_recall": 1.0, "evidence_recall": 0.8},
    }
    assert markdown_table(results, ["x"]).splitlines() == [
        "| system | x | mean | answer recall | evidence recall | memory tokens | memory / stream | wall s |",
        "|---|---|---|---|---|---|---|---|",
        "| b | 0.750 | **0.750** | 1.000 | 0.800 | 10 | 0.500 | 1.0 |",
        "| a | 0.250 | **0.250** | 0.500 | – | 10 | 0.500 | 1.0 |",
    ]


def test_ceilings_are_marked_and_listed_after_the_ranking() -> None:
    common = {"memory_tokens": 10.0, "compression": 0.5, "wall_seconds": 1.0, "evidence_recall": None}
    results = {
        "oracle": {"scores": {"x": 1.0}, "mean": 1.0, "answer_recall": 1.0, **common},
        "a": {"scores": {"x": 0.25}, "mean": 0.25, "answer_recall": 0.5, **common},
        "b": {"scores": {"x": 0.75}, "mean": 0.75, "answer_recall": 1.0, **common},
    }
    assert [line.split(" | ")[0] for line in markdown_table(results, ["x"]).splitlines()[2:]] == [
        "| b",
        "| a",
        "| oracle (ceiling)",
    ]


def test_progress_bar() -> None:
    stream = io.StringIO()
    bar = ProgressBar(4, stream=stream, done=1)  # one run finished before (a resumed run)
    bar.update("mem1 ep-a")
    bar.update("mem1 ep-b")
    bar.close()
    lines = [line.strip() for line in stream.getvalue().split("\r") if line.strip()]
    assert lines[0].startswith("25%") and "1/4" in lines[0]
    assert "3/4" in lines[-1] and lines[-1].endswith("mem1 ep-b]")


def read_outputs(out: Path) -> tuple[dict, list[list[str]]]:
    assert (out / "leaderboard.png").stat().st_size > 1000
    assert (out / "tradeoff.png").stat().st_size > 1000
    assert (out / "leaderboard.md").read_text().startswith("| system |")
    with (out / "results.csv").open() as f:
        rows = list(csv.reader(f))
    return json.loads((out / "results.json").read_text()), rows


def test_main_writes_json_csv_markdown_and_chart(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["--systems", "rag-top-k", "no-memory", "--tasks", "accurate_retrieval", "test_time_learning"]
    argv += ["--episodes", "1", "--context-tokens", "4096", "--out", str(tmp_path), "--no-progress"]
    assert main(argv) == 0
    document, rows = read_outputs(tmp_path)
    assert document["columns"] == ["accurate_retrieval", "test_time_learning"]
    assert list(document["systems"]) == ["rag-top-k", "no-memory"]
    rag = document["systems"]["rag-top-k"]
    assert set(rag) >= {"scores", "mean", "memory_tokens", "compression", "wall_seconds", "episodes", "per_episode"}
    assert rag["mean"] == pytest.approx(sum(rag["scores"].values()) / 2)
    assert rag["episodes"] == 2 and rag["compression"] == 1.0
    assert document["systems"]["no-memory"]["scores"] == {"accurate_retrieval": 0.0, "test_time_learning": 0.0}
    assert rows[0][:7] == ["system", "accurate_retrieval", "test_time_learning", "mean", *RECALLS, "evidence_left_out"]
    assert rows[0][7:11] == [f"{c}:{r}" for c in ("accurate_retrieval", "test_time_learning") for r in RECALLS]
    assert rows[0][11:14] == [
        "category:multi_hop",
        "category:multi_hop:answer_recall",
        "category:multi_hop:evidence_recall",
    ]
    columns = ("accurate_retrieval", "test_time_learning")
    assert rows[0][-13:] == [
        "memory_tokens",
        "compression",
        "wall_seconds",
        "mean_ci_low",
        "mean_ci_high",
        *(f"{c}:ci_{end}" for c in columns for end in ("low", "high")),
        "baseline",
        "diff_vs_baseline",
        "diff_ci_low",
        "diff_ci_high",
    ]
    assert [row[0] for row in rows[1:]] == ["rag-top-k", "no-memory"]
    no_memory = dict(zip(rows[0], rows[2], strict=True))
    assert no_memory["answer_recall"] == "0.0" and no_memory["category:classification:answer_recall"] == "0.0"
    # per column and per category, recall is there in the JSON too; classification names no evidence
    categories = rag["categories"]
    assert set(categories) == {"single_hop", "multi_hop", "classification"}
    assert sum(c["questions"] for c in categories.values()) == 20
    assert categories["classification"]["evidence_recall"] is not None  # the stream's examples of the class
    assert rag["per_column"]["accurate_retrieval"]["answer_recall"] == pytest.approx(
        sum(e["answer_recall"] for e in rag["per_episode"] if e["column"] == "accurate_retrieval")
    )
    out = capsys.readouterr().out
    assert "| rag-top-k |" in out and "By question category" in out
    check_predictions(tmp_path, document)
    check_intervals(document, rows, (tmp_path / "leaderboard.md").read_text())


PREDICTION_FIELDS = [
    "system",
    "episode",
    "episode_index",
    "column",
    "question_index",
    "question",
    "gold",
    "prediction",
    "metric",
    "category",
    "score",
    "scoring",
    "extra_scores",
    "answer_recall",
    "evidence_recall",
    "judge",
    "context_ids",
]


def check_predictions(out: Path, document: dict) -> None:
    """predictions.jsonl: one line per question of every run, every field, agreeing with results.json."""
    lines = [json.loads(line) for line in (out / "predictions.jsonl").read_text().splitlines()]
    suite = build_suite(["accurate_retrieval", "test_time_learning"], 1, 0, 4096, 512)
    assert len(lines) == len(document["systems"]) * sum(len(ep.questions) for ep in suite) == 40
    assert all(list(line) == PREDICTION_FIELDS for line in lines)
    first = lines[0]
    assert (first["system"], first["episode"], first["episode_index"], first["question_index"]) == (
        "rag-top-k",
        suite[0].id,
        0,
        0,
    )
    assert first["question"] == suite[0].questions[0].question and first["gold"] == list(suite[0].questions[0].answers)
    assert first["metric"] == "subem" and first["judge"] is None and first["scoring"] == "subem"
    assert all(ref.startswith("chunk:") for ref in first["context_ids"]) and len(first["context_ids"]) == 2  # k=2
    for name, entry in document["systems"].items():
        for index, row in enumerate(entry["per_episode"]):
            mine = [line for line in lines if line["system"] == name and line["episode_index"] == index]
            assert [line["question_index"] for line in mine] == list(range(10))
            assert row["accuracy"] == pytest.approx(sum(line["score"] for line in mine) / 10)
            assert row["answer_recall"] == pytest.approx(sum(line["answer_recall"] for line in mine) / 10)
    # An empty memory answers nothing, or "not mentioned" to a question that names something it lacks.
    assert {line["prediction"] for line in lines if line["system"] == "no-memory"} == {"", "not mentioned"}


def check_intervals(document: dict, rows: list[list[str]], table: str) -> None:
    """95% intervals and the paired difference in the JSON, the CSV and the table."""
    rag, nothing = document["systems"]["rag-top-k"], document["systems"]["no-memory"]
    assert document["status"]["baseline"] == "rag-top-k" and rag["vs_baseline"] is None
    assert rag["ci"]["mean"] == [pytest.approx(rag["mean"])] * 2  # one episode per column: no spread
    assert nothing["vs_baseline"]["difference"] == pytest.approx(-rag["mean"])
    assert nothing["vs_baseline"]["ci"] == [pytest.approx(-rag["mean"])] * 2
    header = rows[0]
    by_name = {row[0]: dict(zip(header, row, strict=True)) for row in rows[1:]}
    assert float(by_name["rag-top-k"]["mean_ci_low"]) == pytest.approx(rag["ci"]["mean"][0])
    assert float(by_name["no-memory"]["diff_vs_baseline"]) == pytest.approx(-rag["mean"])
    assert by_name["no-memory"]["baseline"] == "rag-top-k"
    assert "| mean | 95% CI |" in table and "Δ mean vs rag-top-k" in table
    zero = "0.000 [0.000, 0.000]"
    assert f"| no-memory | {zero} | {zero} | {zero} | -{rag['mean']:.3f}" in table


def test_suite_v1_runs_with_the_oracle_as_a_ceiling(tmp_path: Path) -> None:
    argv = ["--suite", "v1", "--systems", "oracle", "store-all", "--tasks", "conflict_resolution", "--episodes", "1"]
    argv += ["--context-tokens", "4096", "--out", str(tmp_path), "--no-progress"]
    assert main(argv) == 0
    document, rows = read_outputs(tmp_path)
    assert document["config"]["suite"] == "v1" and document["config"]["ceilings"] == ["oracle"]
    oracle, raw = document["systems"]["oracle"], document["systems"]["store-all"]
    assert oracle["mean"] == 1.0 > raw["mean"]
    assert set(oracle["categories"]) == {"out_of_order", "indirect_update", "look_alike", "retraction", "history"}
    table = (tmp_path / "leaderboard.md").read_text().splitlines()
    assert table[2].startswith("| store-all |") and table[3].startswith("| oracle (ceiling) |")


def test_the_oracle_plays_suite_v1_only(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["--systems", "oracle"])  # suite v0 has no ground truth for it
    assert "--suite v1" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["--suite", "v1", "--systems", "oracle", "--dataset", "x.json", "--source", "locomo"])


def test_cli_runs_the_leaderboard_on_a_dataset(tmp_path: Path) -> None:
    argv = ["leaderboard", "--dataset", str(FIXTURES / "memalpha_mab_test.json"), "--source", "memalpha"]
    argv += ["--systems", "mem-alpha", "store-all", "no-memory", "--out", str(tmp_path), "--no-progress"]
    assert cli_main(argv) == 0
    document, _ = read_outputs(tmp_path)
    # One column per data source, in file order.
    sources = document["columns"]
    assert sources and all(not c.startswith(("accurate_", "test_time")) for c in sources)
    assert set(document["systems"]["store-all"]["scores"]) == set(sources)
    assert document["systems"]["no-memory"]["mean"] == 0.0


def test_cli_usage_and_errors(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli_main(["--help"]) == 0
    usage = capsys.readouterr().out
    assert "eval" in usage and "leaderboard" in usage
    with pytest.raises(SystemExit):
        cli_main(["eval", "--help"])
    assert capsys.readouterr().out.startswith("usage: memenv eval")
    assert cli_main(["frobnicate"]) == 2
    assert "unknown command" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["--systems", "mem-alpha-llm"])  # an LLM writer needs --writer-llm
    with pytest.raises(SystemExit):
        main(["--dataset", "x.json"])  # a dataset needs --source


# --------------------------------------------------------------------------------------------------
# LLM writers and readers: a tiny local model, and an OpenAI-compatible endpoint

TINY_ARGS = ["--tasks", "accurate_retrieval", "--episodes", "1", "--context-tokens", "1024", "--chunk-tokens", "512"]
TINY_ARGS += ["--writer-max-new-tokens", "8", "--reader-max-new-tokens", "8", "--reader-context-tokens", "256"]
TINY_ARGS += ["--no-progress"]
LLM_NAMES = ["mem-alpha-llm", "mem1-llm", "memory-r1-llm"]


def test_llm_writer_and_reader_with_a_tiny_local_model(tmp_path: Path) -> None:
    pytest.importorskip("torch")
    pytest.importorskip("transformers")
    from memenv.llm import build_tiny_model

    model = build_tiny_model(tmp_path / "tiny")
    spec = f"hf:{model}"
    out = tmp_path / "out"
    argv = ["--writer-llm", spec, "--reader", spec, "--systems", "no-memory", "mem-alpha-llm", "--out", str(out)]
    assert main([*argv, *TINY_ARGS]) == 0
    document, _ = read_outputs(out)
    assert list(document["systems"]) == ["no-memory", "mem-alpha-llm"]
    result = document["systems"]["mem-alpha-llm"]
    assert result["episodes"] == 1 and 0.0 <= result["mean"] <= 1.0  # a random model: any score
    assert document["config"]["reader"] == spec


class FakeOpenAI(ChatHandler):
    """Answers /chat/completions: a tool call when the request offers tools, "yes" to a judge's yes/no
    prompt, else a short answer."""

    requests: ClassVar[list[dict[str, Any]]] = []

    def do_POST(self) -> None:
        body = self.read_json()
        type(self).requests.append({"path": self.path, "body": body})
        if body.get("tools"):
            call = {"name": "new_memory_insert", "arguments": {"memory_type": "semantic_memory", "content": "x=1"}}
            content = f"<tool_call>{json.dumps(call)}</tool_call>"
        elif "Answer yes or no only." in body["messages"][-1]["content"]:
            content = "yes"
        else:
            content = "I do not know."
        self.send_json(completion(content))


@pytest.fixture
def endpoint() -> Iterator[str]:
    FakeOpenAI.requests = []
    with serve(FakeOpenAI) as url:
        yield f"openai:{url}#fake-model"


def test_llm_writer_and_reader_through_an_endpoint(tmp_path: Path, endpoint: str) -> None:
    argv = ["--writer-llm", endpoint, "--reader", endpoint, "--systems", "mem-alpha-llm", "--out", str(tmp_path)]
    assert main([*argv, *TINY_ARGS]) == 0
    document, _ = read_outputs(tmp_path)
    assert list(document["systems"]) == ["mem-alpha-llm"]
    # One writer call per chunk, with the env's tools; then one reader call per question.
    (episode,) = build_suite(["accurate_retrieval"], episodes=1, seed=0, context_tokens=1024, chunk_tokens=512)
    writes = [r for r in FakeOpenAI.requests if r["body"].get("tools")]
    reads = [r for r in FakeOpenAI.requests if not r["body"].get("tools")]
    assert len(writes) == len(episode.chunks) == 3 and len(reads) == len(episode.questions) == 10
    assert all(r["path"] == "/v1/chat/completions" and r["body"]["model"] == "fake-model" for r in FakeOpenAI.requests)
    assert writes[0]["body"]["max_tokens"] == 8 and reads[0]["body"]["max_tokens"] == 8
    result = document["systems"]["mem-alpha-llm"]
    assert result["memory_tokens"] == 3  # "x=1", inserted once (the later inserts were duplicates)
    assert result["mean"] == 0.0  # "I do not know." answers nothing


def test_writer_llm_adds_all_three_llm_systems(tmp_path: Path, endpoint: str) -> None:
    assert main(["--writer-llm", endpoint, "--systems", "no-memory", "--out", str(tmp_path), *TINY_ARGS]) == 0
    document, _ = read_outputs(tmp_path)
    assert list(document["systems"]) == ["no-memory", "mem-alpha-llm", "mem1-llm", "memory-r1-llm"]
    assert {r["body"]["model"] for r in FakeOpenAI.requests} == {"fake-model"}
    assert document["config"]["reader"] == "evidence"


def test_real_data_leaderboard_breaks_scores_down_by_the_sources_categories(tmp_path: Path) -> None:
    argv = ["--dataset", str(FIXTURES / "locomo10_tiny.json"), "--source", "locomo"]
    argv += ["--systems", "long-context", "no-memory", "--out", str(tmp_path), "--no-progress"]
    assert main(argv) == 0
    document, rows = read_outputs(tmp_path)
    long_context = document["systems"]["long-context"]
    assert set(long_context["categories"]) == {"multi_hop", "temporal", "open_domain", "single_hop"}
    assert long_context["answer_recall"] >= 0.8 and document["systems"]["no-memory"]["answer_recall"] == 0.0
    assert long_context["categories"]["temporal"]["score"] > 0  # a resolved date shares tokens with the gold
    table = (tmp_path / "leaderboard.md").read_text()
    assert "| system | temporal (n=" in table or "temporal (n=" in table.split("By question category")[1]
    assert "category:temporal:answer_recall" in rows[0]


def test_scoring_flag_rescores_the_same_answers(tmp_path: Path) -> None:
    from baselines.leaderboard import load_suite

    suite = load_suite(str(FIXTURES / "locomo10_tiny.json"), "locomo")
    mem0 = evaluate(make_systems(["store-all"]), suite, EvidenceReader(), progress=False, scoring="mem0")["store-all"]
    assert len(mem0["per_episode"]) == len(suite)
    argv = ["--dataset", str(FIXTURES / "locomo10_tiny.json"), "--source", "locomo", "--systems", "store-all"]
    argv += ["--scoring", "mem0", "--out", str(tmp_path), "--no-progress"]
    assert main(argv) == 0
    document, _ = read_outputs(tmp_path)
    assert document["config"]["scoring"] == "mem0"
    assert document["systems"]["store-all"]["mean"] == pytest.approx(mem0["mean"])
    with pytest.raises(SystemExit):
        main(["--scoring", "paper"])


def test_rescoring_matches_scoring_each_prediction() -> None:
    from baselines.leaderboard import load_suite
    from baselines.systems import make_systems as systems_of
    from memenv.metrics import score_question

    suite = load_suite(str(FIXTURES / "locomo10_tiny.json"), "locomo")
    [system] = systems_of(["store-all"])
    run = system.run(suite[0], EvidenceReader())
    for profile in ("mem0", "locomo", "memenv"):
        expected = [
            score_question(q, row["prediction"], profile=profile).score
            for q, row in zip(suite[0].questions, run.qa.per_question, strict=True)
        ]
        scored = [value for value in expected if value is not None]
        result = evaluate([system], suite[:1], EvidenceReader(), progress=False, scoring=profile)["store-all"]
        assert result["per_episode"][0]["accuracy"] == pytest.approx(sum(scored) / len(scored))


def test_judge_verdicts_reach_predictions_and_provenance(tmp_path: Path, endpoint: str) -> None:
    dataset = FIXTURES / "longmemeval_s_tiny.json"
    argv = ["--dataset", str(dataset), "--source", "longmemeval", "--systems", "store-all", "no-memory"]
    argv += ["--judge", endpoint, "--out", str(tmp_path), "--no-progress"]
    assert main(argv) == 0
    document = json.loads((tmp_path / "results.json").read_text())
    assert document["provenance"]["models"] == {"reader": "evidence", "writer": None, "judge": endpoint}
    lines = [json.loads(line) for line in (tmp_path / "predictions.jsonl").read_text().splitlines()]
    judged = [line for line in lines if line["judge"] is not None]
    from baselines.leaderboard import load_suite

    assert len(lines) == 2 * sum(len(ep.questions) for ep in load_suite(str(dataset), "longmemeval")) and judged
    # The judge is asked about every non-empty answer of an llm_judge question, and said yes to each.
    for line in lines:
        asked = line["metric"] == "llm_judge" and line["prediction"].strip() != ""
        assert (line["judge"] is not None) == asked, line
    assert all(line["judge"] == {"verdict": True, "reply": "yes"} and line["score"] == 1.0 for line in judged)
    assert {line["system"] for line in judged} == {"store-all"}  # no-memory answers nothing: nothing to judge
    prompts = [r["body"]["messages"][-1]["content"] for r in FakeOpenAI.requests]
    assert len(prompts) == len(judged) and all("Answer yes or no only." in p for p in prompts)
