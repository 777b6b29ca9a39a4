"""Score every system on every competency (or dataset) with the same reader and metrics; print and save a table.

    python -m baselines.leaderboard --out results            # what `make leaderboard` runs
    memenv eval --systems rag-top-k mem-alpha --tasks accurate_retrieval --episodes 1
    memenv eval --reader hf:default --writer-llm openai:http://localhost:8000/v1#Qwen/Qwen3-4B
    memenv eval --dataset data/locomo10.json --source locomo --workers 2
    memenv eval --systems mem-alpha my_pkg.my_agent:make_writer --ray       # your own agent, on Ray

``memenv eval`` is this command (``memenv leaderboard`` is the same, kept as an alias).

Systems (see :mod:`baselines.systems`): ``long-context``, ``rag-top-k``, ``mem1``, ``memory-r1``,
``mem-alpha`` (heuristic writers), ``store-all`` and ``no-memory`` (ceiling and floor of a Mem-α
memory under retrieval), ``memory-r1-add-only`` (an ablation, on request), and with ``--writer-llm
SPEC`` the ``mem-alpha-llm``, ``mem1-llm``, ``memory-r1-llm`` variants written by that chat model.
``--suite v1`` (the harder generators, :mod:`memenv.tasks.synthetic.v1`) adds ``oracle``, a ceiling that
knows what the questions depend on: tables list it last, marked "(ceiling)", outside the ranking.
``--reader`` is ``evidence`` (the offline deterministic reader, default) or a chat-model spec
(``hf:PATH``, ``hf:default``, ``openai:URL#MODEL``) answering through :class:`memenv.readers.llm.LLMReader`;
``--judge SPEC`` has a chat model judge the ``llm_judge`` questions (:class:`memenv.readers.llm.LLMJudge`).
A user system is given by import path, ``package.module:factory`` (or ``NAME=package.module:factory``
to name it on the board); the factory returns a policy or a System
(:func:`baselines.systems.system_from_factory`; docs/evaluation.md has a worked example).

The suite is the synthetic generator (``--suite v0|v1``, ``--tasks``, ``--episodes`` per competency,
``--seed``, ``--context-tokens``, ``--chunk-tokens``), or real data with ``--dataset PATH --source S
[--split X]`` (loaded with :func:`memenv.tasks.load`; one column per ``Episode.source``;
``--episodes`` then caps the episodes per source). ``--scoring PROFILE`` scores the answers under
another evaluation protocol (:data:`memenv.metrics.SCORING_PROFILES`; default: each dataset as its own
paper's code scores it, see docs/scoring.md; ``mem0`` for Memory-R1's numbers).

Writes ``OUT/results.json`` (the config, the provenance — code version and commit, package versions,
command line, seeds, model specs, dataset sha256s, see :mod:`baselines.provenance` —, the columns,
and per system: score per column, simple mean over columns, bootstrap 95% intervals, the paired
difference against ``--baseline`` (default: the first system), mean memory tokens, memory / stream,
wall time, and one row per episode), ``OUT/predictions.jsonl`` (one line per question: system,
episode, question, gold, prediction, metric, score, recalls, judge verdict, the ids of the memory
entries the reader was given), ``OUT/results.csv``, ``OUT/leaderboard.md``, ``OUT/leaderboard.png``
(bars with their values and intervals) and ``OUT/tradeoff.png`` (score against memory tokens, one point
per system; :mod:`baselines.charts`). Scores average per episode, then per column, then a simple mean over
columns; intervals resample episodes within each column (:mod:`baselines.bootstrap`).

Runs are (system, episode) jobs: serial, ``--workers N`` local processes, or ``--ray [ADDRESS]`` Ray
tasks (:mod:`baselines.runner`); the numbers do not depend on which (only the timing fields do).
Each finished run is written to ``OUT/runs/`` at once (atomically) and the reports are refreshed every
few seconds, so Ctrl-C keeps every finished run (exit code 130) and the same command resumes where
it stopped; a resume with other settings is refused, and ``--out`` is checked before any work
(:mod:`baselines.outdir`).
"""

from __future__ import annotations

import argparse
import csv
import importlib.util
import io
import json
import sys
import time
import traceback
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from baselines import bootstrap
from baselines.charts import CHARTS, SKIPPED_NOTE, label, ranked, write_charts
from baselines.outdir import OutputError, RunFolder, atomic_write_text, check_writable
from baselines.provenance import code_digest, collect, dataset_digests, suite_digest
from baselines.runner import (
    Evaluator,
    Executor,
    Job,
    JobFailed,
    Prebuilt,
    SerialExecutor,
    make_executor,
    sigint_ignored,
)
from baselines.systems import (
    CEILINGS,
    DEFAULT_SYSTEMS,
    LEARNED,
    SYSTEM_NAMES,
    RunResult,
    System,
    import_factory,
    llm_systems,
    make_system,
    system_from_factory,
)
from memenv import metrics
from memenv.cli import fail, one_line_errors
from memenv.errors import MemEnvError
from memenv.llm.spec import check_chat_model_spec
from memenv.metrics import SCORING_PROFILES
from memenv.qa import QAReport
from memenv.readers import EvidenceReader, Reader
from memenv.tasks.loaders import SOURCES
from memenv.tasks.records import COMPETENCIES, Episode
from memenv.tasks.synthetic import SUITES, generate

LLM_SYSTEM_NAMES = tuple(f"{name}-llm" for name in LEARNED)


def build_suite(
    tasks: Sequence[str], episodes: int, seed: int, context_tokens: int, chunk_tokens: int, suite: str = "v0"
) -> list[Episode]:
    """``episodes`` synthetic episodes per competency, seeds ``seed, seed + 1, ...``, from generator ``suite``."""
    return [
        generate(task, seed=seed + i, context_tokens=context_tokens, chunk_tokens=chunk_tokens, suite=suite)
        for task in tasks
        for i in range(episodes)
    ]


def load_suite(
    dataset: str, source: str, split: str | None = None, tasks: Sequence[str] | None = None, episodes: int | None = None
) -> list[Episode]:
    """Episodes of a published dataset (:func:`memenv.tasks.load`), optionally only some competencies
    and at most ``episodes`` per ``Episode.source``, in file order."""
    from memenv.tasks import load

    kept: list[Episode] = []
    per_source: dict[str, int] = {}
    for episode in load(source, dataset, split=split):
        if tasks is not None and episode.competency not in tasks:
            continue
        if episodes is not None and per_source.get(episode.source, 0) >= episodes:
            continue
        per_source[episode.source] = per_source.get(episode.source, 0) + 1
        kept.append(episode)
    if not kept:
        raise ValueError(f"no episodes left in {dataset} (source={source}, split={split}, tasks={tasks})")
    return kept


class ProgressBar:
    """The runs' progress bar (``tqdm``, on stderr by default): done/total, elapsed, ETA, the last run finished.

    ``done`` runs finished before the bar started (a resumed run) count as done but not in the rate."""

    def __init__(self, total: int, stream: TextIO | None = None, done: int = 0) -> None:
        from tqdm.auto import tqdm

        self._bar = tqdm(
            total=total, initial=done, file=stream if stream is not None else sys.stderr, unit="run", dynamic_ncols=True
        )

    def update(self, label: str) -> None:
        self._bar.set_postfix_str(label, refresh=False)
        self._bar.update(1)

    def close(self) -> None:
        self._bar.close()


def _competency(episode: Episode) -> str:
    return episode.competency


def evaluate(
    systems: Sequence[System],
    suite: Sequence[Episode],
    reader: Reader,
    progress: bool = True,
    group: Callable[[Episode], str] | None = None,
    scoring: str = "default",
    *,
    judge: Any = None,
    executor: Executor | None = None,
    baseline: str | None = None,
    bootstrap_samples: int = bootstrap.DEFAULT_SAMPLES,
    bootstrap_seed: int = bootstrap.DEFAULT_SEED,
) -> dict[str, dict[str, Any]]:
    """Run every system on every episode; return the ``systems`` part of results.json.

    ``group`` names an episode's column (default: its competency). ``scoring`` re-scores every
    answer under that profile (:data:`memenv.metrics.SCORING_PROFILES`), with ``judge`` (a
    :class:`memenv.readers.llm.LLMJudge`) for the ``llm_judge`` questions if given. ``executor``
    (:mod:`baselines.runner`; default serial) runs the jobs; a process or Ray executor gets pickled
    copies of the systems and reader. Each system's entry has bootstrap intervals (``ci``) and its
    paired difference against ``baseline`` (default: the first system; ``vs_baseline``), see
    :func:`add_uncertainty`.
    """
    column = group or _competency
    names = [system.name for system in systems]
    if len(set(names)) != len(names):
        raise ValueError(f"system names must be unique, got {names}")
    evaluator = Evaluator({system.name: system for system in systems}, reader, scoring, judge)
    jobs = [Job(name, index) for name in names for index in range(len(suite))]
    bar = ProgressBar(len(jobs)) if progress else None
    runs: dict[Job, RunResult] = {}

    def on_result(job: Job, run: RunResult) -> None:
        runs[job] = run
        if bar is not None:
            bar.update(f"{job.system} {suite[job.episode].id}")

    (executor or SerialExecutor()).execute(Prebuilt(evaluator), suite, jobs, on_result)
    if bar is not None:
        bar.close()
    return board_results(names, suite, runs, column, baseline=baseline, samples=bootstrap_samples, seed=bootstrap_seed)


def board_results(
    names: Sequence[str],
    suite: Sequence[Episode],
    runs: Mapping[Job, RunResult],
    column: Callable[[Episode], str],
    *,
    baseline: str | None = None,
    samples: int = bootstrap.DEFAULT_SAMPLES,
    seed: int = bootstrap.DEFAULT_SEED,
) -> dict[str, dict[str, Any]]:
    """The ``systems`` part of results.json from finished runs (a system with none is left out), in
    ``names`` order and suite order whatever order the runs finished in, with intervals."""
    results: dict[str, dict[str, Any]] = {}
    for name in names:
        pairs = [(episode, runs[Job(name, i)]) for i, episode in enumerate(suite) if Job(name, i) in runs]
        if pairs:
            results[name] = summarize(pairs, column)
    add_uncertainty(results, baseline=baseline, samples=samples, seed=seed)
    return results


def add_uncertainty(
    results: dict[str, dict[str, Any]],
    *,
    baseline: str | None = None,
    samples: int = bootstrap.DEFAULT_SAMPLES,
    seed: int = bootstrap.DEFAULT_SEED,
) -> str | None:
    """Add bootstrap intervals to every system of ``results`` (in place) and return the baseline's name.

    ``ci``: ``{"mean": [low, high], "scores": {column: [low, high]}}``, 95% percentile intervals over
    ``samples`` draws of episodes (seeded, :func:`baselines.bootstrap.interval_of`).
    ``vs_baseline``: the paired difference against ``baseline`` (default: the first system) over the
    episodes both ran (:func:`baselines.bootstrap.paired_difference`, plus ``baseline``: its name);
    None for the baseline itself, or while the baseline has no finished run.
    """
    if not results:
        return None
    baseline = baseline if baseline is not None else next(iter(results))
    tables = {name: bootstrap.scores_by_column(r["per_episode"]) for name, r in results.items()}
    options = {"samples": samples, "seed": seed}
    for name, r in results.items():
        intervals = bootstrap.interval_of({c: list(v.values()) for c, v in tables[name].items()}, **options)
        r["ci"] = {"mean": intervals["mean"], "scores": intervals["scores"]}
        r["vs_baseline"] = None
        if name != baseline and baseline in tables:
            r["vs_baseline"] = {
                "baseline": baseline,
                **bootstrap.paired_difference(tables[name], tables[baseline], **options),
            }
    return baseline


RECALLS = ("answer_recall", "evidence_recall")


def _averages(records: list[tuple[str, str, float | None]]) -> tuple[dict[str, float | None], float | None]:
    """``(group, episode, value)`` -> per-group means (episode means first) and their simple mean; None
    values are left out, and a group with none left is None (as is the mean when nothing is left)."""
    kept = [{"dataset": g, "instance": e, "score": v} for g, e, v in records if v is not None]
    agg = metrics.aggregate(kept)
    per_group: dict[str, float | None] = {g: agg.per_dataset.get(g) for g, _, _ in records}
    return per_group, agg.mean if kept else None


def summarize(runs: Sequence[tuple[Episode, RunResult]], column: Callable[[Episode], str]) -> dict[str, Any]:
    """One system's entry of results.json from its runs.

    Every number averages per episode first, then per column (competency or source) or per question
    category, then takes the simple mean over columns: ``scores``/``mean`` (the reader's score),
    ``answer_recall`` and ``evidence_recall`` (means; ``per_column`` and ``categories`` hold the same
    three per column and per category, with question counts), ``evidence_left_out`` (questions
    without evidence, left out of ``evidence_recall``), memory size, wall time and one row per episode.
    """
    rows = [(ep, row) for ep, run in runs for row in run.qa.per_question]
    scores, mean = _averages([(column(ep), ep.id, run.accuracy) for ep, run in runs])
    summary: dict[str, Any] = {"scores": scores, "mean": mean}
    per_column: dict[str, dict[str, Any]] = {c: {"score": v} for c, v in scores.items()}
    categories: dict[str, dict[str, Any]] = {}
    for name, key in (("score", "score"), *((r, r) for r in RECALLS)):
        by_category, _ = _averages([(row["category"] or "-", ep.id, row[key]) for ep, row in rows])
        for category, value in by_category.items():
            categories.setdefault(category, {})[name] = value
        if name == "score":
            continue
        by_column, overall = _averages([(column(ep), ep.id, row[key]) for ep, row in rows])
        summary[name] = overall
        for c, value in by_column.items():
            per_column[c][name] = value
    for _, row in rows:
        entry = categories[row["category"] or "-"]
        entry["questions"] = entry.get("questions", 0) + 1
    summary["evidence_left_out"] = sum(row["evidence_recall"] is None for _, row in rows)
    summary["per_column"] = per_column
    summary["categories"] = categories
    summary |= {
        "memory_tokens": sum(r.memory_tokens for _, r in runs) / len(runs),
        "compression": sum(r.memory_tokens / max(r.stream_tokens, 1) for _, r in runs) / len(runs),
        "wall_seconds": sum(r.seconds for _, r in runs),
        "episodes": len(runs),
        "per_episode": [
            {
                "episode": ep.id,
                "column": column(ep),
                "accuracy": run.accuracy,
                "answer_recall": run.qa.answer_recall,
                "evidence_recall": run.qa.evidence_recall,
                "memory_tokens": run.memory_tokens,
                "stream_tokens": run.stream_tokens,
                "seconds": run.seconds,
            }
            for ep, run in runs
        ],
    }
    return summary


def columns_of(suite: Sequence[Episode], group: Callable[[Episode], str]) -> list[str]:
    """The distinct columns of a suite, in first-seen order."""
    return list(dict.fromkeys(group(ep) for ep in suite))


def _cell(value: float | None, digits: int = 3) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def _interval(bounds: Sequence[float] | None, digits: int = 3) -> str:
    return "–" if bounds is None else f"[{bounds[0]:.{digits}f}, {bounds[1]:.{digits}f}]"


def markdown_table(results: dict[str, dict[str, Any]], columns: Sequence[str]) -> str:
    """Systems by mean score, best first: score per column, mean (and its 95% interval when the results
    have them), answer and evidence recall, memory tokens, memory / stream, wall time."""
    with_ci = any("ci" in r for r in results.values())
    head = [
        "system",
        *columns,
        "mean",
        *(["95% CI"] if with_ci else []),
        "answer recall",
        "evidence recall",
        "memory tokens",
        "memory / stream",
        "wall s",
    ]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for name in ranked(results):
        r = results[name]
        cells = [label(name), *(_cell(r["scores"].get(c)) for c in columns), f"**{r['mean']:.3f}**"]
        if with_ci:
            cells.append(_interval((r.get("ci") or {}).get("mean")))
        cells += [_cell(r["answer_recall"]), _cell(r["evidence_recall"])]
        cells += [f"{r['memory_tokens']:.0f}", f"{r['compression']:.3f}", f"{r['wall_seconds']:.1f}"]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def categories_of(results: dict[str, dict[str, Any]]) -> list[str]:
    """The question categories of a run, in first-seen order."""
    return list(dict.fromkeys(c for r in results.values() for c in r["categories"]))


def category_table(results: dict[str, dict[str, Any]]) -> str:
    """Systems (best mean first) by question category: each cell is ``score / answer recall``."""
    categories = categories_of(results)
    counts = {c: max(r["categories"].get(c, {}).get("questions", 0) for r in results.values()) for c in categories}
    head = ["system", *(f"{c} (n={counts[c]})" for c in categories)]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for name in ranked(results):
        r = results[name]
        cells = [label(name)]
        for c in categories:
            entry = r["categories"].get(c, {})
            cells.append(f"{_cell(entry.get('score'))} / {_cell(entry.get('answer_recall'), 2)}")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def baseline_of(results: dict[str, dict[str, Any]]) -> str | None:
    """The name of the system the others were compared with (None if none was)."""
    return next((r["vs_baseline"]["baseline"] for r in results.values() if r.get("vs_baseline")), None)


def interval_table(results: dict[str, dict[str, Any]], columns: Sequence[str]) -> str:
    """Systems (best mean first): each column's score and the mean with their 95% intervals, and the
    paired difference of the mean against the baseline with its interval."""
    baseline = baseline_of(results)
    head = ["system", *columns, "mean", f"Δ mean vs {baseline}" if baseline else "Δ mean"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for name in ranked(results):
        r = results[name]
        ci = r.get("ci") or {}
        cells = [label(name)]
        for c in columns:
            score = r["scores"].get(c)
            cells.append("–" if score is None else f"{score:.3f} {_interval(ci.get('scores', {}).get(c))}")
        cells.append(f"{r['mean']:.3f} {_interval(ci.get('mean'))}")
        paired = r.get("vs_baseline")
        if paired and paired["difference"] is not None:
            cells.append(f"{paired['difference']:+.3f} {_interval(paired['ci'])}")
        else:
            cells.append("(baseline)" if name == baseline else "–")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def report(results: dict[str, dict[str, Any]], columns: Sequence[str]) -> str:
    """The leaderboard in markdown: the main table, scores per question category, then the 95% intervals
    and paired differences (when the results have them)."""
    text = (
        markdown_table(results, columns)
        + "\n\nBy question category (each cell: reader score / answer recall):\n\n"
        + category_table(results)
    )
    if any("ci" in r for r in results.values()):
        text += (
            "\n\n95% intervals (bootstrap over episodes) and the paired difference of the mean against the "
            "baseline:\n\n" + interval_table(results, columns)
        )
    return text


def prediction_rows(
    names: Sequence[str], suite: Sequence[Episode], runs: Mapping[Job, RunResult], column: Callable[[Episode], str]
) -> Iterator[dict[str, Any]]:
    """The lines of predictions.jsonl: one per question of every finished run, systems in ``names`` order,
    episodes in suite order, questions in episode order.

    Fields: ``system``, ``episode`` (id), ``episode_index`` (position in the suite), ``column``,
    ``question_index``, ``question``, ``gold`` (the answers), ``prediction``, ``metric``, ``category``,
    ``score`` (None when the scoring profile leaves the question out), ``scoring`` (the rule),
    ``extra_scores``, ``answer_recall``, ``evidence_recall``, ``judge`` (``{"verdict", "reply"}`` when a
    judge model was asked, else None) and ``context_ids`` (what the reader was given: ``"core"``,
    ``"<tier>:<id>"``, ``"chunk:<index>"``).
    """
    for name in names:
        for index, episode in enumerate(suite):
            run = runs.get(Job(name, index))
            if run is None:
                continue
            for number, row in enumerate(run.qa.per_question):
                yield {
                    "system": name,
                    "episode": episode.id,
                    "episode_index": index,
                    "column": column(episode),
                    "question_index": number,
                    "question": row["question"],
                    "gold": list(row["answers"]),
                    "prediction": row["prediction"],
                    "metric": row["metric"],
                    "category": row["category"],
                    "score": row["score"],
                    "scoring": row.get("scoring"),
                    "extra_scores": dict(row.get("extra_scores") or {}),
                    "answer_recall": row["answer_recall"],
                    "evidence_recall": row["evidence_recall"],
                    "judge": row.get("judge"),
                    "context_ids": list(row["context_ids"]),
                }


def write_outputs(
    results: dict[str, dict[str, Any]],
    columns: Sequence[str],
    out: Path,
    config: dict[str, Any],
    *,
    provenance: dict[str, Any] | None = None,
    status: dict[str, Any] | None = None,
    predictions: Iterator[dict[str, Any]] | None = None,
    chart: bool = True,
) -> list[str]:
    """results.json, results.csv, leaderboard.md, leaderboard.png and tradeoff.png (the pictures of
    :mod:`baselines.charts`: unless ``chart`` is False, and only when matplotlib is installed) and, given
    ``predictions`` rows, predictions.jsonl under ``out``; each file is replaced atomically. Returns the
    names of the files written, in that order.

    results.json holds ``config``, ``provenance``, ``status`` (whether the run is complete, runs done of
    total, the executor), ``columns`` and ``systems``.
    """
    out.mkdir(parents=True, exist_ok=True)
    document = {"config": config, "provenance": provenance, "status": status, "columns": list(columns)}
    document["systems"] = results
    atomic_write_text(out / "results.json", json.dumps(document, indent=2, ensure_ascii=False) + "\n")
    written = ["results.json"]
    if predictions is not None:
        lines = (json.dumps(row, ensure_ascii=False) + "\n" for row in predictions)
        atomic_write_text(out / "predictions.jsonl", "".join(lines))
        written.append("predictions.jsonl")
    categories = categories_of(results)
    baseline = baseline_of(results)
    with io.StringIO(newline="") as f:
        writer = csv.writer(f)
        writer.writerow(
            [
                "system",
                *columns,
                "mean",
                *RECALLS,
                "evidence_left_out",
                *(f"{c}:{r}" for c in columns for r in RECALLS),
                *(f"category:{c}{suffix}" for c in categories for suffix in ("", *(f":{r}" for r in RECALLS))),
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
        )
        for name, r in results.items():
            by_category = [r["categories"].get(c, {}) for c in categories]
            ci = r.get("ci") or {}
            paired = r.get("vs_baseline") or {}
            paired_ci = paired.get("ci") or [None, None]
            writer.writerow(
                [
                    name,
                    *(r["scores"].get(c, "") for c in columns),
                    r["mean"],
                    *(r[k] for k in RECALLS),
                    r["evidence_left_out"],
                    *(r["per_column"].get(c, {}).get(k) for c in columns for k in RECALLS),
                    *(entry.get(k) for entry in by_category for k in ("score", *RECALLS)),
                    r["memory_tokens"],
                    r["compression"],
                    r["wall_seconds"],
                    *(ci.get("mean") or [None, None]),
                    *(b for c in columns for b in (ci.get("scores", {}).get(c) or [None, None])),
                    baseline,
                    paired.get("difference"),
                    *paired_ci,
                ]
            )
        atomic_write_text(out / "results.csv", f.getvalue())
    atomic_write_text(out / "leaderboard.md", report(results, columns) + "\n")
    written += ["results.csv", "leaderboard.md"]
    if chart:
        written += write_charts(results, columns, out, config)
    return written


def endpoint_options(spec: str, concurrency: int, enable_thinking: bool | None = None) -> dict[str, Any]:
    """The options of :func:`memenv.llm.make_chat_model` for ``spec``: ``concurrency`` for an endpoint
    (``openai:...``: N requests in flight), and ``enable_thinking`` when it is set (both backends)."""
    options: dict[str, Any] = {"concurrency": concurrency} if spec.startswith("openai:") else {}
    if enable_thinking is not None:
        options["enable_thinking"] = enable_thinking
    return options


def make_reader(
    spec: str,
    max_context_tokens: int | None = None,
    max_new_tokens: int = 64,
    *,
    concurrency: int = 8,
    enable_thinking: bool | None = None,
) -> Reader:
    """``evidence`` -> :class:`EvidenceReader`; a chat-model spec -> :class:`memenv.readers.llm.LLMReader`
    (an endpoint with ``concurrency`` requests in flight when it answers a batch of questions)."""
    if spec == "evidence":
        return EvidenceReader()
    from memenv.llm import make_chat_model
    from memenv.readers.llm import LLMReader

    model = make_chat_model(spec, **endpoint_options(spec, concurrency, enable_thinking))
    return LLMReader(model, max_context_tokens=max_context_tokens, max_new_tokens=max_new_tokens)


def make_judge(spec: str, enable_thinking: bool | None = None) -> Any:
    """A chat-model spec -> :class:`memenv.readers.llm.LLMJudge` (judges the ``llm_judge`` questions)."""
    from memenv.llm import make_chat_model
    from memenv.readers.llm import LLMJudge

    return LLMJudge(make_chat_model(spec, **endpoint_options(spec, 1, enable_thinking)))


@dataclass(frozen=True)
class BoardSetup:
    """How the command line's systems, reader and judge are built: a recipe (:class:`baselines.runner.Recipe`)
    that every worker process builds once, so only these plain settings travel to workers.

    ``systems`` pairs each name on the board with what to build: a built-in name
    (:data:`baselines.systems.SYSTEM_NAMES`), an ``-llm`` name (written by ``writer_llm``) or an import
    path (:func:`baselines.systems.system_from_factory`).
    """

    systems: tuple[tuple[str, str], ...]
    window_tokens: int = 30_000
    rag_k: int = 2
    reader: str = "evidence"
    reader_context_tokens: int | None = None
    reader_max_new_tokens: int = 64
    writer_llm: str | None = None
    writer_max_new_tokens: int = 256
    llm_concurrency: int = 8
    enable_thinking: bool | None = None
    judge: str | None = None
    scoring: str = "default"
    trajectory_dir: str | None = None
    suite: str = "v0"

    def build(self) -> Evaluator:
        systems: dict[str, System] = {}
        written: dict[str, System] | None = None  # the -llm systems share one chat model
        for name, what in self.systems:
            if what in LLM_SYSTEM_NAMES:
                if written is None:
                    from memenv.llm import make_chat_model

                    if self.writer_llm is None:
                        raise ValueError(f"{what} needs writer_llm")
                    options = endpoint_options(self.writer_llm, self.llm_concurrency, self.enable_thinking)
                    model = make_chat_model(self.writer_llm, **options)
                    written = {s.name: s for s in llm_systems(model, max_new_tokens=self.writer_max_new_tokens)}
                system = written[what]
            elif ":" in what:
                system = system_from_factory(what, name)
            else:
                system = make_system(what, window_tokens=self.window_tokens, rag_k=self.rag_k, suite=self.suite)
            if self.trajectory_dir is not None and hasattr(system, "trajectory_dir"):
                system.trajectory_dir = Path(self.trajectory_dir)
            systems[name] = system
        reader = make_reader(
            self.reader,
            self.reader_context_tokens,
            self.reader_max_new_tokens,
            concurrency=self.llm_concurrency,
            enable_thinking=self.enable_thinking,
        )
        judge = make_judge(self.judge, self.enable_thinking) if self.judge is not None else None
        return Evaluator(systems, reader, self.scoring, judge)


def run_record(job: Job, episode: Episode, column: str, run: RunResult) -> dict[str, Any]:
    """One finished run as saved in ``OUT/runs/`` (and read back by :func:`run_from_record`)."""
    return {
        "system": job.system,
        "episode": episode.id,
        "index": job.episode,
        "column": column,
        "accuracy": run.accuracy,
        "memory_tokens": run.memory_tokens,
        "stream_tokens": run.stream_tokens,
        "seconds": run.seconds,
        "qa": run.qa.as_info(),
    }


def run_from_record(record: Mapping[str, Any]) -> RunResult:
    return RunResult(
        record["accuracy"],
        record["memory_tokens"],
        record["stream_tokens"],
        record["seconds"],
        QAReport.from_info(record["qa"]),
    )


# Options that do not change any number (how the run is executed, reported or shown): a resume may
# change them. Every other option is part of the run's settings and must match to resume.
RUN_ONLY_OPTIONS = frozenset(
    {"out", "no_progress", "workers", "ray", "restart", "baseline", "bootstrap_samples", "bootstrap_seed"}
    | {"save_trajectories", "llm_concurrency"}
)
FLUSH_SECONDS = 10.0  # how often the reports are rewritten while a run goes on


def parser(prog: str = "memenv leaderboard") -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog=prog,
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    one_line_errors(p)
    p.add_argument(
        "--systems",
        nargs="+",
        default=None,
        metavar="SYSTEM",
        help=f"systems to run (default: {' '.join(DEFAULT_SYSTEMS)}, plus the -llm ones with --writer-llm): "
        f"{', '.join((*SYSTEM_NAMES, *LLM_SYSTEM_NAMES))}, or your own as package.module:factory "
        "(NAME=package.module:factory to name it)",
    )
    p.add_argument(
        "--tasks", "--task", nargs="+", default=None, choices=list(COMPETENCIES), help="competencies (default: all)"
    )
    p.add_argument(
        "--episodes", type=int, default=None, help="episodes per competency (default 5), or per source with --dataset"
    )
    p.add_argument(
        "--suite",
        default="v0",
        choices=list(SUITES),
        help="synthetic generator version (v1 adds the oracle ceiling to the default systems)",
    )
    p.add_argument("--seed", type=int, default=0, help="seed of the first synthetic episode")
    p.add_argument("--context-tokens", type=int, default=65_536, help="synthetic stream length per episode")
    p.add_argument("--chunk-tokens", type=int, default=512, help="tokens per synthetic chunk")
    p.add_argument(
        "--dataset", default=None, help="evaluate on this dataset file/folder instead of the synthetic suite"
    )
    p.add_argument("--source", default=None, choices=list(SOURCES), help="format of --dataset")
    p.add_argument("--split", default=None, help="split of --dataset, where it has several")
    p.add_argument(
        "--scoring",
        default="default",
        choices=list(SCORING_PROFILES),
        help="evaluation protocol: default (each dataset as its paper scores it), memenv, locomo, mem0, ...",
    )
    p.add_argument(
        "--reader", default="evidence", help="evidence, or a chat model: hf:PATH, hf:default, openai:URL#MODEL"
    )
    p.add_argument(
        "--reader-context-tokens", type=int, default=None, help="cut what an LLM reader is shown to this many tokens"
    )
    p.add_argument("--reader-max-new-tokens", type=int, default=64, help="longest answer of an LLM reader")
    p.add_argument("--writer-llm", default=None, help="chat model for the -llm writers (hf:PATH, openai:URL#MODEL)")
    p.add_argument("--writer-max-new-tokens", type=int, default=256, help="longest reply of an LLM writer")
    p.add_argument(
        "--enable-thinking",
        type=_bool,
        default=None,
        metavar="{true,false}",
        help="reasoning models (Qwen3) behind --reader, --writer-llm, --judge: false turns the chat template's "
        "thinking off, so the reply budget goes to the answer (default: the template's own default)",
    )
    p.add_argument(
        "--llm-concurrency",
        type=int,
        default=8,
        help="requests in flight to an openai: endpoint (LLM writers also play this many episodes in lock-step)",
    )
    p.add_argument("--window-tokens", type=int, default=30_000, help="long-context window (Mem-alpha: 30K)")
    p.add_argument("--rag-k", type=int, default=2, help="chunks rag-top-k retrieves per question (Mem-alpha: 2)")
    p.add_argument("--out", "--output-dir", "-o", type=Path, default=Path("results"), help="output directory")
    p.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    p.add_argument(
        "--save-trajectories",
        type=Path,
        default=None,
        metavar="DIR",
        help="record every run to DIR/<episode>/<system>.jsonl (view with: memenv view DIR/<episode> -o episode.html)",
    )
    p.add_argument(
        "--judge", default=None, help="chat model that judges llm_judge questions (hf:PATH, openai:URL#MODEL)"
    )
    p.add_argument("--baseline", default=None, help="system the others are compared with, paired (default: the first)")
    p.add_argument(
        "--bootstrap-samples", type=int, default=bootstrap.DEFAULT_SAMPLES, help="bootstrap draws per interval"
    )
    p.add_argument("--bootstrap-seed", type=int, default=bootstrap.DEFAULT_SEED, help="seed of the bootstrap")
    p.add_argument("--workers", type=int, default=1, help="local worker processes (with --ray: local Ray CPUs)")
    p.add_argument(
        "--ray",
        nargs="?",
        const="local",
        default=None,
        metavar="ADDRESS",
        help="run episodes as Ray tasks: on a local Ray instance, or on the cluster at ADDRESS (auto, ray://...)",
    )
    p.add_argument("--restart", action="store_true", help="discard the finished runs in --out instead of resuming them")
    return p


def _bool(text: str) -> bool:
    if text.lower() in ("true", "1", "yes"):
        return True
    if text.lower() in ("false", "0", "no"):
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, got {text!r}")


def parse_systems(
    entries: Sequence[str] | None, writer_llm: str | None, default: Sequence[str] = DEFAULT_SYSTEMS
) -> list[tuple[str, str]]:
    """``(name on the board, what to build)`` for each ``--systems`` entry (``default`` without any), in
    order; with ``writer_llm`` and no -llm system asked for, the three -llm systems are added.

    Raises:
        ValueError: an unknown name, a bad import path (the module is imported to check), a repeated
            name, or an -llm system without ``writer_llm``.
    """
    board: list[tuple[str, str]] = []
    for entry in entries or default:
        name, sep, what = entry.partition("=")
        if not sep:
            name = what = entry
        if ":" in what:
            import_factory(what)  # fail now, naming the path, not in a worker later
        elif what not in SYSTEM_NAMES and what not in LLM_SYSTEM_NAMES:
            known = ", ".join((*SYSTEM_NAMES, *LLM_SYSTEM_NAMES))
            raise ValueError(f"unknown system {entry!r}: expected one of {known}, or package.module:factory")
        if not name:
            raise ValueError(f"system {entry!r} has an empty name")
        board.append((name, what))
    wanted_llm = [what for _, what in board if what in LLM_SYSTEM_NAMES]
    if wanted_llm and writer_llm is None:
        raise ValueError(f"{', '.join(wanted_llm)} need --writer-llm SPEC")
    if writer_llm is not None and not wanted_llm:
        board += [(name, name) for name in LLM_SYSTEM_NAMES]
    names = [name for name, _ in board]
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise ValueError(f"system names must be unique; repeated: {', '.join(repeated)}")
    return board


def make_suite(args: argparse.Namespace) -> tuple[list[Episode], Callable[[Episode], str], list[dict[str, Any]]]:
    """The episodes of the run, how they are grouped into columns, and a digest of each dataset file read."""
    if args.dataset is not None:
        suite = load_suite(args.dataset, args.source, args.split, args.tasks, args.episodes)
        return suite, _source, dataset_digests(args.dataset, args.split)
    tasks = args.tasks or list(COMPETENCIES)
    suite = build_suite(tasks, args.episodes or 5, args.seed, args.context_tokens, args.chunk_tokens, args.suite)
    return suite, _competency, []


def _source(episode: Episode) -> str:
    return episode.source


def main(argv: Sequence[str] | None = None, *, prog: str = "memenv leaderboard") -> int:
    """The command line (see the module docstring). Exit codes: 0 done, 1 a run failed, 2 bad arguments
    or ``--out`` unusable, 130 interrupted (Ctrl-C; the finished runs are kept for a resume)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    p = parser(prog)
    args = p.parse_args(argv)
    if args.episodes is not None and args.episodes < 1:
        p.error("--episodes must be >= 1")
    if args.dataset is not None and args.source is None:
        p.error("--dataset needs --source (memalpha, memoryagentbench, locomo or longmemeval)")
    if args.workers < 1:
        p.error("--workers must be >= 1")
    if args.llm_concurrency < 1:
        p.error("--llm-concurrency must be >= 1")
    if args.bootstrap_samples < 1:
        p.error("--bootstrap-samples must be >= 1")
    if args.ray is not None and importlib.util.find_spec("ray") is None:
        p.error("--ray needs Ray: pip install 'memenv[ray]'")
    for flag, spec in (("--reader", args.reader), ("--writer-llm", args.writer_llm), ("--judge", args.judge)):
        if spec is not None and not (flag == "--reader" and spec == "evidence"):
            try:
                check_chat_model_spec(spec)  # a typo or a missing model folder fails now, not in a worker
            except ValueError as exc:
                p.error(f"{flag}: {exc}")
    if any(":" in entry for entry in args.systems or ()):
        # As `python -m` and other import-path CLIs do: a user's module in the current folder imports.
        here = str(Path.cwd())
        if here not in sys.path and "" not in sys.path:
            sys.path.insert(0, here)
    synthetic_v1 = args.suite == "v1" and args.dataset is None
    try:
        board = parse_systems(args.systems, args.writer_llm, DEFAULT_SYSTEMS + (CEILINGS if synthetic_v1 else ()))
    except ValueError as exc:
        p.error(str(exc))
    if not synthetic_v1 and any(what in CEILINGS for _, what in board):
        p.error("the oracle plays suite-v1 synthetic episodes only: add --suite v1 (and no --dataset)")
    names = [name for name, _ in board]
    baseline = args.baseline if args.baseline is not None else names[0]
    if baseline not in names:
        p.error(f"--baseline {baseline!r} is not one of the systems run: {', '.join(names)}")
    try:
        check_writable(args.out)  # before any work: an unusable --out fails now, not after the run
        if args.save_trajectories is not None:
            check_writable(args.save_trajectories, "--save-trajectories")
        return _run(args, argv, prog, board, baseline)
    except (OutputError, MemEnvError) as exc:  # an unusable --out, a dataset that cannot be read
        return fail(prog, exc)
    except KeyboardInterrupt:  # before the runs started (generating or loading the suite, opening --out)
        print(f"\n{prog}: interrupted before the runs started; nothing was run", file=sys.stderr)
        return 130


def _run(args: argparse.Namespace, argv: list[str], prog: str, board: list[tuple[str, str]], baseline: str) -> int:
    start = time.perf_counter()
    names = [name for name, _ in board]
    suite, group, datasets = make_suite(args)
    columns = columns_of(suite, group)
    fingerprint = suite_digest(suite)
    setup = BoardSetup(
        tuple(board),
        window_tokens=args.window_tokens,
        rag_k=args.rag_k,
        reader=args.reader,
        reader_context_tokens=args.reader_context_tokens,
        reader_max_new_tokens=args.reader_max_new_tokens,
        writer_llm=args.writer_llm,
        writer_max_new_tokens=args.writer_max_new_tokens,
        llm_concurrency=args.llm_concurrency,
        enable_thinking=args.enable_thinking,
        judge=args.judge,
        scoring=args.scoring,
        trajectory_dir=None if args.save_trajectories is None else str(args.save_trajectories),
        suite=args.suite if args.dataset is None else "v0",
    )
    config = {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()}
    config |= {"systems": names, "tasks": args.tasks or list(COMPETENCIES), "episodes_run": len(suite)}
    config["ceilings"] = [name for name, what in board if what in CEILINGS]
    user_modules = [what.partition(":")[0] for _, what in board if ":" in what]
    code = code_digest(user_modules)
    settings = {k: v for k, v in config.items() if k not in RUN_ONLY_OPTIONS}
    settings |= {"suite_sha256": fingerprint, "code_sha256": code}
    synthetic = args.dataset is None
    seeds = {
        "suite": args.seed if synthetic else None,
        "episodes": {ep.id: ep.metadata["seed"] for ep in suite if "seed" in ep.metadata} if synthetic else {},
        "env_reset": 0,
        "bootstrap": args.bootstrap_seed,
    }
    models = {"reader": args.reader, "writer": args.writer_llm, "judge": args.judge}
    provenance = collect(
        argv=argv,
        prog=prog,
        settings=config,
        seeds=seeds,
        models=models,
        datasets=datasets,
        suite_sha256=fingerprint,
        code_sha256=code,
    )
    executor = make_executor(
        args.workers,
        ray=args.ray is not None,
        ray_address=args.ray,
        ship_modules=user_modules,
    )
    with RunFolder.open(args.out, settings, provenance, restart=args.restart) as folder:
        runs: dict[Job, RunResult] = {}
        for name in names:
            for index, episode in enumerate(suite):
                record = folder.load(name, index)
                if record is not None and record.get("episode") == episode.id and record.get("system") == name:
                    runs[Job(name, index)] = run_from_record(record)
        total = len(names) * len(suite)
        jobs = [Job(name, i) for name in names for i in range(len(suite)) if Job(name, i) not in runs]
        if runs:
            print(f"resuming: {len(runs)} of {total} runs already in {args.out}", file=sys.stderr)
        status: dict[str, Any] = {"complete": False, "runs_done": len(runs), "runs_total": total}
        status |= {"executor": executor.describe(), "baseline": baseline, "elapsed_seconds": None}
        draws = {"samples": args.bootstrap_samples, "seed": args.bootstrap_seed, "confidence": bootstrap.CONFIDENCE}
        status["bootstrap"] = draws

        written: list[str] = []

        def write(chart: bool) -> dict[str, dict[str, Any]]:
            results = board_results(
                names, suite, runs, group, baseline=baseline, samples=args.bootstrap_samples, seed=args.bootstrap_seed
            )
            status.update(runs_done=len(runs), elapsed_seconds=round(time.perf_counter() - start, 3))
            predictions = prediction_rows(names, suite, runs, group)
            written[:] = write_outputs(
                results,
                columns,
                args.out,
                config,
                provenance=provenance,
                status=status,
                predictions=predictions,
                chart=chart,
            )
            return results

        bar = ProgressBar(total, done=len(runs)) if not args.no_progress else None
        last_flush = time.monotonic()

        def on_result(job: Job, run: RunResult) -> None:
            nonlocal last_flush
            episode = suite[job.episode]
            record = run_record(job, episode, group(episode), run)
            folder.save(job.system, job.episode, record)
            runs[job] = run_from_record(json.loads(json.dumps(record)))  # exactly what a resume reads back
            if bar is not None:
                bar.update(f"{job.system} {episode.id}")
            if time.monotonic() - last_flush >= FLUSH_SECONDS:
                write(chart=False)
                last_flush = time.monotonic()

        failure: str | None = None  # what stopped the run, if not Ctrl-C
        details = ""
        interrupted = False
        try:
            executor.execute(setup, suite, jobs, on_result)
        except KeyboardInterrupt:
            interrupted = True
        except JobFailed as exc:
            failure, details = str(exc), exc.details
        except Exception as exc:  # the executor itself (e.g. no Ray cluster at ADDRESS): keep what finished
            failure, details = f"{type(exc).__name__}: {exc}", traceback.format_exc()
        if bar is not None:
            bar.close()
        with sigint_ignored():
            status["complete"] = len(runs) == total
            status["interrupted"] = interrupted
            status["failed"] = failure
            results = write(chart=True)
    if results:
        print(report(results, columns))
    print(f"\nwrote {args.out}/{', '.join(written)} in {time.perf_counter() - start:.0f} s ({executor.describe()})")
    if results and not set(CHARTS) <= set(written):
        print(SKIPPED_NOTE)
    if args.save_trajectories is not None:
        where = args.save_trajectories
        print(f"trajectories in {where}/<episode>/; see one with: memenv view {where}/<episode> -o episode.html")
    if interrupted or failure is not None:
        if failure is not None:
            print(f"\n{prog}: {failure}\n{details}", file=sys.stderr)
        print(
            f"{prog}: {'interrupted' if interrupted else 'stopped'}: {len(runs)} of {total} runs are saved in "
            f"{args.out}; run the same command again to resume",
            file=sys.stderr,
        )
        return 130 if interrupted else 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
