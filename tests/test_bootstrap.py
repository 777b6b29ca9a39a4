"""Tests for baselines.bootstrap: intervals checked by hand on cases whose bootstrap law is known.

Resampling n episodes with replacement, the resampled mean of scores that are 1 on m of n episodes is
k/n with k ~ Binomial(n, m/n). For [0, 0, 0, 1]: P(k=0..4) = 0.316, 0.422, 0.211, 0.047, 0.004, so the
cumulative law passes 2.5% at k=0 and 97.5% at k=3: the 95% interval is [0, 0.75], far (over 20
standard errors at 4000 draws) from any boundary where sampling noise could move it.
"""

from __future__ import annotations

import pytest

from baselines.bootstrap import interval_of, paired_difference, scores_by_column
from baselines.leaderboard import add_uncertainty


def test_interval_of_one_column_by_hand() -> None:
    result = interval_of({"x": [0.0, 0.0, 0.0, 1.0]}, samples=4000, seed=0)
    assert result["scores"] == {"x": [0.0, 0.75]}
    assert result["mean"] == [0.0, 0.75]  # one column: the mean is that column


def test_interval_of_the_mean_over_columns_by_hand() -> None:
    # Column a = [0, 1]: resampled mean 0, 0.5, 1 with P 1/4, 1/2, 1/4; column b = [1, 1] is always 1.
    # The simple mean over columns is (a + 1) / 2 in {0.5, 0.75, 1.0}: 95% interval [0.5, 1.0].
    result = interval_of({"a": [0.0, 1.0], "b": [1.0, 1.0]}, samples=4000, seed=0)
    assert result["scores"] == {"a": [0.0, 1.0], "b": [1.0, 1.0]}
    assert result["mean"] == [0.5, 1.0]


def test_constant_scores_have_a_zero_width_interval_and_empty_columns_are_left_out() -> None:
    result = interval_of({"x": [0.4, 0.4, 0.4], "empty": []}, samples=50, seed=3)
    assert result["scores"] == {"x": [pytest.approx(0.4), pytest.approx(0.4)]}
    assert interval_of({}, samples=10)["mean"] is None


def test_intervals_are_seeded() -> None:
    values = {"x": [0.1, 0.9, 0.35, 0.6, 0.2, 0.75, 0.5]}
    first = interval_of(values, samples=300, seed=7)
    assert first == interval_of(values, samples=300, seed=7)
    assert first != interval_of(values, samples=300, seed=8)  # continuous scores: another seed moves the ends
    low, high = first["mean"]
    assert low < sum(values["x"]) / 7 < high


def test_paired_difference_by_hand() -> None:
    # Differences per episode: [1, 1, 1, 0] -> mean 1 - k/4 with k ~ Binomial(4, 1/4): interval [0.25, 1.0].
    system = {"x": {"a": 1.0, "b": 1.0, "c": 1.0, "d": 1.0}}
    baseline = {"x": {"a": 0.0, "b": 0.0, "c": 0.0, "d": 1.0}}
    result = paired_difference(system, baseline, samples=4000, seed=0)
    assert result["difference"] == 0.75 and result["ci"] == [0.25, 1.0] and result["episodes"] == 4
    assert result["per_column"] == {"x": {"difference": 0.75, "ci": [0.25, 1.0]}}


def test_paired_difference_uses_only_shared_episodes() -> None:
    system = {"x": {"a": 1.0, "b": 0.5}, "y": {"c": 1.0}}
    baseline = {"x": {"a": 0.5}, "z": {"c": 0.0}}
    result = paired_difference(system, baseline, samples=100, seed=0)
    assert result["episodes"] == 1 and result["difference"] == 0.5 and list(result["per_column"]) == ["x"]
    assert paired_difference({"x": {"a": 1.0}}, {"x": {"b": 1.0}}, samples=10)["difference"] is None


def test_scores_by_column_keeps_repeated_episode_ids() -> None:
    rows = [
        {"episode": "e", "column": "c", "accuracy": 0.0},
        {"episode": "e", "column": "c", "accuracy": 1.0},
        {"episode": "f", "column": "d", "accuracy": 0.5},
    ]
    assert scores_by_column(rows) == {"c": {"e": 0.0, "e#2": 1.0}, "d": {"f": 0.5}}


def test_add_uncertainty_on_leaderboard_results() -> None:
    def entry(scores: list[float]) -> dict:
        per_episode = [{"episode": f"e{i}", "column": "x", "accuracy": s} for i, s in enumerate(scores)]
        return {"mean": sum(scores) / len(scores), "per_episode": per_episode}

    results = {"base": entry([0.0, 0.0, 0.0, 1.0]), "better": entry([1.0, 1.0, 1.0, 1.0])}
    assert add_uncertainty(results, samples=4000, seed=0) == "base"  # the first system by default
    assert results["base"]["ci"] == {"mean": [0.0, 0.75], "scores": {"x": [0.0, 0.75]}}
    assert results["base"]["vs_baseline"] is None
    paired = results["better"]["vs_baseline"]
    assert paired["baseline"] == "base" and paired["difference"] == 0.75 and paired["ci"] == [0.25, 1.0]
    assert add_uncertainty(results, baseline="better", samples=4000, seed=0) == "better"
    assert results["base"]["vs_baseline"]["difference"] == -0.75 and results["better"]["vs_baseline"] is None


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(ValueError, match="samples"):
        interval_of({"x": [1.0]}, samples=0)
    with pytest.raises(ValueError, match="confidence"):
        interval_of({"x": [1.0]}, confidence=1.5)
