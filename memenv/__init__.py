"""memenv: learning to build memory, as a standard RL problem.

Importing the package registers its environments with Gymnasium::

    import gymnasium as gym
    import memenv

    env = gym.make("MemAlpha-v0")

``gym.make("memenv:MemAlpha-v0")`` imports memenv itself (useful in subprocess or Ray workers).
"""

from __future__ import annotations

from gymnasium.envs.registration import register, registry

from memenv.vector import make_vec

__version__ = "0.1.0"

# (id, entry point). String entry points keep `spec.to_json()` working and imports lazy.
ENVIRONMENTS = (
    ("MemAlpha-v0", "memenv.envs.mem_alpha:MemAlphaEnv"),
    ("MEM1-v0", "memenv.envs.mem1:Mem1Env"),
    ("MemoryR1-v0", "memenv.envs.memory_r1:MemoryR1Env"),
    ("MemAlpha-v1", "memenv.envs.mem_alpha:MemAlphaEnv"),
    ("MEM1-v1", "memenv.envs.mem1:Mem1Env"),
    ("MemoryR1-v1", "memenv.envs.memory_r1:MemoryR1Env"),
)
# A v1 id is the same env drawing its episodes from suite v1 of the generators: a harder task is a new
# version (Gymnasium's versioning), and the v0 ids keep suite v0 and the results published under it.
ENV_KWARGS = {
    "MemAlpha-v1": {"suite": "v1"},
    "MEM1-v1": {"suite": "v1"},
    "MemoryR1-v1": {"suite": "v1"},
}

for _env_id, _entry_point in ENVIRONMENTS:
    if _env_id not in registry:
        register(id=_env_id, entry_point=_entry_point, kwargs=dict(ENV_KWARGS.get(_env_id, {})))

__all__ = ["ENVIRONMENTS", "ENV_KWARGS", "__version__", "make_vec"]
