"""Tests for baselines.provenance: results.json says what code, data, models, seeds and command made it."""

from __future__ import annotations

import hashlib
import json
import platform
import subprocess
from importlib import metadata
from pathlib import Path

import pytest

from baselines.leaderboard import build_suite, main
from baselines.provenance import dataset_digests, file_digest, git_commit, suite_digest
from memenv.errors import DatasetError

FIXTURES = Path(__file__).parent / "fixtures"
ROOT = Path(__file__).parent.parent


def test_dataset_run_names_the_file_it_read_by_hash(tmp_path: Path) -> None:
    dataset = FIXTURES / "locomo10_tiny.json"
    argv = ["--dataset", str(dataset), "--source", "locomo", "--systems", "no-memory", "long-context"]
    argv += ["--out", str(tmp_path), "--no-progress", "--bootstrap-seed", "3"]
    assert main(argv) == 0
    provenance = json.loads((tmp_path / "results.json").read_text())["provenance"]
    data = dataset.read_bytes()
    assert provenance["datasets"] == [
        {"path": str(dataset), "bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}
    ]
    assert provenance["command"] == "memenv leaderboard " + " ".join(argv)
    assert provenance["argv"] == argv
    assert provenance["settings"]["dataset"] == str(dataset) and provenance["settings"]["source"] == "locomo"
    assert provenance["seeds"] == {"suite": None, "episodes": {}, "env_reset": 0, "bootstrap": 3}
    assert provenance["models"] == {"reader": "evidence", "writer": None, "judge": None}
    assert provenance["packages"]["gymnasium"] == metadata.version("gymnasium")
    assert provenance["packages"]["numpy"] == metadata.version("numpy")
    assert provenance["python"]["version"] == platform.python_version()
    assert provenance["memenv"]["version"] == metadata.version("memenv")
    try:  # the commit of this checkout, read independently (None outside a git checkout)
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True)
        expected = head.stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        expected = None
    assert provenance["memenv"]["commit"] == expected
    assert isinstance(provenance["memenv"]["dirty"], bool) or expected is None


def test_synthetic_run_records_its_seeds_and_episodes(tmp_path: Path) -> None:
    argv = ["--systems", "rag-top-k", "--tasks", "test_time_learning", "--episodes", "2", "--seed", "7"]
    argv += ["--context-tokens", "2048", "--out", str(tmp_path), "--no-progress", "--reader", "evidence"]
    assert main(argv) == 0
    document = json.loads((tmp_path / "results.json").read_text())
    provenance = document["provenance"]
    suite = build_suite(["test_time_learning"], episodes=2, seed=7, context_tokens=2048, chunk_tokens=512)
    assert provenance["datasets"] == []
    assert provenance["seeds"] == {
        "suite": 7,
        "episodes": {"test_time_learning-7-2048": 7, "test_time_learning-8-2048": 8},
        "env_reset": 0,
        "bootstrap": 0,
    }
    assert [ep.id for ep in suite] == list(provenance["seeds"]["episodes"])
    assert provenance["suite_sha256"] == suite_digest(suite)
    assert provenance["settings"]["context_tokens"] == 2048 and provenance["settings"]["seed"] == 7
    # The same settings go into run.json, which a resume compares (without the run-only options).
    settings = json.loads((tmp_path / "run.json").read_text())["settings"]
    assert settings["suite_sha256"] == suite_digest(suite) and "workers" not in settings


def test_digests() -> None:
    suite = build_suite(["accurate_retrieval"], episodes=2, seed=0, context_tokens=2048, chunk_tokens=512)
    assert suite_digest(suite) == suite_digest(list(suite))
    assert suite_digest(suite) != suite_digest(suite[:1]) != suite_digest(suite[::-1])
    folder = FIXTURES / "memoryagentbench"
    digests = dataset_digests(folder)
    assert [d["path"] for d in digests] == sorted(str(p) for p in folder.iterdir() if p.suffix in (".json", ".jsonl"))
    assert all(d == file_digest(d["path"]) for d in digests)
    assert dataset_digests("some-org/some-dataset") == [
        {"path": "some-org/some-dataset", "bytes": None, "sha256": None, "hub_id": True}
    ]
    with pytest.raises(DatasetError, match="no data file for split"):
        dataset_digests(folder, split="No_Such_Split")


def test_git_commit_outside_a_checkout(tmp_path: Path) -> None:
    assert git_commit(tmp_path) == {"commit": None, "dirty": None}
