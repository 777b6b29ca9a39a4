"""Playing memenv episodes with a local causal LM and keeping what a trainer needs: exact token ids.

One *row* is one chunk step of one rollout: the prompt the env asked (``info["messages"]``, rendered
with the model's chat template) and the completion the model wrote, both as the token ids that were
actually fed to and sampled from the model. The completion is decoded only to hand the env its text
action; the ids are never re-derived from decoded text (decode → encode is not the identity for most
BPE tokenizers, and a mismatch would train on tokens the model never produced).

:func:`play` runs many rollouts in lock-step — every env that still has a chunk to read contributes
one prompt to a batched ``generate`` call per step — so the G rollouts of a group (same seed, same
episode) share each forward pass.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import gymnasium as gym
import torch

import memenv  # noqa: F401  (registers the environments)
from memenv.llm.hf import left_padded, stop_token_ids
from memenv.tasks import Episode
from memenv.train.losses import token_log_probs


@dataclass
class Row:
    """One chunk step of one rollout, as trained on."""

    group: int  # which episode (all G rollouts of an episode share a group)
    rollout: int  # index of the rollout within the whole batch
    step: int
    prompt_ids: list[int]
    completion_ids: list[int]  # sampled ids, the stop token included when the model emitted one
    components: dict[str, float]  # info["reward_components"] of this step
    truncated: bool = False  # hit max_new_tokens without a stop token
    sampling_logprobs: list[float] | None = None  # per completion token, when the sampler reports them
    reward: float = 0.0  # filled by the trainer (memenv.train.losses.step_rewards)
    advantage: float = 0.0


@dataclass
class Rollout:
    """One episode played by the model."""

    seed: int
    group: int
    rows: list[Row] = field(default_factory=list)
    accuracy: float = 0.0  # info["qa"]["accuracy"] at the end
    memory_tokens: int = 0
    calls: int = 0  # tool calls parsed out of the completions
    calls_ok: int = 0  # of which executed
    texts: list[str] = field(default_factory=list)  # decoded completions, for logs

    @property
    def components(self) -> list[dict[str, float]]:
        return [row.components for row in self.rows]


class PromptEncoder:
    """Turns ``info["messages"]`` (+ ``info["tools"]``) into prompt token ids with the model's chat template.

    ``render`` is a function ``(messages, tools) -> str`` — normally
    :meth:`memenv.llm.HFChatModel.render_prompt`, which writes the tool schemas into the system message
    when the template has no place for them. ``include_tools=False`` leaves the schemas out (memenv's
    system prompts already describe the tools and the call format, and the schemas cost hundreds of
    tokens per step).
    """

    def __init__(self, tokenizer: Any, render: Callable[[list[dict], list[dict] | None], str], include_tools: bool):
        self.tokenizer = tokenizer
        self.render = render
        self.include_tools = include_tools

    def __call__(self, messages: list[dict], tools: list[dict] | None) -> list[int]:
        text = self.render(messages, tools if self.include_tools else None)
        # The chat template already wrote any BOS/control tokens.
        return list(self.tokenizer(text, add_special_tokens=False)["input_ids"])


@torch.no_grad()
def sample(
    model: Any,
    prompts: Sequence[Sequence[int]],
    *,
    pad_id: int,
    stop_ids: Sequence[int],
    max_new_tokens: int,
    temperature: float,
    logprobs: list[list[float]] | None = None,
) -> list[tuple[list[int], bool]]:
    """Sample a completion for each prompt (left-padded batch); ``temperature == 0`` is greedy.

    Pure temperature sampling: top-k and top-p are switched off, so the sampling distribution is
    exactly ``softmax(logits / temperature)``, the one the trainer's log-probs use. Returns
    ``(ids, truncated)`` per prompt: ids up to and including the first stop token (or
    ``max_new_tokens`` ids and ``truncated=True`` when none came). If a list is passed as
    ``logprobs``, the sampling log-prob of every returned token is appended to it, one list per prompt
    (from the scores ``generate`` sampled from, i.e. after the temperature).
    """
    if not prompts:
        return []
    device = next(model.parameters()).device
    input_ids, attention = left_padded(prompts, pad_id)
    width = input_ids.shape[1]
    options: dict[str, Any] = {
        "max_new_tokens": max_new_tokens,
        "pad_token_id": pad_id,
        "eos_token_id": list(stop_ids),
        "top_k": None,
        "top_p": None,
    }
    if temperature > 0:
        options.update(do_sample=True, temperature=temperature, top_k=0, top_p=1.0)
    else:
        options.update(do_sample=False, temperature=None)
    if logprobs is not None:
        options.update(output_scores=True, return_dict_in_generate=True)
    output = model.generate(input_ids=input_ids.to(device), attention_mask=attention.to(device), **options)
    sequences = output.sequences if logprobs is not None else output
    new = sequences[:, width:]
    results = []
    stops = set(stop_ids)
    for row in new.tolist():
        for j, token in enumerate(row):
            if token in stops:
                results.append((row[: j + 1], False))
                break
        else:
            results.append((row, True))
    if logprobs is not None:
        scores = torch.stack(output.scores, dim=1).float().log_softmax(-1)  # (B, new, V)
        picked = scores.gather(-1, new.unsqueeze(-1)).squeeze(-1)
        for i, (ids, _) in enumerate(results):
            logprobs.append(picked[i, : len(ids)].tolist())
    return results


Sampler = Callable[[list[list[int]]], list[tuple[list[int], bool, list[float] | None]]]
"""Generates for a batch of prompt ids: ``(completion_ids, truncated, sampling_logprobs or None)`` each."""


def play(
    model: Any,
    tokenizer: Any,
    encode: PromptEncoder,
    make_env: Callable[[], gym.Env],
    seeds: Sequence[int],
    *,
    group_size: int,
    max_new_tokens: int,
    temperature: float,
    batch_size: int = 16,
    sampler: Sampler | None = None,
    episodes: Sequence[Episode] | None = None,
    lockstep_steps: int | None = None,
) -> list[Rollout]:
    """Play ``group_size`` rollouts of each seed's episode; rollout ``g * group_size + k`` belongs to group g.

    Every env is reset with its group's seed, so the G rollouts of a group read the same episode and
    differ only in what the model samples. With ``episodes`` (a dataset's episode list) a seed is a row
    index instead: the group plays ``episodes[seed]`` (reset with ``options={"episode": ...}``), so a
    caller walks a dataset by row rather than drawing rows at random. Steps run in lock-step: at each
    step the prompts of all unfinished rollouts are generated in batches of ``batch_size``, by
    :func:`sample` on ``model`` or by ``sampler`` when given (e.g. a vLLM server).

    ``lockstep_steps`` makes the generate calls independent of the episodes' lengths, as distributed
    generation needs (a vLLM server-mode ``generate`` or a ZeRO-3 forward is a collective: every rank
    must make the same number of calls with the same number of prompts): exactly ``lockstep_steps``
    steps run, and at every step every rollout contributes a prompt — a finished rollout a filler
    (its last prompt's final token) whose completion is thrown away. An episode longer than
    ``lockstep_steps`` chunks raises ``ValueError``.
    """
    if episodes is not None:
        bad = [s for s in seeds if not 0 <= int(s) < len(episodes)]
        if bad:
            raise ValueError(f"with episodes=, seeds are row indices in [0, {len(episodes)}); got {bad[:3]}")
    stop_ids = stop_token_ids(model, tokenizer)
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else stop_ids[0]
    rollouts: list[Rollout] = []
    envs: list[gym.Env] = []
    infos: list[dict[str, Any]] = []
    for group, seed in enumerate(seeds):
        for _ in range(group_size):
            env = make_env()
            options = {"episode": episodes[int(seed)]} if episodes is not None else None
            _, info = env.reset(seed=int(seed), options=options)
            if lockstep_steps is not None and info["num_chunks"] > lockstep_steps:
                env.close()
                for opened in envs:
                    opened.close()
                raise ValueError(
                    f"episode {info['episode_id']!r} (seed {seed}) has {info['num_chunks']} chunks, more than "
                    f"lockstep_steps={lockstep_steps}"
                )
            envs.append(env)
            infos.append(info)
            rollouts.append(Rollout(seed=int(seed), group=group))
    active = list(range(len(envs)))
    last_prompt: dict[int, list[int]] = {}
    step = 0
    try:
        while active or (lockstep_steps is not None and step < lockstep_steps):
            prompts = [encode(infos[i]["messages"], infos[i]["tools"]) for i in active]
            for i, prompt in zip(active, prompts, strict=True):
                last_prompt[i] = prompt
            if lockstep_steps is not None:
                # Finished rollouts keep their seat with a one-token filler, so every step has one prompt per
                # rollout and the same generate calls happen whatever the episodes' lengths.
                running = set(active)
                done = [i for i in range(len(envs)) if i not in running]
                prompts = prompts + [last_prompt[i][-1:] for i in done]
            samples: list[tuple[list[int], bool, list[float] | None]] = []
            for start in range(0, len(prompts), batch_size):
                chunk = prompts[start : start + batch_size]
                if sampler is not None:
                    samples.extend(sampler(chunk))
                    continue
                batch = sample(
                    model,
                    chunk,
                    pad_id=pad_id,
                    stop_ids=stop_ids,
                    max_new_tokens=max_new_tokens,
                    temperature=temperature,
                )
                samples.extend((ids, truncated, None) for ids, truncated in batch)
            still = []
            n = len(active)  # the fillers' completions (after the active ones) are dropped
            for i, prompt, (ids, truncated, logprobs) in zip(active, prompts[:n], samples[:n], strict=True):
                text = tokenizer.decode(ids, skip_special_tokens=True)
                _, _, terminated, trunc, info = envs[i].step(text)
                rollout = rollouts[i]
                rollout.rows.append(
                    Row(rollout.group, i, step, prompt, ids, dict(info["reward_components"]), truncated, logprobs)
                )
                rollout.texts.append(text)
                rollout.calls += len(info["tool_results"])
                rollout.calls_ok += sum(bool(r["ok"]) for r in info["tool_results"])
                infos[i] = info
                if terminated or trunc:
                    rollout.accuracy = float(info.get("qa", {}).get("accuracy", 0.0))
                    rollout.memory_tokens = int(info.get("memory_tokens", 0))
                else:
                    still.append(i)
            active = still
            step += 1
    finally:
        for env in envs:
            env.close()
    return rollouts


def completion_log_probs(
    model: Any,
    prompts: Sequence[Sequence[int]],
    completions: Sequence[Sequence[int]],
    *,
    pad_id: int,
    temperature: float = 1.0,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-token log-probs of each completion given its prompt, in one forward pass.

    The batch is laid out as ``[pad… prompt | completion …pad]``: prompts left-padded so every
    completion starts in the same column, completions right-padded. Position ids count real tokens
    only, so each row is scored exactly as if it were alone, and only the completion columns' logits
    are computed (``logits_to_keep``), which matters with 50k-token vocabularies.

    Returns ``(logp, mask)``, both (B, L) with L the longest completion; ``mask`` is 1 on completion
    tokens and 0 on padding — prompt tokens never enter the loss.
    """
    device = next(model.parameters()).device
    p_width = max(len(p) for p in prompts)
    c_width = max(max(len(c) for c in completions), 1)
    batch = len(prompts)
    input_ids = torch.full((batch, p_width + c_width), pad_id, dtype=torch.long)
    attention = torch.zeros((batch, p_width + c_width), dtype=torch.long)
    mask = torch.zeros((batch, c_width), dtype=torch.float32)
    for i, (prompt, completion) in enumerate(zip(prompts, completions, strict=True)):
        input_ids[i, p_width - len(prompt) : p_width] = torch.tensor(prompt, dtype=torch.long)
        attention[i, p_width - len(prompt) : p_width] = 1
        if completion:
            input_ids[i, p_width : p_width + len(completion)] = torch.tensor(completion, dtype=torch.long)
            attention[i, p_width : p_width + len(completion)] = 1
            mask[i, : len(completion)] = 1.0
    positions = (attention.cumsum(-1) - 1).clamp(min=0)
    output = model(
        input_ids=input_ids.to(device),
        attention_mask=attention.to(device),
        position_ids=positions.to(device),
        logits_to_keep=c_width + 1,
        use_cache=False,
    )
    # The logit at column k predicts the token at k + 1: keep those that predict completion tokens.
    logits = output.logits[:, :-1, :]
    targets = input_ids[:, p_width:].to(device)
    return token_log_probs(logits, targets, temperature), mask.to(device)
