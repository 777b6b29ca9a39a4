"""Score every system on every competency (or dataset) with the same reader and metrics; print and save a table.

    python -m baselines.leaderboard --out results            # what `make leaderboard` runs
    memenv leaderboard --systems rag-top-k mem-alpha --tasks accurate_retrieval --episodes 1
    memenv leaderboard --reader hf:default --writer-llm openai:http://localhost:8000/v1#Qwen/Qwen3-4B
    memenv leaderboard --dataset data/locomo10.json --source locomo

Systems (see :mod:`baselines.systems`): ``long-context``, ``rag-top-k``, ``mem1``, ``memory-r1``,
``mem-alpha`` (heuristic writers), ``store-all`` and ``no-memory`` (ceiling and floor of a Mem-α
memory under retrieval), ``memory-r1-add-only`` (an ablation, on request), and with ``--writer-llm
SPEC`` the ``mem-alpha-llm``, ``mem1-llm``, ``memory-r1-llm`` variants written by that chat model.
``--reader`` is ``evidence`` (the offline deterministic reader, default) or a chat-model spec
(``hf:PATH``, ``hf:default``, ``openai:URL#MODEL``) answering through :class:`memenv.readers.llm.LLMReader`.

The suite is the synthetic generator (``--tasks``, ``--episodes`` per competency, ``--seed``,
``--context-tokens``, ``--chunk-tokens``), or real data with ``--dataset PATH --source S
[--split X]`` (loaded with :func:`memenv.tasks.load`; one column per ``Episode.source``;
``--episodes`` then caps the episodes per source). ``--scoring PROFILE`` scores the answers under
another evaluation protocol (:data:`memenv.metrics.SCORING_PROFILES`; default: each dataset as its own
paper's code scores it, see docs/scoring.md; ``mem0`` for Memory-R1's numbers).

Writes ``OUT/results.json`` (the config, the columns, and per system: score per column, simple mean
over columns, mean memory tokens, memory / stream, wall time, and one row per episode),
``OUT/results.csv``, ``OUT/leaderboard.md`` and ``OUT/leaderboard.png``. Scores average per
episode, then per column, then a simple mean over columns.
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import json
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TextIO

from baselines.systems import DEFAULT_SYSTEMS, LEARNED, SYSTEM_NAMES, RunResult, System, llm_systems, make_systems
from memenv import metrics
from memenv.metrics import SCORING_PROFILES
from memenv.qa import rescore
from memenv.readers import EvidenceReader, Reader
from memenv.tasks.records import COMPETENCIES, Episode
from memenv.tasks.synthetic import generate

LLM_SYSTEM_NAMES = tuple(f"{name}-llm" for name in LEARNED)


def build_suite(
    tasks: Sequence[str], episodes: int, seed: int, context_tokens: int, chunk_tokens: int
) -> list[Episode]:
    """``episodes`` synthetic episodes per competency, seeds ``seed, seed + 1, ...``."""
    return [
        generate(task, seed=seed + i, context_tokens=context_tokens, chunk_tokens=chunk_tokens)
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
    """A one-line progress bar on a stream (stderr by default): done/total, elapsed, ETA, a label."""

    def __init__(self, total: int, stream: TextIO | None = None, width: int = 24) -> None:
        self.total = max(total, 1)
        self.stream = stream if stream is not None else sys.stderr
        self.width = width
        self.done = 0
        self.start = time.perf_counter()

    def update(self, label: str) -> None:
        self.done += 1
        elapsed = time.perf_counter() - self.start
        eta = elapsed / self.done * (self.total - self.done)
        filled = round(self.width * self.done / self.total)
        bar = "#" * filled + "-" * (self.width - filled)
        line = f"[{bar}] {self.done}/{self.total} {elapsed:5.0f}s elapsed, ~{eta:.0f}s left  {label}"
        self.stream.write("\r" + line[:120].ljust(120))
        self.stream.flush()

    def close(self) -> None:
        self.stream.write("\n")
        self.stream.flush()


def evaluate(
    systems: Sequence[System],
    suite: Sequence[Episode],
    reader: Reader,
    progress: bool = True,
    group: Callable[[Episode], str] | None = None,
    scoring: str = "default",
) -> dict[str, dict[str, Any]]:
    """Run every system on every episode; return the ``systems`` part of results.json.

    ``group`` names an episode's column (default: its competency). ``scoring`` re-scores every
    answer under that profile (:data:`memenv.metrics.SCORING_PROFILES`).
    """
    column = group or (lambda episode: episode.competency)
    bar = ProgressBar(len(systems) * len(suite)) if progress else None
    results: dict[str, dict[str, Any]] = {}
    for system in systems:
        runs: list[tuple[Episode, RunResult]] = []
        for episode in suite:
            run = system.run(episode, reader)
            if scoring != "default":  # the same answers, scored under another protocol
                report = rescore(run.qa, episode.questions, scoring=scoring)
                run = dataclasses.replace(run, accuracy=report.accuracy, qa=report)
            runs.append((episode, run))
            if bar is not None:
                bar.update(f"{system.name} {episode.id}")
        results[system.name] = summarize(runs, column)
    if bar is not None:
        bar.close()
    return results


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


def markdown_table(results: dict[str, dict[str, Any]], columns: Sequence[str]) -> str:
    """Systems by mean score, best first: score per column, mean, answer and evidence recall, memory tokens,
    memory / stream, wall time."""
    head = [
        "system",
        *columns,
        "mean",
        "answer recall",
        "evidence recall",
        "memory tokens",
        "memory / stream",
        "wall s",
    ]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for name, r in sorted(results.items(), key=lambda kv: -kv[1]["mean"]):
        cells = [name, *(_cell(r["scores"].get(c)) for c in columns), f"**{r['mean']:.3f}**"]
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
    for name, r in sorted(results.items(), key=lambda kv: -kv[1]["mean"]):
        cells = [name]
        for c in categories:
            entry = r["categories"].get(c, {})
            cells.append(f"{_cell(entry.get('score'))} / {_cell(entry.get('answer_recall'), 2)}")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def report(results: dict[str, dict[str, Any]], columns: Sequence[str]) -> str:
    """The leaderboard in markdown: the main table, then scores per question category."""
    return (
        markdown_table(results, columns)
        + "\n\nBy question category (each cell: reader score / answer recall):\n\n"
        + category_table(results)
    )


def write_outputs(
    results: dict[str, dict[str, Any]], columns: Sequence[str], out: Path, config: dict[str, Any]
) -> None:
    """results.json, results.csv, leaderboard.md and leaderboard.png under ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    document = {"config": config, "columns": list(columns), "systems": results}
    (out / "results.json").write_text(json.dumps(document, indent=2) + "\n")
    categories = categories_of(results)
    with (out / "results.csv").open("w", newline="") as f:
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
            ]
        )
        for name, r in results.items():
            by_category = [r["categories"].get(c, {}) for c in categories]
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
                ]
            )
    (out / "leaderboard.md").write_text(report(results, columns) + "\n")
    plot(
        results,
        columns,
        out / "leaderboard.png",
        title=f"memenv leaderboard ({config.get('reader', 'evidence')} reader)",
    )


def plot(results: dict[str, dict[str, Any]], columns: Sequence[str], path: Path, title: str = "") -> None:
    """Grouped bars: one group per column plus the mean, one bar per system (best mean first)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = sorted(results, key=lambda n: -results[n]["mean"])
    groups = [*columns, "mean"]
    width = 0.8 / len(names)
    fig, ax = plt.subplots(figsize=(max(8, 1.7 * len(groups) + 2), 4.2))
    for i, name in enumerate(names):
        values = [results[name]["scores"].get(c, 0.0) for c in columns] + [results[name]["mean"]]
        ax.bar([g + i * width for g in range(len(groups))], values, width, label=name)
    ax.set_xticks([g + width * (len(names) - 1) / 2 for g in range(len(groups))])
    ax.set_xticklabels([c.replace("_", "\n") for c in groups], fontsize=8)
    ax.set_ylabel("score")
    ax.set_ylim(0, 1)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)  # outside the bars
    ax.set_title(title or "memenv leaderboard")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def make_reader(spec: str, max_context_tokens: int | None = None, max_new_tokens: int = 64) -> Reader:
    """``evidence`` -> :class:`EvidenceReader`; a chat-model spec -> :class:`memenv.readers.llm.LLMReader`."""
    if spec == "evidence":
        return EvidenceReader()
    from memenv.llm import make_chat_model
    from memenv.readers.llm import LLMReader

    return LLMReader(make_chat_model(spec), max_context_tokens=max_context_tokens, max_new_tokens=max_new_tokens)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="memenv leaderboard",
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument(
        "--systems",
        nargs="+",
        default=None,
        choices=[*SYSTEM_NAMES, *LLM_SYSTEM_NAMES],
        help=f"systems to run (default: {' '.join(DEFAULT_SYSTEMS)}, plus the -llm ones with --writer-llm)",
    )
    p.add_argument("--tasks", nargs="+", default=None, choices=list(COMPETENCIES), help="competencies (default: all)")
    p.add_argument(
        "--episodes", type=int, default=None, help="episodes per competency (default 5), or per source with --dataset"
    )
    p.add_argument("--seed", type=int, default=0, help="seed of the first synthetic episode")
    p.add_argument("--context-tokens", type=int, default=65_536, help="synthetic stream length per episode")
    p.add_argument("--chunk-tokens", type=int, default=512, help="tokens per synthetic chunk")
    p.add_argument(
        "--dataset", default=None, help="evaluate on this dataset file/folder instead of the synthetic suite"
    )
    p.add_argument(
        "--source", default=None, help="format of --dataset: memalpha, memoryagentbench, locomo, longmemeval"
    )
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
    p.add_argument("--window-tokens", type=int, default=30_000, help="long-context window (Mem-alpha: 30K)")
    p.add_argument("--rag-k", type=int, default=2, help="chunks rag-top-k retrieves per question (Mem-alpha: 2)")
    p.add_argument("--out", type=Path, default=Path("results"), help="output directory")
    p.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    p.add_argument(
        "--save-trajectories",
        type=Path,
        default=None,
        metavar="DIR",
        help="record every run to DIR/<episode>/<system>.jsonl (view with: memenv view DIR/<episode> -o episode.html)",
    )
    return p


def main(argv: Sequence[str] | None = None) -> int:
    p = parser()
    args = p.parse_args(argv)
    if args.episodes is not None and args.episodes < 1:
        p.error("--episodes must be >= 1")
    if args.dataset is not None and args.source is None:
        p.error("--dataset needs --source (memalpha, memoryagentbench, locomo or longmemeval)")
    names = list(args.systems or DEFAULT_SYSTEMS)
    wanted_llm = [n for n in names if n in LLM_SYSTEM_NAMES]
    if wanted_llm and args.writer_llm is None:
        p.error(f"{', '.join(wanted_llm)} need --writer-llm SPEC")
    if args.writer_llm is not None and not wanted_llm:
        names += list(LLM_SYSTEM_NAMES)

    start = time.perf_counter()
    tasks = args.tasks or list(COMPETENCIES)
    if args.dataset is not None:
        suite = load_suite(args.dataset, args.source, args.split, args.tasks, args.episodes)

        def group(episode: Episode) -> str:
            return episode.source
    else:
        suite = build_suite(tasks, args.episodes or 5, args.seed, args.context_tokens, args.chunk_tokens)

        def group(episode: Episode) -> str:
            return episode.competency

    systems = make_systems(
        [n for n in names if n not in LLM_SYSTEM_NAMES], window_tokens=args.window_tokens, rag_k=args.rag_k
    )
    if args.writer_llm is not None:
        from memenv.llm import make_chat_model

        extra = llm_systems(make_chat_model(args.writer_llm), max_new_tokens=args.writer_max_new_tokens)
        systems += [s for s in extra if s.name in names]
    order = {name: i for i, name in enumerate(names)}
    systems.sort(key=lambda s: order[s.name])
    reader = make_reader(args.reader, args.reader_context_tokens, args.reader_max_new_tokens)
    if args.save_trajectories is not None:
        for system in systems:
            if hasattr(system, "trajectory_dir"):
                system.trajectory_dir = args.save_trajectories

    results = evaluate(systems, suite, reader, progress=not args.no_progress, group=group, scoring=args.scoring)
    columns = columns_of(suite, group)
    config = {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()}
    config |= {"systems": names, "tasks": tasks, "episodes_run": len(suite)}
    write_outputs(results, columns, args.out, config)
    print(report(results, columns))
    print(
        f"\nwrote {args.out}/results.json, results.csv, leaderboard.md, leaderboard.png "
        f"in {time.perf_counter() - start:.0f} s"
    )
    if args.save_trajectories is not None:
        where = args.save_trajectories
        print(f"trajectories in {where}/<episode>/; see one with: memenv view {where}/<episode> -o episode.html")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
