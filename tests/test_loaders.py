"""Tests for memenv.tasks.loaders on hand-written fixtures in the published schemas (tests/fixtures/)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from memenv import tokenizer
from memenv.errors import DatasetError, MemEnvError
from memenv.tasks import loaders
from memenv.tasks.__main__ import main as cli_main
from memenv.tasks.__main__ import summarize
from memenv.tasks.loaders import (
    LOCOMO_ADVERSARIAL_ANSWERS,
    competency_for_source,
    default_chunk_tokens,
    load,
    metric_for_source,
    save_memalpha,
)
from memenv.tasks.records import COMPETENCIES, Episode, Question

FIXTURES = Path(__file__).parent / "fixtures"
MEMALPHA_TRAIN = FIXTURES / "memalpha_train.json"
MEMALPHA_TEST = FIXTURES / "memalpha_mab_test.json"
MAB = FIXTURES / "memoryagentbench"
LOCOMO = FIXTURES / "locomo10_tiny.json"
LONGMEMEVAL = FIXTURES / "longmemeval_s_tiny.json"
REPO = Path(__file__).resolve().parents[1]

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")


def to_parquet(json_path: Path, out: Path) -> Path:
    """Write a JSON list of rows as parquet (nested dicts become structs, as on the hub)."""
    rows = json.loads(json_path.read_text())
    pq.write_table(pa.Table.from_pylist(rows), out)
    return out


def by_id(episodes: list[Episode]) -> dict[str, Episode]:
    return {e.id: e for e in episodes}


# ------------------------------------------------------------------------------------------------
# Memalpha


def test_memalpha_training_set_fixture():
    episodes = load("memalpha", MEMALPHA_TRAIN)
    assert [e.id for e in episodes] == ["squad-0", "pubmed-0", "booksum-0", "lme-0"]
    assert [len(e.chunks) for e in episodes] == [2, 2, 1, 1]
    assert [len(e.questions) for e in episodes] == [3, 2, 1, 1]
    assert [e.source for e in episodes] == ["squad", "pubmed-rct", "booksum", "lme_train"]
    assert [e.competency for e in episodes] == [
        "accurate_retrieval",
        "test_time_learning",
        "long_range_understanding",
        "accurate_retrieval",
    ]
    assert [{q.metric for q in e.questions} for e in episodes] == [
        {"subem"},
        {"boxed_label_em"},
        {"keyword_hit"},
        {"llm_judge"},
    ]
    squad, pubmed, booksum, _ = episodes
    # Chunks are used exactly as shipped (templates included).
    assert squad.chunks[1].startswith("[Dialogue between User and Assistant on 2024-01-02 00:00]\n<User>")
    assert squad.questions[1].answers == ("1867", "in 1867")
    # Mem-α rows are scored as Mem-α scores their data_source (see memenv.metrics' memalpha profile).
    assert squad.questions[2].metadata == {"evidence_idx": 1, "benchmark": "memalpha", "data_source": "squad"}
    assert pubmed.questions[1].answers == ("2",)  # an integer label becomes its text
    assert booksum.questions[0].answers == ("Mara", "lighthouse", "storm", "log")  # keywords
    assert booksum.metadata == {"book": "The Keeper", "prompt": json.loads(MEMALPHA_TRAIN.read_text())[0]["prompt"]}


def test_memalpha_processed_memoryagentbench_test_set():
    episodes = by_id(load("memalpha", MEMALPHA_TEST))
    assert {i: (e.source, e.competency, e.questions[0].metric) for i, e in episodes.items()} == {
        "ruler-0": ("ruler_qa1_197K", "accurate_retrieval", "normalized_subem"),
        "icl-0": ("icl_banking77_5900shot_balance", "test_time_learning", "boxed_label_em"),
        "sum-0": ("infbench_sum_eng_shots2", "long_range_understanding", "keyword_hit"),
        "lme-s-0": ("longmemeval_s*", "accurate_retrieval", "llm_judge"),
    }
    assert len(episodes["ruler-0"].chunks) == 2


def test_memalpha_parquet_loads_like_json(tmp_path):
    parquet = to_parquet(MEMALPHA_TRAIN, tmp_path / "train.parquet")
    from_parquet = load("memalpha", parquet)
    assert from_parquet == load("memalpha", MEMALPHA_TRAIN)


def test_limit_reads_first_instances():
    assert [e.id for e in load("memalpha", MEMALPHA_TRAIN, limit=2)] == ["squad-0", "pubmed-0"]
    assert load("memalpha", MEMALPHA_TRAIN, limit=0) == []


# ------------------------------------------------------------------------------------------------
# MemoryAgentBench


def test_memoryagentbench_folder_reads_all_four_splits():
    episodes = load("memoryagentbench", MAB)
    # Files are read in name order: Accurate_Retrieval (2 rows), Conflict_Resolution, Long_Range_..., Test_...
    assert [(e.metadata["split"], e.source) for e in episodes] == [
        ("Accurate_Retrieval", "ruler_qa1_197K"),
        ("Accurate_Retrieval", "longmemeval_s*"),
        ("Conflict_Resolution", "factconsolidation_sh_6k"),
        ("Long_Range_Understanding", "infbench_sum_eng_shots2"),
        ("Test_Time_Learning", "icl_banking77_5900shot_balance"),
    ]
    assert [e.competency for e in episodes] == [
        "accurate_retrieval",
        "accurate_retrieval",
        "conflict_resolution",
        "long_range_understanding",
        "test_time_learning",
    ]
    assert [len(e.questions) for e in episodes] == [2, 2, 1, 1, 2]
    assert [e.questions[0].metric for e in episodes] == [
        "normalized_subem",
        "llm_judge",
        "normalized_subem",
        "token_f1",  # raw summaries carry no keyword list
        "boxed_label_em",
    ]
    assert episodes[0].questions[1].answers == ("1931", "spring of 1931")  # one alias list per question


def test_memoryagentbench_chunk_budgets():
    cr = load("memoryagentbench", MAB, split="Conflict_Resolution")
    assert len(cr) == 1
    (episode,) = cr
    context = json.loads((MAB / "Conflict_Resolution-00000-of-00001.json").read_text())[0]["context"]
    # 49 facts of ~14 tokens: more than one 512-token chunk, less than two.
    assert 512 < tokenizer.count_tokens(context) < 1024
    assert episode.metadata["chunk_tokens"] == 512
    assert len(episode.chunks) == 2
    assert all(tokenizer.count_tokens(c) <= 512 for c in episode.chunks)
    assert episode.chunks[0].startswith("0. The mayor of Arlen is linked to Ada Quill.")
    assert episode.chunks[-1].endswith("48. The mayor of Arlen is linked to Gus Penn.")
    # Sentence packing keeps every sentence whole and in order.
    assert " ".join(episode.chunks).split() == context.split()

    ruler = load("memoryagentbench", MAB, split="Accurate_Retrieval")[0]
    assert ruler.metadata["chunk_tokens"] == 512 and len(ruler.chunks) == 1
    lru = load("memoryagentbench", MAB, split="Long_Range_Understanding")[0]
    assert lru.metadata["chunk_tokens"] == 4096

    # Sentences cost 16, 7 | 15, 10 | 13, 7 tokens (with their separator): pairs of 23, 25, 20 fit 25.
    small = load("memoryagentbench", MAB, split="Accurate_Retrieval", chunk_tokens=25)[0]
    assert small.chunks == (
        "Document 1: The Korvath bridge was designed by Lena Osk. It spans the Vell gorge.",
        "Document 2: The bridge opened in the spring of 1931! Crowds came from Harrow and Ivel.",
        "Document 3: Its toll was abolished in 1950? No, in 1952.",
    )


def test_memoryagentbench_longmemeval_rows_keep_question_metadata():
    lme = load("memoryagentbench", MAB, split="Accurate_Retrieval")[1]
    scoring = {"benchmark": "memoryagentbench", "data_source": "longmemeval_s*"}
    assert [q.metadata for q in lme.questions] == [
        {"question_id": "q1", "question_type": "single-session-user", "question_date": "2023/07/01", **scoring},
        {
            "question_id": "q2_abs",
            "question_type": "single-session-user",
            "question_date": "2023/07/01",
            "abstention": True,
            **scoring,
        },
    ]
    assert lme.questions[0].category == "single-session-user"


def test_memoryagentbench_parquet_with_struct_metadata(tmp_path):
    folder = tmp_path / "data"
    folder.mkdir()
    for path in MAB.iterdir():
        to_parquet(path, folder / path.with_suffix(".parquet").name)
    hidden = folder / ".cache"
    hidden.mkdir()
    (hidden / "stale.json").write_text("{not json")  # a cloned hub repo's cache folder is never read
    assert load("memoryagentbench", folder) == load("memoryagentbench", MAB)
    only = load("memoryagentbench", folder / "Test_Time_Learning-00000-of-00001.parquet")
    assert [e.competency for e in only] == ["test_time_learning"]  # split from the file name


# ------------------------------------------------------------------------------------------------
# LoCoMo


def test_locomo_categories_and_adversarial_switch():
    episodes = load("locomo", LOCOMO)
    assert [e.id for e in episodes] == ["conv-1", "conv-2"]
    conv1 = episodes[0]
    assert [(q.question, q.category) for q in conv1.questions] == [
        ("What did Nadia make with her sister?", "multi_hop"),
        ("When did Nadia start pottery classes?", "temporal"),
        ("Would Tomas enjoy a trail run?", "open_domain"),
        ("Which race is Tomas training for?", "single_hop"),
        ("In which year did Tomas first finish a half marathon?", "single_hop"),
    ]
    assert {q.metric for q in conv1.questions} == {"token_f1"}
    assert conv1.questions[0].hops == 2 and conv1.questions[3].hops == 1
    assert conv1.questions[0].metadata == {
        "locomo_category": 1,
        "evidence": ["D1:3", "D2:2"],
        "benchmark": "locomo",
        "data_source": "locomo",
    }
    assert conv1.questions[4].answers == ("2022",)  # integer answer in the data
    assert conv1.metadata == {"num_sessions": 2, "chunk_tokens": 4096, "speaker_a": "Nadia", "speaker_b": "Tomas"}

    with_adv = load("locomo", LOCOMO, include_adversarial=True)[0]
    assert len(with_adv.questions) == 6
    adversarial = with_adv.questions[5]
    assert adversarial.category == "adversarial"
    assert adversarial.metric == "subem"
    assert adversarial.answers == LOCOMO_ADVERSARIAL_ANSWERS
    assert adversarial.metadata["adversarial_answer"] == "a vase"


def test_locomo_dialogue_chunks_carry_session_timestamps():
    whole = load("locomo", LOCOMO)[0]
    assert whole.chunks == (
        "[Dialogue at 4:05 pm on 3 March, 2023]\n"
        "[D1:1] Nadia: I started pottery classes on Monday!\n"
        "[D1:2] Tomas: Nice. I am training for the Porto half marathon.\n"
        "[D1:3] Nadia: Good luck. My sister Ilse is visiting in April.\n\n"
        "[Dialogue at 9:30 am on 12 April, 2023]\n"
        "[D2:1] Tomas: I finished the half marathon in 2022 too. [shares a photo: a photo of a medal on a table]\n"
        "[D2:2] Nadia: Ilse and I made a vase together.",
    )
    small = load("locomo", LOCOMO, chunk_tokens=60)[0]
    assert all(tokenizer.count_tokens(c) <= 60 for c in small.chunks)
    assert len(small.chunks) > 2
    for chunk in small.chunks:
        assert chunk.startswith("[Dialogue at ")
        # Turns of session N sit under session N's header only.
        header = chunk.split("\n", 1)[0]
        expected = "D1:" if "3 March" in header else "D2:"
        assert all(f"[{expected}" in line for line in chunk.split("\n")[1:] if line.startswith("[D"))


def test_locomo_sessions_in_numeric_order(tmp_path):
    sample = json.loads(LOCOMO.read_text())[1]
    conversation = sample["conversation"]
    for n in (2, 10):
        conversation[f"session_{n}_date_time"] = f"day {n}"
        conversation[f"session_{n}"] = [{"speaker": "Ravi", "dia_id": f"D{n}:1", "text": f"Session {n}."}]
    path = tmp_path / "locomo.json"
    path.write_text(json.dumps([sample]))
    (episode,) = load("locomo", path)
    # session_10 comes after session_2 (a string sort would put it second).
    assert [line for line in episode.chunks[0].split("\n") if line.startswith("[Dialogue")] == [
        "[Dialogue at 7:00 pm on 1 June, 2023]",
        "[Dialogue at day 2]",
        "[Dialogue at day 10]",
    ]


# ------------------------------------------------------------------------------------------------
# LongMemEval


def test_longmemeval_episodes_questions_and_metadata():
    first, second = load("longmemeval", LONGMEMEVAL)
    assert (first.id, second.id) == ("a1b2c3", "d4e5f6_abs")
    assert len(first.questions) == len(second.questions) == 1
    q = first.questions[0]
    assert (q.metric, q.category, q.answers) == ("llm_judge", "temporal-reasoning", ("3 days",))
    assert q.metadata == {
        "question_id": "a1b2c3",
        "question_type": "temporal-reasoning",
        "question_date": "2023/05/30 (Tue) 18:00",
        "abstention": False,
        "benchmark": "longmemeval",
        "data_source": "longmemeval",
        "answer_session_ids": ["answer_x1", "answer_x2"],
    }
    assert second.questions[0].metadata["abstention"] is True
    assert first.source == "longmemeval" and first.competency == "accurate_retrieval"
    assert first.metadata["haystack_session_ids"] == ["s-1", "answer_x1", "answer_x2"]
    assert len(first.chunks) == 1


def test_longmemeval_sessions_keep_dates_and_boundaries():
    first = load("longmemeval", LONGMEMEVAL, chunk_tokens=40)[0]
    assert first.chunks == (
        "[Dialogue at 2023/05/01 (Mon) 09:12]\nUser: Can you suggest a soup recipe?\n"
        "Assistant: Try a leek and potato soup.",
        "[Dialogue at 2023/05/10 (Wed) 14:40]\nUser: I bought new hiking boots today.\n"
        "Assistant: Great, break them in slowly.",
        "[Dialogue at 2023/05/13 (Sat) 08:05]\nUser: I am flying to Oslo this morning.\nAssistant: Have a safe trip!",
    )


# ------------------------------------------------------------------------------------------------
# Metric / competency / budget tables


@pytest.mark.parametrize(
    ("data_source", "metric", "competency"),
    [
        ("squad", "subem", "accurate_retrieval"),
        ("hotpotqa", "subem", "accurate_retrieval"),
        ("perltqa", "subem", "accurate_retrieval"),
        ("pubmed-rct", "boxed_label_em", "test_time_learning"),
        ("icl_trec_coarse_6600shot_balance", "boxed_label_em", "test_time_learning"),
        ("booksum", "keyword_hit", "long_range_understanding"),
        ("infbench_sum_eng_shots2", "keyword_hit", "long_range_understanding"),
        ("lme_train", "llm_judge", "accurate_retrieval"),
        ("longmemeval_s*", "llm_judge", "accurate_retrieval"),
        ("ruler_qa2_421K", "normalized_subem", "accurate_retrieval"),
        ("factconsolidation_mh_262k", "normalized_subem", "conflict_resolution"),
        ("locomo", "token_f1", "accurate_retrieval"),
        ("detective_qa", "exact_match", "accurate_retrieval"),  # MemoryAgentBench reports exact_match
        ("eventqa_full", "normalized_subem", "accurate_retrieval"),
        ("recsys_redial_full", "recall_at_5", "test_time_learning"),
        ("some_new_set", "subem", "accurate_retrieval"),
    ],
)
def test_metric_and_competency_per_source(data_source, metric, competency):
    assert metric_for_source(data_source) == metric
    assert competency_for_source(data_source) == competency
    assert competency in COMPETENCIES


def test_split_names_map_to_competencies():
    assert [competency_for_source(s) for s in loaders.SPLIT_COMPETENCY] == list(COMPETENCIES)


def test_default_chunk_tokens():
    assert default_chunk_tokens("ruler_qa1_197K") == 512
    assert default_chunk_tokens("factconsolidation_sh_6k") == 512
    assert default_chunk_tokens("anything", "conflict_resolution") == 512
    assert default_chunk_tokens("eventqa_full") == 4096
    assert default_chunk_tokens("icl_banking77_5900shot_balance") == 4096


# ------------------------------------------------------------------------------------------------
# Malformed files: one clear error naming file, record and field; nothing returned.


def _mutated(tmp_path: Path, fixture: Path, index: int, mutate) -> Path:
    rows = json.loads(fixture.read_text())
    mutate(rows[index])
    out = tmp_path / fixture.name
    out.write_text(json.dumps(rows))
    return out


def _set(key, value):
    return lambda row: row.__setitem__(key, value)


def _delete(key):
    return lambda row: row.pop(key)


MALFORMED = [
    # (source, fixture, record index, mutation, record label, field, words in the problem)
    ("memalpha", MEMALPHA_TRAIN, 1, _delete("data_source"), "1 (instance_id='pubmed-0')", "data_source", "missing"),
    (
        "memalpha",
        MEMALPHA_TRAIN,
        0,
        _set("chunks", json.dumps(["ok", 7])),
        "0 (instance_id='squad-0')",
        "chunks[1]",
        "expected a string",
    ),
    (
        "memalpha",
        MEMALPHA_TRAIN,
        3,
        _set("questions_and_answers", '[{"question": "x",'),
        "3 (instance_id='lme-0')",
        "questions_and_answers",
        "invalid JSON",
    ),
    ("memalpha", MEMALPHA_TRAIN, 2, _set("chunks", "[]"), "2 (instance_id='booksum-0')", "chunks", "empty"),
    ("memalpha", MEMALPHA_TRAIN, 0, _set("num_chunks", 5), "0 (instance_id='squad-0')", "num_chunks", "says 5"),
    (
        "memalpha",
        MEMALPHA_TRAIN,
        0,
        _set("questions_and_answers", json.dumps([{"question": "q?"}])),
        "0 (instance_id='squad-0')",
        "questions_and_answers[0].answer",
        "missing",
    ),
    ("memalpha", MEMALPHA_TRAIN, 1, _set("instance_id", 1.5), 1, "instance_id", "string or integer"),
    (
        "locomo",
        LOCOMO,
        1,
        lambda r: r["conversation"].pop("session_1_date_time"),
        "1 (sample_id='conv-2')",
        "conversation.session_1_date_time",
        "missing",
    ),
    (
        "locomo",
        LOCOMO,
        0,
        lambda r: r["qa"][2].__setitem__("category", "3"),
        "0 (sample_id='conv-1')",
        "qa[2].category",
        "integer 1-5",
    ),
    ("locomo", LOCOMO, 0, lambda r: r["qa"][3].pop("answer"), "0 (sample_id='conv-1')", "qa[3].answer", "missing"),
    (
        "locomo",
        LOCOMO,
        1,
        _set("conversation", {"speaker_a": "A", "speaker_b": "B"}),
        "1 (sample_id='conv-2')",
        "conversation",
        "empty context",
    ),
    ("longmemeval", LONGMEMEVAL, 1, _delete("question_id"), 1, "question_id", "missing"),
    (
        "longmemeval",
        LONGMEMEVAL,
        0,
        lambda r: r["haystack_dates"].pop(),
        "0 (question_id='a1b2c3')",
        "haystack_dates",
        "one date per session",
    ),
    (
        "longmemeval",
        LONGMEMEVAL,
        0,
        _set("answer", {"text": "3"}),
        "0 (question_id='a1b2c3')",
        "answer",
        "expected an answer string",
    ),
    (
        "longmemeval",
        LONGMEMEVAL,
        1,
        _set("haystack_sessions", [[]]),
        "1 (question_id='d4e5f6_abs')",
        "haystack_sessions",
        "empty context",
    ),
]


@pytest.mark.parametrize(("source", "fixture", "index", "mutate", "record", "field", "problem"), MALFORMED)
def test_malformed_record_raises_one_clear_error(tmp_path, source, fixture, index, mutate, record, field, problem):
    path = _mutated(tmp_path, fixture, index, mutate)
    with pytest.raises(DatasetError) as info:
        load(source, path)
    err = info.value
    assert (err.path, err.record, err.field) == (str(path), record, field)
    assert problem in err.problem
    assert str(err).startswith(f"{path}, record {record}, field {field!r}: ")


@pytest.mark.parametrize(
    ("mutate", "field", "problem"),
    [
        (_set("context", "   "), "context", "non-empty"),
        (_delete("context"), "context", "missing"),
        (_set("answers", [["Lena Osk"]]), "answers", "one answer list per question"),
        (_set("metadata", {"dataset": "x"}), "metadata.source", "expected a string"),
        (_set("questions", "Who?"), "questions", "expected a list"),
    ],
)
def test_malformed_memoryagentbench_row(tmp_path, mutate, field, problem):
    path = _mutated(tmp_path, MAB / "Accurate_Retrieval-00000-of-00001.json", 0, mutate)
    with pytest.raises(DatasetError) as info:
        load("memoryagentbench", path)
    assert (info.value.record, info.value.field) == (0, field)
    assert problem in info.value.problem
    assert "Accurate_Retrieval-00000-of-00001.json" in str(info.value)


def test_bad_last_record_fails_the_whole_load(tmp_path):
    # The first three rows are fine; the loader still returns nothing.
    path = _mutated(tmp_path, MEMALPHA_TRAIN, 3, _set("data_source", 42))
    with pytest.raises(DatasetError, match=r"record 3 \(instance_id='lme-0'\), field 'data_source'"):
        load("memalpha", path)


def test_invalid_json_file_names_the_file(tmp_path):
    path = tmp_path / "locomo10.json"
    path.write_text(LOCOMO.read_text()[:200])
    with pytest.raises(DatasetError) as info:
        load("locomo", path)
    assert info.value.path == str(path) and info.value.record is None
    assert "invalid JSON" in str(info.value) and str(path) in str(info.value)


def test_damaged_parquet_and_empty_file(tmp_path):
    bad = tmp_path / "train.parquet"
    bad.write_bytes(b"PAR1 not really")
    with pytest.raises(DatasetError, match="not a readable parquet file"):
        load("memalpha", bad)
    empty = tmp_path / "empty.json"
    empty.write_text("[]")
    with pytest.raises(DatasetError, match="holds no records"):
        load("locomo", empty)


def test_unknown_source_and_bad_options():
    with pytest.raises(MemEnvError, match="unknown source 'squad'"):
        load("squad", MEMALPHA_TRAIN)
    with pytest.raises(ValueError, match="chunk_tokens"):
        load("locomo", LOCOMO, chunk_tokens=0)


# ------------------------------------------------------------------------------------------------
# Hub ids


def test_hub_id_fails_clearly_when_offline(tmp_path):
    code = (
        "from memenv.tasks.loaders import load\n"
        "try:\n    load('memoryagentbench', 'ai-hyz/MemoryAgentBench', split='Conflict_Resolution')\n"
        "except Exception as e:\n    print(type(e).__name__, e)\n"
    )
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "HF_HOME": str(tmp_path)}
    out = subprocess.run([sys.executable, "-c", code], env=env, cwd=REPO, capture_output=True, text=True, timeout=60)
    assert out.stdout.startswith("MemEnvError could not fetch 'ai-hyz/MemoryAgentBench' from the Hugging Face hub")
    assert "pass its path instead" in out.stdout


def test_hub_id_goes_through_datasets_when_reachable(monkeypatch):
    datasets = pytest.importorskip("datasets")
    rows = json.loads((MAB / "Conflict_Resolution-00000-of-00001.json").read_text())
    calls = []

    def fake_load_dataset(name, split=None):
        calls.append((name, split))
        return datasets.DatasetDict({"Conflict_Resolution": datasets.Dataset.from_list(rows)})

    monkeypatch.setattr(datasets, "load_dataset", fake_load_dataset)
    episodes = load("memoryagentbench", "ai-hyz/MemoryAgentBench")
    assert calls == [("ai-hyz/MemoryAgentBench", None)]
    assert episodes == load("memoryagentbench", MAB, split="Conflict_Resolution")


# ------------------------------------------------------------------------------------------------
# Round trip through the Memalpha schema


def test_round_trip_hand_built_episode(tmp_path):
    episode = Episode(
        id="hand-1",
        chunks=("first chunk", "second chunk with ünïcode"),
        questions=(
            Question("Who?", ("Ada", "Ada Quill"), "subem", category="multi_hop", hops=2, metadata={"e": (0, 1)}),
            Question("Label?", ("3",), "boxed_label_em"),
        ),
        competency="conflict_resolution",
        source="synthetic",
        metadata={"seed": 7, "prompt": "remember this", "nested": {"a": [1, (2, "x")]}},
    )
    path = save_memalpha([episode], tmp_path / "out.parquet")
    columns = pq.read_table(path).column_names
    assert columns == [
        "instance_id",
        "prompt",
        "chunks",
        "questions_and_answers",
        "data_source",
        "metadata",
        "num_chunks",
        "num_questions",
    ]
    assert load("memalpha", path) == [episode]


@pytest.mark.parametrize("competency", COMPETENCIES)
def test_round_trip_generated_episode(tmp_path, competency):
    synthetic = pytest.importorskip("memenv.tasks.synthetic")
    episode = synthetic.generate(competency, seed=3, context_tokens=2048, chunk_tokens=512, num_questions=4)
    path = save_memalpha([episode], tmp_path / f"{competency}.parquet")
    assert load("memalpha", path) == [episode]


# ------------------------------------------------------------------------------------------------
# inspect CLI


def test_summarize_counts():
    summary = summarize(load("longmemeval", LONGMEMEVAL, chunk_tokens=40))
    assert (summary["instances"], summary["chunks"], summary["questions"]) == (2, 4, 2)
    assert summary["chunks_per_instance"] == {"min": 1, "median": 2, "max": 3}
    assert summary["question_groups"] == [
        {
            "source": "longmemeval",
            "competency": "accurate_retrieval",
            "category": "single-session-user",
            "metric": "llm_judge",
            "questions": 1,
        },
        {
            "source": "longmemeval",
            "competency": "accurate_retrieval",
            "category": "temporal-reasoning",
            "metric": "llm_judge",
            "questions": 1,
        },
    ]


def test_cli_inspect_prints_table(capsys):
    assert cli_main(["inspect", str(LOCOMO), "--source", "locomo"]) == 0
    out = capsys.readouterr().out
    assert "instances                       2" in out
    assert "questions                       6" in out
    assert "locomo  accurate_retrieval  single_hop   token_f1  3" in out


def test_cli_inspect_bad_file_exits_nonzero_without_traceback(tmp_path):
    path = _mutated(tmp_path, LOCOMO, 0, lambda r: r["qa"][0].__setitem__("category", 9))
    out = subprocess.run(
        [sys.executable, "-m", "memenv.tasks", "inspect", str(path), "--source", "locomo"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 2
    where = f"{path}, record 0 (sample_id='conv-1'), field 'qa[0].category'"
    assert out.stderr == f"python -m memenv.tasks inspect: error: {where}: expected an integer 1-5, got int\n"
    assert "Traceback" not in out.stderr


# ------------------------------------------------------------------------------------------------
# Evidence: what each source names as the statements an answer rests on.


def test_locomo_evidence_ids_resolve_to_their_turns(tmp_path):
    conv1 = by_id(load("locomo", LOCOMO))["conv-1"]
    made = conv1.questions[0]  # evidence D1:3 and D2:2
    assert made.evidence == (
        "Nadia: Good luck. My sister Ilse is visiting in April.",
        "Nadia: Ilse and I made a vase together.",
    )
    assert "evidence_unresolved" not in made.metadata
    # a shared photo's caption belongs to the turn
    assert any("[shares a photo: a photo of a medal on a table]" in e for q in conv1.questions for e in q.evidence)

    def odd_ids(row):
        row["qa"][0]["evidence"] = ["D2:02; D1:1", "D9:9", "not an id", "D1:3"]

    episode = load("locomo", _mutated(tmp_path, LOCOMO, 0, odd_ids))[0]
    question = episode.questions[0]
    # several ids in one string and zero-padded numbers resolve; D9:9 and "not an id" do not, and are counted
    assert question.evidence == (
        "Nadia: Ilse and I made a vase together.",
        "Nadia: I started pottery classes on Monday!",
        "Nadia: Good luck. My sister Ilse is visiting in April.",
    )
    assert question.metadata["evidence_unresolved"] == 2
    assert question.metadata["evidence"] == ["D2:02; D1:1", "D9:9", "not an id", "D1:3"]  # the source's own list


def test_longmemeval_evidence_is_the_has_answer_turns_else_the_answer_sessions(tmp_path):
    episodes = load("longmemeval", LONGMEMEVAL)
    flagged = episodes[0].questions[0]
    assert flagged.evidence == ("User: I bought new hiking boots today.", "User: I am flying to Oslo this morning.")
    assert episodes[1].questions[0].evidence == ()  # an abstention question names no evidence

    def unflagged(row):
        for session in row["haystack_sessions"]:
            for turn in session:
                turn.pop("has_answer", None)

    episode = load("longmemeval", _mutated(tmp_path, LONGMEMEVAL, 0, unflagged))[0]
    row = json.loads(LONGMEMEVAL.read_text())[0]
    answer_sessions = [
        session
        for sid, session in zip(row["haystack_session_ids"], row["haystack_sessions"], strict=True)
        if sid in row["answer_session_ids"]
    ]
    expected = tuple(f"{t['role'].capitalize()}: {t['content']}" for s in answer_sessions for t in s)
    assert episode.questions[0].evidence == expected and expected


def test_memalpha_evidence_idx_is_the_chunk_and_evidence_survives_a_round_trip(tmp_path):
    squad = by_id(load("memalpha", MEMALPHA_TRAIN))["squad-0"]
    assert squad.questions[0].evidence == (squad.chunks[0],)
    assert squad.questions[2].evidence == (squad.chunks[1],)

    def bad_index(row):
        qas = json.loads(row["questions_and_answers"])
        qas[0]["evidence_idx"] = 7
        row["questions_and_answers"] = json.dumps(qas)

    broken = by_id(load("memalpha", _mutated(tmp_path, MEMALPHA_TRAIN, 0, bad_index)))["squad-0"]
    assert broken.questions[0].evidence == () and broken.questions[0].metadata["evidence_unresolved"] == 1

    episode = Episode(
        "e",
        ("chunk one", "chunk two"),
        (Question("q?", ("a",), "subem", evidence=("the fact a.", "b")),),
        "accurate_retrieval",
    )
    path = loaders.save_memalpha([episode], tmp_path / "out.parquet")
    assert load("memalpha", path)[0].questions[0].evidence == ("the fact a.", "b")


# ------------------------------------------------------------------------------------------------
# What the scoring profiles read


def test_longmemeval_abstention_is_an_abs_anywhere_in_the_id(tmp_path):
    entries = json.loads(LONGMEMEVAL.read_text())
    for entry, question_id in zip(entries, ("7161e7e2_abs", "abs7161e7e2"), strict=True):
        entry["question_id"] = question_id
    path = tmp_path / "lme.json"
    path.write_text(json.dumps(entries))
    first, second = load("longmemeval", path)
    assert first.questions[0].metadata["abstention"] is True  # LongMemEval: '_abs' in question_id
    assert second.questions[0].metadata["abstention"] is False


def test_recsys_rows_carry_the_entity_catalog(tmp_path):
    rows = [
        {
            "context": "User: I loved Heat. Recommender: Try Aliens.",
            "questions": ["User: something with a heist?"],
            "answers": [["1", "5"]],
            "metadata": {"source": "recsys_redial_full"},
        }
    ]
    data = tmp_path / "Test_Time_Learning.json"
    data.write_text(json.dumps(rows))
    catalog = tmp_path / "entity2id.json"
    catalog.write_text(json.dumps({"Heat (1995)": 1, "Aliens": 5, "Up": 2}))
    [episode] = load("memoryagentbench", data, recsys_entities=catalog)
    [question] = episode.questions
    assert question.metric == "recall_at_5"
    assert question.metadata["catalog"] == str(catalog)
    from memenv.metrics import score_question

    # Gold ids 1, 5 -> Heat, Aliens; the list snaps "heat" and "Alien" to Heat and Aliens: both in top 5.
    assert score_question(question, "1. heat\n2. Alien").score == 1.0
    [plain] = load("memoryagentbench", data).pop().questions
    assert "catalog" not in plain.metadata
    bad = tmp_path / "bad.json"
    bad.write_text("[1, 2]")
    with pytest.raises(ValueError, match="entity -> id"):
        load("memoryagentbench", data, recsys_entities=bad)


def test_the_locomo_like_benchmark_file_is_schema_true(tmp_path):
    from benchmarks.locomo_like import main as make_locomo_like

    out = tmp_path / "like.json"
    assert make_locomo_like(["--out", str(out), "--conversations", "2", "--sessions", "6"]) == 0
    episodes = load("locomo", out, include_adversarial=True)
    assert [e.id for e in episodes] == ["like-0", "like-1"]
    questions = [q for e in episodes for q in e.questions]
    assert {q.category for q in questions} >= {"temporal", "single_hop"}
    assert all(q.evidence and "evidence_unresolved" not in q.metadata for q in questions)
    assert all(chunk.startswith("[Dialogue at ") for e in episodes for chunk in e.chunks)
    make_locomo_like(["--out", str(tmp_path / "again.json"), "--conversations", "2", "--sessions", "6"])
    assert (tmp_path / "again.json").read_text() == out.read_text()  # deterministic


# ------------------------------------------------------------------------------------------------
# Issue 13, item 8: the last loader errors that were not DatasetError, and values accepted silently.

DEEP_JSON = "[" * 100_000 + "]" * 100_000


def _rename_sessions(row):
    conversation = row["conversation"]
    for n in (1, 2):
        conversation[f"session_0{n}"] = conversation.pop(f"session_{n}")
        conversation[f"session_0{n}_date_time"] = conversation.pop(f"session_{n}_date_time")


HARDENED = [
    # (source, fixture, record index, mutation, record label, field, words in the problem)
    (
        "locomo",
        LOCOMO,
        0,
        lambda r: r["qa"][2].__setitem__("category", [3]),
        "0 (sample_id='conv-1')",
        "qa[2].category",
        "integer 1-5, got list",
    ),
    (
        "locomo",
        LOCOMO,
        0,
        lambda r: r["conversation"].__setitem__("session_01", r["conversation"]["session_1"]),
        "0 (sample_id='conv-1')",
        "conversation.session_01",
        "session 1 appears twice",
    ),
    (
        "memalpha",
        MEMALPHA_TRAIN,
        0,
        _set("metadata", json.dumps({"memenv": {"competency": "telepathy"}})),
        "0 (instance_id='squad-0')",
        "metadata.memenv.competency",
        "expected one of accurate_retrieval",
    ),
    (
        "memalpha",
        MEMALPHA_TRAIN,
        0,
        _set("metadata", DEEP_JSON),
        "0 (instance_id='squad-0')",
        "metadata",
        "nested too deeply",
    ),
    (
        "memalpha",
        MEMALPHA_TRAIN,
        0,
        _set("chunks", json.dumps(["fine", "cut \ud83d"])),
        "0 (instance_id='squad-0')",
        "chunks[1]",
        "lone surrogate (\\ud83d) at character 4",
    ),
    (
        "longmemeval",
        LONGMEMEVAL,
        0,
        _set("answer", float("nan")),
        "0 (question_id='a1b2c3')",
        "answer",
        "got the number nan",
    ),
    (
        "longmemeval",
        LONGMEMEVAL,
        0,
        _set("answer", [3, float("inf")]),
        "0 (question_id='a1b2c3')",
        "answer[1]",
        "got the number inf",
    ),
]


@pytest.mark.parametrize(("source", "fixture", "index", "mutate", "record", "field", "problem"), HARDENED)
def test_hardened_record_errors_are_dataset_errors(tmp_path, source, fixture, index, mutate, record, field, problem):
    test_malformed_record_raises_one_clear_error(tmp_path, source, fixture, index, mutate, record, field, problem)


def test_deeply_nested_file_is_a_dataset_error(tmp_path):
    for name, text in (("deep.json", DEEP_JSON), ("deep.jsonl", '{"a": 1}\n' + DEEP_JSON + "\n")):
        path = tmp_path / name
        path.write_text(text)
        with pytest.raises(DatasetError, match="nested too deeply") as caught:
            load("locomo", path)
        assert caught.value.path == str(path)
    assert caught.value.record == "line 2"


def test_locomo_zero_padded_session_keys_load_like_plain_ones(tmp_path):
    path = _mutated(tmp_path, LOCOMO, 0, _rename_sessions)
    padded = load("locomo", path)[0]
    plain = load("locomo", LOCOMO)[0]
    assert padded.chunks == plain.chunks and padded.questions == plain.questions


def test_a_million_whitespace_turn_loads_without_a_panic(tmp_path):
    path = _mutated(
        tmp_path,
        LOCOMO,
        0,
        lambda r: r["conversation"]["session_1"][0].__setitem__("text", "hi" + " " * 1_000_000 + "there"),
    )
    try:
        episode = load("locomo", path)[0]
    except BaseException as exc:  # pyo3's PanicException is a BaseException
        pytest.fail(f"load raised {type(exc).__name__}")
    assert any("hi" in chunk for chunk in episode.chunks)
