"""The arithmetic of GRPO, as pure functions: rewards per row, group advantages, log-probs, the loss.

Everything the trainer (:mod:`memenv.train.grpo`) and the TRL adapter compute about rewards and losses
lives here, with no model, optimiser or environment in sight, so each piece can be checked by hand
(``tests/test_train_math.py``).

Shapes: a batch holds ``B`` rows (one row = one chunk step of one rollout: a prompt and the completion
the model wrote for it); per-token tensors are ``(B, L)`` over the completion tokens only, right-padded,
with ``mask`` = 1 on tokens the model generated and 0 on padding.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch

LOSS_AGGREGATIONS = ("grpo", "dapo", "dr_grpo")
REWARD_MODES = ("step", "trajectory")


def step_rewards(
    components: Sequence[Mapping[str, float]], beta: float, gamma: float, mode: str = "step"
) -> list[float]:
    """The training reward of every chunk step of one rollout, from the env's ``info["reward_components"]``.

    ``components[t]`` is step t's dict with ``r1_qa``, ``r2_tool_call``, ``r3_compression`` and
    ``r4_content``; the env reports the terminal parts (r1, r3) at the last step only and 0 before.

    - ``mode="step"`` (Mem-α): row t gets ``r1 + r2_t + beta * r3 + gamma * r4_t``, where r1 and r3 are
      the episode's terminal values *broadcast to every step* — the final QA score and the compression
      of the final memory credit every write that built it — while r2_t and r4_t are step t's own.
    - ``mode="trajectory"``: every row gets the same number, the mean of the step rewards above,
      ``r1 + beta * r3 + mean_t(r2_t) + gamma * mean_t(r4_t)`` (one reward per rollout, as in
      single-turn GRPO).

    Returns one float per step, in step order.
    """
    if mode not in REWARD_MODES:
        raise ValueError(f"reward mode must be one of {REWARD_MODES}, got {mode!r}")
    if not components:
        return []
    r1 = components[-1]["r1_qa"]
    r3 = components[-1]["r3_compression"]
    per_step = [r1 + c["r2_tool_call"] + beta * r3 + gamma * c["r4_content"] for c in components]
    if mode == "trajectory":
        mean = sum(per_step) / len(per_step)
        return [mean] * len(per_step)
    return per_step


def group_advantages(
    rewards: torch.Tensor, groups: torch.Tensor, scale: bool = True, eps: float = 1e-6
) -> tuple[torch.Tensor, torch.Tensor]:
    """GRPO advantages: each reward minus its group's mean, divided by the group's std when ``scale``.

    A group is every row of the G rollouts of one episode (``groups[i]`` = the group id of row i), so
    in Mem-α's per-step mode the baseline is the mean over all steps of all G rollouts. The std is the
    unbiased sample std (``torch.std``), 0 for a one-row group. ``scale=False`` is Dr. GRPO (no std
    division). A group whose rewards are all equal gets advantage 0 on every row (and so no gradient).

    Returns ``(advantages, equal)`` where ``equal[i]`` is True when row i's group has all-equal rewards.
    """
    rewards = rewards.to(torch.float64)
    advantages = torch.zeros_like(rewards)
    equal = torch.zeros_like(rewards, dtype=torch.bool)
    for group in torch.unique(groups):
        rows = groups == group
        values = rewards[rows]
        centred = values - values.mean()
        same = bool((values == values[0]).all())
        equal[rows] = same
        if same:
            continue  # exactly 0, not 0/eps noise
        if scale:
            std = values.std() if values.numel() > 1 else torch.zeros((), dtype=values.dtype)
            centred = centred / (std + eps)
        advantages[rows] = centred
    return advantages.to(torch.float32), equal


def token_log_probs(logits: torch.Tensor, tokens: torch.Tensor, temperature: float = 1.0) -> torch.Tensor:
    """log p(token) under ``softmax(logits / temperature)``; ``logits`` (B, L, V) predict ``tokens`` (B, L).

    The temperature must be the one used when sampling, so the ratio compares the distribution that
    actually produced the tokens.
    """
    if temperature <= 0:
        raise ValueError(f"temperature must be > 0 for log-probs, got {temperature}")
    logp = torch.log_softmax(logits.float() / temperature, dim=-1)
    return logp.gather(-1, tokens.unsqueeze(-1)).squeeze(-1)


def clipped_objective(
    logp: torch.Tensor,
    old_logp: torch.Tensor,
    advantages: torch.Tensor,
    clip_low: float = 0.2,
    clip_high: float | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """PPO's clipped surrogate, per token, as a loss (to minimise).

    ``ratio = exp(logp - old_logp)``; the loss is ``-min(ratio * A, clip(ratio, 1 - clip_low, 1 + clip_high) * A)``
    with ``A`` the row's advantage broadcast over its tokens. ``clip_high`` defaults to ``clip_low``;
    a larger ``clip_high`` is DAPO's asymmetric "clip-higher".

    Returns ``(loss, clipped)``: per-token loss (B, L) and a bool (B, L) that is True where the clipped
    branch was taken (the token gets no gradient).
    """
    clip_high = clip_low if clip_high is None else clip_high
    adv = advantages.unsqueeze(-1) if advantages.dim() == logp.dim() - 1 else advantages
    ratio = torch.exp(logp - old_logp)
    unclipped = ratio * adv
    clipped_ratio = torch.clamp(ratio, 1.0 - clip_low, 1.0 + clip_high)
    clipped = clipped_ratio * adv
    loss = -torch.minimum(unclipped, clipped)
    return loss, clipped < unclipped


def k3_kl(logp: torch.Tensor, ref_logp: torch.Tensor) -> torch.Tensor:
    """Schulman's k3 estimator of KL(policy || reference), per token: ``exp(r) - r - 1`` with ``r = ref - logp``.

    Non-negative, 0 where the two agree, unbiased for the KL when tokens are sampled from the policy.
    """
    delta = ref_logp - logp
    return torch.exp(delta) - delta - 1.0


def aggregate_loss(
    per_token: torch.Tensor,
    mask: torch.Tensor,
    mode: str = "grpo",
    max_completion_length: int | None = None,
    num_sequences: int | None = None,
    num_tokens: float | None = None,
) -> torch.Tensor:
    """Reduce a per-token loss (B, L) to a scalar, counting only tokens where ``mask`` is 1.

    - ``"grpo"``: mean over each sequence's tokens, then mean over sequences.
    - ``"dapo"``: sum over all tokens / number of tokens (long completions weigh more).
    - ``"dr_grpo"``: sum over all tokens / (sequences × ``max_completion_length``), a constant, so
      neither the sequence length nor the batch's token count biases the gradient.

    For gradient accumulation pass the whole minibatch's ``num_sequences`` (and, for ``dapo``,
    ``num_tokens``): then the micro-batch losses add up to the minibatch loss exactly. A sequence with
    no unmasked token counts for 0 in ``grpo``.
    """
    if mode not in LOSS_AGGREGATIONS:
        raise ValueError(f"loss aggregation must be one of {LOSS_AGGREGATIONS}, got {mode!r}")
    mask = mask.to(per_token.dtype)
    masked = per_token * mask
    sequences = per_token.shape[0] if num_sequences is None else num_sequences
    if mode == "grpo":
        lengths = mask.sum(-1).clamp(min=1.0)
        return (masked.sum(-1) / lengths).sum() / sequences
    if mode == "dapo":
        tokens = mask.sum() if num_tokens is None else num_tokens
        return masked.sum() / max(float(tokens), 1.0)
    if max_completion_length is None or max_completion_length <= 0:
        raise ValueError("dr_grpo needs max_completion_length > 0")
    return masked.sum() / (sequences * max_completion_length)
