"""Train memenv writers with verl: an agent loop that plays one memenv episode per dataset row.

verl (``pip install "memenv[verl]"``, verl 0.9.1) generates through agent loops: for every sample a
Ray worker instantiates the loop class named by the row's ``agent_name`` column and awaits its
``run(sampling_params, **row)``, which talks token-in/token-out to the rollout servers
(``server_manager.generate``). :class:`MemenvAgentLoop` maps a memenv episode onto that the way
Mem-α trains:

- A dataset row names an episode (:func:`build_dataset` writes the parquet: ``prompt``,
  ``data_source``, ``agent_name``, ``reward_model``, ``extra_info`` with the env id, its keyword
  arguments and the episode's seed, or its row in a memenv dataset).
- Each chunk is its own prompt — the env's ``info["messages"]`` (system prompt with the rendered
  memory + the chunk) through verl's own chat-template path (``data.apply_chat_template_kwargs``,
  e.g. ``enable_thinking: false``, applies) — the policy's reply goes to ``env.step``, and the step
  becomes one :class:`~verl.experimental.agent_loop.AgentLoopOutput`: prompt ids, the sampled
  response ids with ``response_mask`` all 1 (every response token was generated), the server's
  log-probs, and ``reward_score`` = Mem-α's reward for that step, ``r1 + r2_t + beta * r3 +
  gamma * r4_t`` with the terminal r1 (QA) and r3 (compression) broadcast to every step
  (``reward_mode="step"``, as :mod:`memenv.train`), or the rollout's mean of those on every step
  (``reward_mode="trajectory"``). ``extra_fields`` carry the step, the step count, the reward parts and
  the QA accuracy (also as ``reward_extra_info``, which verl logs).
- ``run`` returns the list of step outputs: verl's V1 trainer (``agent_loop_tq``) stores each as its
  own sample ``{uid}_{session}_{step}`` — the context reset the papers train with.
- Equal episode weight: by default an episode with T chunks yields T samples, so long episodes weigh
  T times more in the loss. ``samples_per_episode=K`` makes every episode yield exactly K samples:
  K distinct steps drawn uniformly when T >= K; otherwise every step ⌊K/T⌋ times plus K mod T distinct
  steps once more. Each episode then carries the same total weight (exactly in count, and each step
  with weight K/T in expectation) whatever its length, and the batch shape no longer depends on it.

What verl 0.9.1 does with the scores (read from its code, not run here — no GPU): its V1 worker
copies the *last* output's ``reward_score`` onto every earlier output of the session, and with
``algorithm.adv_estimator=grpo`` only each session's last output enters the group statistics (its
advantage is broadcast). So with stock verl every step trains on the last step's score: prefer
``reward_mode="trajectory"`` there (the last step then carries the episode's mean Mem-α reward).
Per-step credit needs ``adv_estimator=grpo_vectorized`` (groups every output of a prompt's sessions,
Mem-α's grouping) *and* a worker that keeps each output's own score.

Registration: importing this module registers the loop as ``memenv_agent`` in verl's in-process
registry; Ray workers load it from the agent-loop YAML (``actor_rollout_ref.rollout.agent.
agent_loop_config_path``), see ``examples/verl/`` and :func:`agent_loop_config`.
"""

from __future__ import annotations

import functools
import json
import random
import time
from pathlib import Path
from typing import Any
from uuid import uuid4

import gymnasium as gym
from verl.experimental.agent_loop.agent_loop import AgentLoopBase, AgentLoopMetrics, AgentLoopOutput, register

import memenv  # noqa: F401  (registers the environments)
from memenv.reward import COMPONENTS, TERMINAL_COMPONENTS
from memenv.tasks import Episode, load
from memenv.train.losses import REWARD_MODES, step_rewards

AGENT_NAME = "memenv_agent"
EPISODE_PROMPT = "memenv episode {index}"


@functools.lru_cache(maxsize=8)
def _dataset_episodes(source: str, path: str, split: str | None) -> tuple[Episode, ...]:
    """A memenv dataset's episodes, read once per worker process."""
    return tuple(load(source, path, split=split))


def build_dataset(
    path: str | Path,
    *,
    env_id: str = "memenv/MemAlpha-v0",
    env_kwargs: dict[str, Any] | None = None,
    num_episodes: int | None = None,
    seed_offset: int = 0,
    dataset: str | None = None,
    source: str | None = None,
    dataset_split: str | None = None,
    agent_name: str = AGENT_NAME,
) -> Path:
    """Write the parquet verl's ``RLHFDataset`` reads: one row per memenv episode.

    Generated episodes: rows with seeds ``seed_offset + 0 .. num_episodes - 1`` (the env is reset with
    that seed). A memenv dataset (``dataset`` = a file or folder for :func:`memenv.tasks.load`, with
    ``source``): one row per episode, in file order (``num_episodes`` may ask for fewer; ``seed_offset``
    is the first row), so verl's sampler walks the data by row. The episodes themselves are not copied
    into the parquet: the workers read the dataset (once per process) from the path written here, so
    it must be reachable from every node.

    Columns: ``prompt`` (a one-message chat naming the episode, which verl's length filter and logs
    see; the loop builds the real prompts), ``data_source`` (``memenv/<env_id>``), ``agent_name``,
    ``reward_model`` (``{"style": "rule", "ground_truth": ""}``; the loop scores itself) and
    ``extra_info`` (``index``, ``env_id``, ``env_kwargs`` as JSON, ``seed``, and for datasets ``row``,
    ``dataset``, ``source``, ``dataset_split``).
    """
    import pandas as pd

    kwargs = dict(env_kwargs or {})
    if set(kwargs) & {"dataset", "source", "dataset_split", "episodes"}:
        raise ValueError("pass a dataset through dataset=/source=/dataset_split=, not inside env_kwargs")
    gym.spec(env_id)  # fails early on an unknown env id
    rows: list[dict[str, Any]] = []
    if dataset is not None:
        if source is None:
            raise ValueError(f"dataset={dataset!r} needs source=, one of the memenv.tasks SOURCES")
        total = len(_dataset_episodes(source, str(dataset), dataset_split))
        count = total - seed_offset if num_episodes is None else num_episodes
        if seed_offset < 0 or count < 1 or seed_offset + count > total:
            raise ValueError(f"dataset {dataset!r} has {total} episodes; rows {seed_offset}.. x{count} do not fit")
        identities = [
            {"seed": row, "row": row, "dataset": str(dataset), "source": source, "dataset_split": dataset_split}
            for row in range(seed_offset, seed_offset + count)
        ]
    else:
        if num_episodes is None or num_episodes < 1:
            raise ValueError(f"num_episodes must be >= 1 for generated episodes, got {num_episodes}")
        identities = [{"seed": seed_offset + i} for i in range(num_episodes)]
    for index, identity in enumerate(identities):
        rows.append(
            {
                "prompt": [{"role": "user", "content": EPISODE_PROMPT.format(index=identity["seed"])}],
                "data_source": f"memenv/{env_id}",
                "agent_name": agent_name,
                "reward_model": {"style": "rule", "ground_truth": ""},
                "extra_info": {"index": index, "env_id": env_id, "env_kwargs": json.dumps(kwargs), **identity},
            }
        )
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(rows).to_parquet(path)
    return path


def agent_loop_config(path: str | Path, **options: Any) -> Path:
    """Write the agent-loop YAML verl's workers load (``rollout.agent.agent_loop_config_path``).

    ``options`` are :class:`MemenvAgentLoop` keyword arguments (``reward_mode``,
    ``samples_per_episode``, ``include_tools``), passed through by hydra.
    """
    import yaml

    entry = {"name": AGENT_NAME, "_target_": f"{MemenvAgentLoop.__module__}.{MemenvAgentLoop.__qualname__}", **options}
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump([entry], sort_keys=False))
    return path


def select_steps(num_steps: int, samples: int, rng: random.Random) -> list[int]:
    """Which of an episode's ``num_steps`` step outputs to keep so that it yields exactly ``samples``.

    ``num_steps >= samples``: ``samples`` distinct steps, uniformly. Fewer steps: every step
    ``samples // num_steps`` times plus ``samples % num_steps`` distinct steps once more. Returned in
    step order.
    """
    if num_steps < 1 or samples < 1:
        raise ValueError(f"need num_steps >= 1 and samples >= 1, got {num_steps}, {samples}")
    if num_steps >= samples:
        return sorted(rng.sample(range(num_steps), samples))
    repeats, extra = divmod(samples, num_steps)
    chosen = [step for step in range(num_steps) for _ in range(repeats)] + rng.sample(range(num_steps), extra)
    return sorted(chosen)


@register(AGENT_NAME)
class MemenvAgentLoop(AgentLoopBase):
    """verl agent loop: one memenv episode per sample, one training sample per chunk step.

    See the module docstring for the mapping. Options (keyword arguments, set in the agent-loop YAML):

    Args:
        reward_mode: ``"step"`` (Mem-α's per-step reward, terminal parts broadcast) or
            ``"trajectory"`` (every step gets the rollout's mean).
        samples_per_episode: ``None`` = one sample per step; K = exactly K samples per episode
            (equal episode weight, :func:`select_steps`).
        include_tools: pass ``info["tools"]`` to the chat template (memenv's system prompts already
            describe the tools and the call format).
        rng_seed: seeds the step selection (``None``: fresh entropy per loop instance).
    """

    def __init__(
        self,
        *args: Any,
        reward_mode: str = "step",
        samples_per_episode: int | None = None,
        include_tools: bool = False,
        rng_seed: int | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        if reward_mode not in REWARD_MODES:
            raise ValueError(f"reward_mode must be one of {REWARD_MODES}, got {reward_mode!r}")
        if samples_per_episode is not None and samples_per_episode < 1:
            raise ValueError(f"samples_per_episode must be >= 1 or None, got {samples_per_episode}")
        self.reward_mode = reward_mode
        self.samples_per_episode = samples_per_episode
        self.include_tools = include_tools
        self.rng = random.Random(rng_seed)
        self.response_length = self.rollout_config.response_length

    def _reset(self, extra_info: dict[str, Any]) -> tuple[gym.Env, dict[str, Any]]:
        """The env and first info for a dataset row's ``extra_info``."""
        missing = [key for key in ("env_id", "env_kwargs", "seed") if key not in extra_info]
        if missing:
            raise ValueError(
                f"extra_info lacks {missing}; build the parquet with memenv.integrations.verl.build_dataset"
            )
        env = gym.make(extra_info["env_id"], **json.loads(extra_info["env_kwargs"] or "{}"))
        options = None
        if extra_info.get("dataset") is not None:
            episodes = _dataset_episodes(extra_info["source"], extra_info["dataset"], extra_info.get("dataset_split"))
            options = {"episode": episodes[int(extra_info["row"])]}
        _, info = env.reset(seed=int(extra_info["seed"]), options=options)
        return env, info

    async def run(self, sampling_params: dict[str, Any], **kwargs: Any) -> list[AgentLoopOutput]:
        extra_info = dict(kwargs.get("extra_info") or {})
        env, info = await self.loop.run_in_executor(None, self._reset, extra_info)
        beta, gamma = env.unwrapped.beta, env.unwrapped.gamma
        outputs: list[AgentLoopOutput] = []
        components: list[dict[str, float]] = []
        accuracy = 0.0
        try:
            while True:
                tools = info["tools"] if self.include_tools else None
                prompt_ids = await self.ct_build_initial_tokens(info["messages"], tools=tools)
                began = time.perf_counter()
                generated = await self.server_manager.generate(
                    request_id=uuid4().hex, prompt_ids=prompt_ids, sampling_params=sampling_params
                )
                seconds = time.perf_counter() - began
                response_ids = list(generated.token_ids[: self.response_length])
                logprobs = list(generated.log_probs[: len(response_ids)]) if generated.log_probs else None
                text = self.tokenizer.decode(response_ids, skip_special_tokens=True)
                # The env step (and the terminal QA) is CPU work: keep it off the event loop.
                _, _, terminated, truncated, info = await self.loop.run_in_executor(None, env.step, text)
                components.append(dict(info["reward_components"]))
                outputs.append(
                    AgentLoopOutput(
                        prompt_ids=list(prompt_ids),
                        response_ids=response_ids,
                        response_mask=[1] * len(response_ids),
                        response_logprobs=logprobs,
                        num_turns=2,
                        metrics=AgentLoopMetrics(generate_sequences=seconds),
                        extra_fields={},
                    )
                )
                if terminated or truncated:
                    accuracy = float(info.get("qa", {}).get("accuracy", 0.0))
                    break
        finally:
            env.close()

        rewards = step_rewards(components, beta, gamma, self.reward_mode)
        num_steps = len(outputs)
        for step, (output, reward, parts) in enumerate(zip(outputs, rewards, components, strict=True)):
            values = {
                f"memenv_{name}": (components[-1] if name in TERMINAL_COMPONENTS else parts)[name]
                for name in COMPONENTS
            }
            values.update(memenv_reward=reward, memenv_accuracy=accuracy)
            output.reward_score = reward
            output.extra_fields.update(values)
            output.extra_fields.update(
                memenv_step=step,
                memenv_num_steps=num_steps,
                reward_extra_info=dict(values),
                turn_scores=[],
                tool_rewards=[],
            )
        if self.samples_per_episode is not None:
            chosen = select_steps(num_steps, self.samples_per_episode, self.rng)
            # Copies, so a step kept twice is two independent samples.
            outputs = [outputs[step].model_copy(deep=True) for step in chosen]
        return outputs
