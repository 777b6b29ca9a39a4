"""Leaderboard wall time: serial vs ``--workers N`` local processes vs Ray tasks, on the same suite.

    python benchmarks/bench_eval.py                       # the default leaderboard (make leaderboard's suite)
    python benchmarks/bench_eval.py --episodes 1 --context-tokens 16384   # a quick look

Each mode runs the real command (``python -m baselines.leaderboard``) in a fresh process into its own
output folder, so every mode pays what a user pays: interpreter start, suite generation, spawning the
workers or starting a local Ray instance (``--ray`` with ``--workers N`` CPUs). Wall time is measured
around the whole command. The benchmark then checks that every mode's results equal the serial run's
(results.json's systems without the timing fields, and predictions.jsonl byte for byte) and reports
it. Prints a table and writes JSON (``--out``), with the machine's CPU count and load average, since
other work on the machine slows every mode.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def comparable(out: Path) -> tuple[Any, str]:
    document = json.loads((out / "results.json").read_text())
    for entry in document["systems"].values():
        entry.pop("wall_seconds")
        for row in entry["per_episode"]:
            row.pop("seconds")
    return (document["columns"], document["systems"]), (out / "predictions.jsonl").read_text()


def run_mode(name: str, extra: list[str], common: list[str], folder: Path) -> dict[str, Any]:
    out = folder / name
    command = [sys.executable, "-m", "baselines.leaderboard", *common, "--out", str(out), "--no-progress", *extra]
    env = dict(os.environ, RAY_AUTH_MODE=os.environ.get("RAY_AUTH_MODE", "disabled"))
    start = time.perf_counter()
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{name} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    status = json.loads((out / "results.json").read_text())["status"]
    return {
        "mode": name,
        "flags": " ".join(extra) or "(none)",
        "wall_seconds": round(seconds, 2),
        "in_process_seconds": status["elapsed_seconds"],
        "out": out,
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--episodes", type=int, default=5, help="episodes per competency (the leaderboard's default: 5)")
    p.add_argument("--context-tokens", type=int, default=65_536, help="tokens per synthetic stream")
    p.add_argument("--workers", type=int, default=2, help="worker processes, and the local Ray instance's CPUs")
    p.add_argument("--skip-ray", action="store_true", help="only serial and worker processes")
    p.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "bench_eval.json")
    args = p.parse_args(argv)

    common = ["--episodes", str(args.episodes), "--context-tokens", str(args.context_tokens)]
    modes = [("serial", []), (f"workers-{args.workers}", ["--workers", str(args.workers)])]
    if not args.skip_ray:
        modes.append((f"ray-{args.workers}cpu", ["--ray", "--workers", str(args.workers)]))
    load_before = os.getloadavg()
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench_eval") as folder:
        for name, extra in modes:
            rows.append(run_mode(name, extra, common, Path(folder)))
            print(f"{name}: {rows[-1]['wall_seconds']:.1f} s", file=sys.stderr)
        reference = comparable(rows[0]["out"])
        for row in rows:
            row["identical_to_serial"] = comparable(row.pop("out")) == reference
    serial = rows[0]["wall_seconds"]
    for row in rows:
        row["speedup"] = round(serial / row["wall_seconds"], 2)

    print(f"leaderboard, default systems, {args.episodes} episodes x 4 competencies, {args.context_tokens} tokens")
    print("| mode | flags | wall s | speed-up | results identical to serial (timings excluded) |")
    print("|---|---|---|---|---|")
    for row in rows:
        same = "yes" if row["identical_to_serial"] else "**no**"
        print(f"| {row['mode']} | `{row['flags']}` | {row['wall_seconds']:.1f} | {row['speedup']:.2f}x | {same} |")
    result = {
        "benchmark": "bench_eval",
        "suite": {"episodes_per_competency": args.episodes, "context_tokens": args.context_tokens},
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
            "load_average_before": [round(x, 2) for x in load_before],
            "load_average_after": [round(x, 2) for x in os.getloadavg()],
        },
        "rows": rows,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"\nwrote {args.out}")
    return 0 if all(row["identical_to_serial"] for row in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
