"""memenv's environments, one module each."""

from __future__ import annotations

from memenv.envs.base import MemoryEnv
from memenv.envs.mem_alpha import MemAlphaEnv

__all__ = ["MemAlphaEnv", "MemoryEnv"]
