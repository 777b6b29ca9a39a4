"""SFT warm start + GRPO on short MEM1-v0 episodes with SmolLM2-135M-Instruct + LoRA, on a CPU.

The documented run of the README (about 20 minutes on 2 CPU cores)::

    python examples/train_grpo.py                       # writes runs/grpo_demo/ and docs/train_grpo_curve.png

MEM1-v0 is used because its action is the new memory paragraph as plain text: there is no tool-call
syntax to get right, so the reward measures only *what* the writer keeps. Episodes are
``accurate_retrieval`` streams of 128 tokens in 3 chunks of 64 with 2 questions, answered by the
offline evidence reader from the final paragraph.

What it does, in order (all of it in memenv.train.train; this script only picks the settings and
draws the curve):

1. Evaluates the untouched model greedily on 16 held-out episodes (``eval_base``).
2. A deliberately *partial* SFT warm start (so RL has headroom): clones :func:`fact_paragraph` — the
   old paragraph plus every fact-like sentence of the chunk — on 4 episodes (12 chunk steps,
   1 epoch, 3 optimiser steps), LoRA rank 16 on the last 8 decoder layers.
3. Evaluates again (``eval`` at step 0: "before RL").
4. GRPO: each step plays G = 4 rollouts (temperature 0.7) of each of 2 new episodes, Mem-α per-step
   rewards, group normalisation over all rows of a group, one optimiser step per GRPO step; 10 steps.
5. Evaluates on the same held-out episodes ("after RL") and plots the reward curve.

Any flag of ``python -m memenv.train`` overrides the defaults below, e.g. ``--total-steps 4``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from baselines.facts import is_fact
from memenv.tasks.chunking import split_sentences
from memenv.train import GRPOConfig, train
from memenv.train.__main__ import parser

DEMO = {
    "output_dir": "runs/grpo_demo",
    "model": "default",
    "lora_r": 16,
    "lora_layers": 8,
    "env_id": "MEM1-v0",
    "task": "accurate_retrieval",
    "context_tokens": 128,
    "chunk_tokens": 64,
    "num_questions": 2,
    "sft_episodes": 4,
    "sft_epochs": 1,
    "sft_learning_rate": 1e-3,
    "sft_batch_size": 4,
    "sft_policy": "__main__:fact_paragraph",
    "eval_episodes": 16,
    "total_steps": 10,
    "episodes_per_step": 2,
    "group_size": 4,
    "max_new_tokens": 96,
    "temperature": 0.7,
    "learning_rate": 2e-4,
    "micro_batch_size": 4,
    "generation_batch_size": 16,
    "threads": 1,
}


def fact_paragraph(obs: dict[str, str], info: dict[str, Any]) -> str:
    """MEM1-v0 writer: the old paragraph plus each fact-like sentence of the chunk, one per line."""
    old = [line for line in obs.get("memory", "").splitlines() if line.strip()]
    new = [s for s in split_sentences(obs.get("chunk", "")) if is_fact(s) and s not in old]
    return "\n".join(old + new)


def plot(records: list[dict[str, Any]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    train_rows = [r for r in records if r.get("phase") == "train"]
    evals = [r for r in records if r.get("phase") == "eval"]
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.6))
    steps = [r["step"] for r in train_rows]
    left.plot(steps, [r["reward"] for r in train_rows], marker="o", label="mean row reward")
    left.plot(steps, [r["r1_qa"] for r in train_rows], marker=".", label="r1 (QA accuracy, rollouts)")
    left.plot(steps, [r["r2_tool_call"] for r in train_rows], marker=".", label="r2 (calls executed)")
    left.set_xlabel("GRPO step")
    left.set_title("training rollouts (sampled)")
    left.legend(fontsize=8)
    right.plot([r["step"] for r in evals], [r["eval_accuracy"] for r in evals], marker="s", label="accuracy")
    right.plot([r["step"] for r in evals], [r["eval_valid_call_rate"] for r in evals], marker="^", label="valid calls")
    right.set_xlabel("GRPO step")
    right.set_ylim(-0.02, 1.02)
    right.set_title("held-out episodes, greedy")
    right.legend(fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)


def main(argv: list[str]) -> int:
    options = parser()
    options.set_defaults(**DEMO)
    options.add_argument("--plot", default="docs/train_grpo_curve.png", help="where to write the curve")
    args = vars(options.parse_args(argv))
    plot_path = Path(args.pop("plot"))
    records = train(GRPOConfig(**args))
    plot(records, plot_path)
    for record in records:
        if record.get("phase") in ("eval_base", "eval"):
            print(json.dumps(record))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
