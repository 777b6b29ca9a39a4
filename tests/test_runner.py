"""Tests for baselines.runner through the leaderboard: ``--workers 2`` and ``--ray`` give a serial run's
results exactly, users' systems by import path run everywhere, and a failing job stops the run cleanly.

"Exactly" means: results.json's ``columns`` and ``systems`` are equal once the timing fields are
removed (``wall_seconds`` and each episode's ``seconds``: how long a run took differs by nature), and
predictions.jsonl is byte for byte the same. One local Ray instance (``ray.init(num_cpus=2)``) serves
the whole module.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from baselines.leaderboard import build_suite, evaluate, main
from baselines.runner import JobFailed, ProcessExecutor
from baselines.systems import make_systems, system_from_factory
from memenv.readers import EvidenceReader

FIXTURES = Path(__file__).parent / "fixtures"
ROOT = Path(__file__).parent.parent
SYSTEMS = ["rag-top-k", "mem-alpha", "user_systems:make_writer", "mem1-user=user_systems:make_mem1_writer"]
ARGS = ["--tasks", "accurate_retrieval", "conflict_resolution", "--episodes", "2", "--context-tokens", "2048"]
ARGS += ["--no-progress", "--systems", *SYSTEMS]


@pytest.fixture(scope="module", autouse=True)
def user_modules() -> Iterator[None]:
    """tests/fixtures on the import path, as a user's own package would be."""
    sys.path.insert(0, str(FIXTURES))
    try:
        yield
    finally:
        sys.path.remove(str(FIXTURES))
        sys.modules.pop("user_systems", None)


def comparable(out: Path) -> tuple[list[str], dict[str, Any], str]:
    """What must not depend on the executor: columns, systems without timings, the predictions."""
    document = json.loads((out / "results.json").read_text())
    assert document["status"]["complete"] is True
    systems = document["systems"]
    for entry in systems.values():
        entry.pop("wall_seconds")
        for row in entry["per_episode"]:
            row.pop("seconds")
    return document["columns"], systems, (out / "predictions.jsonl").read_text()


@pytest.fixture(scope="module")
def serial(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[str], dict[str, Any], str]:
    out = tmp_path_factory.mktemp("serial")
    assert main([*ARGS, "--out", str(out)]) == 0
    return comparable(out)


def test_serial_run_has_the_users_systems(serial: tuple) -> None:
    _, systems, predictions = serial
    assert list(systems) == [*SYSTEMS[:3], "mem1-user"]
    assert all(entry["episodes"] == 4 for entry in systems.values())
    # The user's policy stored the chunks with digits (most of them): the reader finds most answers.
    mine = systems["user_systems:make_writer"]
    assert mine["answer_recall"] > 0.9 and mine["mean"] > 0.5 and 0.5 < mine["compression"] < 1.0
    # Played in MEM1-v0 (its env_id): the memory is one paragraph, a chunk's first sentence.
    assert 0 < systems["mem1-user"]["memory_tokens"] < 100
    assert len(predictions.splitlines()) == 4 * 4 * 10


def test_workers_give_the_serial_results(serial: tuple, tmp_path: Path) -> None:
    assert main([*ARGS, "--workers", "2", "--out", str(tmp_path)]) == 0
    assert comparable(tmp_path) == serial
    status = json.loads((tmp_path / "results.json").read_text())["status"]
    assert status["executor"] == "2 worker processes"


@pytest.fixture(scope="module")
def ray_instance() -> Iterator[Any]:
    if "ray" in os.environ.get("MEMENV_REQUIRE", "").split(","):  # make test: a missing Ray is a failure
        import ray
    else:
        ray = pytest.importorskip("ray")
    before = os.environ.get("RAY_AUTH_MODE")
    os.environ["RAY_AUTH_MODE"] = "disabled"  # a test cluster writes no token into the home folder
    temp = tempfile.mkdtemp(prefix="ray", dir="/tmp")  # short: Ray's socket paths must stay < 108 bytes
    # Workers import the user's module as the driver does: it is on their PYTHONPATH.
    paths = os.pathsep.join([str(FIXTURES), str(ROOT)])
    ray.init(
        address="local",
        num_cpus=2,
        include_dashboard=False,
        runtime_env={"env_vars": {"PYTHONPATH": paths}},
        _temp_dir=temp,
    )
    try:
        yield ray
    finally:
        ray.shutdown()
        shutil.rmtree(temp, ignore_errors=True)
        if before is None:
            os.environ.pop("RAY_AUTH_MODE", None)
        else:
            os.environ["RAY_AUTH_MODE"] = before


def test_ray_gives_the_serial_results(serial: tuple, ray_instance: Any, tmp_path: Path) -> None:
    assert main([*ARGS, "--ray", "--out", str(tmp_path)]) == 0
    assert comparable(tmp_path) == serial
    assert ray_instance.is_initialized()  # an instance it did not start is left running


def test_evaluate_with_worker_processes_equals_serial() -> None:
    """The Python API: systems built here are pickled to the workers."""
    suite = build_suite(["test_time_learning"], episodes=2, seed=5, context_tokens=2048, chunk_tokens=512)
    systems = [*make_systems(["mem-alpha", "mem1"]), system_from_factory("user_systems:make_writer", "mine")]
    serial = evaluate(systems, suite, EvidenceReader(), progress=False)
    parallel = evaluate(systems, suite, EvidenceReader(), progress=False, executor=ProcessExecutor(2))
    for results in (serial, parallel):
        for entry in results.values():
            entry.pop("wall_seconds")
            for row in entry["per_episode"]:
                row.pop("seconds")
    assert parallel == serial and list(serial) == ["mem-alpha", "mem1", "mine"]


def test_a_failing_job_stops_the_run_and_keeps_what_finished(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (episode, failing) = build_suite(["accurate_retrieval"], episodes=2, seed=0, context_tokens=2048, chunk_tokens=512)
    monkeypatch.setenv("MEMENV_TEST_FAIL_AT", failing.id)
    argv = ["--systems", "no-memory", "user_systems:make_logged", "--tasks", "accurate_retrieval", "--episodes", "2"]
    argv += ["--context-tokens", "2048", "--no-progress", "--out", str(tmp_path)]
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert f"system 'user_systems:make_logged' failed on episode '{failing.id}': ValueError: cannot write" in err
    assert "3 of 4 runs are saved" in err
    document = json.loads((tmp_path / "results.json").read_text())
    assert document["status"]["complete"] is False and "ValueError" in document["status"]["failed"]
    assert [row["episode"] for row in document["systems"]["user_systems:make_logged"]["per_episode"]] == [episode.id]


def test_a_failing_job_in_a_worker_names_the_system_and_episode(monkeypatch: pytest.MonkeyPatch) -> None:
    suite = build_suite(["accurate_retrieval"], episodes=1, seed=0, context_tokens=2048, chunk_tokens=512)
    monkeypatch.setenv("MEMENV_TEST_FAIL_AT", suite[0].id)  # spawned workers inherit the environment
    with pytest.raises(JobFailed, match=f"'logged' failed on episode '{suite[0].id}'") as failure:
        evaluate(
            [system_from_factory("user_systems:make_logged", "logged")],
            suite,
            EvidenceReader(),
            progress=False,
            executor=ProcessExecutor(2),
        )
    assert "Traceback" in failure.value.details and "cannot write" in failure.value.details


def test_user_system_factories_are_checked(tmp_path: Path) -> None:
    with pytest.raises(TypeError, match="returned a int"):
        system_from_factory("user_systems:make_nothing")
    with pytest.raises(ValueError, match="has no attribute 'nope'"):
        system_from_factory("user_systems:nope")
    with pytest.raises(ValueError, match="cannot import module 'no_such_module'"):
        system_from_factory("no_such_module:make")
    with pytest.raises(ValueError, match=r"package\.module:factory"):
        system_from_factory("user_systems:")
    with pytest.raises(SystemExit):  # the CLI says so before any work
        main(["--systems", "user_systems:nope", "--out", str(tmp_path)])
    with pytest.raises(SystemExit):
        main(["--systems", "mem-alpha", "mem-alpha", "--out", str(tmp_path)])  # names must be unique
    assert not (tmp_path / "run.json").exists()


def test_code_shipped_to_a_remote_ray_cluster() -> None:
    from baselines.runner import code_to_ship

    folders = code_to_ship(["examples.my_memory_agent", "user_systems"])
    # memenv, baselines and the user's package; a single-file module must already be on the nodes.
    assert folders == [str(ROOT / "memenv"), str(ROOT / "baselines"), str(ROOT / "examples")]


def test_an_llm_writer_plays_its_episodes_in_lock_step_with_the_same_results(tmp_path) -> None:
    pytest.importorskip("transformers")
    from baselines.leaderboard import BoardSetup, build_suite
    from baselines.runner import Job, SerialExecutor
    from memenv.llm import build_tiny_model

    spec = f"hf:{build_tiny_model(tmp_path / 'tiny')}"
    setup = BoardSetup((("mem-alpha-llm", "mem-alpha-llm"),), writer_llm=spec, writer_max_new_tokens=8)
    suite = build_suite(["accurate_retrieval", "conflict_resolution"], 1, 0, 1024, 256)
    evaluator = setup.build()
    assert evaluator.batched("mem-alpha-llm")
    jobs = [Job("mem-alpha-llm", i) for i in range(len(suite))]
    batched: dict[int, object] = {}
    SerialExecutor().execute(setup, suite, jobs, lambda job, run: batched.setdefault(job.episode, run))
    for job in jobs:
        alone = evaluator.run(job.system, suite[job.episode])
        assert batched[job.episode].qa.per_question == alone.qa.per_question
        assert batched[job.episode].memory_tokens == alone.memory_tokens


def test_llm_concurrency_reaches_endpoint_models_only(tmp_path) -> None:
    from baselines.leaderboard import BoardSetup

    endpoint = "openai:http://127.0.0.1:9/v1#some-model"  # never contacted: building opens no connection
    setup = BoardSetup((("mem1-llm", "mem1-llm"),), writer_llm=endpoint, reader=endpoint, llm_concurrency=5)
    evaluator = setup.build()
    assert evaluator.systems["mem1-llm"].policy.model.concurrency == 5
    assert evaluator.reader.model.concurrency == 5
