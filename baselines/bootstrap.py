"""Bootstrap confidence intervals for leaderboard scores, resampling episodes.

The leaderboard's number for a system is a simple mean over columns (competencies or sources) of
per-column means over episodes. Its uncertainty comes from which episodes were drawn, so the
bootstrap resamples episodes: each of ``samples`` draws picks, within every column independently,
as many episodes as the column has, with replacement (a stratified bootstrap: every column keeps its
size, so the mean over columns stays a mean over the same columns). An interval is the percentile
interval of the draws: for 95%, their 2.5th and 97.5th percentiles (numpy's default linear
interpolation between order statistics).

A paired comparison bootstraps the per-episode differences ``system - baseline`` over the episodes
both ran, so episode difficulty, shared by both systems, cancels out; its interval is far narrower
than the two systems' own intervals suggest when they overlap.

Draws come from ``numpy.random.default_rng(seed)``, one column at a time in the order given, so the
same scores, columns and seed give the same intervals on any machine and in any process. Every system
of a run uses the same seed; with equal column sizes the systems are resampled with the same episode
indices (common random numbers).

>>> interval_of({"x": [0.0, 0.0, 0.0, 1.0]}, samples=4000, seed=0)["scores"]["x"]
[0.0, 0.75]
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

DEFAULT_SAMPLES = 2000
DEFAULT_SEED = 0
CONFIDENCE = 0.95


def _check(samples: int, confidence: float) -> None:
    if isinstance(samples, bool) or not isinstance(samples, int) or samples < 1:
        raise ValueError(f"samples must be an int >= 1, got {samples!r}")
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence!r}")


def _bounds(draws: np.ndarray, confidence: float) -> list[float]:
    tail = (1.0 - confidence) / 2.0
    low, high = np.quantile(draws, [tail, 1.0 - tail])
    return [float(low), float(high)]


def interval_of(
    values: Mapping[str, Sequence[float]],
    *,
    samples: int = DEFAULT_SAMPLES,
    seed: int = DEFAULT_SEED,
    confidence: float = CONFIDENCE,
) -> dict[str, object]:
    """Percentile intervals of each column's mean and of the simple mean over columns.

    Args:
        values: per column, one number per episode (episode order matters only for the draws).
            Empty columns are left out.
        samples: bootstrap draws.
        seed: seed of ``numpy.random.default_rng``.
        confidence: the interval's coverage (0.95: the 2.5th to 97.5th percentile).

    Returns:
        ``{"scores": {column: [low, high]}, "mean": [low, high] | None}`` (``mean`` is None when no
        column has a value).
    """
    _check(samples, confidence)
    rng = np.random.default_rng(seed)
    column_draws: dict[str, np.ndarray] = {}
    for column, column_values in values.items():
        array = np.asarray(list(column_values), dtype=float)
        if array.size == 0:
            continue
        picks = rng.integers(0, array.size, size=(samples, array.size))
        column_draws[column] = array[picks].mean(axis=1)
    scores = {column: _bounds(draws, confidence) for column, draws in column_draws.items()}
    mean = _bounds(np.mean(np.stack(list(column_draws.values())), axis=0), confidence) if column_draws else None
    return {"scores": scores, "mean": mean}


def paired_difference(
    system: Mapping[str, Mapping[str, float]],
    baseline: Mapping[str, Mapping[str, float]],
    *,
    samples: int = DEFAULT_SAMPLES,
    seed: int = DEFAULT_SEED,
    confidence: float = CONFIDENCE,
) -> dict[str, object]:
    """``system - baseline`` over the episodes both ran, with bootstrap intervals of the difference.

    Args:
        system, baseline: per column, ``{episode id: score}``.

    Returns:
        ``{"difference": d, "ci": [low, high], "episodes": n, "per_column": {column: {"difference",
        "ci"}}}`` where ``d`` is the simple mean over columns of the per-column mean differences (equal
        to the difference of the two systems' means when both ran every episode). ``difference`` and
        ``ci`` are None when the two share no episode.
    """
    differences: dict[str, list[float]] = {}
    for column, scores in system.items():
        theirs = baseline.get(column, {})
        shared = [episode for episode in scores if episode in theirs]
        if shared:
            differences[column] = [scores[episode] - theirs[episode] for episode in shared]
    per_column_mean = {column: float(np.mean(values)) for column, values in differences.items()}
    intervals = interval_of(differences, samples=samples, seed=seed, confidence=confidence)
    ci_by_column: dict[str, list[float]] = intervals["scores"]  # type: ignore[assignment]
    return {
        "difference": float(np.mean(list(per_column_mean.values()))) if per_column_mean else None,
        "ci": intervals["mean"],
        "episodes": sum(len(values) for values in differences.values()),
        "per_column": {
            column: {"difference": per_column_mean[column], "ci": ci_by_column[column]} for column in differences
        },
    }


def scores_by_column(per_episode: Sequence[Mapping[str, object]], key: str = "accuracy") -> dict[str, dict[str, float]]:
    """``{column: {episode id: value}}`` from a results.json ``per_episode`` list (in its order).

    An id seen again (a dataset that repeats one) is keyed ``id#2``, ``id#3``, ... so no row is lost and
    two systems' rows still pair up in suite order.
    """
    table: dict[str, dict[str, float]] = {}
    seen: dict[str, int] = {}
    for row in per_episode:
        episode = str(row["episode"])
        seen[episode] = seen.get(episode, 0) + 1
        name = episode if seen[episode] == 1 else f"{episode}#{seen[episode]}"
        table.setdefault(str(row["column"]), {})[name] = float(row[key])  # type: ignore[arg-type]
    return table


__all__ = ["CONFIDENCE", "DEFAULT_SAMPLES", "DEFAULT_SEED", "interval_of", "paired_difference", "scores_by_column"]
