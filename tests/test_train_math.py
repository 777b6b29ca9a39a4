"""The GRPO arithmetic of memenv.train.losses, on values computed by hand."""

from __future__ import annotations

import math

import pytest

torch = pytest.importorskip("torch")

from memenv.train.losses import (  # noqa: E402
    aggregate_loss,
    clipped_objective,
    group_advantages,
    k3_kl,
    step_rewards,
    token_log_probs,
)

STEPS = [
    {"r1_qa": 0.0, "r2_tool_call": 1.0, "r3_compression": 0.0, "r4_content": 0.5},
    {"r1_qa": 0.75, "r2_tool_call": 0.5, "r3_compression": 0.6, "r4_content": 1.0},
]


def test_step_rewards_broadcast_terminal_parts_to_every_step():
    # r_t = r1 + r2_t + 0.05 * r3 + 0.1 * r4_t with r1 = 0.75, r3 = 0.6 taken from the last step.
    assert step_rewards(STEPS, 0.05, 0.1) == pytest.approx([0.75 + 1.0 + 0.03 + 0.05, 0.75 + 0.5 + 0.03 + 0.1])


def test_trajectory_rewards_are_the_mean_step_reward_on_every_row():
    assert step_rewards(STEPS, 0.05, 0.1, mode="trajectory") == pytest.approx([1.605, 1.605])
    with pytest.raises(ValueError, match="reward mode"):
        step_rewards(STEPS, 0.05, 0.1, mode="episode")
    assert step_rewards([], 0.05, 0.1) == []


def test_group_advantages_normalise_within_each_group():
    rewards = torch.tensor([1.0, 2.0, 3.0, 4.0, 2.0, 2.0])
    groups = torch.tensor([0, 0, 1, 1, 2, 2])
    advantages, equal = group_advantages(rewards, groups)
    # Group 0: mean 1.5, unbiased std sqrt(0.5) -> -+0.5 / 0.70711 = -+0.70711; group 2 all equal -> 0.
    expected = [-0.5 / math.sqrt(0.5), 0.5 / math.sqrt(0.5)] * 2 + [0.0, 0.0]
    assert advantages.tolist() == pytest.approx(expected, abs=1e-5)
    assert equal.tolist() == [False, False, False, False, True, True]


def test_dr_grpo_advantages_skip_the_std_division():
    advantages, _ = group_advantages(torch.tensor([1.0, 2.0, 6.0]), torch.tensor([0, 0, 0]), scale=False)
    assert advantages.tolist() == pytest.approx([-2.0, -1.0, 3.0])


def test_all_equal_and_single_row_groups_get_exactly_zero():
    advantages, equal = group_advantages(torch.tensor([0.3, 0.3, 0.3, 5.0]), torch.tensor([7, 7, 7, 9]))
    assert advantages.tolist() == [0.0, 0.0, 0.0, 0.0]
    assert equal.all()


def test_token_log_probs_use_temperature_scaled_logits():
    logits = torch.tensor([[[0.0, math.log(3.0)]]])  # one position, two-token vocabulary
    tokens = torch.tensor([[1]])
    assert token_log_probs(logits, tokens).item() == pytest.approx(math.log(0.75))
    # T = 2: softmax([0, ln3 / 2]) -> sqrt(3) / (1 + sqrt(3)).
    expected = math.log(math.sqrt(3) / (1 + math.sqrt(3)))
    assert token_log_probs(logits, tokens, temperature=2.0).item() == pytest.approx(expected)
    with pytest.raises(ValueError):
        token_log_probs(logits, tokens, temperature=0.0)


def test_clipped_objective_takes_the_pessimistic_branch():
    old = torch.zeros(1, 4)
    ratios = torch.tensor([[1.5, 1.5, 0.5, 1.1]])
    advantages = torch.tensor([1.0])
    loss, clipped = clipped_objective(torch.log(ratios), old, advantages, clip_low=0.2)
    # A = +1: min(1.5, 1.2) = 1.2 (clipped); min(0.5, 0.8) = 0.5 (not clipped); 1.1 inside.
    assert loss.flatten().tolist() == pytest.approx([-1.2, -1.2, -0.5, -1.1])
    assert clipped.tolist() == [[True, True, False, False]]
    loss, clipped = clipped_objective(torch.log(ratios), old, torch.tensor([-1.0]), clip_low=0.2)
    # A = -1: min(-1.5, -1.2) = -1.5 (not clipped); min(-0.5, -0.8) = -0.8 (clipped).
    assert loss.flatten().tolist() == pytest.approx([1.5, 1.5, 0.8, 1.1])
    assert clipped.tolist() == [[False, False, True, False]]


def test_asymmetric_clip_raises_only_the_ceiling():
    logp = torch.log(torch.tensor([[1.25, 0.75]]))
    old = torch.zeros(1, 2)
    symmetric, _ = clipped_objective(logp, old, torch.tensor([1.0]), clip_low=0.2)
    higher, clipped = clipped_objective(logp, old, torch.tensor([1.0]), clip_low=0.2, clip_high=0.28)
    assert symmetric.flatten().tolist() == pytest.approx([-1.2, -0.75])
    assert higher.flatten().tolist() == pytest.approx([-1.25, -0.75])
    assert clipped.tolist() == [[False, False]]
    low, clipped_low = clipped_objective(logp, old, torch.tensor([-1.0]), clip_low=0.2, clip_high=0.28)
    assert low.flatten().tolist() == pytest.approx([1.25, 0.8])  # the floor stays at 1 - 0.2
    assert clipped_low.tolist() == [[False, True]]


def test_clipped_tokens_get_no_gradient():
    logp = torch.log(torch.tensor([[1.5, 1.1]])).requires_grad_()
    loss, _ = clipped_objective(logp, torch.zeros(1, 2), torch.tensor([1.0]))
    loss.sum().backward()
    assert logp.grad.flatten().tolist() == pytest.approx([0.0, -1.1])  # d(-ratio)/dlogp = -ratio where unclipped


def test_k3_kl_by_hand():
    kl = k3_kl(torch.log(torch.tensor([0.5, 0.3])), torch.log(torch.tensor([0.25, 0.3])))
    # r = ln(0.25 / 0.5) = -ln 2: exp(r) - r - 1 = 0.5 + ln 2 - 1; equal log-probs give 0.
    assert kl.tolist() == pytest.approx([0.5 + math.log(2) - 1, 0.0])


PER_TOKEN = torch.tensor([[1.0, 2.0, 3.0], [4.0, 100.0, 100.0]])
MASK = torch.tensor([[1.0, 1.0, 1.0], [1.0, 0.0, 0.0]])


@pytest.mark.parametrize(
    ("mode", "expected"),
    [
        ("grpo", (6 / 3 + 4 / 1) / 2),  # mean per sequence, then over sequences
        ("dapo", 10 / 4),  # all tokens / token count
        ("dr_grpo", 10 / (2 * 8)),  # all tokens / (sequences x max_completion_length=8)
    ],
)
def test_loss_aggregations_count_only_unmasked_tokens(mode, expected):
    assert aggregate_loss(PER_TOKEN, MASK, mode, max_completion_length=8).item() == pytest.approx(expected)


@pytest.mark.parametrize("mode", ["grpo", "dapo", "dr_grpo"])
def test_micro_batch_losses_sum_to_the_minibatch_loss(mode):
    full = aggregate_loss(PER_TOKEN, MASK, mode, max_completion_length=8)
    parts = sum(
        aggregate_loss(PER_TOKEN[i : i + 1], MASK[i : i + 1], mode, 8, num_sequences=2, num_tokens=4.0)
        for i in range(2)
    )
    assert float(parts) == pytest.approx(float(full))


def test_aggregation_rejects_unknown_modes_and_needs_a_length_for_dr_grpo():
    with pytest.raises(ValueError, match="loss aggregation"):
        aggregate_loss(PER_TOKEN, MASK, "sum")
    with pytest.raises(ValueError, match="max_completion_length"):
        aggregate_loss(PER_TOKEN, MASK, "dr_grpo")
