"""The GRPO trainer end to end on a tiny random model: two steps, a checkpoint, an exact resume; SFT; the CLI."""

from __future__ import annotations

import json
import shutil

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from memenv.llm import HFChatModel, build_tiny_model  # noqa: E402
from memenv.train import GRPOConfig, train  # noqa: E402
from memenv.train.__main__ import main  # noqa: E402
from memenv.train.grpo import env_factory  # noqa: E402
from memenv.train.rollout import PromptEncoder, completion_log_probs  # noqa: E402
from memenv.train.sft import collect_demonstrations, heuristic_policy, train_sft  # noqa: E402

# Two chunks per episode and short completions keep a step to a few seconds on two CPU cores.
SMALL = {"context_tokens": 128, "chunk_tokens": 64, "num_questions": 2, "max_new_tokens": 8}
TIMING = {"rollout_seconds", "update_seconds", "generate_tokens_per_s", "train_tokens_per_s", "tokens_per_s"}


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    # Tiny matrices: a second thread buys nothing, and on a busy machine thread hand-offs dominate.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return build_tiny_model(tmp_path_factory.mktemp("tiny"), hidden_size=64, num_layers=1, seed=0)


def count_reward(rollout):
    """A reward the random tiny model's samples actually vary on: the share of even token ids."""
    return [sum(t % 2 == 0 for t in row.completion_ids) / max(len(row.completion_ids), 1) for row in rollout.rows]


def test_completion_log_probs_do_not_depend_on_padding(tiny):
    chat = HFChatModel(tiny)
    prompts, completions = [[5, 6, 7, 8, 9], [10, 11]], [[12, 13], [14, 15, 16, 17]]
    batched, mask = completion_log_probs(chat.model, prompts, completions, pad_id=chat.tokenizer.pad_token_id)
    assert mask.tolist() == [[1, 1, 0, 0], [1, 1, 1, 1]]
    for i in range(2):
        alone, _ = completion_log_probs(chat.model, [prompts[i]], [completions[i]], pad_id=0)
        assert torch.allclose(batched[i, : len(completions[i])], alone[0], atol=1e-5)
    # The same numbers straight from the model, without padding: log_softmax of the logit before each token.
    ids = torch.tensor([prompts[1] + completions[1]])
    logits = chat.model(input_ids=ids).logits[0, 1:-1]
    direct = torch.log_softmax(logits, -1).gather(-1, ids[0, 2:].unsqueeze(-1)).squeeze(-1)
    assert torch.allclose(batched[1], direct, atol=1e-5)


def test_two_steps_checkpoint_and_exact_resume(tiny, tmp_path):
    config = GRPOConfig(
        output_dir=str(tmp_path / "full"),
        model=str(tiny),
        total_steps=2,
        episodes_per_step=1,
        group_size=2,
        checkpoint_every=1,
        learning_rate=1e-2,
        update_epochs=2,  # several optimiser steps per batch: exercises the frozen old log-probs
        micro_batch_size=2,
        kl_coef=0.05,
        progress=False,
        save_model=False,
        **SMALL,
    )
    records = train(config, reward_fn=count_reward)
    steps = [r for r in records if r.get("phase") == "train"]
    assert [r["step"] for r in steps] == [1, 2]
    assert steps[0]["equal_group_share"] == 0.0 and steps[0]["optimizer_steps"] == 2
    assert steps[1]["kl"] > 0.0  # the policy has moved away from the reference
    assert (tmp_path / "full" / "log.csv").read_text().count("\n") == 3

    # Resume from the step-1 checkpoint in a copy of the run and replay step 2.
    shutil.copytree(tmp_path / "full", tmp_path / "resumed")
    config.output_dir = str(tmp_path / "resumed")
    config.resume = str(tmp_path / "resumed" / "checkpoints" / "step_000001")
    resumed = [r for r in train(config, reward_fn=count_reward) if r.get("phase") == "train"]
    assert [r["step"] for r in resumed] == [1, 2]
    for key, value in steps[1].items():
        if key not in TIMING:
            assert resumed[1][key] == value, key
    lines = (tmp_path / "resumed" / "log.jsonl").read_text().splitlines()
    assert [json.loads(line)["step"] for line in lines] == [1, 2]


def test_sft_clones_the_heuristic(tiny):
    chat = HFChatModel(tiny)
    make_env = env_factory(GRPOConfig(**{k: v for k, v in SMALL.items() if k != "max_new_tokens"}))
    demos = collect_demonstrations(make_env, heuristic_policy("MemAlpha-v0", "baselines.systems:store_all"), [3])
    assert len(demos) == 3 and demos[0].text.startswith("<tool_call>")
    encode = PromptEncoder(chat.tokenizer, chat.render_prompt, include_tools=False)
    history = train_sft(
        chat.model,
        chat.tokenizer,
        encode,
        demos * 2,
        epochs=3,
        learning_rate=3e-3,
        batch_size=4,
        max_completion_tokens=24,
    )
    assert len(history) == 6  # 6 demonstrations in batches of 4, three epochs
    assert history[-1]["loss"] < 0.7 * history[0]["loss"]


def test_cli_runs_one_step(tiny, tmp_path, capsys):
    argv = ["--model", str(tiny), "--output-dir", str(tmp_path), "--total-steps", "1", "--group-size", "2"]
    argv += ["--episodes-per-step", "1", "--progress", "false", "--eval-episodes", "1", "--loss-aggregation", "dr_grpo"]
    for key, value in SMALL.items():
        argv += [f"--{key.replace('_', '-')}", str(value)]
    argv += ["--report-to", "tensorboard", "--enable-thinking", "false"]
    assert main(argv) == 0
    evals = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [e["step"] for e in evals] == [0, 1] and evals[0]["eval_accuracy"] == 0.0
    assert (tmp_path / "final" / "config.json").exists()
    saved = json.loads((tmp_path / "config.json").read_text())
    assert (saved["loss_aggregation"], saved["enable_thinking"], saved["report_to"]) == (
        "dr_grpo",
        False,
        ["tensorboard"],
    )
    # the same records went to TensorBoard as scalars PHASE/FIELD at their step
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(tmp_path / "tensorboard"))
    events.Reload()
    tags = events.Tags()["scalars"]
    assert "train/reward" in tags, tags  # the step's mean reward (the record field "reward")
    assert [e.step for e in events.Scalars("eval/eval_accuracy")] == [0, 1]
    logged = [json.loads(line) for line in (tmp_path / "log.jsonl").read_text().splitlines()]
    train_record = next(r for r in logged if r.get("phase", "train") == "train")
    some = next(k for k, v in train_record.items() if k not in ("step", "phase") and isinstance(v, float))
    assert events.Scalars(f"train/{some}")[0].value == pytest.approx(train_record[some], rel=1e-6)


def test_episode_plan_keeps_training_held_out_and_sft_episodes_apart(tmp_path):
    import dataclasses

    from memenv.tasks import generate, save_memalpha
    from memenv.train.grpo import EVAL_SEED_OFFSET, EpisodePlan

    # Generated episodes: three disjoint seed ranges; a seed whose training range reaches the held-out range fails.
    plan = EpisodePlan(GRPOConfig(seed=3, total_steps=5, episodes_per_step=2, eval_episodes=4, sft_episodes=3))
    train_seeds = plan.train_seeds(0, 10)
    assert train_seeds == list(range(300_000, 300_010)) and plan.train_seeds(4, 2) == [300_004, 300_005]
    assert plan.eval_seeds() == [EVAL_SEED_OFFSET + i for i in range(4)]
    assert not set(train_seeds) & set(plan.eval_seeds()) and not set(plan.sft_seeds()) & set(train_seeds)
    with pytest.raises(ValueError, match="would reach the held-out seeds"):
        GRPOConfig(seed=10, eval_episodes=20)

    # A dataset: the last eval_episodes rows are held out; training walks the others by row, each once per epoch.
    base = generate("accurate_retrieval", seed=0, context_tokens=128, chunk_tokens=64, num_questions=2)
    episodes = [dataclasses.replace(base, id=f"row-{i}") for i in range(20)]
    path = save_memalpha(episodes, tmp_path / "data.parquet")
    kwargs = json.dumps({"dataset": str(path), "source": "memalpha"})
    config = GRPOConfig(seed=1, eval_episodes=5, sft_episodes=4, env_kwargs=kwargs)
    plan = EpisodePlan(config)
    assert plan.eval_seeds() == [15, 16, 17, 18, 19]
    epoch0, epoch1 = plan.train_seeds(0, 15), plan.train_seeds(15, 15)
    assert sorted(epoch0) == sorted(epoch1) == list(range(15)) and epoch0 != epoch1
    assert plan.train_seeds(3, 4) == epoch0[3:7]  # a resumed cursor continues the same order
    assert set(plan.sft_seeds()) <= set(range(15)) and len(plan.sft_seeds()) == 4
    assert [plan.episodes[i].id for i in plan.eval_seeds()] == [f"row-{i}" for i in range(15, 20)]
    # The env the trainer builds does not read the file (the plan did, once).
    env = env_factory(config)()
    assert env.unwrapped.episodes is None
    env.close()
    with pytest.raises(ValueError, match="leaves no training row"):
        EpisodePlan(GRPOConfig(eval_episodes=20, env_kwargs=kwargs))
    with pytest.raises(ValueError, match="needs source="):
        EpisodePlan(GRPOConfig(env_kwargs=json.dumps({"dataset": str(path)})))
