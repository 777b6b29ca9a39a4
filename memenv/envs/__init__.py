"""memenv's environments, one module each."""

from __future__ import annotations

from memenv.envs.base import MemoryEnv
from memenv.envs.mem1 import Mem1Env
from memenv.envs.mem_alpha import MemAlphaEnv
from memenv.envs.memory_r1 import MemoryR1Env

__all__ = ["Mem1Env", "MemAlphaEnv", "MemoryEnv", "MemoryR1Env"]
