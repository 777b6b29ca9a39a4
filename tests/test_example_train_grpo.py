"""The GRPO demo's settings are a valid config, the writer it clones is a good teacher, and its curve is
redrawn from the recorded runs."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from memenv.train.grpo import EVAL_SEED_OFFSET, GRPOConfig, env_factory

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "train_grpo.py"
RECORD = Path(__file__).resolve().parents[1] / "docs" / "train_grpo_curve.json"


def load_example():
    spec = importlib.util.spec_from_file_location("train_grpo_example", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


example = load_example()
config = GRPOConfig(**example.DEMO)


def test_demo_settings_build_the_env_with_the_short_prompt():
    env = env_factory(config)()
    _, info = env.reset(seed=EVAL_SEED_OFFSET)
    assert info["messages"][0]["content"] == example.SYSTEM_PROMPT.format(budget=1024)
    assert len(env.unwrapped.episode.chunks) == 3 and len(env.unwrapped.episode.questions) == 3


def test_cloned_writer_answers_most_held_out_questions():
    assert example.teacher_accuracy(config) >= 0.9


def rows(base: float, evals: list[tuple[int, float]], train: list[float] = ()) -> list[dict]:
    records = [{"step": 0, "phase": "eval_base", "eval_accuracy": base, "eval_memory_tokens": 50.0}]
    records += [{"step": step, "phase": "eval", "eval_accuracy": value} for step, value in evals]
    records += [{"step": i + 1, "phase": "train", "r1_qa": value, "loss": 0.1} for i, value in enumerate(train)]
    return records


def test_each_seed_run_adds_its_rows_to_the_curve_record(tmp_path: Path):
    path = tmp_path / "curve.json"
    example.save_curve(path, 1, rows(0.17, [(0, 0.34), (10, 0.45)], [0.3, 0.5]), teacher=0.95, caption="c")
    record = example.save_curve(path, 0, rows(0.17, [(0, 0.33), (10, 0.4)]), teacher=0.94, caption="c")
    assert record == json.loads(path.read_text())
    assert list(record["runs"]) == ["0", "1"] and record["teacher"] == 0.94  # seeds in order; the latest teacher
    assert record["runs"]["1"] == [  # only what the curve draws
        {"step": 0, "phase": "eval_base", "eval_accuracy": 0.17},
        {"step": 0, "phase": "eval", "eval_accuracy": 0.34},
        {"step": 10, "phase": "eval", "eval_accuracy": 0.45},
        {"step": 1, "phase": "train", "r1_qa": 0.3},
        {"step": 2, "phase": "train", "r1_qa": 0.5},
    ]


@pytest.fixture
def saved(monkeypatch: pytest.MonkeyPatch) -> list:
    import matplotlib.figure

    figures = []
    savefig = matplotlib.figure.Figure.savefig

    def keep(self, *args, **kwargs):
        result = savefig(self, *args, **kwargs)
        self.canvas.draw()
        figures.append(self)
        return result

    monkeypatch.setattr(matplotlib.figure.Figure, "savefig", keep)
    return figures


def test_the_documented_curve_redraws_both_seeds_and_the_teacher(tmp_path: Path, saved: list):
    record = json.loads(RECORD.read_text())
    assert example.main(["--replot", str(RECORD), "--plot", str(tmp_path / "curve.png")]) == 0
    assert (tmp_path / "curve.png").stat().st_size > 1000
    top, bottom = saved[0].axes  # one panel, its axis broken: the teacher's strip above the runs' range
    seeds = [line for line in bottom.lines if line.get_label().startswith("seed")]
    assert [line.get_label() for line in seeds] == ["seed 0", "seed 1"]
    for line, seed in zip(seeds, ("0", "1"), strict=True):
        evals = [r for r in record["runs"][seed] if r["phase"] == "eval"]
        assert list(line.get_ydata()) == [r["eval_accuracy"] for r in evals]
    (teacher,) = [line for line in top.lines if line.get_linestyle() == "--"]
    assert teacher.get_ydata()[0] == record["teacher"]
    low, high = bottom.get_ylim()
    values = [r["eval_accuracy"] for run in record["runs"].values() for r in run]
    assert low < min(values) and max(values) < high < record["teacher"]  # the runs fill the lower part
    assert high - low < 0.5
    assert top.get_ylim()[0] < record["teacher"] < top.get_ylim()[1]
    texts = [t.get_text() for t in bottom.texts]
    assert {f"{v:.3f}" for v in (0.333, 0.340, 0.424, 0.458)} <= set(texts)


def test_runs_with_their_steps_get_the_rollout_panel(tmp_path: Path, saved: list):
    runs = {"0": example.curve_rows(rows(0.17, [(0, 0.33), (10, 0.4)], [0.2, 0.4, 0.3, 0.5, 0.6, 0.4]))}
    example.plot(runs, tmp_path / "curve.png", teacher=None)
    axes = saved[0].axes
    assert len(axes) == 3 and not axes[0].get_visible()  # no teacher: no strip
    left = axes[2]
    assert list(left.lines[0].get_ydata()) == [0.2, 0.4, 0.3, 0.5, 0.6, 0.4]
    assert list(left.lines[1].get_ydata()) == pytest.approx([0.4, 0.44])  # mean of the last 5 steps
