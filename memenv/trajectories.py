"""Trajectory records: what a memory writer did at every step of an episode, as JSON lines.

Record an episode with the :class:`RecordEpisodes` wrapper (also importable from
:mod:`memenv.wrappers`), read it back with :func:`read_trajectories`, look at it in a browser with
``memenv view RUN.jsonl -o episode.html`` (:mod:`memenv.viewer`)::

    import gymnasium as gym
    import memenv
    from memenv.trajectories import RecordEpisodes, read_trajectories

    env = RecordEpisodes(gym.make("memenv/MemAlpha-v0", task="accurate_retrieval"), "run.jsonl", system="my-writer")
    obs, info = env.reset(seed=0)
    done = False
    while not done:
        obs, reward, terminated, truncated, info = env.step(my_llm(info["messages"], tools=info["tools"]))
        done = terminated or truncated
    env.close()
    [trajectory] = read_trajectories("run.jsonl")
    trajectory.steps[0]["diff"], trajectory.questions[0]["score"]

## The file

One JSON object per line; an episode is an ``episode`` line, one ``step`` line per ``env.step``, and
an ``end`` line after the last step (an episode cut short by a new ``reset`` has no ``end``). A file
may hold many episodes, of one system or several.

- ``{"type": "episode", "version": 1, "system", "env_id", "episode_id", "competency", "source",
  "num_chunks", "limits": {"max_text_chars", "max_chunk_chars"}, "memory": <the memory at reset>}``
- ``{"type": "step", "step": t, "chunk_offset": <characters of the stream before this chunk>,
  "chunk", "reply", "calls": [...], "parse_error", "diff": {...}, "reward", "reward_components",
  "memory_tokens"}``. ``calls`` are ``info["tool_results"]`` (``name, arguments, ok, error, message,
  memory_id``). ``diff`` holds only what changed, per tier: ``"core": <new text>`` and, for
  ``semantic`` / ``episodic``, ``{"added": [{"id", "text"}], "updated": [{"id", "text"}],
  "deleted": [{"id"}]}`` (the new texts only: the old ones are in earlier lines).
- ``{"type": "end", "accuracy", "answer_recall", "evidence_recall", "questions": [...],
  "memory_tokens", "return", "truncated"}``: one row per question, every key of
  ``info["qa"]["per_question"]`` (``question``, ``answers`` — the gold —, ``prediction``, ``score``,
  ``metric``, ``category``, ``answer_recall``, ``evidence_recall``, and ``context_ids``, what the
  reader was given: ``"core"``, ``"<tier>:<id>"``, ``"chunk:<index>"``; see :class:`memenv.qa.QAReport`).

## Bounded size

A record never holds a full memory snapshot, only the step's diff, and no text in it is longer
than a limit: a chunk over ``max_chunk_chars`` (default 8000, about 1.8K tokens) and any other
text over ``max_text_chars`` (default 8000; replies, entries, the core, predictions) become
``{"clipped": true, "head": <first characters: 1000 of a chunk, 240 otherwise>, "chars":
<length>, "sha256": <of the UTF-8 text>}``; with ``chunk_offset`` that locates a clipped chunk in
the stream. String arguments of calls are clipped at 240 characters (the full text is in the reply
and the diff). So a line's size depends on the step's calls, never on how big the memory has
grown, and a 1M-token stream gives a file in proportion to its number of steps (measured in
``tests/test_trajectories.py``). The recorder keeps one reference per memory entry (the env's own
objects) and writes each line as it goes.

## Reading

:func:`read_trajectories` returns :class:`Trajectory` objects whose diffs are completed with what
each change replaced: ``core`` becomes ``{"before", "after"}``, ``updated`` rows gain ``before``
(and ``after`` = ``text``), ``deleted`` rows gain ``text``. :meth:`Trajectory.memory_after` replays
the diffs into the memory as ``Memory.snapshot()`` would show it after any step.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import gymnasium as gym

from memenv.memory import LIST_TIERS, Memory, MemoryEntry

FORMAT_VERSION = 1
DEFAULT_MAX_TEXT_CHARS = 8000
DEFAULT_MAX_CHUNK_CHARS = 8000
HEAD_CHARS = 240  # what a clipped text keeps, and the cap on a call's string arguments
CHUNK_HEAD_CHARS = 1000  # what a clipped chunk keeps

__all__ = [
    "FORMAT_VERSION",
    "RecordEpisodes",
    "Trajectory",
    "clip_text",
    "read_trajectories",
    "text_of",
    "trajectory_path",
    "write_reference_run",
]


def clip_text(text: str, limit: int, head: int = HEAD_CHARS) -> str | dict[str, Any]:
    """``text`` itself when it has at most ``limit`` characters, else its first ``head`` characters,
    its length and its SHA-256."""
    if len(text) <= limit:
        return text
    return {
        "clipped": True,
        "head": text[:head],
        "chars": len(text),
        "sha256": hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest(),
    }


def text_of(value: str | dict[str, Any] | None) -> str:
    """A recorded text as a string: itself, or a clipped text's head followed by ``…``."""
    if value is None:
        return ""
    if isinstance(value, dict):
        return f"{value.get('head', '')}…"
    return value


def _plain(value: Any, limit: int, depth: int = 0) -> Any:
    """``value`` as JSON-ready data with every string clipped at ``limit`` (non-finite floats as strings)."""
    if isinstance(value, str):
        return clip_text(value, limit)
    if value is None or isinstance(value, (bool, int)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else repr(value)
    if depth >= 8:  # model output may nest without end; past this, a preview is enough
        return clip_text(repr(value), limit)
    if isinstance(value, dict):
        return {str(k): _plain(v, limit, depth + 1) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v, limit, depth + 1) for v in value]
    return clip_text(repr(value), limit)


def _snapshot(memory: Memory, limit: int) -> dict[str, Any]:
    return {
        "core": clip_text(memory.core, limit),
        **{tier: [{"id": e.id, "text": clip_text(e.text, limit)} for e in memory.entries(tier)] for tier in LIST_TIERS},
    }


class _MemoryTracker:
    """What changed in a :class:`Memory` since the last look, without copying it.

    It holds the memory's own entry objects (one reference each). After a step, only the entries
    the step's calls name (``memory_id`` of each result: every memenv env reports the entry each
    call inserted, updated or deleted) are compared, so a step costs O(its calls), not O(memory).
    If a tier's size or token total then disagrees with the memory (something changed an entry no
    call named, e.g. a custom env), every entry of that tier is compared. A change no call names
    that keeps both the same (a same-length rewrite outside any call) would go unseen.
    """

    def __init__(self, memory: Memory) -> None:
        self.memory = memory
        self.core = memory.core
        self.entries: dict[str, dict[str, MemoryEntry]] = {
            tier: {e.id: e for e in memory.entries(tier)} for tier in LIST_TIERS
        }
        self.tokens = {tier: memory.tokens(tier) for tier in LIST_TIERS}

    def diff(self, memory: Memory, touched: Iterable[str], limit: int) -> dict[str, Any]:
        swapped = memory is not self.memory  # the env replaced its memory: compare every entry
        self.memory = memory
        out: dict[str, Any] = {}
        if memory.core != self.core:
            self.core = memory.core
            out["core"] = clip_text(memory.core, limit)
        touched = list(dict.fromkeys(touched))
        for tier in LIST_TIERS:
            changes = self._diff_ids(tier, touched)
            if swapped or len(self.entries[tier]) != memory.size(tier) or self.tokens[tier] != memory.tokens(tier):
                more = self._diff_ids(tier, list(dict.fromkeys([*self.entries[tier], *self._ids(tier)])))
                for kind in changes:
                    changes[kind] += more[kind]
            if any(changes.values()):
                out[tier] = {
                    "added": [{"id": e.id, "text": clip_text(e.text, limit)} for e in changes["added"]],
                    "updated": [{"id": e.id, "text": clip_text(e.text, limit)} for e in changes["updated"]],
                    "deleted": [{"id": e.id} for e in changes["deleted"]],
                }
        return out

    def _ids(self, tier: str) -> list[str]:
        return [e.id for e in self.memory.entries(tier)]

    def _diff_ids(self, tier: str, ids: Sequence[str]) -> dict[str, list[MemoryEntry]]:
        shadow = self.entries[tier]
        changes: dict[str, list[MemoryEntry]] = {"added": [], "updated": [], "deleted": []}
        for memory_id in ids:
            old, new = shadow.get(memory_id), self.memory.get(tier, memory_id)
            if old is None and new is None:
                continue
            if old is None:
                assert new is not None
                changes["added"].append(new)
            elif new is None:
                changes["deleted"].append(old)
            elif new.text != old.text:
                changes["updated"].append(new)
            else:
                continue
            if new is None:
                del shadow[memory_id]
                self.tokens[tier] -= old.tokens  # type: ignore[union-attr]
            else:
                shadow[memory_id] = new
                self.tokens[tier] += new.tokens - (old.tokens if old is not None else 0)
        return changes


class RecordEpisodes(gym.Wrapper, gym.utils.RecordConstructorArgs):
    """Write every episode of a memenv environment to a JSON-lines file, one line per step.

    ## Description

    Wrap a memenv environment (``MemAlpha-v0``, ``MEM1-v0``, ``MemoryR1-v0``, possibly already
    wrapped) and play it as usual: each ``reset`` writes an ``episode`` line, each ``step`` a
    ``step`` line (the chunk, the reply, the parsed calls with their results, the memory diff, the
    reward and its parts), and the last step an ``end`` line (every question with its gold answers,
    the prediction, the score, the recalls the env reports and the memory entries the reader was
    given). The format is in the manual of :mod:`memenv.trajectories`; observations, rewards and
    infos pass through unchanged. Lines are flushed as they are written, so a run that crashes
    keeps every step it made.

    Put it directly around the environment (inside :class:`memenv.wrappers.DiscreteMemoryActions`,
    whose integer actions are not the reply the env parsed).

    ## Arguments

    - ``env``: a memenv environment.
    - ``path``: the JSONL file; created (parent folders too), truncated unless ``append``.
    - ``system``: the name shown for this run (default: the env id).
    - ``append`` (False): add to an existing file instead of truncating it.
    - ``max_text_chars`` (8000), ``max_chunk_chars`` (8000): longer texts are clipped to a head, a
      length and a SHA-256 (see "Bounded size").

    ```python
    env = RecordEpisodes(gym.make("memenv/MEM1-v0", task="conflict_resolution"), "runs/mem1.jsonl", system="mem1")
    ```
    """

    def __init__(
        self,
        env: gym.Env,
        path: str | Path,
        *,
        system: str | None = None,
        append: bool = False,
        max_text_chars: int = DEFAULT_MAX_TEXT_CHARS,
        max_chunk_chars: int = DEFAULT_MAX_CHUNK_CHARS,
    ) -> None:
        gym.utils.RecordConstructorArgs.__init__(
            self,
            path=str(path),
            system=system,
            append=append,
            max_text_chars=max_text_chars,
            max_chunk_chars=max_chunk_chars,
        )
        gym.Wrapper.__init__(self, env)
        from memenv.envs.base import MemoryEnv  # here: memenv.envs imports the tasks, which import much

        if not isinstance(env.unwrapped, MemoryEnv):
            raise TypeError(f"RecordEpisodes needs a memenv environment, got {type(env.unwrapped).__name__}")
        for name, value in (("max_text_chars", max_text_chars), ("max_chunk_chars", max_chunk_chars)):
            if value < HEAD_CHARS:
                raise ValueError(f"{name} must be >= {HEAD_CHARS}, got {value}")
        self.path = Path(path)
        self.system = system or (env.spec.id if env.spec is not None else type(env.unwrapped).__name__)
        self.max_text_chars = max_text_chars
        self.max_chunk_chars = max_chunk_chars
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file: IO[str] | None = self.path.open("a" if append else "w", encoding="utf-8")
        self._tracker: _MemoryTracker | None = None
        self._step = 0
        self._offset = 0
        self._return = 0.0

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[Any, dict[str, Any]]:
        obs, info = self.env.reset(seed=seed, options=options)
        base = self.env.unwrapped
        episode = base.episode
        self._tracker = _MemoryTracker(base.memory)
        self._step, self._offset, self._return = 0, 0, 0.0
        spec = self.env.spec
        self._write(
            {
                "type": "episode",
                "version": FORMAT_VERSION,
                "system": self.system,
                "env_id": spec.id if spec is not None else type(base).__name__,
                "episode_id": episode.id,
                "competency": episode.competency,
                "source": episode.source,
                "num_chunks": len(episode.chunks),
                "limits": {"max_text_chars": self.max_text_chars, "max_chunk_chars": self.max_chunk_chars},
                "memory": _snapshot(base.memory, self.max_text_chars),
            }
        )
        return obs, info

    def step(self, action: Any) -> tuple[Any, float, bool, bool, dict[str, Any]]:
        if self._tracker is None:
            raise RuntimeError("call reset() before step() (no episode is running)")
        base = self.env.unwrapped
        chunk = base.current_chunk
        obs, reward, terminated, truncated, info = self.env.step(action)
        results = info.get("tool_results") or []
        touched = [r["memory_id"] for r in results if r.get("ok") and isinstance(r.get("memory_id"), str)]
        self._return += float(reward)
        limit = self.max_text_chars
        self._write(
            {
                "type": "step",
                "step": self._step,
                "chunk_offset": self._offset,
                "chunk": clip_text(chunk, self.max_chunk_chars, CHUNK_HEAD_CHARS),
                "reply": _plain(action, limit),
                "calls": [_call_record(r, limit) for r in results],
                "parse_error": _plain(info.get("parse_error"), limit),
                "diff": self._tracker.diff(base.memory, touched, limit),
                "reward": _plain(float(reward), limit),
                "reward_components": _plain(info.get("reward_components", {}), limit),
                "memory_tokens": info.get("memory_tokens"),
            }
        )
        self._step += 1
        self._offset += len(chunk)
        if terminated or truncated:
            qa = info.get("qa") or {}
            rows = qa.get("per_question", [])
            self._write(
                {
                    "type": "end",
                    "accuracy": _plain(qa.get("accuracy"), limit),
                    "answer_recall": _plain(qa.get("answer_recall"), limit),
                    "evidence_recall": _plain(qa.get("evidence_recall"), limit),
                    "questions": [_plain(row, limit) for row in rows],
                    "memory_tokens": info.get("memory_tokens"),
                    "return": _plain(self._return, limit),
                    "truncated": bool(truncated and not terminated),
                }
            )
            self._tracker = None
        return obs, reward, terminated, truncated, info

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
        super().close()

    def _write(self, record: dict[str, Any]) -> None:
        if self._file is None:
            raise RuntimeError(f"RecordEpisodes({self.path}) is closed")
        self._file.write(json.dumps(record, ensure_ascii=False, separators=(",", ":"), allow_nan=False) + "\n")
        self._file.flush()


def _call_record(result: dict[str, Any], limit: int) -> dict[str, Any]:
    record = _plain(result, limit)
    # Arguments repeat the reply (and, once executed, the diff): keep a preview of long strings.
    record["arguments"] = _plain(result.get("arguments", {}), HEAD_CHARS)
    return record


def trajectory_path(folder: str | Path, episode_id: str, system: str) -> Path:
    """Where the leaderboard keeps one run: ``folder/<episode id>/<system>.jsonl`` (odd characters as ``_``).

    One folder per episode puts every system that ran it side by side: ``memenv view folder/<episode id>``.
    """
    return Path(folder) / _file_name(episode_id) / f"{_file_name(system)}.jsonl"


def _file_name(text: str) -> str:
    name = "".join(ch if ch.isascii() and (ch.isalnum() or ch in "._-") else "_" for ch in text).strip(".")
    return name or "_"


def write_reference_run(
    path: str | Path,
    *,
    system: str,
    episode: Any,
    qa: dict[str, Any],
    memory_tokens: int | None = None,
    max_text_chars: int = DEFAULT_MAX_TEXT_CHARS,
) -> None:
    """Record a memory-free reference system (no writer, no steps): an ``episode`` line and an ``end`` line.

    ``qa`` is ``QAReport.as_info()``. Lets ``long-context`` and ``rag-top-k`` appear beside the
    memory writers in the viewer's question panel.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    header = {
        "type": "episode",
        "version": FORMAT_VERSION,
        "system": system,
        "env_id": None,
        "episode_id": episode.id,
        "competency": episode.competency,
        "source": episode.source,
        "num_chunks": len(episode.chunks),
        "limits": {"max_text_chars": max_text_chars, "max_chunk_chars": DEFAULT_MAX_CHUNK_CHARS},
        "memory": {"core": "", **{tier: [] for tier in LIST_TIERS}},
        "reference": True,
    }
    end = {
        "type": "end",
        "accuracy": _plain(qa.get("accuracy"), max_text_chars),
        "answer_recall": _plain(qa.get("answer_recall"), max_text_chars),
        "evidence_recall": _plain(qa.get("evidence_recall"), max_text_chars),
        "questions": [_plain(dict(row), max_text_chars) for row in qa.get("per_question", [])],
        "memory_tokens": memory_tokens,
        "return": None,
        "truncated": False,
    }
    with path.open("w", encoding="utf-8") as f:
        for record in (header, end):
            f.write(json.dumps(record, ensure_ascii=False, separators=(",", ":"), allow_nan=False) + "\n")


# --- reading -----------------------------------------------------------------------------------------


@dataclass
class Trajectory:
    """One recorded episode of one system: its ``episode`` line, its steps and its ``end`` line.

    ``steps`` are the ``step`` records with completed diffs (see the module manual); ``end`` is None
    when the episode was cut short. ``source_path`` is the file it came from.
    """

    header: dict[str, Any]
    steps: list[dict[str, Any]] = field(default_factory=list)
    end: dict[str, Any] | None = None
    source_path: str = ""

    @property
    def system(self) -> str:
        return str(self.header.get("system", ""))

    @property
    def episode_id(self) -> str:
        return str(self.header.get("episode_id", ""))

    @property
    def complete(self) -> bool:
        return self.end is not None

    @property
    def questions(self) -> list[dict[str, Any]]:
        return list(self.end.get("questions", [])) if self.end else []

    def memory_after(self, step: int | None = None) -> dict[str, Any]:
        """The memory after step ``step`` (0-based; None: after the last), as ``Memory.snapshot()`` gives it."""
        last = len(self.steps) - 1 if step is None else step
        if not -1 <= last < len(self.steps):
            raise IndexError(f"step {step} out of range: {len(self.steps)} steps recorded")
        state = _State(self.header.get("memory") or {})
        for record in self.steps[: last + 1]:
            state.apply(record.get("diff") or {})
        return state.snapshot()


class _State:
    """The memory replayed from diffs: core text and, per list tier, an ordered id -> text map."""

    def __init__(self, snapshot: dict[str, Any]) -> None:
        self.core = snapshot.get("core", "")
        self.tiers: dict[str, dict[str, Any]] = {
            tier: {row["id"]: row["text"] for row in snapshot.get(tier, [])} for tier in LIST_TIERS
        }

    def apply(self, diff: dict[str, Any], complete: bool = False) -> None:
        """Apply one on-disk diff; with ``complete``, also add the replaced texts to it, in place."""
        if "core" in diff:
            after = diff["core"]
            if isinstance(after, dict) and "after" in after:  # an already completed diff
                after = after["after"]
            if complete:
                diff["core"] = {"before": self.core, "after": after}
            self.core = after
        for tier in LIST_TIERS:
            change = diff.get(tier)
            if not change:
                continue
            entries = self.tiers[tier]
            for row in change.get("added", []):
                entries[row["id"]] = row["text"]
            for row in change.get("updated", []):
                if complete:
                    row["before"] = entries.get(row["id"], "")
                    row["after"] = row["text"]
                entries[row["id"]] = row["text"]
            for row in change.get("deleted", []):
                text = entries.pop(row["id"], "")
                if complete:
                    row["text"] = text

    def snapshot(self) -> dict[str, Any]:
        return {"core": self.core, **{t: [{"id": k, "text": v} for k, v in self.tiers[t].items()] for t in LIST_TIERS}}


def iter_trajectories(path: str | Path) -> Iterator[Trajectory]:
    """The trajectories of one JSONL file, in file order, each yielded once its last line is read."""
    path = Path(path)
    current: Trajectory | None = None
    state: _State | None = None
    with path.open(encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ValueError(f"{path}:{number}: not a JSON line ({exc.msg})") from exc
            kind = record.get("type") if isinstance(record, dict) else None
            if kind == "episode":
                if current is not None:
                    yield current
                if record.get("version") != FORMAT_VERSION:
                    raise ValueError(
                        f"{path}:{number}: trajectory format version {record.get('version')!r}, "
                        f"this memenv reads {FORMAT_VERSION}"
                    )
                current = Trajectory(record, source_path=str(path))
                state = _State(record.get("memory") or {})
            elif kind in ("step", "end"):
                if current is None or state is None:
                    raise ValueError(f"{path}:{number}: a {kind!r} line before any 'episode' line")
                if kind == "step":
                    state.apply(record.setdefault("diff", {}), complete=True)
                    current.steps.append(record)
                else:
                    current.end = record
            else:
                raise ValueError(f"{path}:{number}: unknown record type {kind!r}; expected episode, step or end")
    if current is not None:
        yield current


def read_trajectories(paths: str | Path | Sequence[str | Path]) -> list[Trajectory]:
    """Every trajectory in one JSONL file, a folder of them (``*.jsonl``, recursively) or a list of both."""
    if isinstance(paths, (str, Path)):
        paths = [paths]
    out: list[Trajectory] = []
    for item in paths:
        item = Path(item)
        if item.is_dir():
            files = sorted(item.rglob("*.jsonl"))
            if not files:
                raise ValueError(f"{item} holds no .jsonl trajectory files")
        elif item.exists():
            files = [item]
        else:
            raise FileNotFoundError(f"no trajectory file or folder {item}")
        for file in files:
            out.extend(iter_trajectories(file))
    return out
