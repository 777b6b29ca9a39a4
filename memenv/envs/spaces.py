"""A text space that accepts real text.

Gymnasium's ``spaces.Text`` defaults to an alphanumeric charset and ``min_length=1``, so it rejects
ordinary prose, empty model replies and the empty chunk after the last step. ``AnyText`` accepts any
``str`` within its length bounds; sampling draws printable ASCII (what ``check_env`` steps with).
"""

from __future__ import annotations

import string
from typing import Any

from gymnasium import spaces

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
