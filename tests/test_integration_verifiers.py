"""memenv.integrations.verifiers: ``vf-eval memenv-verifiers`` end to end against a scripted local server.

The server (127.0.0.1, a free port) answers OpenAI chat completions — plain JSON or SSE — with a
scripted writer that stores each chunk; ``vf-eval`` (verifiers 0.4's own CLI) loads the taskset by id,
plays the episodes through verifiers' interception server and writes ``traces.jsonl``, which the test
checks against the same episodes played directly on the memenv env.
"""

from __future__ import annotations

import importlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import ClassVar

import pytest
from openai_fake import ChatHandler, completion, serve

if "verifiers" in os.environ.get("MEMENV_REQUIRE", "").split(","):
    importlib.import_module("verifiers.v1")
else:
    pytest.importorskip("verifiers.v1")

import gymnasium as gym

from memenv.integrations.verifiers import MemenvEnv, MemenvTaskData, load_environment
from memenv.train.losses import step_rewards

ENV_KWARGS = {"task": "accurate_retrieval", "context_tokens": 128, "chunk_tokens": 64, "num_questions": 2}


def scripted_reply(messages: list[dict]) -> str:
    """Store the chunk message as one semantic entry."""
    user = [m for m in messages if m["role"] == "user"][-1]["content"]
    call = {"name": "new_memory_insert", "arguments": {"memory_type": "semantic_memory", "content": user}}
    return f"<tool_call>{json.dumps(call)}</tool_call>"


class ScriptedOpenAI(ChatHandler):
    """``POST /v1/chat/completions`` with a scripted reply; streams SSE when asked to."""

    requests: ClassVar[list[dict]] = []

    def do_POST(self) -> None:
        body = self.read_json()
        type(self).requests.append(body)
        text = scripted_reply(body["messages"])
        usage = {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}
        base = {"id": "chatcmpl-test", "created": 0, "model": body["model"]}
        if body.get("stream"):
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.end_headers()
            events = [
                {"choices": [{"index": 0, "delta": {"role": "assistant", "content": text}, "finish_reason": None}]},
                {"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]},
                {"choices": [], "usage": usage},
            ]
            for event in events:
                payload = {**base, "object": "chat.completion.chunk", **event}
                self.wfile.write(f"data: {json.dumps(payload)}\n\n".encode())
            self.wfile.write(b"data: [DONE]\n\n")
            return
        reply = completion(text, usage=usage)
        reply["choices"][0]["finish_reason"] = "stop"
        self.send_json({**reply, **base})


@pytest.fixture
def server():
    ScriptedOpenAI.requests = []
    with serve(ScriptedOpenAI) as url:
        yield url


def reference(seed: int):
    env = gym.make("MemAlpha-v0", **ENV_KWARGS)
    _, info = env.reset(seed=seed)
    messages, components = [], []
    while True:
        messages.append(info["messages"])
        _, _, terminated, _, info = env.step(scripted_reply(info["messages"]))
        components.append(info["reward_components"])
        if terminated:
            return messages, components, env.unwrapped.beta, env.unwrapped.gamma, info["qa"]["accuracy"]


def test_vf_eval_plays_memenv_episodes_one_trace_per_chunk(server, tmp_path):
    vf_eval = shutil.which("vf-eval", path=str(Path(sys.executable).parent))
    assert vf_eval is not None, "verifiers' vf-eval is not installed next to this python"
    command = [
        vf_eval,
        "memenv-verifiers",
        "-m",
        "scripted-writer",
        "--client.base-url",
        server,
        "--no-push",
        "-r",
        "1",
        "-o",
        str(tmp_path / "out"),
        "--env.taskset.num-episodes",
        "2",
        "--env.taskset.seed-offset",
        "4",
        "--env.taskset.env-kwargs",
        json.dumps(ENV_KWARGS),
    ]
    run = subprocess.run(command, capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    (traces_file,) = (tmp_path / "out").rglob("traces.jsonl")
    episodes = [json.loads(line) for line in traces_file.read_text().splitlines()]
    assert sorted(e["task"]["data"]["seed"] for e in episodes) == [4, 5]

    for episode in episodes:
        assert episode["ok"], episode["errors"]
        messages, components, beta, gamma, accuracy = reference(episode["task"]["data"]["seed"])
        traces = sorted(episode["traces"], key=lambda t: t["info"]["memenv"]["step"])
        assert len(traces) == len(messages) >= 2  # one agent run (trace) per chunk
        expected = step_rewards(components, beta, gamma, "step")
        for step, trace in enumerate(traces):
            # Each chunk is a fresh [system, user] prompt: the env's own messages, memory included.
            prompt = [n["message"] for n in trace["nodes"] if n["message"]["role"] in ("system", "user")]
            assert [(m["role"], m["content"]) for m in prompt] == [(m["role"], m["content"]) for m in messages[step]]
            rewards = {name: (r["score"], r["weight"]) for name, r in trace["rewards"].items()}
            assert rewards["r1_qa"] == (pytest.approx(components[-1]["r1_qa"]), 1.0)  # terminal, broadcast
            assert rewards["r3_compression"] == (pytest.approx(components[-1]["r3_compression"]), beta)
            assert rewards["r2_tool_call"] == (pytest.approx(components[step]["r2_tool_call"]), 1.0)
            assert rewards["r4_content"] == (pytest.approx(components[step]["r4_content"]), gamma)
            weighted = sum(score * weight for score, weight in rewards.values())
            assert weighted == pytest.approx(expected[step])
            assert trace["metrics"]["accuracy"] == pytest.approx(accuracy) and accuracy > 0
    # Every model call reached the scripted server with the env's messages.
    assert len(ScriptedOpenAI.requests) == sum(len(e["traces"]) for e in episodes)


def test_load_environment_builds_the_v1_env():
    env = load_environment(env_kwargs=ENV_KWARGS, num_episodes=3, seed_offset=10, reward_mode="trajectory")
    assert isinstance(env, MemenvEnv) and env.config.reward_mode == "trajectory"
    tasks = list(env.taskset)
    assert [t.data.seed for t in tasks] == [10, 11, 12]
    assert isinstance(tasks[0].data, MemenvTaskData) and tasks[0].data.env_kwargs == ENV_KWARGS
    assert env.config.agent.runtime.type == "subprocess"  # local by default, not a remote sandbox
    with pytest.raises(ValueError, match="reward_mode"):
        load_environment(reward_mode="dense")
