"""How fast a long MemoryAgentBench-style context loads and chunks.

Builds one row in the MemoryAgentBench schema (``context``, ``questions``, ``answers``,
``metadata.source``) whose context is about ``--tokens`` o200k_base tokens of numbered facts,
writes it as parquet and as JSON in a temporary folder, and times (best of ``--repeat``):

- ``read parquet``: the raw rows off disk (pyarrow);
- ``chunk 512`` / ``chunk 4096``: sentence packing of the context (memenv.tasks.chunking.chunk_text);
- ``load parquet 512`` / ``load json 4096``: the whole :func:`memenv.tasks.loaders.load` call
  (read, validate, chunk) with the two MemoryAgentBench budgets.

Prints a table and writes JSON (``--out``, default benchmarks/results/bench_loaders.json)::

    .venv/bin/python benchmarks/bench_loaders.py
"""

from __future__ import annotations

import argparse
import json
import platform
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from memenv import tokenizer
from memenv.tasks import chunking
from memenv.tasks.loaders import load, read_records

PLACES = ("Arlen", "Brisk", "Cawdor", "Dunmere", "Eskar", "Fennick", "Galloway", "Harrow", "Ivel", "Jorvik")
THINGS = ("mayor", "oldest bridge", "main river", "football club", "tallest tower", "largest bakery")
PEOPLE = ("Ada Quill", "Bo Renner", "Cy Marsh", "Dee Holt", "Eli Voss", "Fay Lorne", "Gus Penn")


def fact(k: int) -> str:
    return (
        f"{k}. The {THINGS[k % len(THINGS)]} of {PLACES[(k // 7) % len(PLACES)]} district {k // 70} "
        f"is linked to {PEOPLE[(k * 3) % len(PEOPLE)]}."
    )


def build_context(target_tokens: int) -> str:
    """Numbered facts (MemoryAgentBench conflict-resolution style), at least ``target_tokens`` tokens."""
    n = max(1, target_tokens // 40)  # start low: the ratio step below then lands just above target
    while True:
        context = "\n".join(fact(k) for k in range(n))
        have = tokenizer.count_tokens(context)
        if have >= target_tokens:
            return context
        n = int(n * target_tokens / have) + 1


def best_of(repeat: int, fn: Callable[[], Any]) -> tuple[float, Any]:
    best, result = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    return best, result


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tokens", type=int, default=500_000, help="context length in tokens")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs per step (best is kept)")
    parser.add_argument("--out", default="benchmarks/results/bench_loaders.json", help="JSON output path")
    args = parser.parse_args(argv)

    pa_parquet = __import__("pyarrow.parquet").parquet  # the data extra; imported here, not at module load
    pa = __import__("pyarrow")
    tokenizer.encoding()  # load the encoding once, outside the timings

    context = build_context(args.tokens)

    def row(source: str) -> dict[str, Any]:
        return {
            "context": context,
            "questions": ["Who is the mayor of Arlen district 0 linked to?"],
            "answers": [["Ada Quill"]],
            "metadata": {"source": source},
        }

    results: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        parquet_path = Path(tmp) / "Conflict_Resolution-00000-of-00001.parquet"
        json_path = Path(tmp) / "Long_Range_Understanding-00000-of-00001.json"
        # The source name picks the default budget: conflict resolution 512, long-range 4096.
        pa_parquet.write_table(pa.Table.from_pylist([row("factconsolidation_bench")]), parquet_path)
        json_path.write_text(json.dumps([row("infbench_qa_bench")]))

        steps: list[tuple[str, Callable[[], Any], Callable[[Any], int]]] = [
            ("read parquet", lambda: read_records(parquet_path), lambda r: None),
            ("chunk 512", lambda: chunking.chunk_text(context, 512), len),
            ("chunk 4096", lambda: chunking.chunk_text(context, 4096), len),
            ("load parquet 512", lambda: load("memoryagentbench", parquet_path), lambda e: len(e[0].chunks)),
            ("load json 4096", lambda: load("memoryagentbench", json_path), lambda e: len(e[0].chunks)),
        ]
        for name, fn, count in steps:
            seconds, result = best_of(args.repeat, fn)
            results.append({"step": name, "seconds": round(seconds, 4), "chunks": count(result)})

    context_tokens = tokenizer.count_tokens(context)
    report = {
        "benchmark": "bench_loaders",
        "context_tokens": context_tokens,
        "context_chars": len(context),
        "repeat": args.repeat,
        "python": platform.python_version(),
        "machine": platform.machine(),
        "results": results,
    }
    print(f"context: {context_tokens:,} tokens, {len(context):,} characters (best of {args.repeat})")
    print(f"{'step':<18} {'seconds':>8} {'chunks':>7} {'Mtok/s':>7}")
    for r in results:
        rate = context_tokens / r["seconds"] / 1e6 if r["seconds"] else float("inf")
        chunks = "-" if r["chunks"] is None else r["chunks"]
        print(f"{r['step']:<18} {r['seconds']:>8.3f} {chunks:>7} {rate:>7.2f}")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {out}")
    return report


if __name__ == "__main__":
    main()
