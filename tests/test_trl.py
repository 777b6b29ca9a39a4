"""memenv.integrations.trl: one TRL GRPOTrainer step on memenv episodes, on a tiny random model."""

from __future__ import annotations

import copy
import importlib
import os

import pytest

if "trl" in os.environ.get("MEMENV_REQUIRE", "").split(","):  # make test: a missing TRL is a failure
    importlib.import_module("trl")
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


# -- multi-process safety, datasets, chat template options (no trainer needed) ---------------------


@pytest.fixture(scope="module")
def tiny_tokenizer(tmp_path_factory):
    from transformers import AutoTokenizer

    path = build_tiny_model(tmp_path_factory.mktemp("tok") / "tiny", hidden_size=32, num_layers=1)
    return AutoTokenizer.from_pretrained(path)


def _episodes(chunk_counts: list[int]) -> list:
    """Episodes with the given chunk counts (a generated episode's first chunks, each its own id)."""
    import dataclasses

    from memenv.tasks import generate

    base = generate("accurate_retrieval", seed=0, context_tokens=512, chunk_tokens=64, num_questions=2)
    return [dataclasses.replace(base, id=f"cut-{i}", chunks=base.chunks[:n]) for i, n in enumerate(chunk_counts)]


def test_lockstep_play_makes_identical_generate_calls_whatever_the_episode_lengths(tiny_tokenizer):
    """Two "ranks" whose episodes have 1 and 3 chunks make the same generate calls with the same prompt counts."""
    import gymnasium as gym

    from memenv.integrations.trl import _renderer
    from memenv.train.rollout import PromptEncoder, play

    episodes = _episodes([1, 3, 2, 3])
    encode = PromptEncoder(tiny_tokenizer, _renderer(tiny_tokenizer), include_tools=False)
    reply = tiny_tokenizer("hello<|im_end|>", add_special_tokens=False)["input_ids"]

    def run(rows: list[int], lockstep: int | None) -> tuple[list[int], list]:
        calls: list[int] = []

        def sampler(prompts):
            calls.append(len(prompts))
            return [(list(reply), False, [-1.0] * len(reply)) for _ in prompts]

        rollouts = play(
            None,
            tiny_tokenizer,
            encode,
            lambda: gym.make("MemAlpha-v0"),
            rows,
            group_size=2,
            max_new_tokens=8,
            temperature=1.0,
            batch_size=3,
            sampler=sampler,
            episodes=episodes,
            lockstep_steps=lockstep,
        )
        return calls, rollouts

    rank0, rollouts0 = run([0, 1], lockstep=3)  # episodes of 1 and 3 chunks
    rank1, rollouts1 = run([2, 3], lockstep=3)  # 2 and 3 chunks
    assert rank0 == rank1 == [3, 1] * 3  # 3 steps x 4 prompts in batches of 3
    # Fillers never reach an env: every rollout has exactly its episode's steps, on the right episode.
    assert [len(r.rows) for r in rollouts0] == [1, 1, 3, 3]
    assert [len(r.rows) for r in rollouts1] == [2, 2, 3, 3]
    assert [r.seed for r in rollouts0] == [0, 0, 1, 1]
    # Without lockstep the call pattern follows the episodes (what desynchronises vLLM server mode).
    free0, _ = run([0, 1], lockstep=None)
    free1, _ = run([2, 3], lockstep=None)
    assert free0 == [3, 1, 2, 2] and free1 == [3, 1, 3, 1, 2]
    with pytest.raises(ValueError, match="more than lockstep_steps=2"):
        run([1], lockstep=2)
    with pytest.raises(ValueError, match="row indices"):
        run([4], lockstep=3)


def test_dataset_env_loads_once_and_names_episodes_by_row(tmp_path, monkeypatch):
    import memenv.integrations.trl as adapter
    from memenv.tasks import save_memalpha

    episodes = _episodes([2, 3, 1])
    path = save_memalpha(episodes, tmp_path / "train.parquet")
    loads: list[str] = []
    real_load = adapter.load

    def counting_load(*args, **kwargs):
        loads.append(str(args[1]))
        return real_load(*args, **kwargs)

    monkeypatch.setattr(adapter, "load", counting_load)
    rollout = MemenvRollout("MemAlpha-v0", {"dataset": str(path), "source": "memalpha"}, rollouts_per_episode=2)
    assert loads == [str(path)]
    assert rollout.chunks_per_episode == 3 and rollout.num_generations() == 6  # the longest episode
    assert [e.id for e in rollout.episodes] == [e.id for e in episodes]
    dataset = rollout.episode_dataset()
    assert [episode_seed(p) for p in dataset["prompt"]] == [0, 1, 2]  # one row per episode, by row
    assert [episode_seed(p) for p in rollout.episode_dataset(2, seed_offset=1)["prompt"]] == [1, 2]
    with pytest.raises(ValueError, match="do not fit"):
        rollout.episode_dataset(3, seed_offset=1)
    with pytest.raises(ValueError, match="needs source="):
        MemenvRollout("MemAlpha-v0", {"dataset": str(path)})
    # Building envs never touches the file again (gym.make gets no dataset= and no episode list).
    for _ in range(3):
        rollout.make_env().close()
    assert loads == [str(path)]


def test_chat_template_kwargs_reach_the_prompt(tiny_tokenizer):
    from memenv.integrations.trl import _renderer

    tokenizer = copy.copy(tiny_tokenizer)
    tokenizer.chat_template = (
        "{% for m in messages %}{{ m['content'] }}\n{% endfor %}"
        "{% if enable_thinking is defined and not enable_thinking %}<think></think>{% endif %}"
    )
    messages = [{"role": "user", "content": "chunk"}]
    assert _renderer(tokenizer)(messages, None) == "chunk\n"
    assert _renderer(tokenizer, {"enable_thinking": False})(messages, None) == "chunk\n<think></think>"


def test_example_flags_reach_the_trainer(tmp_path):
    """examples/trl_grpo.py: dataset, LoRA, batch sizes and chat_template_kwargs flags build the trainer."""
    import runpy
    from pathlib import Path

    from memenv.tasks import save_memalpha

    example = runpy.run_path(str(Path(__file__).resolve().parents[1] / "examples" / "trl_grpo.py"))
    data = save_memalpha(_episodes([2, 3]), tmp_path / "train.parquet")
    common = ["--model", "tiny", "--output-dir", str(tmp_path / "out"), "--dataset", str(data)]
    args = example["parser"]().parse_args(
        [*common, "--lora-r", "4", "--per-device-train-batch-size", "12", "--enable-thinking", "false"]
    )
    trainer = example["build"](args)
    assert trainer.args.num_generations == 6  # G=2 x the longest episode's 3 chunks
    assert trainer.args.per_device_train_batch_size == 12
    assert trainer.chat_template_kwargs == {"enable_thinking": False}
    assert len(trainer.train_dataset) == 2  # one row per episode of the dataset
    assert any("lora_" in name for name, _ in trainer.model.named_parameters())
    bad = example["parser"]().parse_args([*common, "--per-device-train-batch-size", "4"])
    with pytest.raises(ValueError, match="whole groups"):
        example["build"](bad)
