"""Train a memenv writer with TRL's GRPOTrainer through memenv's rollout_func.

    python examples/trl_grpo.py --model tiny --max-steps 2          # seconds, random tiny model
    python examples/trl_grpo.py --model /models/Qwen2.5-0.5B-Instruct --max-steps 200
    # one 8-GPU node: vLLM server on GPU 7 (`trl vllm-serve --model ...`), training on GPUs 0-6
    CUDA_VISIBLE_DEVICES=0,1,2,3,4,5,6 accelerate launch --config_file examples/accelerate_8gpu.yaml \\
        --num_processes 7 examples/trl_grpo.py --model Qwen/Qwen3-4B --use-vllm --bf16 \\
        --gradient-checkpointing --lora-r 64 --enable-thinking false

Every chunk step of the G rollouts of one episode is one TRL row, so ``num_generations`` is
G × chunks per episode (see :mod:`memenv.integrations.trl`). The per-device batch defaults to one
group; raise it (or ``--steps-per-generation``) in whole groups: TRL hands each process a slice of
``per_device_train_batch_size × steps_per_generation`` rows, which must hold whole groups.
The multi-GPU path (accelerate, vLLM server mode) follows TRL's documented setup; it has not been run
on GPUs by memenv's authors yet.
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path
from typing import Any

from memenv.envs.base import TASKS
from memenv.tasks import SOURCES

os.environ.setdefault("TRL_EXPERIMENTAL_SILENCE", "1")


def _optional_bool(text: str) -> bool | None:
    if text.lower() in ("", "unset", "none"):
        return None
    if text.lower() in ("1", "true", "yes", "on"):
        return True
    if text.lower() in ("0", "false", "no", "off"):
        return False
    raise argparse.ArgumentTypeError(f"expected true, false or unset, got {text!r}")


def parser() -> argparse.ArgumentParser:
    parse = argparse.ArgumentParser(
        description=__doc__.split("\n")[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter
    )
    add = parse.add_argument
    add("--model", default="tiny", help='"tiny", "default" (SmolLM2-135M-Instruct), a folder or a hub id')
    add("--env-id", default="memenv/MemAlpha-v0")
    add("--task", default="accurate_retrieval", choices=TASKS, help="synthetic competency (ignored with --dataset)")
    add("--context-tokens", type=int, default=256)
    add("--chunk-tokens", type=int, default=128)
    add("--num-episodes", type=int, default=1000, help="synthetic episodes in the train set")
    add("--dataset", default=None, help="a local dataset file/folder (memenv.tasks.load); rows = episodes")
    add("--source", default="memalpha", choices=SOURCES, help="dataset source for --dataset")
    add("--dataset-split", default=None)
    add("--rollouts-per-episode", type=int, default=2, help="G")
    add("--chunks-per-episode", type=int, default=None, help="rows per rollout; default: longest episode")
    add("--reward-mode", default="step", choices=["step", "trajectory"])
    add("--max-completion-length", type=int, default=64)
    add("--max-steps", type=int, default=2)
    add("--learning-rate", type=float, default=1e-5)
    add("--per-device-train-batch-size", type=int, default=None, help="default: one group (num_generations)")
    add("--gradient-accumulation-steps", type=int, default=1)
    add("--steps-per-generation", type=int, default=None, help="TRL's default: gradient_accumulation_steps")
    add("--generation-batch-size", type=int, default=16, help="prompts per generate call (memenv side)")
    add("--lora-r", type=int, default=0, help="LoRA rank; 0 = full fine-tuning")
    add("--lora-alpha", type=int, default=32)
    add("--bf16", action="store_true", help="bfloat16 mixed precision (GPU)")
    add("--gradient-checkpointing", action="store_true")
    add("--enable-thinking", type=_optional_bool, default=None, help="chat_template_kwargs enable_thinking")
    add("--use-vllm", action="store_true")
    add("--vllm-mode", default="server", choices=["server", "colocate"])
    add("--output-dir", "--out", "-o", default="runs/trl_grpo")
    add("--seed", type=int, default=0)
    return parse


def build(args: argparse.Namespace) -> Any:
    """The configured ``GRPOTrainer`` (not yet trained)."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl import GRPOConfig, GRPOTrainer

    from memenv.integrations.trl import MemenvRollout, memenv_reward
    from memenv.llm import build_tiny_model, default_model_path

    if args.model == "tiny":
        path: str | Path = build_tiny_model(Path(tempfile.mkdtemp()) / "tiny")
    elif args.model == "default":
        path = default_model_path()
    else:
        path = args.model
    env_kwargs: dict[str, Any] = {"task": args.task, "context_tokens": args.context_tokens}
    env_kwargs["chunk_tokens"] = args.chunk_tokens
    if args.dataset:
        env_kwargs = {"dataset": args.dataset, "source": args.source, "dataset_split": args.dataset_split}
    rollout = MemenvRollout(
        args.env_id,
        env_kwargs,
        rollouts_per_episode=args.rollouts_per_episode,
        chunks_per_episode=args.chunks_per_episode,
        reward_mode=args.reward_mode,
        generation_batch_size=args.generation_batch_size,
    )
    group = rollout.num_generations()
    per_device = args.per_device_train_batch_size or group
    chat_template_kwargs = {} if args.enable_thinking is None else {"enable_thinking": args.enable_thinking}
    # Each process plays the groups of its own slice, so the slice must hold whole groups.
    steps_per_generation = args.steps_per_generation or args.gradient_accumulation_steps
    if (per_device * steps_per_generation) % group:
        raise ValueError(
            f"per_device_train_batch_size ({per_device}) × steps_per_generation ({steps_per_generation}) must be a "
            f"multiple of num_generations = G × chunks per episode = {group}, so each process plays whole groups"
        )
    config = GRPOConfig(
        output_dir=args.output_dir,
        num_generations=group,
        per_device_train_batch_size=per_device,
        gradient_accumulation_steps=args.gradient_accumulation_steps,
        steps_per_generation=args.steps_per_generation,
        max_completion_length=args.max_completion_length,
        max_steps=args.max_steps,
        learning_rate=args.learning_rate,
        logging_steps=1,
        report_to="none",
        save_strategy="no",
        seed=args.seed,
        bf16=args.bf16,
        gradient_checkpointing=args.gradient_checkpointing,
        chat_template_kwargs=chat_template_kwargs or None,
        use_vllm=args.use_vllm,
        vllm_mode=args.vllm_mode,
        use_cpu=not torch.cuda.is_available(),  # TRL defaults to bf16, which needs a GPU
    )
    peft_config = None
    if args.lora_r > 0:
        from peft import LoraConfig

        peft_config = LoraConfig(r=args.lora_r, lora_alpha=args.lora_alpha, target_modules="all-linear")
    return GRPOTrainer(
        model=AutoModelForCausalLM.from_pretrained(path),
        reward_funcs=memenv_reward,
        args=config,
        train_dataset=rollout.episode_dataset(None if args.dataset else args.num_episodes),
        processing_class=AutoTokenizer.from_pretrained(path),
        rollout_func=rollout,
        peft_config=peft_config,
    )


def main(argv: list[str] | None = None) -> list[dict[str, Any]]:
    trainer = build(parser().parse_args(argv))
    trainer.train()
    for record in trainer.state.log_history:
        print(record)
    return trainer.state.log_history


if __name__ == "__main__":
    main()
