"""Score every system on every competency with the same reader and metrics; print and save a table.

    python -m baselines.leaderboard --out results            # what `make leaderboard` runs
    python -m baselines.leaderboard --systems rag-top-k --tasks accurate_retrieval --episodes 1

Writes ``OUT/results.json`` (per system: score per competency, simple mean over competencies, mean
memory tokens, wall time), ``OUT/results.csv``, ``OUT/leaderboard.md`` and ``OUT/leaderboard.png``.
Scores average per episode, then per competency, then a simple mean over competencies.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from baselines.systems import RunResult, System, default_systems
from memenv import metrics
from memenv.readers import EvidenceReader, Reader
from memenv.tasks.records import COMPETENCIES, Episode
from memenv.tasks.synthetic import generate


def build_suite(
    tasks: Sequence[str], episodes: int, seed: int, context_tokens: int, chunk_tokens: int
) -> list[Episode]:
    return [
        generate(task, seed=seed + i, context_tokens=context_tokens, chunk_tokens=chunk_tokens)
        for task in tasks
        for i in range(episodes)
    ]


def evaluate(
    systems: Sequence[System], suite: Sequence[Episode], reader: Reader, progress: bool = True
) -> dict[str, dict[str, Any]]:
    """Run every system on every episode; return the results.json structure."""
    results: dict[str, dict[str, Any]] = {}
    total = len(systems) * len(suite)
    done = 0
    for system in systems:
        runs: list[tuple[Episode, RunResult]] = []
        for episode in suite:
            runs.append((episode, system.run(episode, reader)))
            done += 1
            if progress:
                print(f"\r[{done}/{total}] {system.name:<14} {episode.id:<40}", end="", file=sys.stderr, flush=True)
        agg = metrics.aggregate(
            {"dataset": ep.competency, "instance": ep.id, "score": run.accuracy} for ep, run in runs
        )
        results[system.name] = {
            "scores": agg.per_dataset,
            "mean": agg.mean,
            "memory_tokens": sum(r.memory_tokens for _, r in runs) / len(runs),
            "compression": sum(r.memory_tokens / r.stream_tokens for _, r in runs) / len(runs),
            "wall_seconds": sum(r.seconds for _, r in runs),
            "episodes": len(runs),
        }
    if progress:
        print(file=sys.stderr)
    return results


def markdown_table(results: dict[str, dict[str, Any]], tasks: Sequence[str]) -> str:
    head = ["system", *tasks, "mean", "memory tokens", "memory / stream", "wall s"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for name, r in sorted(results.items(), key=lambda kv: -kv[1]["mean"]):
        cells = [name, *(f"{r['scores'].get(t, float('nan')):.3f}" for t in tasks), f"**{r['mean']:.3f}**"]
        cells += [f"{r['memory_tokens']:.0f}", f"{r['compression']:.3f}", f"{r['wall_seconds']:.1f}"]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def write_outputs(results: dict[str, dict[str, Any]], tasks: Sequence[str], out: Path, config: dict[str, Any]) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps({"config": config, "systems": results}, indent=2) + "\n")
    with (out / "results.csv").open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["system", *tasks, "mean", "memory_tokens", "compression", "wall_seconds"])
        for name, r in results.items():
            writer.writerow(
                [
                    name,
                    *(r["scores"].get(t, "") for t in tasks),
                    r["mean"],
                    r["memory_tokens"],
                    r["compression"],
                    r["wall_seconds"],
                ]
            )
    (out / "leaderboard.md").write_text(markdown_table(results, tasks) + "\n")
    _plot(results, tasks, out / "leaderboard.png")


def _plot(results: dict[str, dict[str, Any]], tasks: Sequence[str], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = sorted(results, key=lambda n: -results[n]["mean"])
    columns = [*tasks, "mean"]
    width = 0.8 / len(names)
    fig, ax = plt.subplots(figsize=(max(6, 1.6 * len(columns)), 4))
    for i, name in enumerate(names):
        values = [results[name]["scores"].get(t, 0.0) for t in tasks] + [results[name]["mean"]]
        ax.bar([c + i * width for c in range(len(columns))], values, width, label=name)
    ax.set_xticks([c + width * (len(names) - 1) / 2 for c in range(len(columns))])
    ax.set_xticklabels([c.replace("_", "\n") for c in columns])
    ax.set_ylabel("score")
    ax.set_ylim(0, 1)
    ax.legend(fontsize=8)
    ax.set_title("memenv leaderboard (evidence reader)")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(argv: Sequence[str] | None = None) -> int:
    systems = {s.name: s for s in default_systems()}
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--systems", nargs="+", default=list(systems), choices=list(systems), help="systems to run")
    parser.add_argument(
        "--tasks", nargs="+", default=list(COMPETENCIES), choices=list(COMPETENCIES), help="competencies"
    )
    parser.add_argument("--episodes", type=int, default=3, help="episodes per competency")
    parser.add_argument("--seed", type=int, default=0, help="seed of the first episode")
    parser.add_argument("--context-tokens", type=int, default=65_536, help="stream length per episode")
    parser.add_argument("--chunk-tokens", type=int, default=512, help="tokens per chunk")
    parser.add_argument("--out", type=Path, default=Path("results"), help="output directory")
    args = parser.parse_args(argv)
    if args.episodes < 1:
        parser.error("--episodes must be >= 1")

    start = time.perf_counter()
    suite = build_suite(args.tasks, args.episodes, args.seed, args.context_tokens, args.chunk_tokens)
    results = evaluate([systems[n] for n in args.systems], suite, EvidenceReader())
    config = {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()} | {"reader": "evidence"}
    write_outputs(results, args.tasks, args.out, config)
    print(markdown_table(results, args.tasks))
    print(
        f"\nwrote {args.out}/results.json, results.csv, leaderboard.md, leaderboard.png "
        f"in {time.perf_counter() - start:.0f} s"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
