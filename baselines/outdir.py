"""The leaderboard's output folder (``--out``): checked before a run, written as runs finish, resumable.

Layout::

    OUT/run.json            the settings that decide results, and one provenance record per session
    OUT/runs/<system>/<episode index>.json   one finished (system, episode) run, written when it finishes
    OUT/results.json, results.csv, leaderboard.md, leaderboard.png, predictions.jsonl   the reports

Every file is written atomically (a temporary file in the same folder, flushed to disk, then renamed
over the target), so an interrupted run never leaves a torn file: a run's record is either whole or
absent. :meth:`RunFolder.open` takes an exclusive lock on the folder (``OUT/.lock``) for the whole run,
so two runs cannot write into one folder at once.

Resuming: running the same command again with the same ``--out`` reads the finished runs back and
runs only the rest. The folder's ``run.json`` holds the settings that decide results (systems, suite,
reader, writer, judge, scoring, ..., the suite's sha256 and the code's); if they differ from the new command's,
the run is refused with the differing settings named (use another ``--out``, or ``--restart`` to
discard the folder's runs). Settings that do not change results (``--workers``, ``--ray``, the
progress bar, the bootstrap, ``--baseline``) may differ.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TextIO

try:
    import fcntl
except ImportError:  # Windows: no advisory lock; everything else works the same
    fcntl = None  # type: ignore[assignment]

MANIFEST = "run.json"
RUNS = "runs"
LOCK = ".lock"


def _file_mode() -> int:
    """The mode a plain ``open(path, "w")`` would give a new file (0o666 less the umask)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return 0o666 & ~mask


FILE_MODE = _file_mode()  # mkstemp makes 0o600 files; reports should read like any other file


class OutputError(Exception):
    """``--out`` cannot be used: not a writable folder, locked by another run, or holding another run."""


def atomic_write_text(path: str | Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically: a temporary sibling, fsync, then ``os.replace``."""
    path = Path(path)
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(temporary, FILE_MODE)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


@contextlib.contextmanager
def atomic_path(path: str | Path):  # type: ignore[no-untyped-def]
    """Yield a temporary path next to ``path``; on success it is renamed over ``path`` (for writers that
    want a file name, such as matplotlib's ``savefig``)."""
    path = Path(path)
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=path.suffix or ".tmp")
    os.close(fd)
    try:
        yield Path(temporary)
        os.chmod(temporary, FILE_MODE)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


def check_writable(path: str | Path, what: str = "--out") -> Path:
    """Create ``path`` (and parents) if needed and prove a file can be written there, before any work.

    Raises:
        OutputError: naming ``what`` and ``path``: it is a file, or it cannot be created or written.
    """
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise OutputError(f"{what} {path} is a file, not a folder")
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=path):
            pass
    except OSError as exc:
        raise OutputError(f"{what} {path} is not writable: {exc.strerror or exc}") from None
    return path


def _normal(value: Any) -> Any:
    """``value`` as it reads back from JSON (tuples become lists, paths strings)."""
    return json.loads(json.dumps(value, default=str))


# Settings that are not options, and what a change in them means.
FINGERPRINTS = {
    "suite_sha256": "the episodes differ (another seed, size, dataset file or loader)",
    "code_sha256": "the code differs (memenv, baselines or your systems' modules were edited)",
}


def settings_difference(before: Mapping[str, Any], now: Mapping[str, Any]) -> list[str]:
    """One line per setting that differs: ``--option: <before> in the folder, <now> now`` (for a
    fingerprint, what its change means)."""
    before, now = _normal(before), _normal(now)
    lines = []
    for key in sorted(set(before) | set(now)):
        if before.get(key) == now.get(key):
            continue
        if key in FINGERPRINTS:
            lines.append(f"{key}: {FINGERPRINTS[key]}")
        else:
            option = "--" + key.replace("_", "-")
            lines.append(f"{option}: {json.dumps(before.get(key))} in the folder, {json.dumps(now.get(key))} now")
    return lines


def record_name(system: str, index: int) -> str:
    """``runs/<system>-<hash>/<index>.json``: the system's name with odd characters as ``_``, and 8 hex
    digits of its sha256 so that two names that read alike (``a:b``, ``a_b``) never share a folder."""
    safe = "".join(ch if ch.isascii() and (ch.isalnum() or ch in "._-") else "_" for ch in system).strip(".")
    tag = hashlib.sha256(system.encode("utf-8", "surrogatepass")).hexdigest()[:8]
    return f"{RUNS}/{safe[:80] or '_'}-{tag}/{index:06d}.json"


class RunFolder:
    """An opened ``--out`` folder (see the module docstring). Use :meth:`open`; :meth:`close` releases it."""

    def __init__(self, path: Path, lock: TextIO | None) -> None:
        self.path = path
        self._lock = lock

    @classmethod
    def open(
        cls, path: str | Path, settings: Mapping[str, Any], session: Mapping[str, Any], *, restart: bool = False
    ) -> RunFolder:
        """Check, lock and prepare ``path`` for a run with ``settings``; record ``session`` (provenance).

        ``restart`` discards the folder's finished runs instead of resuming them.

        Raises:
            OutputError: not writable, locked by another run, or holding a run with other settings.
        """
        path = check_writable(path)
        lock = cls._acquire(path)
        try:
            manifest_path = path / MANIFEST
            sessions: list[Any] = []
            if manifest_path.exists() and not restart:
                try:
                    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
                    old_settings, sessions = manifest["settings"], list(manifest["sessions"])
                except (ValueError, KeyError, TypeError) as exc:
                    raise OutputError(
                        f"--out {path} holds an unreadable {MANIFEST} ({exc}); use another --out, or --restart"
                    ) from None
                differences = settings_difference(old_settings, settings)
                if differences:
                    raise OutputError(
                        f"--out {path} holds a run with other settings, so it cannot be resumed:\n  "
                        + "\n  ".join(differences)
                        + "\nRun the same command as before to resume it, use another --out, or add --restart "
                        "to discard its finished runs."
                    )
            elif restart:
                shutil.rmtree(path / RUNS, ignore_errors=True)
            folder = cls(path, lock)
            document = {"settings": _normal(settings), "sessions": [*sessions, _normal(session)]}
            atomic_write_text(manifest_path, json.dumps(document, indent=2, ensure_ascii=False) + "\n")
            return folder
        except BaseException:
            cls._release(lock)
            raise

    @staticmethod
    def _acquire(path: Path) -> TextIO | None:
        if fcntl is None:
            return None
        handle = (path / LOCK).open("a+", encoding="utf-8")
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.seek(0)
            holder = handle.read().strip()
            handle.close()
            raise OutputError(
                f"--out {path} is in use by another run{f' (pid {holder})' if holder else ''}; wait for it or use "
                "another --out"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        return handle

    @staticmethod
    def _release(lock: TextIO | None) -> None:
        if lock is not None:
            with contextlib.suppress(OSError):
                lock.close()  # closing the file releases the flock

    def close(self) -> None:
        """Release the folder's lock (the files stay)."""
        self._release(self._lock)
        self._lock = None

    def __enter__(self) -> RunFolder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def save(self, system: str, index: int, record: Mapping[str, Any]) -> None:
        """Write one finished run's record (atomically) as ``runs/<system>/<index>.json``."""
        target = self.path / record_name(system, index)
        target.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(target, json.dumps(record, ensure_ascii=False) + "\n")

    def load(self, system: str, index: int) -> dict[str, Any] | None:
        """The record of a finished run, or None if it has not finished (or its file is unreadable, in
        which case it runs again)."""
        target = self.path / record_name(system, index)
        try:
            return json.loads(target.read_text(encoding="utf-8"))
        except (OSError, ValueError):  # not finished, or unreadable: it runs again
            return None


__all__ = [
    "MANIFEST",
    "RUNS",
    "OutputError",
    "RunFolder",
    "atomic_path",
    "atomic_write_text",
    "check_writable",
    "record_name",
    "settings_difference",
]
