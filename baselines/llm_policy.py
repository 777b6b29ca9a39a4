"""An LLM as the memory writer of any memenv environment.

Every environment puts ready chat messages (its system prompt with the current memory, and the chunk)
in ``info["messages"]`` and its tool schemas in ``info["tools"]``, so one policy serves them all: the
model's reply is the action, and the environment parses the tool calls (or, for ``MEM1-v0``, the new
paragraph) out of it. Any :class:`memenv.llm.ChatModel` works: a local Hugging Face folder, the
embedded SmolLM2, or an OpenAI-compatible endpoint such as a vLLM server::

    import gymnasium as gym
    import memenv
    from baselines.llm_policy import LLMPolicy
    from memenv.llm import make_chat_model

    policy = LLMPolicy(make_chat_model("openai:http://localhost:8000/v1#Qwen/Qwen3-4B"))
    env = gym.make("memenv/MemAlpha-v0", task="accurate_retrieval", context_tokens=8192)
    obs, info = env.reset(seed=0)
    done = False
    while not done:
        obs, reward, done, _, info = env.step(policy(obs, info))

Many episodes at once: :meth:`LLMPolicy.act_batch` answers the prompts of several envs with one
``generate_batch`` call (one padded batch on a local model, concurrent requests to a server), and
:func:`memenv.lockstep.run_lockstep` steps the envs side by side with it::

    from memenv.lockstep import run_lockstep

    runs = run_lockstep(lambda i: gym.make("memenv/MemAlpha-v0"), [{"seed": s} for s in range(8)], policy.act_batch)
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from memenv.llm import ChatModel


class LLMPolicy:
    """``policy(obs, info) -> model.generate(info["messages"], tools=info["tools"], ...)``.

    Returns ``""`` (a legal no-op) when there is nothing to read (``info["messages"]`` empty, after
    the last chunk). Greedy by default, so a local model writes the same memory every run.

    Args:
        model: the chat model that writes.
        max_new_tokens: the longest reply (a reply cut short may lose its last tool call).
        temperature: ``0.0`` = greedy; above 0 samples.
        seed: passed to the model on every call, for repeatable sampling where the backend allows it.
        name: shown in reports; defaults to the model's name.
    """

    def __init__(
        self,
        model: ChatModel,
        max_new_tokens: int = 256,
        temperature: float = 0.0,
        seed: int | None = None,
        name: str = "",
    ) -> None:
        if isinstance(max_new_tokens, bool) or not isinstance(max_new_tokens, int) or max_new_tokens < 1:
            raise ValueError(f"max_new_tokens must be an int >= 1, got {max_new_tokens!r}")
        if temperature < 0:
            raise ValueError(f"temperature must be >= 0, got {temperature}")
        self.model = model
        self.max_new_tokens = max_new_tokens
        self.temperature = temperature
        self.seed = seed
        self.name = name or getattr(model, "name", "llm")

    def __repr__(self) -> str:
        return f"LLMPolicy({self.name!r}, max_new_tokens={self.max_new_tokens}, temperature={self.temperature})"

    def __call__(self, obs: dict[str, str], info: dict[str, Any]) -> str:
        messages = info.get("messages") or []
        if not messages:
            return ""
        return self.model.generate(
            messages,
            tools=info.get("tools") or None,
            max_new_tokens=self.max_new_tokens,
            temperature=self.temperature,
            seed=self.seed,
        )

    def act_batch(self, observations: Sequence[dict[str, str]], infos: Sequence[dict[str, Any]]) -> list[str]:
        """``[policy(obs, info) for obs, info in zip(observations, infos)]``, in one model call.

        The rows that have messages go to ``model.generate_batch`` together (one call per distinct
        tool list, normally one), so a local model decodes them as one batch and an endpoint gets
        them as concurrent requests; rows with nothing to read get ``""``. With greedy decoding each
        reply equals the one :meth:`__call__` gives for that row alone. With sampling and a ``seed``,
        :class:`memenv.llm.HFChatModel` samples row ``i`` with ``seed + i``, so a row's reply depends
        on its place in the batch.
        """
        if len(observations) != len(infos):
            raise ValueError(f"got {len(observations)} observations but {len(infos)} infos; they must align")
        replies = [""] * len(infos)
        groups: dict[str, list[int]] = {}
        tools_of: dict[str, list[dict] | None] = {}
        for row, info in enumerate(infos):
            if not info.get("messages"):
                continue
            tools = info.get("tools") or None
            key = json.dumps(tools, sort_keys=True)
            groups.setdefault(key, []).append(row)
            tools_of[key] = tools
        for key, rows in groups.items():
            answers = self.model.generate_batch(
                [infos[row]["messages"] for row in rows],
                tools=tools_of[key],
                max_new_tokens=self.max_new_tokens,
                temperature=self.temperature,
                seed=self.seed,
            )
            if len(answers) != len(rows):
                raise ValueError(f"{self.name}: generate_batch returned {len(answers)} replies for {len(rows)} prompts")
            for row, answer in zip(rows, answers, strict=True):
                replies[row] = answer
        return replies
