"""memenv episodes as a verifiers environment (``pip install "memenv[verifiers]"``, verifiers 0.4, ``verifiers.v1``).

verifiers 0.4 replaced its classic API (``MultiTurnEnv``, ``Rubric``, a user-written
``load_environment()``) with ``verifiers.v1``: a *taskset* package (config in, tasks out), an ``Env``
that turns one task into one episode by running agents, and rewards recorded on each agent run's
``Trace``. prime-rl and ``vf-eval`` load a taskset by id; the id ``memenv-verifiers`` imports the
top-level module ``memenv_verifiers``, which re-exports the three plugins defined here:

- :class:`MemenvTaskset`: one task per memenv episode (``--env.taskset.env-id``, ``env-kwargs``,
  ``num-episodes``, ``seed-offset``).
- :class:`MemenvEnv`: plays the episode. Each chunk is its own agent run on a fresh prompt — the
  env's ``info["messages"]``: system prompt with the rendered memory, user message with the chunk — and
  the run's reply goes to ``env.step``. Every chunk step is one trace, so a trainer sees one sample
  per step (the papers' context reset).
- :class:`MemenvChatHarness`: the agent's program. One chat completion per run, made in-process
  through verifiers' interception endpoint (which records the tokens on the trace), so a step costs
  no subprocess; memenv's system prompts already describe the tool-call format.

Rewards (:meth:`MemenvEnv.finalize`, once the episode is over): every step's trace gets Mem-α's reward
parts as weighted trace rewards — ``r1_qa`` (weight 1) and ``r3_compression`` (weight beta), the
terminal values broadcast to every step, and the step's own ``r2_tool_call`` (weight 1) and
``r4_content`` (weight gamma) — so ``trace.reward`` is Mem-α's per-step reward ``r1 + r2_t +
beta * r3 + gamma * r4_t`` (``reward_mode="step"``). ``reward_mode="trajectory"`` records the
rollout's mean r2 and r4 on every step instead (every step the same reward). Metrics: ``accuracy``,
``step``, ``num_steps``.

Run it::

    vf-eval memenv-verifiers -m MODEL --client.base-url http://127.0.0.1:8000/v1 --no-push \\
        --env.agent.runtime.type subprocess --env.taskset.num-episodes 16

or from Python: :func:`load_environment` (the name the environments hub used) returns the ``vf.Env``.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any, Literal

import gymnasium as gym
import httpx
import verifiers.v1 as vf
from pydantic import Field

import memenv  # noqa: F401  (registers the environments)
from memenv.train.losses import REWARD_MODES, step_rewards

TASKSET_ID = "memenv-verifiers"


class MemenvTaskData(vf.TaskData):
    """One memenv episode: the env and the reset seed that pick it."""

    env_id: str = "memenv/MemAlpha-v0"
    env_kwargs: dict[str, Any] = Field(default_factory=dict)
    seed: int = 0


class MemenvTask(vf.Task[MemenvTaskData]):
    """A memenv episode as a verifiers task (scored by :class:`MemenvEnv`, not by task rewards)."""


class MemenvTasksetConfig(vf.TasksetConfig):
    """``--env.taskset.*``: which episodes the taskset yields."""

    env_id: str = "memenv/MemAlpha-v0"
    """A registered memenv env (MemAlpha-v0, MEM1-v0, MemoryR1-v0)."""
    env_kwargs: dict[str, Any] = Field(
        default_factory=lambda: {"task": "accurate_retrieval", "context_tokens": 1024, "chunk_tokens": 256}
    )
    """gym.make keyword arguments."""
    num_episodes: int = Field(100, ge=1)
    """Episodes (tasks), seeds seed_offset + 0 .. num_episodes - 1."""
    seed_offset: int = Field(0, ge=0)


class MemenvTaskset(vf.Taskset[MemenvTask, MemenvTasksetConfig]):
    """One task per memenv episode."""

    def load(self):
        gym.spec(self.config.env_id)  # fails early on an unknown env id
        for i in range(self.config.num_episodes):
            seed = self.config.seed_offset + i
            data = MemenvTaskData(
                id=f"{self.config.env_id}/seed={seed}",
                name=f"memenv episode {seed}",
                prompt=f"memenv episode {seed}",
                env_id=self.config.env_id,
                env_kwargs=dict(self.config.env_kwargs),
                seed=seed,
            )
            yield MemenvTask(data, self.config.task)


class MemenvChatHarnessConfig(vf.HarnessConfig):
    """The in-process chat harness's knobs (``--env.agent.harness.*``)."""

    id: str = TASKSET_ID
    request_timeout: float = Field(600.0, gt=0)
    """Seconds to wait for one completion."""


class MemenvChatHarness(vf.Harness[MemenvChatHarnessConfig]):
    """One chat completion per run, sent in-process to the interception endpoint (no program, no tools)."""

    APPENDS_SYSTEM_PROMPT = True
    EXECUTES_CODE = False
    NEEDS_CONTAINER = False

    async def launch(
        self,
        ctx: vf.ModelContext,
        trace: vf.Trace,
        runtime: vf.Runtime,
        endpoint: str,
        secret: str,
        mcp_urls: dict[str, str],
        data: vf.TaskData,
        tool_interception_url: str | None = None,
    ) -> vf.ProgramResult:
        system, prompt = self.resolve_prompt(data)
        messages: list[dict[str, Any]] = [{"role": "system", "content": system}] if system else []
        if isinstance(prompt, str):
            messages.append({"role": "user", "content": prompt})
        elif prompt is not None:
            messages.extend(message.model_dump(exclude_none=True) for message in prompt)
        async with httpx.AsyncClient(timeout=self.config.request_timeout) as client:
            response = await client.post(
                f"{endpoint.rstrip('/')}/chat/completions",
                headers={"Authorization": f"Bearer {secret}"},
                json={"model": ctx.model, "messages": messages},
            )
        # The interception server already recorded the turn on the trace; the body is only a log.
        return vf.ProgramResult(
            exit_code=0 if response.status_code == 200 else 1,
            stdout=response.text if response.status_code == 200 else "",
            stderr="" if response.status_code == 200 else f"HTTP {response.status_code}: {response.text[:2000]}",
        )


class MemenvEnvConfig(vf.EnvConfig):
    """``--env.*``: the agent seat and the reward mapping."""

    agent: vf.AgentConfig = vf.AgentConfig(runtime=vf.SubprocessConfig())
    """The policy. Its harness defaults to the taskset's (MemenvChatHarness)."""
    reward_mode: Literal["step", "trajectory"] = "step"
    """step: Mem-α's per-step reward (terminal parts broadcast); trajectory: the rollout's mean on every step."""


class MemenvEnv(vf.Env[MemenvEnvConfig]):
    """Plays one memenv episode per task: one agent run per chunk, each on a fresh prompt."""

    async def run(self, task: vf.Task, agents: vf.Agents) -> None:
        data = task.data
        if not isinstance(data, MemenvTaskData):
            data = MemenvTaskData.model_validate(data.model_dump())
        env = gym.make(data.env_id, **data.env_kwargs)
        try:
            _, info = await asyncio.to_thread(env.reset, seed=data.seed)
            beta, gamma = env.unwrapped.beta, env.unwrapped.gamma
            step = 0
            while True:
                system, user = info["messages"][0]["content"], info["messages"][-1]["content"]
                chunk = vf.Task(
                    vf.TaskData(id=f"{data.id}/step={step}", prompt=user, system_prompt=system), task.config
                )
                trace = await agents.agent.run(chunk)
                reply = trace.last_reply if trace.ok else ""
                _, _, terminated, truncated, info = await asyncio.to_thread(env.step, reply)
                trace.info["memenv"] = {
                    "episode": data.id,
                    "step": step,
                    "components": dict(info["reward_components"]),
                    "beta": beta,
                    "gamma": gamma,
                    "tool_results": info["tool_results"],
                }
                step += 1
                if terminated or truncated:
                    trace.info["memenv"]["accuracy"] = float(info.get("qa", {}).get("accuracy", 0.0))
                    break
        finally:
            env.close()

    async def finalize(self, task: vf.Task, episode: vf.Episode) -> None:
        traces = sorted((t for t in episode.traces if "memenv" in t.info), key=lambda t: t.info["memenv"]["step"])
        if not traces or "accuracy" not in traces[-1].info["memenv"]:
            raise ValueError(f"episode {task.data.id!r} did not reach its last chunk; nothing to score")
        record = traces[-1].info["memenv"]
        beta, gamma = record["beta"], record["gamma"]
        components = [t.info["memenv"]["components"] for t in traces]
        r1, r3 = components[-1]["r1_qa"], components[-1]["r3_compression"]
        mean_r2 = sum(c["r2_tool_call"] for c in components) / len(components)
        mean_r4 = sum(c["r4_content"] for c in components) / len(components)
        expected = step_rewards(components, beta, gamma, self.config.reward_mode)
        for trace, parts, reward in zip(traces, components, expected, strict=True):
            per_step = self.config.reward_mode == "step"
            trace.record_reward("r1_qa", r1, 1.0)
            trace.record_reward("r2_tool_call", parts["r2_tool_call"] if per_step else mean_r2, 1.0)
            trace.record_reward("r3_compression", r3, beta)
            trace.record_reward("r4_content", parts["r4_content"] if per_step else mean_r4, gamma)
            trace.record_metrics(
                {
                    "accuracy": record["accuracy"],
                    "step": trace.info["memenv"]["step"],
                    "num_steps": len(traces),
                    "memenv_reward": reward,
                }
            )


def load_environment(
    env_id: str = "memenv/MemAlpha-v0",
    env_kwargs: dict[str, Any] | None = None,
    *,
    num_episodes: int = 100,
    seed_offset: int = 0,
    reward_mode: str = "step",
    **env_config: Any,
) -> MemenvEnv:
    """The ``vf.Env`` over memenv episodes (verifiers' own loader, with memenv's taskset config filled in).

    ``env_config`` are further :class:`MemenvEnvConfig` fields (e.g. ``agent=vf.AgentConfig(...)``).
    """
    if reward_mode not in REWARD_MODES:
        raise ValueError(f"reward_mode must be one of {REWARD_MODES}, got {reward_mode!r}")
    taskset: dict[str, Any] = {"id": TASKSET_ID, "env_id": env_id, "num_episodes": num_episodes}
    taskset["seed_offset"] = seed_offset
    if env_kwargs is not None:
        taskset["env_kwargs"] = json.loads(json.dumps(env_kwargs))  # plain JSON values only
    config = MemenvEnvConfig(taskset=MemenvTasksetConfig(**taskset), reward_mode=reward_mode, **env_config)
    env = vf.load_environment(config)
    assert isinstance(env, MemenvEnv)
    return env


__all__ = [
    "MemenvChatHarness",
    "MemenvChatHarnessConfig",
    "MemenvEnv",
    "MemenvEnvConfig",
    "MemenvTask",
    "MemenvTaskData",
    "MemenvTaskset",
    "MemenvTasksetConfig",
    "load_environment",
]
