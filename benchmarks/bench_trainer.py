"""Trainer throughput: memenv.train's GRPO loop vs TRL's GRPOTrainer (through memenv's rollout_func).

    python benchmarks/bench_trainer.py                  # about 45 s on 2 CPU cores (measured: 42 s)
    python benchmarks/bench_trainer.py --steps 2 --hidden-size 64    # quick

Both trainers train the same random tiny Qwen2 model (:func:`memenv.llm.build_tiny_model`) on the
same task (MemAlpha-v0, accurate_retrieval, 3 chunks per episode), with the same rollouts per step
(``--group-size`` rollouts of one episode = 3 × G rows), the same completion cap, one optimiser step
per batch, no KL term, float32 without gradient checkpointing, and the same reward: Mem-α's per-step
reward plus the share of even token ids, so the random model's groups are not all-equal and both
trainers really update. Rollouts are played
by the same code (:func:`memenv.train.rollout.play`; TRL calls it through
:class:`memenv.integrations.trl.MemenvRollout`), so the comparison is of everything around them:
scoring, log-prob passes, the update and the bookkeeping.

Reported per trainer: wall seconds per step (after one warm-up step) and tokens/s = (prompt +
completion tokens of all rows) / wall seconds — the same token count for both. Prints a table and
writes JSON (``--out``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path

import torch

from memenv.llm import build_tiny_model

ENV_KWARGS = {"task": "accurate_retrieval", "context_tokens": 128, "chunk_tokens": 64, "num_questions": 2}
BETA, GAMMA = 0.05, 0.1


def even_share(completion_ids: list[list[int]], **kwargs: object) -> list[float]:
    """A second reward term that a random model's samples vary on. Without it every reward of the
    random tiny model is equal, every advantage is 0 and memenv.train would skip the update (TRL would not)."""
    return [sum(t % 2 == 0 for t in ids) / max(len(ids), 1) for ids in completion_ids]


def bench_memenv(model_path: Path, steps: int, group_size: int, max_new_tokens: int, out: Path) -> dict[str, float]:
    from memenv.train import GRPOConfig, train

    config = GRPOConfig(
        output_dir=str(out),
        model=str(model_path),
        total_steps=steps + 1,
        episodes_per_step=1,
        group_size=group_size,
        max_new_tokens=max_new_tokens,
        micro_batch_size=3 * group_size,
        learning_rate=1e-4,
        progress=False,
        save_model=False,
        **{k: v for k, v in ENV_KWARGS.items()},
    )
    from memenv.train.losses import step_rewards

    def reward(rollout):
        parts = step_rewards(rollout.components, BETA, GAMMA)
        return [a + b for a, b in zip(parts, even_share([r.completion_ids for r in rollout.rows]), strict=True)]

    records = [r for r in train(config, reward_fn=reward) if r.get("phase") == "train"][1:]  # drop the warm-up
    seconds = sum(r["rollout_seconds"] + r["update_seconds"] for r in records)
    tokens = sum(r["tokens_per_s"] * (r["rollout_seconds"] + r["update_seconds"]) for r in records)
    return {"seconds_per_step": seconds / len(records), "tokens_per_s": tokens / seconds}


def bench_trl(model_path: Path, steps: int, group_size: int, max_new_tokens: int, out: Path) -> dict[str, float]:
    os.environ.setdefault("TRL_EXPERIMENTAL_SILENCE", "1")
    from transformers import AutoModelForCausalLM, AutoTokenizer, TrainerCallback
    from trl import GRPOConfig, GRPOTrainer

    from memenv.integrations.trl import MemenvRollout, episode_dataset, memenv_reward

    rollout = MemenvRollout("memenv/MemAlpha-v0", ENV_KWARGS, rollouts_per_episode=group_size)
    tokens: list[int] = []

    def counted(prompts, trainer):
        result = rollout(prompts, trainer)
        tokens.append(sum(len(p) + len(c) for p, c in zip(result["prompt_ids"], result["completion_ids"], strict=True)))
        return result

    times: list[float] = []

    class StepTimer(TrainerCallback):
        def on_step_begin(self, args, state, control, **kwargs):
            times.append(time.perf_counter())

        def on_step_end(self, args, state, control, **kwargs):
            times[-1] = time.perf_counter() - times[-1]

    args = GRPOConfig(
        output_dir=str(out),
        num_generations=rollout.num_generations(),
        per_device_train_batch_size=rollout.num_generations(),
        max_completion_length=max_new_tokens,
        max_steps=steps + 1,
        learning_rate=1e-4,
        logging_steps=1,
        report_to="none",
        use_cpu=True,
        # memenv.train's settings on a CPU: float32, no gradient checkpointing. TRL 1.16 defaults to
        # bf16 autocast and checkpointing, which on a CPU without bf16 units cost ~10x per step.
        bf16=False,
        gradient_checkpointing=False,
        save_strategy="no",
        disable_tqdm=True,
    )
    trainer = GRPOTrainer(
        model=AutoModelForCausalLM.from_pretrained(model_path),
        reward_funcs=[memenv_reward, even_share],
        args=args,
        train_dataset=episode_dataset(4 * (steps + 1)),
        processing_class=AutoTokenizer.from_pretrained(model_path),
        rollout_func=counted,
        callbacks=[StepTimer()],
    )
    trainer.train()
    seconds = sum(times[1:])
    return {"seconds_per_step": seconds / steps, "tokens_per_s": sum(tokens[1:]) / seconds}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=4, help="timed steps per trainer (after 1 warm-up)")
    parser.add_argument("--group-size", type=int, default=4)
    parser.add_argument("--max-new-tokens", type=int, default=32)
    parser.add_argument("--hidden-size", type=int, default=256)
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0 = default)")
    parser.add_argument("--out", default="benchmarks/results/bench_trainer.json")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as tmp:
        model = build_tiny_model(Path(tmp) / "tiny", hidden_size=args.hidden_size, seed=0)
        results = {
            "memenv.train": bench_memenv(model, args.steps, args.group_size, args.max_new_tokens, Path(tmp) / "m"),
            "trl.GRPOTrainer": bench_trl(model, args.steps, args.group_size, args.max_new_tokens, Path(tmp) / "t"),
        }
    print(f"{'trainer':<18} {'s/step':>8} {'tokens/s':>10}")
    for name, row in results.items():
        print(f"{name:<18} {row['seconds_per_step']:>8.2f} {row['tokens_per_s']:>10.0f}")
    report = {
        "settings": vars(args),
        "results": results,
        "machine": {"cpus": os.cpu_count(), "threads": torch.get_num_threads(), "platform": platform.platform()},
        "versions": {"torch": torch.__version__, "trl": __import__("trl").__version__},
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
