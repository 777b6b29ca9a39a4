"""memenv environments as SkyRL-gym text environments (``pip install "memenv[skyrl]"``, skyrl-gym 0.4).

:class:`MemenvTextEnv` is a ``skyrl_gym`` ``BaseTextEnv`` wrapping any registered memenv env. SkyRL's
generator builds one per trajectory with ``skyrl_gym.make(env_class, env_config=..., extras=row)``,
calls ``init(prompt)`` for the first chat, then ``step(reply)`` per model turn, appending each step's
``observations`` to the conversation.

- ``init`` ignores the dataset prompt's text (it only names the episode) and returns the env's own
  first messages: the system prompt with the (empty) memory and the first chunk.
- ``step(reply)`` hands the reply to ``env.step``. Until the last chunk it returns one user message:
  the memory as it now stands (``obs["memory"]``) and the env's next chunk message
  (``observation="memory+chunk"``, the default), or the chunk message alone
  (``observation="chunk"``). SkyRL keeps one growing conversation — no context reset (a fresh prompt
  per chunk would need a SkyRL generator of its own) — so re-showing the memory keeps the latest state
  in front of the model.
- Rewards come online, step by step, so Mem-α's broadcast of the terminal parts to earlier steps is
  not possible here. ``reward_mode="trajectory"`` (default): 0 at every step but the last, which
  carries the episode's mean Mem-α step reward ``r1 + beta * r3 + mean_t(r2_t) + gamma *
  mean_t(r4_t)`` (memenv.train's trajectory reward) — right for SkyRL's outcome-based estimators and
  for step-wise training, which both read the final reward. ``reward_mode="sparse"``: the env's own
  scalar each step (``r2_t + gamma * r4_t``, plus ``r1 + beta * r3`` at the end; their sum is the
  episode's total).
- ``metadata`` carries the step's ``reward_components``, ``tool_results`` and ``parse_error`` (and the
  QA record at the end); :meth:`MemenvTextEnv.get_metrics` reports accuracy, the mean reward parts and
  the number of steps.

Configuration: ``env_config`` (SkyRL's ``environment.skyrl_gym.<env_class>`` section) gives defaults,
a row's ``extras`` override them: ``env_id``, ``env_kwargs`` (dict or JSON), ``seed``,
``reward_mode``, ``observation``. :func:`dataset_rows` writes such rows. Importing this module
registers the class as ``memenv`` with ``skyrl_gym`` (:func:`register`, safe to call again).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import gymnasium as gym
import skyrl_gym
from skyrl_gym.envs.base_text_env import BaseTextEnv, BaseTextEnvStepOutput

import memenv  # noqa: F401  (registers the environments)
from memenv.reward import COMPONENTS, TERMINAL_COMPONENTS
from memenv.train.losses import step_rewards

ENV_CLASS = "memenv"
ENTRY_POINT = "memenv.integrations.skyrl:MemenvTextEnv"
REWARD_MODES = ("trajectory", "sparse")
OBSERVATIONS = ("memory+chunk", "chunk")


def register(env_class: str = ENV_CLASS) -> None:
    """Register :class:`MemenvTextEnv` with ``skyrl_gym`` under ``env_class``.

    ``skyrl_gym.register`` raises on a duplicate id; registering the same entry point again is a no-op
    here, another class under the same id is a ``ValueError``.
    """
    spec = skyrl_gym.registry.get(env_class)
    if spec is not None:
        if spec.entry_point != ENTRY_POINT:
            raise ValueError(f"skyrl_gym env id {env_class!r} is already taken by {spec.entry_point!r}")
        return
    skyrl_gym.register(id=env_class, entry_point=ENTRY_POINT)


def dataset_rows(
    num_episodes: int,
    *,
    env_id: str = "memenv/MemAlpha-v0",
    env_kwargs: Mapping[str, Any] | None = None,
    seed_offset: int = 0,
    env_class: str = ENV_CLASS,
) -> list[dict[str, Any]]:
    """SkyRL dataset rows, one per episode (seeds ``seed_offset + 0 ..``): ``prompt``, ``env_class``,
    ``data_source`` and the extras :class:`MemenvTextEnv` reads. Write them with
    ``pandas.DataFrame(rows).to_parquet(path)``."""
    if num_episodes < 1:
        raise ValueError(f"num_episodes must be >= 1, got {num_episodes}")
    gym.spec(env_id)  # fails early on an unknown env id
    return [
        {
            "prompt": [{"role": "user", "content": f"memenv episode {seed_offset + i}"}],
            "env_class": env_class,
            "data_source": f"memenv/{env_id}",
            "env_id": env_id,
            "env_kwargs": json.dumps(dict(env_kwargs or {})),
            "seed": seed_offset + i,
        }
        for i in range(num_episodes)
    ]


class MemenvTextEnv(BaseTextEnv):
    """A memenv env behind SkyRL-gym's text-env interface; see the module docstring.

    Args:
        env_config: SkyRL's per-env config section (a mapping; ``DictConfig`` works): defaults for
            ``env_id`` (``"memenv/MemAlpha-v0"``), ``env_kwargs``, ``reward_mode`` (``"trajectory"`` or
            ``"sparse"``), ``observation`` (``"memory+chunk"`` or ``"chunk"``).
        extras: the dataset row (SkyRL adds ``max_turns``): ``seed`` and any of the keys above.

    Example::

        import memenv.integrations.skyrl, skyrl_gym
        env = skyrl_gym.make("memenv", env_config={}, extras={"seed": 3, "env_kwargs": {"context_tokens": 512}})
        chat, _ = env.init([])
        out = env.step("<tool_call>...</tool_call>")
    """

    def __init__(self, env_config: Mapping[str, Any] | None = None, extras: Mapping[str, Any] | None = None):
        super().__init__()
        settings: dict[str, Any] = {}
        for source in (env_config or {}, extras or {}):
            for key in ("env_id", "env_kwargs", "seed", "reward_mode", "observation"):
                if key in source and source[key] is not None:
                    settings[key] = source[key]
        env_kwargs = settings.get("env_kwargs", {})
        if isinstance(env_kwargs, str):
            env_kwargs = json.loads(env_kwargs or "{}")
        self.reward_mode = settings.get("reward_mode", "trajectory")
        if self.reward_mode not in REWARD_MODES:
            raise ValueError(f"reward_mode must be one of {REWARD_MODES}, got {self.reward_mode!r}")
        self.observation = settings.get("observation", "memory+chunk")
        if self.observation not in OBSERVATIONS:
            raise ValueError(f"observation must be one of {OBSERVATIONS}, got {self.observation!r}")
        self.seed = int(settings.get("seed", 0))
        self.env = gym.make(settings.get("env_id", "memenv/MemAlpha-v0"), **dict(env_kwargs))
        self.components: list[dict[str, float]] = []
        self.accuracy = 0.0
        self.done = False
        self._info: dict[str, Any] = {}

    def init(self, prompt: Any) -> tuple[list[dict[str, str]], dict[str, Any]]:
        """Start the episode; the first chat is the env's own (system prompt + first chunk)."""
        _, info = self.env.reset(seed=self.seed)
        self.max_turns = int(info["num_chunks"])
        self.turns = 0
        self.components, self.accuracy, self.done = [], 0.0, False
        self._info = info
        return [dict(m) for m in info["messages"]], {"num_chunks": info["num_chunks"], "episode_id": info["episode_id"]}

    def step(self, action: str) -> BaseTextEnvStepOutput:
        if self.done or not self._info:
            raise RuntimeError("the episode is over (or init() was not called); SkyRL builds a new env per trajectory")
        obs, reward, terminated, truncated, info = self.env.step(action if isinstance(action, str) else "")
        self.turns += 1
        self._info = info
        self.components.append(dict(info["reward_components"]))
        self.done = bool(terminated or truncated)
        metadata: dict[str, Any] = {
            "reward_components": dict(info["reward_components"]),
            "tool_results": info["tool_results"],
            "parse_error": info["parse_error"],
        }
        observations: list[dict[str, str]] = []
        if self.done:
            self.accuracy = float(info.get("qa", {}).get("accuracy", 0.0))
            metadata["qa"] = info.get("qa")
            if self.reward_mode == "trajectory":
                unwrapped = self.env.unwrapped
                reward = step_rewards(self.components, unwrapped.beta, unwrapped.gamma, "trajectory")[-1]
        else:
            if self.reward_mode == "trajectory":
                reward = 0.0
            chunk_message = info["messages"][-1]["content"]
            content = chunk_message
            if self.observation == "memory+chunk":
                content = f"Memory now:\n{obs['memory']}\n\n{chunk_message}"
            observations.append({"role": "user", "content": content})
        return BaseTextEnvStepOutput(
            observations=observations,
            reward=float(reward),
            done=self.done,
            metadata=metadata,
            postprocessed_action=None,
        )

    def get_metrics(self) -> dict[str, Any]:
        """Accuracy, mean reward parts (terminal parts from the last step) and steps of the episode so far."""
        if not self.components:
            return {"steps": 0}
        metrics: dict[str, Any] = {"steps": len(self.components), "accuracy": self.accuracy}
        for name in COMPONENTS:
            values = [c[name] for c in self.components]
            metrics[name] = values[-1] if name in TERMINAL_COMPONENTS else sum(values) / len(values)
        return metrics

    def close(self) -> None:
        self.env.close()


register()
