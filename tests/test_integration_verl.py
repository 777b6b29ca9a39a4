"""memenv.integrations.verl against verl 0.9.1's real classes, with a scripted token server (no vLLM here).

verl pins transformers below the project's, so these tests run in their own venv (``.venv-verl``, built
by ``make install``); ``make test`` runs them there with ``MEMENV_REQUIRE=verl``, which turns a missing
verl into a failure instead of a skip.
"""

from __future__ import annotations

import importlib
import json
import os
import random
from collections import Counter

import pytest

if "verl" in os.environ.get("MEMENV_REQUIRE", "").split(","):
    importlib.import_module("verl")
else:
    pytest.importorskip("verl")

import gymnasium as gym
import hydra
from omegaconf import OmegaConf
from verl.experimental.agent_loop.agent_loop import (
    AgentLoopOutput,
    AgentLoopWorker,
    DictConfigWrap,
    _agent_loop_registry,
    _InternalAgentLoopOutput,
)
from verl.utils.dataset.rl_dataset import RLHFDataset
from verl.workers.rollout.replica import TokenOutput

from memenv.integrations.verl import (
    AGENT_NAME,
    agent_loop_config,
    build_dataset,
    select_steps,
)
from memenv.llm import build_tiny_model
from memenv.train.losses import step_rewards

ENV_KWARGS = {"task": "accurate_retrieval", "context_tokens": 192, "chunk_tokens": 64, "num_questions": 2}
PROMPT_LENGTH, RESPONSE_LENGTH = 4096, 1024  # the tiny BPE spends many tokens per word
THINKING_TEMPLATE = (
    "{%- for message in messages %}<|im_start|>{{ message['role'] }}\n"
    "{{ message['content'] }}<|im_end|>\n{% endfor %}"
    "{%- if add_generation_prompt %}<|im_start|>assistant\n"
    "{% if enable_thinking is defined and not enable_thinking %}<think>\n\n</think>\n\n{% endif %}{% endif %}"
)


@pytest.fixture(scope="module")
def tokenizer(tmp_path_factory):
    from transformers import AutoTokenizer

    path = build_tiny_model(tmp_path_factory.mktemp("tiny") / "model", hidden_size=32, num_layers=1)
    tok = AutoTokenizer.from_pretrained(path)
    tok.chat_template = THINKING_TEMPLATE
    return tok


def store_chunk_reply(prompt_text: str) -> str:
    """The scripted policy: store the whole chunk (the user message) as one semantic entry."""
    user = prompt_text.split("<|im_start|>user\n", 1)[1].split("<|im_end|>", 1)[0]
    call = {"name": "new_memory_insert", "arguments": {"memory_type": "semantic_memory", "content": user[-600:]}}
    return f"<tool_call>{json.dumps(call)}</tool_call>"


class ScriptedServer:
    """Stands in for verl's ``LLMServerClient``: token ids in, token ids (and log-probs) out."""

    def __init__(self, tokenizer):
        self.tokenizer = tokenizer
        self.calls: list[dict] = []

    async def generate(self, request_id, *, prompt_ids, sampling_params, **kwargs):
        text = store_chunk_reply(self.tokenizer.decode(prompt_ids))
        ids = self.tokenizer(text, add_special_tokens=False)["input_ids"] + [self.tokenizer.eos_token_id]
        self.calls.append({"prompt_ids": list(prompt_ids), "ids": ids, "sampling_params": sampling_params})
        return TokenOutput(token_ids=ids, log_probs=[-0.25] * len(ids), stop_reason="completed")


def make_loop(tokenizer, tmp_path, **options):
    """Instantiate the loop the way verl's AgentLoopWorker does: YAML registry entry + hydra."""
    yaml_path = agent_loop_config(tmp_path / "agent_loops.yaml", **options)
    for entry in OmegaConf.load(yaml_path):
        _agent_loop_registry[entry.name] = entry
    config = OmegaConf.create(
        {
            "actor_rollout_ref": {"rollout": {"prompt_length": PROMPT_LENGTH, "response_length": RESPONSE_LENGTH}},
            "data": {"apply_chat_template_kwargs": {"enable_thinking": False}},
        }
    )
    server = ScriptedServer(tokenizer)
    loop = hydra.utils.instantiate(
        config=_agent_loop_registry[AGENT_NAME],
        trainer_config=DictConfigWrap(config=config),
        server_manager=server,
        tokenizer=tokenizer,
        processor=None,
        dataset_cls=RLHFDataset,
        data_config=DictConfigWrap(config.data),
    )
    return loop, server


def dataset_rows(tokenizer, path):
    """Rows as verl's RLHFDataset hands them to the agent loop."""
    config = OmegaConf.create({"max_prompt_length": PROMPT_LENGTH, "filter_overlong_prompts": False})
    data = RLHFDataset(data_files=[str(path)], tokenizer=tokenizer, config=config)
    return [data[i] for i in range(len(data))]


def replay(seed: int, replies: list[str], env_kwargs=None):
    """The same episode played directly: the messages the env asked and its reward parts."""
    env = gym.make("MemAlpha-v0", **(env_kwargs or ENV_KWARGS))
    _, info = env.reset(seed=seed)
    messages, components = [], []
    for reply in replies:
        messages.append(info["messages"])
        _, _, terminated, _, info = env.step(reply)
        components.append(info["reward_components"])
    assert terminated
    return messages, components, env.unwrapped.beta, env.unwrapped.gamma


def test_one_episode_gives_one_sample_per_chunk_with_mem_alpha_step_rewards(tokenizer, tmp_path):
    path = build_dataset(tmp_path / "train.parquet", env_kwargs=ENV_KWARGS, num_episodes=2, seed_offset=7)
    rows = dataset_rows(tokenizer, path)
    assert [r["agent_name"] for r in rows] == [AGENT_NAME] * 2
    assert [r["extra_info"]["seed"] for r in rows] == [7, 8] and rows[0]["index"] == 0
    loop, server = make_loop(tokenizer, tmp_path)
    sampling = {"temperature": 1.0, "top_p": 1.0, "top_k": -1, "logprobs": True}
    outputs = loop.loop.run_until_complete(loop.run(sampling, **rows[0]))

    replies = [tokenizer.decode(c["ids"], skip_special_tokens=True) for c in server.calls]
    messages, components, beta, gamma = replay(7, replies)
    n = len(messages)
    assert len(outputs) == n >= 3  # one sample per chunk
    expected_rewards = step_rewards(components, beta, gamma, "step")
    for step, (output, call) in enumerate(zip(outputs, server.calls, strict=True)):
        # Each chunk is its own prompt: the env's messages (memory + chunk) through the chat template,
        # with data.apply_chat_template_kwargs (enable_thinking=False) applied.
        expected_prompt = tokenizer.apply_chat_template(
            messages[step], add_generation_prompt=True, tokenize=False, enable_thinking=False
        )
        assert expected_prompt.endswith("<|im_start|>assistant\n<think>\n\n</think>\n\n")
        assert tokenizer.decode(output.prompt_ids) == expected_prompt
        assert output.prompt_ids == call["prompt_ids"]
        assert output.response_ids == call["ids"] and output.response_mask == [1] * len(call["ids"])
        assert output.response_logprobs == [-0.25] * len(call["ids"])
        assert call["sampling_params"] == sampling
        assert output.reward_score == pytest.approx(expected_rewards[step])
        assert output.extra_fields["memenv_step"] == step and output.extra_fields["memenv_num_steps"] == n
        assert output.extra_fields["reward_extra_info"]["memenv_reward"] == pytest.approx(expected_rewards[step])
    # The chunk each step reads differs; memory carried over shows up in later prompts.
    assert messages[1][-1]["content"] != messages[0][-1]["content"]
    # Storing every chunk: every call executes (r2 = 1), the QA reads the answers from memory (r1 > 0),
    # and r1, r3 are broadcast to all steps.
    assert [c["r2_tool_call"] for c in components] == [1.0] * n
    r1, r3 = components[-1]["r1_qa"], components[-1]["r3_compression"]
    assert r1 > 0
    assert [o.extra_fields["memenv_r1_qa"] for o in outputs] == [r1] * n
    assert expected_rewards[0] == pytest.approx(r1 + 1.0 + beta * r3 + gamma * components[0]["r4_content"])

    # verl's own validation and padding: the pydantic models and the worker's per-sample postprocess.
    worker = AgentLoopWorker.__new__(AgentLoopWorker)
    worker.rollout_config = OmegaConf.create({"prompt_length": PROMPT_LENGTH, "response_length": RESPONSE_LENGTH})
    worker.tokenizer, worker.processor, worker.mm_processor_kwargs = tokenizer, None, {}
    worker.reward_loop_worker_handles, worker.distillation_enabled = None, False
    for output in outputs:
        assert AgentLoopOutput.model_validate(output.model_dump()).reward_score == output.reward_score
        tensors = output.as_dict()
        assert tensors["rm_scores"][-1] == pytest.approx(output.reward_score) and tensors["rm_scores"][:-1].sum() == 0
        padded = loop.loop.run_until_complete(worker._agent_loop_postprocess(output, False, **rows[0]))
        assert isinstance(padded, _InternalAgentLoopOutput)
        assert padded.input_ids.shape == (1, PROMPT_LENGTH + RESPONSE_LENGTH)
        assert int(padded.response_mask.sum()) == len(output.response_ids)
        assert int(padded.attention_mask.sum()) == len(output.prompt_ids) + len(output.response_ids)


def test_trajectory_mode_and_equal_episode_weight(tokenizer, tmp_path):
    short = dict(ENV_KWARGS, context_tokens=64)  # 2 chunks
    long = dict(ENV_KWARGS, context_tokens=256)  # 5 chunks
    rows = dataset_rows(tokenizer, build_dataset(tmp_path / "short.parquet", env_kwargs=short, num_episodes=1))
    rows += dataset_rows(tokenizer, build_dataset(tmp_path / "long.parquet", env_kwargs=long, num_episodes=1))
    sampling = {"temperature": 1.0}

    loop, _ = make_loop(tokenizer, tmp_path, reward_mode="trajectory")
    per_step = [loop.loop.run_until_complete(loop.run(sampling, **row)) for row in rows]
    assert [len(o) for o in per_step] == [2, 5]  # by default a longer episode gives more samples
    for outputs in per_step:
        rewards = [o.extra_fields["memenv_reward"] for o in outputs]
        assert all(o.reward_score == pytest.approx(sum(rewards) / len(rewards)) for o in outputs)

    loop, _ = make_loop(tokenizer, tmp_path, samples_per_episode=3, rng_seed=0)
    weighted = [loop.loop.run_until_complete(loop.run(sampling, **row)) for row in rows]
    assert [len(o) for o in weighted] == [3, 3]  # equal weight: 3 samples each, whatever the length
    short_steps = sorted(o.extra_fields["memenv_step"] for o in weighted[0])
    long_steps = [o.extra_fields["memenv_step"] for o in weighted[1]]
    assert short_steps in ([0, 0, 1], [0, 1, 1]) and len(set(long_steps)) == 3
    assert weighted[0][0] is not weighted[0][1]  # a repeated step is its own sample object


def test_select_steps_weighs_every_step_k_over_t():
    rng = random.Random(0)
    assert select_steps(5, 5, rng) == [0, 1, 2, 3, 4]
    assert Counter(select_steps(2, 5, rng)) in (Counter({0: 3, 1: 2}), Counter({0: 2, 1: 3}))
    counts = Counter(step for _ in range(4000) for step in select_steps(4, 3, rng))
    assert all(abs(counts[s] / 4000 - 0.75) < 0.03 for s in range(4))
    with pytest.raises(ValueError, match="samples >= 1"):
        select_steps(3, 0, rng)


def test_dataset_rows_name_episodes_of_a_memenv_dataset(tokenizer, tmp_path):
    import dataclasses

    from memenv.tasks import generate, save_memalpha

    base = generate("accurate_retrieval", seed=3, context_tokens=256, chunk_tokens=64, num_questions=2)
    episodes = [dataclasses.replace(base, id=f"row-{i}", chunks=base.chunks[: i + 1]) for i in range(3)]
    data = save_memalpha(episodes, tmp_path / "memalpha.parquet")
    path = build_dataset(tmp_path / "verl.parquet", dataset=str(data), source="memalpha", seed_offset=1)
    rows = dataset_rows(tokenizer, path)
    assert [r["extra_info"]["row"] for r in rows] == [1, 2]
    loop, _ = make_loop(tokenizer, tmp_path)
    outputs = [loop.loop.run_until_complete(loop.run({"temperature": 1.0}, **row)) for row in rows]
    assert [len(o) for o in outputs] == [2, 3]  # rows 1 and 2 have 2 and 3 chunks
    with pytest.raises(ValueError, match="do not fit"):
        build_dataset(tmp_path / "x.parquet", dataset=str(data), source="memalpha", num_episodes=4)
    with pytest.raises(ValueError, match="needs source="):
        build_dataset(tmp_path / "x.parquet", dataset=str(data))
    with pytest.raises(ValueError, match="extra_info lacks"):
        loop.loop.run_until_complete(loop.run({}, extra_info={"index": 0}))


def test_example_config_composes_with_verls_schema(tmp_path):
    """examples/verl: every override names a key of verl's trainer config; the agent-loop YAML loads our loop."""
    from pathlib import Path

    from hydra import compose, initialize_config_module

    here = Path(__file__).resolve().parents[1] / "examples" / "verl"
    lines = (here / "qwen3_4b_8gpu.args").read_text().splitlines()
    overrides = [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]
    with initialize_config_module(config_module="verl.trainer.config", version_base=None):
        config = compose(config_name="ppo_trainer", overrides=overrides)
    assert config.trainer.use_v1 is True  # the V1 trainer, which stores each step output as a sample
    assert config.algorithm.adv_estimator == "grpo"
    assert config.data.apply_chat_template_kwargs.enable_thinking is False
    rollout = config.actor_rollout_ref.rollout
    assert rollout.prompt_length >= config.data.max_prompt_length
    (entry,) = OmegaConf.load(here.parent.parent / rollout.agent.agent_loop_config_path)
    assert entry.name == AGENT_NAME
    assert hydra.utils.get_class(entry._target_).__name__ == "MemenvAgentLoop"

    import runpy

    import pandas as pd

    out = tmp_path / "data"
    make_data = runpy.run_path(str(here / "make_data.py"))
    make_data["main"](["--out", str(out), "--train-episodes", "3", "--val-episodes", "2"])

    train, val = pd.read_parquet(out / "train.parquet"), pd.read_parquet(out / "val.parquet")
    assert [row["seed"] for row in train["extra_info"]] == [0, 1, 2]
    assert [row["seed"] for row in val["extra_info"]] == [1_000_000, 1_000_001]
