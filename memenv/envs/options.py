"""Checks of the environments' constructor arguments, so a wrong option fails at ``gym.make``.

Without them a wrong type surfaces late or never: ``beta="x"`` raised at the last step, ``beta=nan``
gave NaN rewards, ``episodes=["x"]`` an ``AttributeError`` at reset. Each check raises ``TypeError``
for a wrong type and ``ValueError`` for a value out of range, naming the argument and what it takes,
and returns the value in its plain Python type (``numpy.int64(3)`` -> ``3``).
"""

from __future__ import annotations

import math
import numbers
import os
from collections.abc import Sequence
from typing import Any

from memenv.envs.spaces import MAX_TEXT_LENGTH
from memenv.limits import well_formed
from memenv.tasks import Episode


def check_int(name: str, value: Any, *, minimum: int | None = None, maximum: int | None = None) -> int:
    """An integer (``bool`` is not one) within ``[minimum, maximum]``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an int, got {type(value).__name__} ({value!r:.60})")
    value = int(value)
    if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
        bounds = f">= {minimum}" if maximum is None else f"between {minimum} and {maximum:,}"
        raise ValueError(f"{name} must be {bounds}, got {value:,}")
    return value


def check_optional_int(name: str, value: Any, *, minimum: int | None = None) -> int | None:
    return None if value is None else check_int(name, value, minimum=minimum)


def check_number(name: str, value: Any) -> float:
    """A finite real number (``bool`` is not one)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number, got {type(value).__name__} ({value!r:.60})")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number, got {value}")
    return value


def check_bool(name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"{name} must be True or False, got {type(value).__name__} ({value!r:.60})")
    return value


def check_str(name: str, value: Any, *, optional: bool = False) -> str | None:
    if value is None and optional:
        return None
    if not isinstance(value, str):
        expected = "a str or None" if optional else "a str"
        raise TypeError(f"{name} must be {expected}, got {type(value).__name__} ({value!r:.60})")
    return value


def check_path(name: str, value: Any) -> str | os.PathLike | None:
    if value is not None and not isinstance(value, (str, os.PathLike)):
        raise TypeError(f"{name} must be a path or dataset id (str), got {type(value).__name__} ({value!r:.60})")
    return value


def check_judge(value: Any) -> Any:
    if value is not None and not callable(value):
        raise TypeError(
            f"judge must be callable as judge(write, chunk) -> float (a memenv.reward.ContentJudge), "
            f"got {type(value).__name__}"
        )
    return value


def check_episodes(value: Any) -> list[Episode] | None:
    """A non-empty sequence of :class:`~memenv.tasks.Episode` whose chunks fit the observation space."""
    if value is None:
        return None
    if isinstance(value, (str, bytes, Episode)) or not isinstance(value, Sequence):
        raise TypeError(f"episodes must be a list of memenv.tasks.Episode, got {type(value).__name__}")
    episodes = list(value)
    if not episodes:
        raise ValueError("episodes is empty")
    for i, episode in enumerate(episodes):
        if not isinstance(episode, Episode):
            raise TypeError(f"episodes[{i}] must be a memenv.tasks.Episode, got {type(episode).__name__}")
        check_episode(episode, f"episodes[{i}]")
    return episodes


def check_episode(episode: Episode, where: str) -> None:
    """Chunks must be well-formed strings the observation space can hold (and a model can read)."""
    for j, chunk in enumerate(episode.chunks):
        if not isinstance(chunk, str):
            raise TypeError(f"{where}.chunks[{j}] must be a str, got {type(chunk).__name__}")
        if len(chunk) > MAX_TEXT_LENGTH:
            raise ValueError(
                f"{where}.chunks[{j}] has {len(chunk):,} characters, over the observation space's "
                f"{MAX_TEXT_LENGTH:,}; split the stream into smaller chunks"
            )
        if well_formed(chunk) is not chunk:
            raise ValueError(f"{where}.chunks[{j}] is not valid Unicode (it holds a lone surrogate)")
