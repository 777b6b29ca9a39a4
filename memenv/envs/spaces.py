"""A text space that accepts real text.

Gymnasium's ``spaces.Text`` defaults to an alphanumeric charset and ``min_length=1``, so it rejects
ordinary prose, empty model replies and the empty chunk after the last step. ``AnyText`` accepts any
``str`` within its length bounds; sampling draws printable ASCII (what ``check_env`` steps with).

``AnyText`` cannot live in shared memory. Gymnasium's ``AsyncVectorEnv`` (and so ``gym.make_vec(...,
vectorization_mode="async")``) puts observations in shared memory by default, as fixed arrays of
``max_length`` character indices into the space's charset: for ``AnyText`` that is 16M characters
per text per copy, and any character outside the charset comes back as garbage. This module
registers ``AnyText`` with Gymnasium's shared-memory functions so that they refuse it: the vector
env's constructor then raises at once, saying to pass ``shared_memory=False`` or to use
:func:`memenv.make_vec`, instead of returning wrong observations.
"""

from __future__ import annotations

import string
from typing import Any

from gymnasium import spaces
from gymnasium.error import CustomSpaceError
from gymnasium.vector.utils import create_shared_memory, read_from_shared_memory, write_to_shared_memory

MAX_TEXT_LENGTH = 1 << 24  # characters; a bound Gymnasium requires, far above any chunk or memory


class AnyText(spaces.Text):
    def __init__(self, max_length: int = MAX_TEXT_LENGTH, *, min_length: int = 0, seed: int | None = None) -> None:
        super().__init__(max_length, min_length=min_length, charset=string.printable, seed=seed)

    def sample(self, mask: Any = None, probability: Any = None) -> str:
        if mask is None and probability is None:
            # Keep samples short: a sample near max_length would be a 16M-character string.
            length = int(self.np_random.integers(self.min_length, min(self.max_length, 256) + 1))
            return "".join(self.np_random.choice(list(self.characters), size=length))
        return super().sample(mask=mask, probability=probability)

    def contains(self, x: Any) -> bool:
        return isinstance(x, str) and self.min_length <= len(x) <= self.max_length

    def __repr__(self) -> str:
        return f"AnyText({self.min_length}, {self.max_length})"

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, AnyText) and self.min_length == other.min_length and self.max_length == other.max_length
        )


class TextInSharedMemoryError(CustomSpaceError):
    """``AnyText`` was given to Gymnasium's shared memory (``AsyncVectorEnv(shared_memory=True)``)."""


_SHARED_MEMORY_MESSAGE = (
    "memenv's text observations (AnyText) cannot be passed through shared memory: use "
    'memenv.make_vec(env_id, n, vectorization_mode="async"), or gym.make_vec(..., '
    'vectorization_mode="async", vector_kwargs={"shared_memory": False}), or '
    "AsyncVectorEnv(..., shared_memory=False)"
)


@create_shared_memory.register(AnyText)
def _refuse_create(space: AnyText, n: int = 1, ctx: Any = None) -> Any:
    raise TextInSharedMemoryError(_SHARED_MEMORY_MESSAGE)


@read_from_shared_memory.register(AnyText)
def _refuse_read(space: AnyText, shared_memory: Any, n: int = 1) -> Any:
    raise TextInSharedMemoryError(_SHARED_MEMORY_MESSAGE)


@write_to_shared_memory.register(AnyText)
def _refuse_write(space: AnyText, index: int, value: Any, shared_memory: Any) -> None:
    raise TextInSharedMemoryError(_SHARED_MEMORY_MESSAGE)
