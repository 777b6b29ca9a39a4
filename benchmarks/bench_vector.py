"""Vector env speed: a heuristic-policy rollout in ``memenv.make_vec`` async vs sync mode.

    python benchmarks/bench_vector.py                    # about a minute on 2 cores
    python benchmarks/bench_vector.py --steps 100 --num-envs 2

The policy is a text heuristic run in the main process (insert a chunk into semantic memory when it
holds a digit, else write nothing); the environments (episode generation, parsing, memory, the reader
at the end of each episode) run in the vector env: one after another in ``sync`` mode, one subprocess
per copy in ``async`` mode. Both modes play the same episodes (same seeds); the benchmark checks that
their rewards agree, then reports env steps/s and the async speed-up. Prints a table and writes JSON
(``--out``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path
from typing import Any

import numpy as np

from memenv.parsing import render_tool_calls
from memenv.vector import make_vec


def heuristic(chunk: str) -> str:
    if not any(c.isdigit() for c in chunk):
        return ""
    return render_tool_calls(
        [{"name": "new_memory_insert", "arguments": {"memory_type": "semantic", "content": chunk}}]
    )


def rollout(mode: str, num_envs: int, steps: int, env_kwargs: dict[str, Any]) -> dict[str, Any]:
    envs = make_vec("memenv:MemAlpha-v0", num_envs, mode, **env_kwargs)
    try:
        start = time.perf_counter()
        obs, _ = envs.reset(seed=0)
        total = np.zeros(num_envs)
        episodes = 0
        for _ in range(steps):
            actions = tuple(heuristic(chunk) for chunk in obs["chunk"])
            obs, rewards, terminated, truncated, _ = envs.step(actions)
            total += rewards
            episodes += int(np.sum(terminated | truncated))
        seconds = time.perf_counter() - start
    finally:
        envs.close()
    return {
        "mode": mode,
        "num_envs": num_envs,
        "env_steps": steps * num_envs,
        "seconds": round(seconds, 3),
        "steps_per_s": round(steps * num_envs / seconds, 1),
        "episodes_finished": episodes,
        "return_sum": [round(float(x), 6) for x in total],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--num-envs", type=int, nargs="+", default=[2, 4])
    parser.add_argument("--steps", type=int, default=400, help="vector steps per run")
    parser.add_argument("--context-tokens", type=int, default=8192)
    parser.add_argument("--chunk-tokens", type=int, default=512)
    parser.add_argument("--out", default="benchmarks/results/bench_vector.json")
    args = parser.parse_args()
    env_kwargs = {
        "task": "accurate_retrieval",
        "context_tokens": args.context_tokens,
        "chunk_tokens": args.chunk_tokens,
        "num_questions": 10,
    }
    # Async can only win on idle cores: record how busy the machine was (other processes included).
    load_before = os.getloadavg()
    rows = []
    for n in args.num_envs:
        sync = rollout("sync", n, args.steps, env_kwargs)
        async_ = rollout("async", n, args.steps, env_kwargs)
        if sync["return_sum"] != async_["return_sum"]:
            raise SystemExit(f"async and sync rollouts disagree: {sync['return_sum']} vs {async_['return_sum']}")
        async_["speedup"] = round(sync["seconds"] / async_["seconds"], 2)
        rows += [sync, async_]

    print(f"{'mode':<6} {'envs':>4} {'env steps':>9} {'seconds':>8} {'steps/s':>8} {'speed-up':>8}")
    for row in rows:
        print(
            f"{row['mode']:<6} {row['num_envs']:>4} {row['env_steps']:>9} {row['seconds']:>8.2f} "
            f"{row['steps_per_s']:>8.1f} {row.get('speedup', ''):>8}"
        )
    report = {
        "benchmark": "bench_vector",
        "machine": {
            "cpus": os.cpu_count(),
            "load_average_before": [round(x, 2) for x in load_before],
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "env_kwargs": env_kwargs,
        "policy": "insert the chunk into semantic memory when it holds a digit",
        "rows": rows,
    }
    print(f"load average before the runs (1/5/15 min): {load_before[0]:.2f} {load_before[1]:.2f} {load_before[2]:.2f}")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
