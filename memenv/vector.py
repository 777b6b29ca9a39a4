"""Vectorised memenv environments that are correct for text spaces.

Gymnasium's defaults do not fit text environments: :class:`gymnasium.vector.AsyncVectorEnv` passes
observations through shared memory by default, which cannot hold ``Text`` spaces (the observations
come back as garbage), and the default ``NEXT_STEP`` autoreset spends one extra ``step`` per episode
on a reset that ignores its action. :func:`make_vec` fixes both::

    import memenv

    envs = memenv.make_vec("memenv/MemAlpha-v0", num_envs=4, vectorization_mode="async", task="accurate_retrieval")
    obs, infos = envs.reset(seed=0)          # obs["chunk"]: a tuple of 4 strings
    obs, rewards, terminated, truncated, infos = envs.step(("",) * 4)

With ``AutoresetMode.SAME_STEP``, the step that ends an episode already returns the first observation
of the next one; the final observation and info of the finished episode are in
``infos["final_obs"]`` and ``infos["final_info"]`` (masked by ``infos["_final_obs"]``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import gymnasium as gym
from gymnasium.vector import AutoresetMode

VECTORIZATION_MODES = ("async", "sync")


def make_vec(
    env_id: str,
    num_envs: int = 1,
    vectorization_mode: str = "async",
    *,
    wrappers: Sequence[Callable[[gym.Env], gym.Env]] | None = None,
    vector_kwargs: dict[str, Any] | None = None,
    **kwargs: Any,
) -> gym.vector.VectorEnv:
    """``num_envs`` copies of ``env_id`` in one vector env (``gym.make_vec`` with text-safe defaults).

    Args:
        env_id: a registered id; ``"memenv:MemAlpha-v0"`` also works where memenv is not imported yet
            (the worker processes of the async mode import it themselves).
        num_envs: number of copies (>= 1).
        vectorization_mode: ``"async"`` (one subprocess per copy: use several cores) or ``"sync"``
            (all copies in this process, stepped one after another).
        wrappers: functions ``env -> wrapped env`` applied to each copy (e.g. the SB3 adapters in
            :mod:`memenv.wrappers`); they must be picklable for ``"async"`` (lambdas are fine:
            Gymnasium ships them with cloudpickle).
        vector_kwargs: extra arguments for the vector env's constructor; they override the defaults
            ``shared_memory=False`` (async only) and ``autoreset_mode=AutoresetMode.SAME_STEP``.
        **kwargs: environment arguments (``task=``, ``context_tokens=``, ...), the same for every copy.

    Returns:
        A :class:`gymnasium.vector.AsyncVectorEnv` or :class:`gymnasium.vector.SyncVectorEnv`.
        ``reset(seed=s)`` seeds copy ``i`` with ``s + i`` (Gymnasium's rule), so the async and the sync
        env give identical observations for the same seed.
    """
    if vectorization_mode not in VECTORIZATION_MODES:
        raise ValueError(f"vectorization_mode must be one of {VECTORIZATION_MODES}, got {vectorization_mode!r}")
    if isinstance(num_envs, bool) or not isinstance(num_envs, int) or num_envs < 1:
        raise ValueError(f"num_envs must be an int >= 1, got {num_envs!r}")
    options: dict[str, Any] = {"autoreset_mode": AutoresetMode.SAME_STEP}
    if vectorization_mode == "async":
        options["shared_memory"] = False  # Text observations cannot live in shared memory
    options.update(vector_kwargs or {})
    return gym.make_vec(
        env_id,
        num_envs=num_envs,
        vectorization_mode=vectorization_mode,
        vector_kwargs=options,
        wrappers=list(wrappers) if wrappers else None,
        **kwargs,
    )
