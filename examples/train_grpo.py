"""SFT warm start + GRPO on short MEM1-v0 episodes with SmolLM2-135M-Instruct + LoRA, on a CPU.

The documented run of the README (about 30 minutes on 2 CPU cores)::

    python examples/train_grpo.py                       # writes runs/grpo_demo/ and docs/train_grpo_curve.png
    python examples/train_grpo.py --seed 1              # adds seed 1 to docs/train_grpo_curve.json and the PNG
    python examples/train_grpo.py --replot docs/train_grpo_curve.json   # redraw the PNG, no training

MEM1-v0 is used because its action is the new memory paragraph as plain text: there is no tool-call
syntax to get right, so the reward measures only *what* the writer keeps. Episodes are
``accurate_retrieval`` streams of 128 tokens in 3 chunks of 64 with 3 questions, answered by the
offline evidence reader from the final paragraph; the env gets a short system prompt (below). The
model runs in bfloat16 (LoRA weights and log-probs stay float32): with one optimiser step per GRPO
step, a logged step takes ~43 s here against ~96 s in float32 with two, so 30 steps fit.

What it does, in order (all of it in memenv.train.train; this script only picks the settings and
draws the curve):

1. Evaluates the untouched model greedily on 48 held-out episodes (``eval_base``).
2. SFT warm start: clones :func:`fact_paragraph` (the old paragraph plus every fact-like sentence of
   the chunk) on 16 episodes (48 chunk steps, 2 epochs, 24 optimiser steps), LoRA rank 16 on the last
   8 decoder layers.
3. Evaluates again (``eval`` at step 0: "before RL").
4. GRPO: each step plays G = 8 rollouts (temperature 0.7) of each of 2 new episodes (48 rows), Mem-α
   per-step rewards, advantages centred per group without the std division (so groups whose QA
   scores tie do not blow the tiny compression/grounding differences up to unit scale), Dr. GRPO
   loss aggregation (a constant normaliser: with the per-sequence mean of ``grpo`` a long, rambling
   completion with a negative advantage is pushed down less per token, and one seed drifted to
   completions cut at ``max_new_tokens``), one optimiser step per GRPO step (on-policy: the ratio
   is 1, so clipping never binds), lr 4e-4; 30 steps, evaluated every 10.
5. Adds the run's held-out evaluations and per-step rollout accuracy, under its seed, to the curve
   record next to the figure (``docs/train_grpo_curve.json``) with the teacher's own held-out accuracy,
   and plots every seed in the record (:func:`plot`).

Any flag of ``python -m memenv.train`` overrides the defaults below, e.g. ``--total-steps 4``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

from baselines.facts import is_fact
from memenv.tasks.chunking import split_sentences
from memenv.train import GRPOConfig, train
from memenv.train.__main__ import parser
from memenv.train.grpo import EVAL_SEED_OFFSET, env_factory

# A short system prompt (the env's default is ~150 tokens): every prompt token is paid twice per row, in
# generation prefill and in the update's forward pass; measured, a GRPO step went from ~125 s to ~96 s.
SYSTEM_PROMPT = (
    "You read a text one section at a time and keep notes in one memory paragraph of at most {budget} tokens. "
    "Questions about the text will be answered from your notes alone. Reply with the complete new paragraph."
)

DEMO = {
    "output_dir": "runs/grpo_demo",
    "overwrite": True,  # a rerun of the demo starts over
    "model": "default",
    "threads": 2,
    "dtype": "bfloat16",
    "lora_r": 16,
    "lora_layers": 8,
    "env_id": "memenv/MEM1-v0",
    "task": "accurate_retrieval",
    "context_tokens": 128,
    "chunk_tokens": 64,
    "num_questions": 3,
    "env_kwargs": json.dumps({"system_prompt": SYSTEM_PROMPT}),
    "sft_episodes": 16,
    "sft_epochs": 2,
    "sft_learning_rate": 1e-3,
    "sft_batch_size": 4,
    "sft_policy": "__main__:fact_paragraph",
    "eval_episodes": 48,
    "eval_every": 10,
    "total_steps": 30,
    "episodes_per_step": 2,
    "group_size": 8,
    "max_new_tokens": 96,
    "temperature": 0.7,
    "scale_rewards": "false",
    "loss_aggregation": "dr_grpo",
    "learning_rate": 4e-4,
    "num_minibatches": 1,
    "micro_batch_size": 4,
    "generation_batch_size": 16,
}


def fact_paragraph(obs: dict[str, str], info: dict[str, Any]) -> str:
    """MEM1-v0 writer: the old paragraph plus each fact-like sentence of the chunk, one per line."""
    old = [line for line in obs.get("memory", "").splitlines() if line.strip()]
    new = [s for s in split_sentences(obs.get("chunk", "")) if is_fact(s) and s not in old]
    return "\n".join(old + new)


def teacher_accuracy(config: GRPOConfig) -> float:
    """Held-out QA accuracy of :func:`fact_paragraph` itself (the policy SFT clones) on the evaluation
    episodes of ``config``: the level the cloned model could reach."""
    env = env_factory(config)()
    scores = []
    for i in range(config.eval_episodes):
        obs, info = env.reset(seed=EVAL_SEED_OFFSET + i)
        done = False
        while not done:
            obs, _, terminated, truncated, info = env.step(fact_paragraph(obs, info))
            done = terminated or truncated
        scores.append(info["qa"]["accuracy"])
    env.close()
    return float(np.mean(scores))


def curve_rows(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The part of a run's log the curve needs: held-out evaluations and each step's rollout QA accuracy."""
    keep = {"eval_base": "eval_accuracy", "eval": "eval_accuracy", "train": "r1_qa"}
    rows = []
    for record in records:
        key = keep.get(record.get("phase", ""))
        if key is not None and key in record:
            rows.append({"step": record["step"], "phase": record["phase"], key: round(float(record[key]), 4)})
    return rows


def save_curve(
    path: Path, seed: int, records: list[dict[str, Any]], teacher: float, caption: str = ""
) -> dict[str, Any]:
    """Add (or replace) seed ``seed``'s rows in the curve record at ``path`` and return the record: a run
    per seed adds to the others already there, so the figure shows every seed run with these settings
    (and this code: ``teacher`` is the latest run's). ``sources`` says where each seed's rows came from."""
    record: dict[str, Any] = {"runs": {}}
    if path.exists():
        record = json.loads(path.read_text())
    record["teacher"] = round(teacher, 4)
    record["teacher_source"] = "fact_paragraph on the run's held-out episodes (teacher_accuracy), latest run"
    record["caption"] = caption
    record.setdefault("runs", {})[str(seed)] = curve_rows(records)
    record.setdefault("sources", {})[str(seed)] = "examples/train_grpo.py: the run's log.jsonl"
    record["runs"] = dict(sorted(record["runs"].items(), key=lambda kv: int(kv[0])))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record, indent=1) + "\n")
    return record


def plot(runs: dict[str, list[dict[str, Any]]], path: Path, teacher: float | None = None, caption: str = "") -> None:
    """The demo's curve from per-seed log rows (:func:`curve_rows`).

    Right (or alone, when the runs kept no per-step rows): held-out greedy QA accuracy after SFT (step 0)
    and every evaluation during RL, one line per seed, the untouched model and the teacher as labelled
    reference lines. The axis is broken: the lower part spans the runs' own range, so the change RL makes
    is visible, the upper strip holds the teacher's level. Left, when the runs logged their steps: the
    sampled rollouts' QA accuracy per step (thin) and its mean over the last 5 steps (thick), per seed.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    colors = plt.get_cmap("tab10").colors
    seeds = list(runs)
    has_train = any(r["phase"] == "train" for rows in runs.values() for r in rows)
    fig = plt.figure(figsize=(11 if has_train else 7, 4.4))
    grid = fig.add_gridspec(2, 2 if has_train else 1, height_ratios=[1, 4], hspace=0.06, wspace=0.25)
    column = 1 if has_train else 0
    top = fig.add_subplot(grid[0, column])
    bottom = fig.add_subplot(grid[1, column], sharex=top)

    evals = {s: [r for r in runs[s] if r["phase"] == "eval"] for s in seeds}
    bases = sorted({r["eval_accuracy"] for s in seeds for r in runs[s] if r["phase"] == "eval_base"})
    values = [r["eval_accuracy"] for rows in evals.values() for r in rows] + bases
    low, high = min(values), max(values)
    pad = 0.08 * (high - low or 0.1)
    bottom.set_ylim(low - pad, high + 2 * pad)
    last = max((r["step"] for rows in evals.values() for r in rows), default=0)
    for i, seed in enumerate(seeds):
        steps = [r["step"] for r in evals[seed]]
        bottom.plot(steps, [r["eval_accuracy"] for r in evals[seed]], marker="s", color=colors[i], label=f"seed {seed}")
    # Values at the first and last evaluation: the highest seed's label above its point, the others below,
    # further down in order, so labels of close seeds do not collide.
    for step in {min(r["step"] for r in rows) for rows in evals.values() if rows} | {last}:
        at = sorted(
            ((r["eval_accuracy"], i) for i, s in enumerate(seeds) for r in evals[s] if r["step"] == step), reverse=True
        )
        for rank, (value, i) in enumerate(at):
            dy = 8 if rank == 0 else -9 - 11 * (rank - 1)
            bottom.annotate(
                f"{value:.3f}", (step, value), xytext=(0, dy), textcoords="offset points", ha="center",
                va="bottom" if rank == 0 else "top", fontsize=8, color=colors[i],
            )  # fmt: skip
    for value in bases:
        bottom.axhline(value, color="grey", linestyle=":", linewidth=1.2)
        bottom.text(last, value, f"untouched model {value:.3f}", color="grey", fontsize=8, ha="right", va="bottom")
    if teacher is not None:
        top.axhline(teacher, color="black", linestyle="--", linewidth=1.2)
        top.annotate(
            f"teacher (fact_paragraph, cloned by SFT) {teacher:.3f}", (last, teacher), xytext=(0, 3),
            textcoords="offset points", fontsize=8, ha="right", va="bottom",
        )  # fmt: skip
        top.set_ylim(teacher - 0.03, teacher + 0.05)
        top.set_yticks([round(teacher, 2)])
    else:
        top.set_visible(False)
    # the break between the two parts of the axis
    top.spines["bottom"].set_visible(False)
    bottom.spines["top"].set_visible(False)
    top.tick_params(axis="x", which="both", bottom=False, labelbottom=False)
    marks = {"marker": [(-1, -0.5), (1, 0.5)], "markersize": 9, "linestyle": "none", "color": "k", "clip_on": False}
    top.plot([0, 1], [0, 0], transform=top.transAxes, mec="k", mew=1, **marks)
    bottom.plot([0, 1], [1, 1], transform=bottom.transAxes, mec="k", mew=1, **marks)
    bottom.set_xlabel("GRPO step (0: after SFT, before RL)")
    bottom.set_ylabel("held-out QA accuracy (greedy)")
    bottom.set_xticks(sorted({r["step"] for rows in evals.values() for r in rows}))
    bottom.grid(alpha=0.3)
    top.grid(alpha=0.3)
    bottom.legend(fontsize=8, loc="upper left", frameon=False)
    top.set_title("QA accuracy on held-out episodes (greedy)" + (f"\n{caption}" if caption else ""), fontsize=10)

    if has_train:
        left = fig.add_subplot(grid[:, 0])
        window = 5
        for i, seed in enumerate(seeds):
            rows = [r for r in runs[seed] if r["phase"] == "train"]
            steps = [r["step"] for r in rows]
            r1 = np.array([r["r1_qa"] for r in rows])
            left.plot(steps, r1, marker=".", alpha=0.35, linewidth=0.8, color=colors[i])
            if len(r1) >= window:
                smooth = np.convolve(r1, np.ones(window) / window, mode="valid")
                left.plot(steps[window - 1 :], smooth, linewidth=2, color=colors[i], label=f"seed {seed}")
        left.set_xlabel("GRPO step")
        left.set_ylim(-0.02, 1.02)
        left.set_ylabel(f"QA accuracy (thin: per step; thick: mean of the last {window})")
        left.set_title("training rollouts (sampled, new episodes each step)", fontsize=10)
        left.grid(alpha=0.3)
        left.legend(fontsize=8, loc="upper left", frameon=False)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)


def replot(record_path: Path, path: Path) -> None:
    """Redraw the curve from a saved record (:func:`save_curve`) without training."""
    record = json.loads(record_path.read_text())
    if not isinstance(record.get("runs"), dict) or not record["runs"]:
        raise ValueError(f"{record_path}: not a curve record (no 'runs' by seed)")
    plot(record["runs"], path, teacher=record.get("teacher"), caption=record.get("caption", ""))


def main(argv: list[str]) -> int:
    options = parser()
    options.set_defaults(**DEMO)
    options.add_argument("--plot", default="docs/train_grpo_curve.png", help="where to write the curve")
    options.add_argument(
        "--replot", default="", help="redraw --plot from this curve record (.json) without training, then stop"
    )
    args = vars(options.parse_args(argv))
    plot_path = Path(args.pop("plot"))
    record_path = args.pop("replot")
    if record_path:
        replot(Path(record_path), plot_path)
        print(f"curve: {plot_path}")
        return 0
    config = GRPOConfig(**args)
    records = train(config)
    caption = (
        f"{config.env_id} {config.task} · {config.eval_episodes} held-out episodes "
        f"({config.eval_episodes * config.num_questions} questions) · SFT then {config.total_steps} GRPO steps"
    )
    record = save_curve(plot_path.with_suffix(".json"), config.seed, records, teacher_accuracy(config), caption)
    plot(record["runs"], plot_path, teacher=record["teacher"], caption=record["caption"])
    for record in records:
        if record.get("phase") in ("eval_base", "eval"):
            print(json.dumps(record))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
