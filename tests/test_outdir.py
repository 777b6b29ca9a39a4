"""Tests for baselines.outdir through the leaderboard: results are written as runs finish, an interrupted
run resumes with the same ``--out``, a resume with other settings is refused, ``--out`` is checked
before any work, and Ctrl-C (a real SIGINT) exits cleanly with the finished runs kept.

The interruptions come from ``tests/fixtures/user_systems.py``'s ``make_logged`` system, which logs every
run it makes and raises KeyboardInterrupt (or sleeps, for the real signal) at a chosen episode.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from baselines import leaderboard
from baselines.leaderboard import build_suite, main
from baselines.outdir import RunFolder, atomic_write_text, settings_difference

FIXTURES = Path(__file__).parent / "fixtures"
ROOT = Path(__file__).parent.parent
SUITE = build_suite(["accurate_retrieval", "conflict_resolution"], 2, seed=0, context_tokens=2048, chunk_tokens=512)
ARGS = ["--systems", "rag-top-k", "user_systems:make_logged", "--tasks", "accurate_retrieval", "conflict_resolution"]
ARGS += ["--episodes", "2", "--context-tokens", "2048", "--no-progress"]
LOGGED = "user_systems:make_logged"


@pytest.fixture(autouse=True)
def user_modules(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Path]:
    """tests/fixtures importable; the logged system's log in tmp_path (returned)."""
    monkeypatch.syspath_prepend(str(FIXTURES))
    log = tmp_path / "log.txt"
    monkeypatch.setenv("MEMENV_TEST_LOG", str(log))
    for name in ("MEMENV_TEST_STOP_AT", "MEMENV_TEST_FAIL_AT", "MEMENV_TEST_BLOCK_AT"):
        monkeypatch.delenv(name, raising=False)
    yield log
    sys.modules.pop("user_systems", None)


def logged_runs(log: Path) -> list[str]:
    return log.read_text().split() if log.exists() else []


def without_timings(out: Path) -> tuple[dict[str, Any], str]:
    document = json.loads((out / "results.json").read_text())
    for entry in document["systems"].values():
        entry.pop("wall_seconds")
        for row in entry["per_episode"]:
            row.pop("seconds")
    return document["systems"], (out / "predictions.jsonl").read_text()


def test_interrupted_run_keeps_finished_runs_and_resumes(
    tmp_path: Path, user_modules: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    monkeypatch.setenv("MEMENV_TEST_STOP_AT", SUITE[2].id)  # Ctrl-C during the logged system's third episode
    assert main([*ARGS, "--out", str(out)]) == 130
    assert "interrupted: 6 of 8 runs are saved" in capsys.readouterr().err
    assert logged_runs(user_modules) == [SUITE[0].id, SUITE[1].id]
    document = json.loads((out / "results.json").read_text())
    assert document["status"] | {"elapsed_seconds": None} == document["status"] | {
        "complete": False,
        "interrupted": True,
        "runs_done": 6,
        "runs_total": 8,
        "elapsed_seconds": None,
    }
    assert document["systems"][LOGGED]["episodes"] == 2 and document["systems"]["rag-top-k"]["episodes"] == 4
    assert len((out / "predictions.jsonl").read_text().splitlines()) == 6 * 10  # 10 questions per episode
    assert len(list(out.glob("runs/*/*.json"))) == 6

    monkeypatch.delenv("MEMENV_TEST_STOP_AT")
    assert main([*ARGS, "--out", str(out)]) == 0
    assert "resuming: 6 of 8 runs already in" in capsys.readouterr().err
    assert logged_runs(user_modules) == [episode.id for episode in SUITE]  # only the two left ran
    document = json.loads((out / "results.json").read_text())
    assert document["status"]["complete"] is True and document["status"]["runs_done"] == 8
    assert len(document["provenance"]["settings"]) > 0
    assert len(json.loads((out / "run.json").read_text())["sessions"]) == 2

    fresh = tmp_path / "fresh"
    assert main([*ARGS, "--out", str(fresh)]) == 0
    assert without_timings(out) == without_timings(fresh)


def test_resume_with_other_settings_is_refused(
    tmp_path: Path, user_modules: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([*ARGS, "--out", str(tmp_path)]) == 0
    manifest = (tmp_path / "run.json").read_text()
    records = sorted(p.read_text() for p in tmp_path.glob("runs/*/*.json"))
    capsys.readouterr()
    assert main([*ARGS, "--seed", "1", "--scoring", "memenv", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "holds a run with other settings" in err and "--restart" in err
    assert "--seed: 0 in the folder, 1 now" in err and '--scoring: "default" in the folder, "memenv" now' in err
    assert "suite_sha256" in err  # other seeds, other episodes
    assert (tmp_path / "run.json").read_text() == manifest  # nothing was touched
    assert sorted(p.read_text() for p in tmp_path.glob("runs/*/*.json")) == records
    assert len(logged_runs(user_modules)) == 4

    # What only changes how the run is executed or reported may differ: nothing runs again.
    changed = ["--workers", "2", "--bootstrap-samples", "50", "--baseline", LOGGED]
    assert main([*ARGS, *changed, "--out", str(tmp_path)]) == 0
    assert len(logged_runs(user_modules)) == 4
    assert json.loads((tmp_path / "results.json").read_text())["status"]["baseline"] == LOGGED

    # --restart discards the folder's runs and starts over.
    assert main([*ARGS, "--seed", "1", "--restart", "--out", str(tmp_path)]) == 0
    assert len(logged_runs(user_modules)) == 8


def test_an_unusable_out_fails_before_any_work(
    tmp_path: Path, user_modules: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def no_suite(*args: object, **kwargs: object) -> None:
        raise AssertionError("the suite was built before --out was checked")

    monkeypatch.setattr(leaderboard, "build_suite", no_suite)
    a_file = tmp_path / "a_file"
    a_file.write_text("not a folder")
    for out, message in ((a_file, "is a file, not a folder"), (a_file / "sub", "is not writable")):
        assert main([*ARGS, "--out", str(out)]) == 2
        assert f"error: --out {out} {message}" in capsys.readouterr().err
    assert main([*ARGS, "--out", str(tmp_path / "ok"), "--save-trajectories", str(a_file)]) == 2
    assert "--save-trajectories" in capsys.readouterr().err
    assert logged_runs(user_modules) == []


def test_a_folder_in_use_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with RunFolder.open(tmp_path, {"x": 1}, {}):
        assert main([*ARGS, "--out", str(tmp_path)]) == 2
        assert f"--out {tmp_path} is in use by another run (pid {os.getpid()})" in capsys.readouterr().err
    with RunFolder.open(tmp_path, {"x": 1}, {}):  # released: it opens again, the same settings resume
        pass


def test_atomic_write_replaces_whole_files_only(tmp_path: Path) -> None:
    target = tmp_path / "results.json"
    atomic_write_text(target, "old\n")
    with pytest.raises(TypeError):  # the write fails half way: the old file stays whole
        atomic_write_text(target, 12)  # type: ignore[arg-type]
    assert target.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["results.json"]  # no temporary file left behind
    assert oct(target.stat().st_mode & 0o777) == oct(0o666 & ~_umask())


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_settings_difference_names_each_option() -> None:
    assert settings_difference({"seed": 0, "rag_k": 2}, {"seed": 0, "rag_k": 3}) == ["--rag-k: 2 in the folder, 3 now"]
    assert settings_difference({"tasks": ("a",)}, {"tasks": ["a"]}) == []  # compared as JSON reads them


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.mark.parametrize("workers", ["1", "2"])
def test_sigint_exits_cleanly_and_keeps_finished_runs(tmp_path: Path, workers: str) -> None:
    out = tmp_path / "out"
    env = dict(os.environ, MEMENV_TEST_BLOCK_AT=SUITE[3].id, PYTHONPATH=os.pathsep.join([str(FIXTURES), str(ROOT)]))
    argv = [sys.executable, "-m", "baselines.leaderboard", *ARGS, "--out", str(out), "--workers", workers]
    # The child takes Ctrl-C as a terminal would give it, even when this test runs with SIGINT ignored (a
    # background job of a shell without job control, e.g. `make test &`), which a child would inherit.
    process = subprocess.Popen(
        argv,
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=_default_sigint,
    )
    try:
        # rag-top-k's 4 runs and the logged system's first 3 finish; its 4th sleeps until the signal.
        deadline = time.monotonic() + 120
        while len(list(out.glob("runs/*/*.json"))) < 7 and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
        assert process.poll() is None, process.communicate()[1]
        time.sleep(0.3)  # let the run enter the blocking episode
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=180)  # a loaded CI machine writes the final reports slowly
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 130, err
    assert "Traceback" not in err and "KeyboardInterrupt" not in err
    assert "interrupted: 7 of 8 runs are saved" in err
    document = json.loads((out / "results.json").read_text())
    assert document["status"]["interrupted"] is True and document["status"]["runs_done"] == 7
    assert len((out / "predictions.jsonl").read_text().splitlines()) == 70
    assert (out / "leaderboard.png").stat().st_size > 1000


def test_resume_after_a_code_change_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Runs made by other code must not be mixed into one table: editing a system's module is a change."""
    agent = tmp_path / "agents" / "edited_agent.py"
    agent.parent.mkdir()
    agent.write_text("def make_writer():\n    return lambda obs, info: ''\n")
    monkeypatch.syspath_prepend(str(agent.parent))
    argv = ["--systems", "edited_agent:make_writer", "--tasks", "accurate_retrieval", "--episodes", "1"]
    argv += ["--context-tokens", "1024", "--no-progress", "--out", str(tmp_path / "out")]
    assert main(argv) == 0
    agent.write_text("def make_writer():\n    return lambda obs, info: 'I changed'\n")
    assert main(argv) == 2
    assert "code_sha256: the code differs" in capsys.readouterr().err
    sys.modules.pop("edited_agent", None)
