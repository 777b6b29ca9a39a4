"""MemAlpha-v0 speed: steps/s on a 1M-token stream, flat step time, and BM25 query time.

    python benchmarks/bench_env.py                      # full run (about a minute on 2 cores)
    python benchmarks/bench_env.py --context-tokens 100000 --entries 20000   # quick

Measures
1. the store-everything policy (every chunk inserted verbatim into episodic memory) on one
   ``context_tokens`` episode: steps/s, and mean step time in the first vs the last 10% of the
   episode (a memory of N entries must not make step N slower);
2. the reader's end-of-episode cost on that memory (index + all questions);
3. BM25 over ``entries`` short texts: memenv.retrieval vs rank_bm25 (and bm25s as shipped, if
   installed): index time and per-query time.
Prints a table and writes JSON (``--out``).
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import statistics
import time
from pathlib import Path

import gymnasium as gym

import memenv  # noqa: F401  (registers the environments)
from memenv.parsing import render_tool_calls
from memenv.retrieval import BM25Index, tokenize


def bench_env(context_tokens: int, chunk_tokens: int) -> dict[str, float]:
    env = gym.make(
        "memenv/MemAlpha-v0", task="accurate_retrieval", context_tokens=context_tokens, chunk_tokens=chunk_tokens
    )
    t0 = time.perf_counter()
    obs, info = env.reset(seed=0)
    reset_s = time.perf_counter() - t0
    step_times: list[float] = []
    terminated = False
    while not terminated:
        action = render_tool_calls(
            [{"name": "new_memory_insert", "arguments": {"memory_type": "episodic_memory", "content": obs["chunk"]}}]
        )
        t = time.perf_counter()
        obs, _, terminated, _, info = env.step(action)
        step_times.append(time.perf_counter() - t)
    final_step = step_times.pop()  # includes answering every question
    tenth = max(1, len(step_times) // 10)
    return {
        "context_tokens": context_tokens,
        "steps": len(step_times) + 1,
        "reset_s": reset_s,
        "steps_per_s": len(step_times) / sum(step_times),
        "first_10pct_step_ms": 1000 * statistics.mean(step_times[:tenth]),
        "last_10pct_step_ms": 1000 * statistics.mean(step_times[-tenth:]),
        "final_step_with_qa_s": final_step,
        "memory_entries": len(info["memory"]["episodic"]),
        "accuracy": info["qa"]["accuracy"],
    }


def bench_bm25(entries: int, queries: int, slow_queries: int, seed: int = 0) -> dict[str, float]:
    rng = random.Random(seed)
    vocab = [f"w{i}" for i in range(20_000)]
    weights = [1 / (i + 1) for i in range(len(vocab))]  # Zipf-like, as in real text
    docs = [" ".join(rng.choices(vocab, weights, k=rng.randint(8, 40))) for _ in range(entries)]
    qs = [" ".join(rng.choices(vocab, weights, k=rng.randint(3, 10))) for _ in range(queries)]
    out: dict[str, float] = {"entries": entries}

    t = time.perf_counter()
    index = BM25Index.from_texts(docs)
    index.search("warm up", 20)
    out["memenv_index_s"] = time.perf_counter() - t
    t = time.perf_counter()
    for q in qs:
        index.search(q, 20)
    out["memenv_query_ms"] = 1000 * (time.perf_counter() - t) / len(qs)

    try:
        from rank_bm25 import BM25Okapi
    except ImportError:
        return out
    t = time.perf_counter()
    ref = BM25Okapi([tokenize(d) for d in docs])
    out["rank_bm25_index_s"] = time.perf_counter() - t
    t = time.perf_counter()
    for q in qs[:slow_queries]:
        ref.get_top_n(tokenize(q), list(range(entries)), n=20)
    out["rank_bm25_query_ms"] = 1000 * (time.perf_counter() - t) / slow_queries

    try:
        import bm25s
    except ImportError:
        return out
    t = time.perf_counter()
    shipped = bm25s.BM25(method="lucene")
    shipped.index([tokenize(d) for d in docs], show_progress=False)
    out["bm25s_index_s"] = time.perf_counter() - t
    t = time.perf_counter()
    for q in qs[:slow_queries]:
        shipped.retrieve([tokenize(q)], k=20, show_progress=False)
    out["bm25s_query_ms"] = 1000 * (time.perf_counter() - t) / slow_queries
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--context-tokens", type=int, default=1_000_000)
    parser.add_argument("--chunk-tokens", type=int, default=512)
    parser.add_argument("--entries", type=int, default=100_000, help="BM25 corpus size")
    parser.add_argument("--queries", type=int, default=1000, help="queries for memenv's BM25")
    parser.add_argument("--slow-queries", type=int, default=50, help="queries for the reference libraries")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/bench_env.json"))
    args = parser.parse_args()

    env = bench_env(args.context_tokens, args.chunk_tokens)
    bm25 = bench_bm25(args.entries, args.queries, args.slow_queries)
    rows = [
        ("episode tokens / steps", f"{env['context_tokens']:,} / {env['steps']:,}"),
        ("reset (generate + count)", f"{env['reset_s']:.2f} s"),
        ("store-everything steps/s", f"{env['steps_per_s']:.0f}"),
        ("step time, first 10%", f"{env['first_10pct_step_ms']:.2f} ms"),
        ("step time, last 10%", f"{env['last_10pct_step_ms']:.2f} ms"),
        ("final step (index + answer all)", f"{env['final_step_with_qa_s']:.2f} s"),
        ("store-everything accuracy", f"{env['accuracy']:.3f}"),
        (f"BM25 index, {bm25['entries']:,} entries: memenv", f"{bm25['memenv_index_s']:.2f} s"),
        ("BM25 top-20 query: memenv", f"{bm25['memenv_query_ms']:.2f} ms"),
    ]
    for lib in ("rank_bm25", "bm25s"):
        if f"{lib}_query_ms" in bm25:
            rows.append((f"BM25 index: {lib}", f"{bm25[f'{lib}_index_s']:.2f} s"))
            rows.append((f"BM25 top-20 query: {lib}", f"{bm25[f'{lib}_query_ms']:.2f} ms"))
    width = max(len(k) for k, _ in rows)
    print(f"| {'measure':<{width}} | value |\n|{'-' * (width + 2)}|-------|")
    for key, value in rows:
        print(f"| {key:<{width}} | {value} |")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    machine = {"python": platform.python_version(), "machine": platform.machine(), "processor": platform.processor()}
    args.out.write_text(json.dumps({"env": env, "bm25": bm25, "machine": machine}, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
