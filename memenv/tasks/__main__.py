"""``python -m memenv.tasks inspect PATH --source S``: what a dataset file turns into.

Loads the file with :func:`memenv.tasks.loaders.load` and prints instances, chunks, tokens per
chunk and per instance (min / median / max, o200k_base) and the questions counted by source,
competency, category and metric. A malformed file prints the loader's one-line error (file,
record, field) and exits with status 2, without a traceback. ``memenv inspect`` is the same command.

Examples::

    python -m memenv.tasks inspect data/locomo10.json --source locomo
    python -m memenv.tasks inspect data/MemoryAgentBench --source memoryagentbench --split Conflict_Resolution
    python -m memenv.tasks inspect data/memalpha/test.parquet --source memalpha --json
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from collections import Counter
from collections.abc import Sequence
from typing import Any

from memenv import tokenizer
from memenv.cli import fail, one_line_errors
from memenv.errors import MemEnvError
from memenv.tasks.loaders import SOURCES, load
from memenv.tasks.records import Episode


def summarize(episodes: Sequence[Episode]) -> dict[str, Any]:
    """Counts and token statistics of loaded episodes (what ``inspect`` prints)."""
    chunk_tokens = tokenizer.count_tokens_batch([c for e in episodes for c in e.chunks])
    per_instance: list[int] = []
    start = 0
    for episode in episodes:
        per_instance.append(sum(chunk_tokens[start : start + len(episode.chunks)]))
        start += len(episode.chunks)
    groups = Counter((e.source, e.competency, q.category or "-", q.metric) for e in episodes for q in e.questions)
    return {
        "instances": len(episodes),
        "chunks": len(chunk_tokens),
        "questions": sum(len(e.questions) for e in episodes),
        "tokens_per_chunk": _spread(chunk_tokens),
        "tokens_per_instance": _spread(per_instance),
        "chunks_per_instance": _spread([len(e.chunks) for e in episodes]),
        "question_groups": [
            {"source": s, "competency": c, "category": cat, "metric": m, "questions": n}
            for (s, c, cat, m), n in sorted(groups.items())
        ],
    }


def _spread(values: Sequence[int]) -> dict[str, float]:
    if not values:
        return {"min": 0, "median": 0, "max": 0}
    return {"min": min(values), "median": statistics.median(values), "max": max(values)}


def format_summary(summary: dict[str, Any], title: str) -> str:
    def spread(key: str) -> str:
        s = summary[key]
        return f"{s['min']:g} / {s['median']:g} / {s['max']:g}"

    lines = [
        title,
        f"  instances                       {summary['instances']}",
        f"  chunks                          {summary['chunks']}",
        f"  questions                       {summary['questions']}",
        f"  chunks per instance  min/med/max {spread('chunks_per_instance')}",
        f"  tokens per chunk     min/med/max {spread('tokens_per_chunk')}",
        f"  tokens per instance  min/med/max {spread('tokens_per_instance')}",
        "",
    ]
    header = ("source", "competency", "category", "metric", "questions")
    rows = [tuple(str(g[k]) for k in header) for g in summary["question_groups"]]
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    for row in [header, tuple("-" * w for w in widths), *rows]:
        lines.append("  " + "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
    return "\n".join(lines)


def add_inspect_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    parser.add_argument("path", help="local file or folder (or a hub id owner/name where the hub is reachable)")
    parser.add_argument("--source", required=True, choices=SOURCES, help="which schema the file follows")
    parser.add_argument("--split", default=None, help="hub split / MemoryAgentBench competency split")
    parser.add_argument("--chunk-tokens", type=int, default=None, help="override the chunk budget")
    parser.add_argument("--include-adversarial", action="store_true", help="keep LoCoMo category 5")
    parser.add_argument("--limit", type=int, default=None, help="read only the first N instances")
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")
    return parser


def inspect_main(argv: Sequence[str] | None = None, *, prog: str = "memenv inspect") -> int:
    """``memenv inspect PATH --source S``; exit status 2 (one line on stderr) for a bad argument or file."""
    parser = one_line_errors(argparse.ArgumentParser(prog=prog, description=__doc__.splitlines()[0]))
    args = add_inspect_arguments(parser).parse_args(argv)
    try:
        episodes = load(
            args.source,
            args.path,
            args.split,
            chunk_tokens=args.chunk_tokens,
            include_adversarial=args.include_adversarial,
            limit=args.limit,
        )
    except (MemEnvError, ValueError) as exc:
        return fail(prog, exc)
    summary = summarize(episodes)
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        split = f", split {args.split}" if args.split else ""
        print(format_summary(summary, f"{args.path} (source {args.source}{split})"))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m memenv.tasks inspect ...`` (the same as ``memenv inspect ...``)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] != ["inspect"]:
        return fail("python -m memenv.tasks", "expected: python -m memenv.tasks inspect PATH --source SOURCE")
    return inspect_main(argv[1:], prog="python -m memenv.tasks inspect")


if __name__ == "__main__":
    sys.exit(main())
