"""Train a memenv writer with TRL's GRPOTrainer through memenv's rollout_func.

    python examples/trl_grpo.py --model tiny --max-steps 2          # seconds, random tiny model
    python examples/trl_grpo.py --model /models/Qwen2.5-0.5B-Instruct --max-steps 200
    accelerate launch examples/trl_grpo.py --model ... --use-vllm    # multi-GPU, vLLM generation

Every chunk step of the G rollouts of one episode is one TRL row, so ``num_generations`` is
G × chunks per episode (see :mod:`memenv.integrations.trl`).
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

os.environ.setdefault("TRL_EXPERIMENTAL_SILENCE", "1")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="tiny", help='"tiny", "default" (SmolLM2-135M-Instruct) or a folder')
    parser.add_argument("--env-id", default="MemAlpha-v0")
    parser.add_argument("--task", default="accurate_retrieval")
    parser.add_argument("--context-tokens", type=int, default=256)
    parser.add_argument("--chunk-tokens", type=int, default=128)
    parser.add_argument("--rollouts-per-episode", type=int, default=2)
    parser.add_argument("--max-completion-length", type=int, default=64)
    parser.add_argument("--max-steps", type=int, default=2)
    parser.add_argument("--learning-rate", type=float, default=1e-5)
    parser.add_argument("--use-vllm", action="store_true")
    parser.add_argument("--output-dir", default="runs/trl_grpo")
    args = parser.parse_args()

    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl import GRPOConfig, GRPOTrainer

    from memenv.integrations.trl import MemenvRollout, episode_dataset, memenv_reward
    from memenv.llm import build_tiny_model, default_model_path

    if args.model == "tiny":
        path = build_tiny_model(Path(tempfile.mkdtemp()) / "tiny")
    elif args.model == "default":
        path = default_model_path()
    else:
        path = Path(args.model)
    env_kwargs = {"task": args.task, "context_tokens": args.context_tokens, "chunk_tokens": args.chunk_tokens}
    rollout = MemenvRollout(args.env_id, env_kwargs, rollouts_per_episode=args.rollouts_per_episode)
    config = GRPOConfig(
        output_dir=args.output_dir,
        num_generations=rollout.num_generations(),
        per_device_train_batch_size=rollout.num_generations(),
        max_completion_length=args.max_completion_length,
        max_steps=args.max_steps,
        learning_rate=args.learning_rate,
        logging_steps=1,
        report_to="none",
        save_strategy="no",
        use_vllm=args.use_vllm,
        use_cpu=not torch.cuda.is_available(),  # TRL defaults to bf16, which needs a GPU
    )
    trainer = GRPOTrainer(
        model=AutoModelForCausalLM.from_pretrained(path),
        reward_funcs=memenv_reward,
        args=config,
        train_dataset=episode_dataset(1000),
        processing_class=AutoTokenizer.from_pretrained(path),
        rollout_func=rollout,
    )
    trainer.train()
    for record in trainer.state.log_history:
        print(record)


if __name__ == "__main__":
    main()
