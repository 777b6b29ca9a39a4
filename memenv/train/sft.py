"""SFT warm start: behaviour cloning of a heuristic writer, so RL starts from a model that emits valid calls.

A small model sampled at random almost never writes a parseable tool call, so every rollout earns the
same (zero) reward, every group is all-equal and GRPO has no signal. Cloning a heuristic first fixes
that: :func:`collect_demonstrations` plays the baseline policy of the env (``baselines.*``: a function
``policy(obs, info) -> text``) and records, per chunk step, the env's prompt and the policy's reply;
:func:`train_sft` then minimises the negative log-likelihood of the replies given the prompts
(completion tokens only, one optimiser step per minibatch).

Unlike RL rows, demonstration completions *are* tokenised from text — they are the heuristic's text,
not the model's samples — and end with the tokenizer's EOS so the model learns to stop.
"""

from __future__ import annotations

import importlib
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import torch
from gymnasium.envs.registration import parse_env_id

from memenv import NAMESPACE, canonical_id
from memenv.tasks import Episode
from memenv.train.losses import aggregate_loss
from memenv.train.rollout import PromptEncoder, completion_log_probs

Policy = Callable[[dict[str, str], dict[str, Any]], str]

# The heuristic writer of each registered env family ("module:function"), tried in order; every version
# of a family (MemAlpha-v0, memenv/MemAlpha-v1, ...) has the same actions, so it shares them.
# A class is instantiated (one fresh, stateful policy per collection).
HEURISTICS: dict[str, tuple[str, ...]] = {
    "MemAlpha": ("baselines.mem_alpha:MemAlphaHeuristic", "baselines.systems:store_all"),
    "MEM1": ("baselines.mem1:Mem1Rewriter",),
    "MemoryR1": ("baselines.memory_r1:MemoryR1Manager",),
}


def heuristic_policy(env_id: str, name: str | None = None) -> Policy:
    """The heuristic writer for ``env_id`` (any memenv id: ``MemAlpha-v0``, ``memenv/MEM1-v1``,
    ``memenv:MemoryR1-v0``, ...), or the ``"module:function"`` given as ``name``; a class is
    instantiated with no arguments."""
    try:
        namespace, family, _ = parse_env_id(canonical_id(env_id))
    except gym.error.Error:  # not an id Gymnasium can read (e.g. "module:Env-v0" of another package)
        namespace, family = None, ""
    candidates = (name,) if name else HEURISTICS.get(family, ()) if namespace == NAMESPACE else ()
    if not candidates:
        raise ValueError(f"no heuristic policy known for {env_id!r}; pass one as 'module:function'")
    errors = []
    for candidate in candidates:
        module, _, function = candidate.partition(":")
        try:
            found = getattr(importlib.import_module(module), function)
            return found() if isinstance(found, type) else found
        except (ImportError, AttributeError) as error:
            errors.append(f"{candidate}: {error}")
    raise ValueError(f"could not import a heuristic policy for {env_id!r}: {'; '.join(errors)}")


@dataclass(frozen=True)
class Demonstration:
    """One chunk step of a heuristic episode: what the env asked and what the heuristic replied."""

    messages: list[dict[str, str]]
    tools: list[dict]
    text: str


def collect_demonstrations(
    make_env: Callable[[], gym.Env], policy: Policy, seeds: Sequence[int], episodes: Sequence[Episode] | None = None
) -> list[Demonstration]:
    """Play ``policy`` on each seed's episode and keep every step's (messages, tools, reply).

    With ``episodes`` a seed is a row index: the episode played is ``episodes[seed]``.
    """
    demos: list[Demonstration] = []
    env = make_env()
    try:
        for seed in seeds:
            options = {"episode": episodes[int(seed)]} if episodes is not None else None
            obs, info = env.reset(seed=int(seed), options=options)
            while True:
                text = policy(obs, info)
                demos.append(Demonstration(info["messages"], info["tools"], text))
                obs, _, terminated, truncated, info = env.step(text)
                if terminated or truncated:
                    break
    finally:
        env.close()
    return demos


def train_sft(
    model: Any,
    tokenizer: Any,
    encode: PromptEncoder,
    demos: Sequence[Demonstration],
    *,
    epochs: int = 1,
    learning_rate: float = 1e-4,
    batch_size: int = 8,
    micro_batch_size: int = 4,
    max_completion_tokens: int = 256,
    seed: int = 0,
    log: Callable[[dict[str, Any]], None] | None = None,
) -> list[dict[str, Any]]:
    """Fine-tune ``model`` on the demonstrations; returns one log record per optimiser step.

    Loss: NLL per completion token (replies cut to ``max_completion_tokens``, EOS appended), averaged
    over all completion tokens of the minibatch — so an empty reply (EOS alone) weighs one token, not
    as much as a whole reply; micro-batches accumulate gradients. Only parameters with ``requires_grad`` train
    (so a LoRA-wrapped model trains its adapters only).
    """
    stop = tokenizer.eos_token_id
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else stop
    rows = []
    for demo in demos:
        completion = list(tokenizer(demo.text, add_special_tokens=False)["input_ids"])[: max_completion_tokens - 1]
        rows.append((encode(demo.messages, demo.tools), [*completion, stop]))
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=learning_rate, weight_decay=0.0)
    order = list(range(len(rows)))
    rng = random.Random(seed)
    history: list[dict[str, Any]] = []
    step = 0
    for epoch in range(epochs):
        rng.shuffle(order)
        for start in range(0, len(order), batch_size):
            began = time.perf_counter()
            batch = [rows[i] for i in order[start : start + batch_size]]
            optimizer.zero_grad(set_to_none=True)
            total, tokens = 0.0, 0
            batch_tokens = sum(len(c) for _, c in batch)
            for m in range(0, len(batch), micro_batch_size):
                micro = batch[m : m + micro_batch_size]
                logp, mask = completion_log_probs(
                    model, [p for p, _ in micro], [c for _, c in micro], pad_id=pad_id, temperature=1.0
                )
                loss = aggregate_loss(-logp, mask, "dapo", num_tokens=batch_tokens)
                loss.backward()
                total += float(loss.detach())
                tokens += int(mask.sum()) + sum(len(p) for p, _ in micro)
            grad_norm = float(torch.nn.utils.clip_grad_norm_(params, 1.0))
            optimizer.step()
            step += 1
            seconds = time.perf_counter() - began
            record = {
                "phase": "sft",
                "sft_step": step,
                "epoch": epoch,
                "loss": total,
                "grad_norm": grad_norm,
                "tokens_per_s": tokens / seconds,
            }
            history.append(record)
            if log is not None:
                log(record)
    return history
