"""memenv.integrations.trl: one TRL GRPOTrainer step on memenv episodes, on a tiny random model."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("trl")

from memenv.integrations.trl import MemenvRollout, episode_dataset, episode_seed, memenv_reward  # noqa: E402
from memenv.llm import build_tiny_model  # noqa: E402

ENV_KWARGS = {"task": "accurate_retrieval", "context_tokens": 128, "chunk_tokens": 64, "num_questions": 2}


@pytest.fixture(autouse=True)
def one_thread(monkeypatch):
    monkeypatch.setenv("TRL_EXPERIMENTAL_SILENCE", "1")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def test_episode_prompts_round_trip():
    dataset = episode_dataset(3, seed_offset=40)
    assert [episode_seed(p) for p in dataset["prompt"]] == [40, 41, 42]
    with pytest.raises(ValueError, match="names no episode"):
        episode_seed([{"role": "user", "content": "hello"}])


def test_one_grpo_trainer_step_through_the_adapter(tmp_path):
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl import GRPOConfig, GRPOTrainer

    path = build_tiny_model(tmp_path / "tiny", hidden_size=64, num_layers=1)
    model = AutoModelForCausalLM.from_pretrained(path)
    tokenizer = AutoTokenizer.from_pretrained(path)
    assert MemenvRollout("MemAlpha-v0", ENV_KWARGS, rollouts_per_episode=2).num_generations() == 6  # 3 chunks
    # Plan one chunk more than the episodes have, so each group also carries two padding rows.
    rollout = MemenvRollout("MemAlpha-v0", ENV_KWARGS, rollouts_per_episode=2, chunks_per_episode=4)
    assert rollout.num_generations() == 8

    seen: list[dict] = []

    def even_share(completion_ids, **kwargs):
        # A second reward the random model's samples vary on, so the step has a gradient.
        return [sum(t % 2 == 0 for t in ids) / len(ids) for ids in completion_ids]

    def recorded(prompts, trainer):
        out = rollout(prompts, trainer)
        seen.append(out)
        return out

    args = GRPOConfig(
        output_dir=str(tmp_path / "out"),
        num_generations=rollout.num_generations(),
        per_device_train_batch_size=rollout.num_generations(),
        max_completion_length=8,
        max_steps=1,
        learning_rate=1e-3,
        logging_steps=1,
        report_to="none",
        use_cpu=True,
        save_strategy="no",
        seed=0,
    )
    trainer = GRPOTrainer(
        model=model,
        reward_funcs=[memenv_reward, even_share],
        args=args,
        train_dataset=episode_dataset(4),
        processing_class=tokenizer,
        rollout_func=recorded,
    )
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    trainer.train()

    assert len(seen) == 1
    out = seen[0]
    # One group = 2 rollouts x 3 chunk steps of one episode (each row its own step prompt) + 2 padding rows.
    assert len(out["completion_ids"]) == 8
    assert out["env_mask"][6:] == [[0], [0]] and out["memenv_reward"][6:] == [None, None]
    assert all(mask == [1] * len(ids) for mask, ids in zip(out["env_mask"][:6], out["completion_ids"][:6], strict=True))
    assert all(1 <= len(ids) <= 8 for ids in out["completion_ids"])
    assert [len(lp) for lp in out["logprobs"]] == [len(ids) for ids in out["completion_ids"]]
    assert all(lp <= 0.0 for row in out["logprobs"] for lp in row)
    assert len({tuple(p) for p in out["prompt_ids"]}) >= 3  # step prompts differ (chunk 1, 2, 3)
    # Mem-α's per-step reward: the random model writes nothing, so r1 = 0, r2 = r4 = 0 and r3 = 1 -> 0.05.
    assert out["memenv_reward"][:6] == pytest.approx([0.05] * 6)
    logged = trainer.state.log_history[0]
    assert logged["rewards/memenv_reward/mean"] == pytest.approx(0.05)
    assert logged["memenv/r3_compression"] == pytest.approx(1.0)
    assert logged["frac_reward_zero_std"] == 0.0
    assert any(not torch.equal(before[n], p) for n, p in model.named_parameters())
