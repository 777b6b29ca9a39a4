"""Playing many episodes in lock-step, with one batched policy call per step.

An LLM writer that plays one episode at a time sends the model one prompt per step and waits. Played
side by side, the episodes share each call: at every step the prompts of all unfinished episodes go
to the policy together, so a local model decodes them as one batch
(:meth:`memenv.llm.HFChatModel.generate_batch`) and a server receives them as concurrent requests
(:meth:`memenv.llm.OpenAIChatModel.generate_batch`, at most its ``concurrency`` in flight)::

    import gymnasium as gym
    from baselines.llm_policy import LLMPolicy
    from memenv.llm import make_chat_model
    from memenv.lockstep import run_lockstep

    policy = LLMPolicy(make_chat_model("hf:default"))
    runs = run_lockstep(
        lambda i: gym.make("memenv/MemAlpha-v0", task="accurate_retrieval", context_tokens=4096),
        [{"seed": seed} for seed in range(16)],  # one reset per episode
        policy.act_batch,
        num_envs=8,
    )
    runs[0].info["qa"]["accuracy"], runs[0].total_reward

Episodes have different lengths: one that ends leaves the batch, and the next episode waiting (if
any) starts in its place at the next step, so up to ``num_envs`` episodes are always in play. Each
episode has its own environment, so nothing is shared between them but the policy call; with a
policy whose replies do not depend on the other rows of the batch (greedy decoding), every episode
ends exactly as it would played alone.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import gymnasium as gym

BatchPolicy = Callable[[list[dict[str, Any]], list[dict[str, Any]]], Sequence[Any]]
"""``act_batch(observations, infos) -> actions``: one action per row, in order (e.g.
:meth:`baselines.llm_policy.LLMPolicy.act_batch`). Rows come from different episodes; a policy that
keeps state between steps must key it by ``info["episode_id"]`` or similar, not by row position."""


@dataclass
class EpisodeRun:
    """One episode played by :func:`run_lockstep`.

    Attributes:
        index: the episode's position in ``resets``.
        info: the ``info`` of its last step (for memenv envs: ``info["qa"]``, ``info["memory"]``, ...).
        steps: how many ``env.step`` calls it took.
        total_reward: the sum of its step rewards.
        rewards: each step's reward.
        terminated, truncated: how it ended.
        seconds: its share of the wall time: its own reset, steps and close, plus an equal share of
            every batched policy call it took part in (so the shares of all episodes add up to the
            run's wall time).
    """

    index: int
    info: dict[str, Any] = field(default_factory=dict)
    steps: int = 0
    total_reward: float = 0.0
    rewards: list[float] = field(default_factory=list)
    terminated: bool = False
    truncated: bool = False
    seconds: float = 0.0


def run_lockstep(
    make_env: Callable[[int], gym.Env],
    resets: Sequence[dict[str, Any]],
    act_batch: BatchPolicy,
    *,
    num_envs: int = 8,
    on_episode_end: Callable[[EpisodeRun], None] | None = None,
    max_steps: int | None = None,
) -> list[EpisodeRun]:
    """Play one episode per entry of ``resets``, up to ``num_envs`` at a time, calling ``act_batch`` once per step.

    Episode ``i`` runs in ``make_env(i)``, a fresh environment (closed when the episode ends), reset
    with ``env.reset(**resets[i])`` (e.g. ``{"seed": 0, "options": {"episode": episode}}``). Then, at
    every step, the observations and infos of every episode in play are passed to ``act_batch`` in
    one call, in the order the episodes started, and each env steps with its own action. An episode
    ends when its env reports ``terminated`` or ``truncated`` (or after ``max_steps`` steps, counted
    as truncated); the next waiting episode then starts in its place. Episodes start in the order of
    ``resets``.

    Args:
        make_env: ``i -> env`` for episode ``i``.
        resets: the keyword arguments of each episode's ``reset``.
        act_batch: the batched policy (see :data:`BatchPolicy`); it must return one action per row.
        num_envs: the most episodes in play at once (the largest batch).
        on_episode_end: called with each :class:`EpisodeRun` as soon as its episode ends (in the
            order they end), e.g. to write results as they come.
        max_steps: stop an episode after this many steps (``None``: play until the env ends it).

    Returns:
        One :class:`EpisodeRun` per entry of ``resets``, in that order.

    Raises:
        ValueError: ``num_envs`` or ``max_steps`` below 1, or ``act_batch`` returned a number of
            actions other than the number of rows. Every env still open is closed before an error
            leaves this function.
    """
    if isinstance(num_envs, bool) or not isinstance(num_envs, int) or num_envs < 1:
        raise ValueError(f"num_envs must be an int >= 1, got {num_envs!r}")
    if max_steps is not None and (isinstance(max_steps, bool) or not isinstance(max_steps, int) or max_steps < 1):
        raise ValueError(f"max_steps must be an int >= 1 or None, got {max_steps!r}")
    runs = [EpisodeRun(index=i) for i in range(len(resets))]
    waiting = iter(range(len(resets)))
    # Episodes in play, in the order they started: (index, env, obs, info).
    playing: list[tuple[int, gym.Env, Any, dict[str, Any]]] = []
    closed: set[int] = set()
    try:
        while True:
            while len(playing) < num_envs and (index := next(waiting, None)) is not None:  # fill free places
                started = time.perf_counter()
                env = make_env(index)
                try:
                    obs, info = env.reset(**resets[index])
                except BaseException:
                    env.close()
                    raise
                playing.append((index, env, obs, info))
                runs[index].info = info
                runs[index].seconds += time.perf_counter() - started
            if not playing:
                return runs
            started = time.perf_counter()
            actions = list(act_batch([obs for _, _, obs, _ in playing], [info for _, _, _, info in playing]))
            share = (time.perf_counter() - started) / len(playing)
            if len(actions) != len(playing):
                raise ValueError(
                    f"act_batch returned {len(actions)} actions for {len(playing)} rows; expected one per row"
                )
            still: list[tuple[int, gym.Env, Any, dict[str, Any]]] = []
            for (index, env, _, _), action in zip(playing, actions, strict=True):
                started = time.perf_counter()
                run = runs[index]
                obs, reward, terminated, truncated, info = env.step(action)
                run.steps += 1
                run.rewards.append(float(reward))
                run.total_reward += float(reward)
                run.info = info
                if max_steps is not None and run.steps >= max_steps and not terminated:
                    truncated = True
                if terminated or truncated:
                    run.terminated, run.truncated = bool(terminated), bool(truncated)
                    env.close()
                    closed.add(index)
                    run.seconds += share + time.perf_counter() - started
                    if on_episode_end is not None:
                        on_episode_end(run)
                else:
                    still.append((index, env, obs, info))
                    run.seconds += share + time.perf_counter() - started
            playing = still
    finally:
        for index, env, _, _ in playing:
            if index not in closed:
                env.close()


__all__ = ["BatchPolicy", "EpisodeRun", "run_lockstep"]
