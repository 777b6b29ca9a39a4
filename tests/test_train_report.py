"""``report_to``: which trackers a training run also logs to, checked before any model loads."""

from __future__ import annotations

import importlib.util

import pytest

from memenv.train.report import REPORT_TO, ReportError, check_report_to, scalars


def test_check_report_to_keeps_order_drops_none_and_repeats() -> None:
    assert check_report_to([]) == ()
    assert check_report_to(["none"]) == ()
    assert check_report_to(["tensorboard", "none", "tensorboard"]) == ("tensorboard",)
    assert set(REPORT_TO) == {"none", "tensorboard", "wandb"}


def test_unknown_or_missing_trackers_are_named(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ReportError, match="unknown tracker 'mlflow'"):
        check_report_to(["mlflow"])
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "wandb" else real(name, *a))
    with pytest.raises(ReportError, match=r"needs the wandb package.*pip install wandb"):
        check_report_to(["wandb"])


def test_scalars_are_the_numeric_fields_named_by_phase() -> None:
    record = {"step": 3, "phase": "eval", "eval_accuracy": 0.5, "episodes": 4, "sample": "text", "truncated": True}
    assert scalars(record) == ("eval", 3, {"eval/eval_accuracy": 0.5, "eval/episodes": 4.0})
    assert scalars({"step": 0, "phase": "sft", "sft_step": 7, "loss": 1.25}) == ("sft", 7, {"sft/loss": 1.25})
    assert scalars({"step": 2, "reward": 1}) == ("train", 2, {"train/reward": 1.0})
