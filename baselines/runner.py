"""Running the leaderboard's (system, episode) jobs: in this process, in local worker processes, or on Ray.

A run is a list of :class:`Job` s — one system on one episode of the suite — and a *recipe* that
builds what they need (:class:`Evaluator`: the systems, the reader, the scoring profile and the
judge). The recipe, not the built objects, travels to workers: each worker process builds the
evaluator once and reuses it for every job it gets, so an LLM writer or reader is loaded once per
worker, and objects that cannot be pickled (an HTTP client, a loaded model) never need to be.

Three executors, one contract: ``execute(recipe, suite, jobs, on_result)`` calls
``on_result(job, run)`` in the calling process as each job finishes, in finishing order, and
returns when all are done. A job that raises stops the run with :class:`JobFailed` (naming the
system, the episode and the worker's traceback) after the results already delivered; Ctrl-C
(``KeyboardInterrupt``) stops it too, and every executor ends its workers before re-raising.

- :class:`SerialExecutor`: one job after another, here.
- :class:`ProcessExecutor`: ``workers`` local processes (``multiprocessing``, *spawn* start: each
  worker is a fresh interpreter, so no thread or lock state is inherited). Workers ignore SIGINT; the
  parent ends them on Ctrl-C.
- :class:`RayExecutor`: one Ray task per job on a Ray cluster, results streamed back with
  ``ray.wait`` as they finish. With no address it starts a local Ray instance for the run (and stops
  it afterwards); if Ray is already initialized in this process it uses that instance as it is.

Results do not depend on the executor: every job builds its env from the episode and seed 0, the
heuristic policies start over at each episode's first step, and the evaluator is rebuilt from the
same recipe in every worker. Only timings (``RunResult.seconds``) differ.

LLM writers (systems whose policy acts on a batch) run their episodes in lock-step in the serial
executor (:meth:`Evaluator.run_many`): one batched model call per step — a padded batch on a local
model, up to the model's ``concurrency`` requests in flight on an endpoint (``--llm-concurrency``).
"""

from __future__ import annotations

import contextlib
import dataclasses
import importlib.util
import multiprocessing
import os
import signal
import sys
import traceback
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from baselines.systems import RunResult, System, run_episodes
from memenv.qa import rescore
from memenv.readers import Reader
from memenv.tasks.records import Episode


@dataclass(frozen=True)
class Job:
    """One system (by its name on the board) on one episode (by its index in the suite)."""

    system: str
    episode: int


@dataclass
class Evaluator:
    """What the jobs of a run share: the systems by name, the reader, the scoring profile and judge.

    :meth:`run` plays one system on one episode with the reader, then, when ``scoring`` is not
    ``"default"`` or a ``judge`` is set, scores the same answers under that profile with that judge
    (:func:`memenv.qa.rescore`: the reader is not asked again).
    """

    systems: Mapping[str, System]
    reader: Reader
    scoring: str = "default"
    judge: Any = None

    def run(self, system: str, episode: Episode) -> RunResult:
        return self._scored(self.systems[system].run(episode, self.reader), episode)

    def batched(self, system: str) -> bool:
        """Whether ``system`` plays several episodes at once with batched model calls (an LLM writer)."""
        return bool(getattr(self.systems[system], "batched", False))

    def run_many(self, system: str, episodes: Sequence[Episode], on_result: Callable[[int, RunResult], None]) -> None:
        """Every episode through ``system`` with :func:`baselines.systems.run_episodes` (LLM writers play
        several in lock-step); ``on_result(index, run)`` as each finishes. The results equal :meth:`run`'s."""
        run_episodes(
            self.systems[system],
            episodes,
            self.reader,
            on_result=lambda index, run: on_result(index, self._scored(run, episodes[index])),
        )

    def _scored(self, run: RunResult, episode: Episode) -> RunResult:
        if self.scoring != "default" or self.judge is not None:
            report = rescore(run.qa, episode.questions, scoring=self.scoring, judge=self.judge)
            run = dataclasses.replace(run, accuracy=report.accuracy, qa=report)
        return run


class Recipe(Protocol):
    """Builds an :class:`Evaluator`; must be picklable to run on workers."""

    def build(self) -> Evaluator: ...


@dataclass
class Prebuilt:
    """A recipe that hands out an evaluator built already (workers receive a pickled copy of it)."""

    evaluator: Evaluator

    def build(self) -> Evaluator:
        return self.evaluator


class JobFailed(RuntimeError):
    """A job raised; ``job`` says which, ``details`` holds the worker's traceback."""

    def __init__(self, job: Job, episode_id: str, details: str) -> None:
        last = details.strip().splitlines()[-1] if details.strip() else "error"
        super().__init__(f"system {job.system!r} failed on episode {episode_id!r}: {last}")
        self.job = job
        self.episode_id = episode_id
        self.details = details


OnResult = Callable[[Job, RunResult], None]


class Executor(Protocol):
    def execute(self, recipe: Recipe, suite: Sequence[Episode], jobs: Sequence[Job], on_result: OnResult) -> None: ...

    def describe(self) -> str: ...


# In a worker process: the evaluator built for the current run (by run token), and what a process
# pool's initializer handed over (the recipe and the episodes).
_BUILT: dict[str, Any] = {}
_GIVEN: dict[str, Any] = {}


def _run_here(token: str, recipe: Recipe, job: Job, episode: Episode) -> tuple[Job, RunResult | None, str]:
    """Run ``job`` with this process's evaluator for run ``token`` (built on first use); never raises."""
    try:
        if _BUILT.get("token") != token:
            _BUILT.clear()  # a long-lived Ray worker keeps one run's evaluator at a time
            _BUILT["evaluator"] = recipe.build()
            _BUILT["token"] = token
        return job, _BUILT["evaluator"].run(job.system, episode), ""
    except Exception:
        return job, None, traceback.format_exc()


@dataclass
class SerialExecutor:
    """Every job in this process, in order."""

    def describe(self) -> str:
        return "serial"

    def execute(self, recipe: Recipe, suite: Sequence[Episode], jobs: Sequence[Job], on_result: OnResult) -> None:
        if not jobs:
            return
        evaluator = recipe.build()
        for batch in _by_system(jobs):
            if len(batch) > 1 and evaluator.batched(batch[0].system):
                # An LLM writer: its episodes in lock-step, one batched model call per step.
                episodes = [suite[job.episode] for job in batch]
                try:
                    evaluator.run_many(batch[0].system, episodes, lambda i, run, jobs=batch: on_result(jobs[i], run))
                except Exception as exc:
                    raise JobFailed(batch[0], episodes[0].id, traceback.format_exc()) from exc
                continue
            for job in batch:
                try:
                    run = evaluator.run(job.system, suite[job.episode])
                except Exception as exc:
                    raise JobFailed(job, suite[job.episode].id, traceback.format_exc()) from exc
                on_result(job, run)


def _by_system(jobs: Sequence[Job]) -> list[list[Job]]:
    """Consecutive jobs of the same system, grouped, in order."""
    groups: list[list[Job]] = []
    for job in jobs:
        if groups and groups[-1][0].system == job.system:
            groups[-1].append(job)
        else:
            groups.append([job])
    return groups


@contextlib.contextmanager
def sigint_ignored() -> Iterator[None]:
    """Ignore Ctrl-C (SIGINT) inside the block: for work that must not be cut in the middle, and for
    starting child processes that should not get it. A no-op outside the main thread."""
    try:
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    except ValueError:  # not the main thread: the signal is not ours to handle
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _init_process(token: str, recipe: Recipe, episodes: dict[int, Episode]) -> None:
    # The parent handles Ctrl-C and ends the pool; a worker must not die with its own traceback.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _GIVEN.clear()
    _GIVEN.update(token=token, recipe=recipe, episodes=episodes)


def _run_in_process(job: Job) -> tuple[Job, RunResult | None, str]:
    return _run_here(_GIVEN["token"], _GIVEN["recipe"], job, _GIVEN["episodes"][job.episode])


@dataclass
class ProcessExecutor:
    """``workers`` local processes (spawned); each episode is sent once to each worker."""

    workers: int = 2

    def __post_init__(self) -> None:
        if isinstance(self.workers, bool) or not isinstance(self.workers, int) or self.workers < 1:
            raise ValueError(f"workers must be an int >= 1, got {self.workers!r}")

    def describe(self) -> str:
        return f"{self.workers} worker processes"

    def execute(self, recipe: Recipe, suite: Sequence[Episode], jobs: Sequence[Job], on_result: OnResult) -> None:
        if not jobs:
            return
        episodes = {job.episode: suite[job.episode] for job in jobs}
        context = multiprocessing.get_context("spawn")
        token = uuid.uuid4().hex
        # Workers start with SIGINT ignored (a disposition kept across exec), so a Ctrl-C in the terminal,
        # which reaches the whole process group, cannot interrupt one while it starts.
        with sigint_ignored():
            pool = context.Pool(
                min(self.workers, len(jobs)), initializer=_init_process, initargs=(token, recipe, episodes)
            )
        finished = False
        try:
            for job, run, error in pool.imap_unordered(_run_in_process, jobs, chunksize=1):
                if run is None:
                    raise JobFailed(job, suite[job.episode].id, error)
                on_result(job, run)
            finished = True
        finally:
            if finished:
                pool.close()
            else:
                pool.terminate()
            pool.join()


def code_to_ship(module_names: Sequence[str] = ()) -> list[str]:
    """Folders of the packages a remote Ray cluster needs to run the driver's exact code: memenv,
    baselines, and the top-level packages of ``module_names`` (user systems). Ray's ``py_modules``
    takes package folders, so a user module that is a single top-level file is not shipped: it must be
    importable on the nodes already (installed, or moved into a package)."""
    folders: list[str] = []
    for name in ("memenv", "baselines", *module_names):
        spec = importlib.util.find_spec(name.split(".")[0])
        if spec is not None and spec.submodule_search_locations:
            folders += [str(Path(p)) for p in spec.submodule_search_locations]
    return list(dict.fromkeys(folders))


@dataclass
class RayExecutor:
    """One Ray task per job, streamed back with ``ray.wait``.

    Args:
        address: ``None`` or ``"local"``: start a local Ray instance for this run, with this
            process's ``sys.path`` as the workers' ``PYTHONPATH`` (so a user system importable here is
            importable there). Anything else (``"auto"``, ``"ray://head:10001"``, ``"head:6379"``)
            connects to that cluster and ships the driver's code to it with ``runtime_env`` ``py_modules``
            (memenv, baselines, and the packages named by ``ship_modules``); the nodes need memenv's
            dependencies installed. If Ray is already initialized in this process, that connection
            is used as it is and left open.
        ship_modules: module names (user systems) whose packages to ship to a remote cluster.
        num_cpus: CPUs of a local instance (default: all); each task asks for one.
    """

    address: str | None = None
    ship_modules: Sequence[str] = field(default_factory=tuple)
    num_cpus: int | None = None

    def describe(self) -> str:
        return f"ray ({self.address or 'local'})"

    def _connect(self) -> bool:
        """Initialize Ray unless it already is; return whether this call started it."""
        try:
            import ray
        except ImportError as exc:
            raise RuntimeError("--ray needs Ray: pip install 'memenv[ray]'") from exc
        if ray.is_initialized():
            return False
        if self.address in (None, "local"):
            paths = [p for p in sys.path if p and Path(p).is_dir()]
            ray.init(
                address="local",
                num_cpus=self.num_cpus,
                include_dashboard=False,
                runtime_env={"env_vars": {"PYTHONPATH": os.pathsep.join(paths)}},
            )
        else:
            ray.init(
                address=self.address,
                runtime_env={"py_modules": code_to_ship(self.ship_modules)},
            )
        return True

    def execute(self, recipe: Recipe, suite: Sequence[Episode], jobs: Sequence[Job], on_result: OnResult) -> None:
        if not jobs:
            return
        started = self._connect()
        import ray

        pending: dict[Any, Job] = {}
        try:
            remote = ray.remote(num_cpus=1, max_retries=0)(_run_here)
            token = uuid.uuid4().hex
            recipe_ref = ray.put(recipe)
            episode_refs = {index: ray.put(suite[index]) for index in dict.fromkeys(job.episode for job in jobs)}
            pending = {remote.remote(token, recipe_ref, job, episode_refs[job.episode]): job for job in jobs}
            while pending:
                ready, _ = ray.wait(list(pending), num_returns=1)
                for ref in ready:
                    job = pending.pop(ref)
                    try:
                        _, run, error = ray.get(ref)
                    except Exception:  # the worker died (out of memory, node lost): Ray raises here
                        run, error = None, traceback.format_exc()
                    if run is None:
                        raise JobFailed(job, suite[job.episode].id, error)
                    on_result(job, run)
        finally:
            for ref in pending:
                with contextlib.suppress(Exception):  # already finished or gone: nothing to cancel
                    ray.cancel(ref, force=True)
            if started:
                ray.shutdown()


def make_executor(
    workers: int = 1, ray: bool = False, ray_address: str | None = None, ship_modules: Sequence[str] = ()
) -> Executor:
    """The executor for ``--workers N`` / ``--ray [ADDRESS]``; with both, ``workers`` is the CPU count of
    a local Ray instance (a Ray cluster's own size is its own)."""
    if ray:
        return RayExecutor(ray_address, ship_modules=tuple(ship_modules), num_cpus=workers if workers > 1 else None)
    if workers > 1:
        return ProcessExecutor(workers)
    return SerialExecutor()


__all__ = [
    "Evaluator",
    "Executor",
    "Job",
    "JobFailed",
    "Prebuilt",
    "ProcessExecutor",
    "RayExecutor",
    "Recipe",
    "SerialExecutor",
    "code_to_ship",
    "make_executor",
    "sigint_ignored",
]
