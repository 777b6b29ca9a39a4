"""Training memory writers with RL: GRPO on any memenv env and any local Hugging Face causal LM.

- :mod:`memenv.train.grpo`: :class:`GRPOConfig` and :func:`train` (the loop, CleanRL style).
- :mod:`memenv.train.losses`: the math as pure functions (rewards per row, group advantages, log-probs,
  clipped loss, k3 KL, loss aggregations).
- :mod:`memenv.train.rollout`: playing episodes with a model, keeping exact token ids.
- :mod:`memenv.train.sft`: the SFT warm start (behaviour cloning of a heuristic writer).

Command line: ``python -m memenv.train --help``. Needs ``torch`` and ``transformers`` (and ``peft``
for LoRA): ``pip install "memenv[train]"``.
"""

from __future__ import annotations

from memenv.train.grpo import GRPOConfig, train

__all__ = ["GRPOConfig", "train"]
