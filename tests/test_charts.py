"""Tests for baselines/charts.py: what each leaderboard picture draws (values, intervals, visible zeros, room
above 1.0, one labelled point per system with no two labels overlapping), the caption naming the run, and
the leaderboard without matplotlib (every other output written, one note line)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import matplotlib.figure
import pytest
from matplotlib.container import BarContainer, ErrorbarContainer
from matplotlib.text import Text

from baselines.charts import CHARTS, SKIPPED_NOTE, plot_scores, plot_tradeoff, run_caption, write_charts
from baselines.charts import main as charts_main
from memenv.cli import main as cli_main


def results() -> dict[str, dict[str, Any]]:
    """Three systems: one with intervals, one without, one that scores nothing; 2 episodes of 1,000 tokens."""
    rows = [{"stream_tokens": 1000}, {"stream_tokens": 1000}]
    return {
        "a": {
            "scores": {"x": 0.5},
            "mean": 0.5,
            "ci": {"scores": {"x": [0.25, 0.75]}, "mean": [0.3, 0.6]},
            "memory_tokens": 120.0,
            "episodes": 2,
            "per_episode": rows,
        },
        "b": {"scores": {"x": 1.0}, "mean": 1.0, "memory_tokens": 1000.0, "episodes": 2, "per_episode": rows},
        "none": {"scores": {"x": 0.0}, "mean": 0.0, "memory_tokens": 0.0, "episodes": 2, "per_episode": rows},
    }


@pytest.fixture
def saved(monkeypatch: pytest.MonkeyPatch) -> list[matplotlib.figure.Figure]:
    """The figures the plotting functions save, drawn, to inspect after the call."""
    figures: list[matplotlib.figure.Figure] = []
    savefig = matplotlib.figure.Figure.savefig

    def keep(self: matplotlib.figure.Figure, *args: Any, **kwargs: Any) -> Any:
        saved = savefig(self, *args, **kwargs)
        self.canvas.draw()  # again at the figure's own dpi, so every extent below is in one scale
        figures.append(self)
        return saved

    monkeypatch.setattr(matplotlib.figure.Figure, "savefig", keep)
    return figures


def test_bars_carry_values_intervals_and_visible_zeros(tmp_path: Path, saved: list) -> None:
    plot_scores(results(), ["x"], tmp_path / "chart.png", title="board", caption="a caption")
    assert (tmp_path / "chart.png").stat().st_size > 1000
    ax = saved[0].axes[0]
    bars = [c for c in ax.containers if isinstance(c, BarContainer)]
    # best first: b (no interval), a (interval below and above the bar), none; one bar per column plus the mean
    assert [c.get_label() for c in bars] == ["b", "a", "none"]
    assert [[p.get_height() for p in c.patches] for c in bars] == [[1.0, 1.0], [0.5, 0.5], [0.0, 0.0]]
    assert bars[0].errorbar is None and bars[2].errorbar is None
    (segments,) = [c.get_segments() for c in bars[1].errorbar.lines[2]]
    assert [(low[1], high[1]) for low, high in segments] == [(0.25, 0.75), (0.3, 0.6)]
    assert [t.get_text() for t in ax.texts] == ["1.00", "1.00", "0.50", "0.50", "0.00", "0.00"]
    # a zero has no area: each is a thick stub on the axis, as wide as its bar, in its bar's colour
    stubs = [line for line in ax.lines if line.get_linewidth() > 3]
    assert len(stubs) == 2 and all(list(line.get_ydata()) == [0, 0] for line in stubs)
    for stub, patch in zip(stubs, bars[2].patches, strict=True):
        assert stub.get_xdata()[1] - stub.get_xdata()[0] == pytest.approx(patch.get_width())
        assert stub.get_color() == patch.get_edgecolor() or tuple(stub.get_color()) == patch.get_edgecolor()[:3]
    low, high = ax.get_ylim()
    assert low < 0 and high > 1.1  # neither the stub at 0 nor the label above 1.0 is cut off
    frame = ax.get_window_extent()
    assert all(frame.y0 <= t.get_window_extent().y0 and t.get_window_extent().y1 <= frame.y1 for t in ax.texts)
    assert ax.get_title() == "board\na caption"
    assert ax.get_legend().get_window_extent().x0 >= frame.x1  # the legend is beside the bars, not over them


def test_tradeoff_draws_one_labelled_point_per_system(tmp_path: Path, saved: list) -> None:
    plot_tradeoff(results(), tmp_path / "tradeoff.png", caption="a caption")
    assert (tmp_path / "tradeoff.png").stat().st_size > 1000
    ax = saved[0].axes[0]
    points = [c for c in ax.containers if isinstance(c, ErrorbarContainer)]
    assert [(list(c.lines[0].get_xdata()), list(c.lines[0].get_ydata()), c.get_label()) for c in points] == [
        ([1000.0], [1.0], "b"),
        ([120.0], [0.5], "a"),
        ([0.0], [0.0], "none"),  # an empty memory still gets its point
    ]
    assert points[0].has_yerr is False and points[1].has_yerr is True
    (segment,) = points[1].lines[2][0].get_segments()
    assert [y for _, y in segment] == [0.3, 0.6]  # the mean's interval
    labels = [t.get_text() for t in ax.texts if t.get_text().endswith(("1.00", "0.50", "0.00"))]
    assert labels == ["b 1.00", "a 0.50", "none 0.00"]
    assert ax.get_xscale() == "symlog"  # 0 and the whole stream on one axis
    assert ax.get_xlim()[1] > 1000  # the whole stream's line fits


def test_crowded_tradeoff_labels_do_not_overlap(tmp_path: Path, saved: list) -> None:
    rows = [{"stream_tokens": 65000}]
    crowd = {
        f"system-{i}": {"scores": {}, "mean": mean, "memory_tokens": tokens, "episodes": 1, "per_episode": rows}
        for i, (mean, tokens) in enumerate(
            [(0.70, 65000), (0.61, 65000), (0.60, 65000), (0.62, 20000), (0.52, 30000), (0.33, 960), (0.0, 0)]
        )
    }
    plot_tradeoff(crowd, tmp_path / "tradeoff.png")
    ax = saved[0].axes[0]
    # the text boxes, without the leader lines that tie a moved label to its point
    boxes = [Text.get_window_extent(t) for t in ax.texts if t.get_text().startswith("system-")]
    assert len(boxes) == 7
    assert not any(a.overlaps(b) for i, a in enumerate(boxes) for b in boxes[i + 1 :])
    frame = ax.get_window_extent()
    assert all(frame.x0 <= b.x0 and b.x1 <= frame.x1 and frame.y0 <= b.y0 and b.y1 <= frame.y1 for b in boxes)


def test_caption_names_suite_episodes_and_stream_length() -> None:
    config = {"suite": "v0", "reader": "evidence", "dataset": None}
    assert run_caption(results(), config) == "suite v0 · 2 episodes · 1.0K-token streams (mean) · evidence reader"
    two_columns = results()
    two_columns["a"]["per_episode"] = [{"column": c, "stream_tokens": 3000} for c in ("x", "x", "y", "y")]
    two_columns["a"]["episodes"] = 4
    assert run_caption(two_columns) == "4 episodes (2 per column) · 3.0K-token streams (mean)"
    config = {"dataset": "data/locomo_like.json", "source": "locomo", "suite": "v0", "reader": "evidence"}
    assert run_caption(results(), config).startswith("locomo_like.json (locomo) · 2 episodes")


def test_write_charts_writes_both_pictures(tmp_path: Path) -> None:
    assert write_charts(results(), ["x"], tmp_path, {"suite": "v0"}) == list(CHARTS)
    assert all((tmp_path / name).stat().st_size > 1000 for name in CHARTS)
    assert write_charts({}, ["x"], tmp_path / "empty") == []


def test_without_matplotlib_the_leaderboard_writes_everything_else_and_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # `import matplotlib` now raises ImportError
    assert write_charts(results(), ["x"], tmp_path / "direct") == []
    argv = ["eval", "--systems", "store-all", "no-memory", "--tasks", "accurate_retrieval", "--episodes", "1"]
    argv += ["--context-tokens", "2048", "--out", str(tmp_path / "run"), "--no-progress"]
    assert cli_main(argv) == 0
    out = capsys.readouterr().out
    written = {"results.json", "predictions.jsonl", "results.csv", "leaderboard.md"}
    assert {p.name for p in (tmp_path / "run").iterdir() if p.is_file()} >= written
    assert not any((tmp_path / "run" / name).exists() for name in CHARTS)
    assert json.loads((tmp_path / "run" / "results.json").read_text())["systems"]["no-memory"]["mean"] == 0.0
    assert out.count(SKIPPED_NOTE) == 1 and "pip install 'memenv[plot]'" in SKIPPED_NOTE
    (wrote,) = [line for line in out.splitlines() if line.startswith("wrote ")]
    assert "leaderboard.md" in wrote and ".png" not in wrote


def test_the_pictures_redraw_from_a_results_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    document = {"config": {"suite": "v0"}, "columns": ["x"], "systems": results()}
    (tmp_path / "results.json").write_text(json.dumps(document))
    assert charts_main([str(tmp_path / "results.json"), "--out", str(tmp_path / "pictures")]) == 0
    assert all((tmp_path / "pictures" / name).stat().st_size > 1000 for name in CHARTS)
    (tmp_path / "other.json").write_text(json.dumps({"runs": []}))
    with pytest.raises(SystemExit) as exit_info:
        charts_main([str(tmp_path / "other.json")])
    assert exit_info.value.code == 2
    assert "other.json: not a leaderboard results.json (no 'systems' object)" in capsys.readouterr().err
