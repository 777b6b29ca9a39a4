"""memenv: learning to build memory, as a standard RL problem.

Importing the package registers its environments with Gymnasium, under the ``memenv`` namespace::

    import gymnasium as gym
    import memenv

    env = gym.make("memenv/MemAlpha-v0")

``gym.make("memenv:memenv/MemAlpha-v0")`` imports memenv itself (useful in subprocess or Ray workers).
The ids from before the namespace (``MemAlpha-v0``, ``MEM1-v0``, ``MemoryR1-v0`` and their ``-v1``) stay
registered as aliases of the same environments (:data:`ALIASES`), so ``gym.make("MemAlpha-v0")`` and
``gym.make("memenv:MemAlpha-v0")`` keep working.
"""

from __future__ import annotations

import warnings

from gymnasium.envs.registration import register, registry

from memenv.vector import make_vec

__version__ = "0.1.0"  # the one place the version is written (pyproject.toml reads it from here)

NAMESPACE = "memenv"

# (id, entry point). String entry points keep `spec.to_json()` working and imports lazy.
ENVIRONMENTS = (
    ("memenv/MemAlpha-v0", "memenv.envs.mem_alpha:MemAlphaEnv"),
    ("memenv/MEM1-v0", "memenv.envs.mem1:Mem1Env"),
    ("memenv/MemoryR1-v0", "memenv.envs.memory_r1:MemoryR1Env"),
    ("memenv/MemAlpha-v1", "memenv.envs.mem_alpha:MemAlphaEnv"),
    ("memenv/MEM1-v1", "memenv.envs.mem1:Mem1Env"),
    ("memenv/MemoryR1-v1", "memenv.envs.memory_r1:MemoryR1Env"),
)
# A v1 id is the same env drawing its episodes from suite v1 of the generators: a harder task is a new
# version (Gymnasium's versioning), and the v0 ids keep suite v0 and the results published under it.
ENV_KWARGS = {
    "memenv/MemAlpha-v1": {"suite": "v1"},
    "memenv/MEM1-v1": {"suite": "v1"},
    "memenv/MemoryR1-v1": {"suite": "v1"},
}
# The ids from before the namespace: registered too, as the same environment (same entry point and
# keyword arguments), so code written for them keeps working.
ALIASES = {env_id.removeprefix(f"{NAMESPACE}/"): env_id for env_id, _ in ENVIRONMENTS}


def canonical_id(env_id: str) -> str:
    """The namespaced id of a memenv env id: ``"MemAlpha-v0"``, ``"memenv:MemAlpha-v0"`` and
    ``"memenv/MemAlpha-v0"`` all give ``"memenv/MemAlpha-v0"``; any other id comes back unchanged."""
    name = env_id.removeprefix(f"{NAMESPACE}:")
    return ALIASES.get(name, name)


# Gymnasium warns that an id is "out of date" whenever a higher version is registered. Here v0 is not
# outdated: it is suite v0, the one the published results use, and v1 is a different, harder suite. The
# warning is silenced for memenv's v0 ids only.
warnings.filterwarnings(
    "ignore",
    message=r".*The environment (memenv/)?(MemAlpha|MEM1|MemoryR1)-v0 is out of date",
    category=DeprecationWarning,
)

for _env_id, _entry_point in ENVIRONMENTS:
    for _id in (_env_id, _env_id.removeprefix(f"{NAMESPACE}/")):
        if _id not in registry:
            register(id=_id, entry_point=_entry_point, kwargs=dict(ENV_KWARGS.get(_env_id, {})))

__all__ = ["ALIASES", "ENVIRONMENTS", "ENV_KWARGS", "NAMESPACE", "__version__", "canonical_id", "make_vec"]
