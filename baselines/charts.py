"""The leaderboard's two pictures, drawn from the ``systems`` part of results.json.

- :func:`plot_scores` (``OUT/leaderboard.png``): grouped bars, one group per column (competency or
  source) plus the mean, one bar per system, best mean first. Every bar carries its value and, when the
  results have them, its bootstrap 95% interval as an error bar; a score of 0 is drawn as a flat
  outlined bar with its ``0`` label, so a system that scores nothing is still seen to be there.
- :func:`plot_tradeoff` (``OUT/tradeoff.png``): the compression trade-off, one point per system: the
  mean score (with its interval) against the memory the reader answered from, in tokens at the end of
  an episode (mean over episodes), on a symmetric-log axis so that an empty memory (0 tokens) and the
  whole stream both fit. A dotted line marks the stream's own length; ceilings
  (:data:`baselines.systems.CEILINGS`) are hollow.

Both titles say what was run: the suite or dataset, the number of episodes and the mean stream length
(:func:`run_caption`). :func:`write_charts` writes both under a run folder; to redraw them from a finished
run's results.json without running anything::

    python -m baselines.charts results/results.json              # writes results/leaderboard.png, tradeoff.png
    python -m baselines.charts docs/leaderboard_results.json --out docs

matplotlib is optional (``pip install 'memenv[plot]'``) and imported inside the functions: without it,
:func:`write_charts` draws nothing and returns no file names, and the leaderboard prints
:data:`SKIPPED_NOTE` after writing its other outputs.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from baselines.outdir import atomic_path
from baselines.systems import CEILINGS

Results = Mapping[str, Mapping[str, Any]]

#: The files :func:`write_charts` writes, in order.
CHARTS = ("leaderboard.png", "tradeoff.png")

#: What the leaderboard prints when matplotlib is missing.
SKIPPED_NOTE = (
    "note: leaderboard.png and tradeoff.png skipped (matplotlib is not installed: pip install 'memenv[plot]')"
)


def plotting_available() -> bool:
    """Whether matplotlib can be imported (it is the optional ``plot`` extra)."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


def write_charts(
    results: Results, columns: Sequence[str], out: Path, config: Mapping[str, Any] | None = None
) -> list[str]:
    """Write ``out/leaderboard.png`` (:func:`plot_scores`) and ``out/tradeoff.png`` (:func:`plot_tradeoff`),
    each replaced atomically, both captioned with :func:`run_caption`; return the names written: both of
    :data:`CHARTS`, or none when there are no results or matplotlib is not installed."""
    if not results or not plotting_available():
        return []
    caption = run_caption(results, config)
    with atomic_path(out / "leaderboard.png") as png:
        plot_scores(results, columns, png, title="memenv leaderboard", caption=caption)
    with atomic_path(out / "tradeoff.png") as png:
        plot_tradeoff(results, png, title="memenv: score against memory size", caption=caption)
    return list(CHARTS)


def ranked(results: Results) -> list[str]:
    """Competitors by mean score, best first, then the ceilings (never ranked with them)."""
    return sorted(results, key=lambda name: (name in CEILINGS, -results[name]["mean"]))


def label(name: str) -> str:
    """A system's name as the pictures show it: a ceiling is marked as one."""
    return f"{name} (ceiling)" if name in CEILINGS else name


def _tokens(value: float) -> str:
    """65524 -> '65.5K', 960 -> '960'."""
    return f"{value / 1000:.1f}K" if value >= 1000 else f"{value:.0f}"


def stream_tokens(results: Results) -> float | None:
    """Mean stream length in tokens over the episodes of the first system that records it."""
    for r in results.values():
        lengths = [row["stream_tokens"] for row in r.get("per_episode", []) if row.get("stream_tokens")]
        if lengths:
            return sum(lengths) / len(lengths)
    return None


def _per_column(results: Results) -> str:
    """`` (5 per column)`` when every column of the system with the most episodes has as many, else ``""``."""
    rows = max((r.get("per_episode", []) for r in results.values()), key=len, default=[])
    counts: dict[str, int] = {}
    for row in rows:
        if "column" in row:
            counts[row["column"]] = counts.get(row["column"], 0) + 1
    sizes = set(counts.values())
    return f" ({sizes.pop()} per column)" if len(counts) > 1 and len(sizes) == 1 else ""


def run_caption(results: Results, config: Mapping[str, Any] | None = None) -> str:
    """One line naming what was run, e.g. ``suite v0 · 20 episodes (5 per column) · 65.5K-token streams
    (mean) · evidence reader``; parts that ``config``/``results`` do not hold are left out."""
    config = config or {}
    parts = []
    if config.get("dataset"):
        source = f" ({config['source']})" if config.get("source") else ""
        parts.append(f"{Path(str(config['dataset'])).name}{source}")
    elif config.get("suite"):
        parts.append(f"suite {config['suite']}")
    episodes = max((int(r.get("episodes", 0)) for r in results.values()), default=0)
    if episodes:
        parts.append(f"{episodes} episode{'s' if episodes != 1 else ''}{_per_column(results)}")
    length = stream_tokens(results)
    if length:
        parts.append(f"{_tokens(length)}-token streams (mean)")
    if config.get("reader"):
        parts.append(f"{config['reader']} reader")
    return " · ".join(parts)


def _title(ax: Any, heading: str, caption: str) -> None:
    ax.set_title(f"{heading}\n{caption}" if caption else heading, fontsize=10)


def plot_scores(results: Results, columns: Sequence[str], path: Path, title: str = "", caption: str = "") -> None:
    """Grouped bars with value labels and 95% error bars; see the module docstring."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = ranked(results)
    groups = [*columns, "mean"]
    width = 0.8 / len(names)
    fig, ax = plt.subplots(figsize=(max(8.0, 1.9 * len(groups) + 2.5), 4.6))
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for i, name in enumerate(names):
        r = results[name]
        values = [r["scores"].get(c) or 0.0 for c in columns] + [r["mean"]]
        ci = r.get("ci") or {}
        bounds = [ci.get("scores", {}).get(c) for c in columns] + [ci.get("mean")]
        errors = [
            [max(v - b[0], 0.0) if b else 0.0 for v, b in zip(values, bounds, strict=True)],
            [max(b[1] - v, 0.0) if b else 0.0 for v, b in zip(values, bounds, strict=True)],
        ]
        color = colors[i % len(colors)]
        xs = [g + i * width for g in range(len(groups))]
        ax.bar(
            xs,
            values,
            width,
            label=label(name),
            color=color,
            edgecolor=color,
            linewidth=1.2,
            hatch="//" if name in CEILINGS else None,
            fill=name not in CEILINGS,
            yerr=errors if ci else None,
            capsize=2,
            error_kw={"elinewidth": 0.8},
        )
        for x, value, upper in zip(xs, values, errors[1], strict=True):
            top = value + (upper if ci else 0.0)
            ax.text(x, top + 0.015, f"{value:.2f}", ha="center", va="bottom", rotation=90, fontsize=6.5)
            if value == 0:  # a zero-height bar has no area: draw a thick stub on the axis in its colour
                ax.plot([x - width / 2, x + width / 2], [0, 0], color=color, linewidth=3.5, solid_capstyle="butt")
    ax.set_xticks([g + width * (len(names) - 1) / 2 for g in range(len(groups))])
    ax.set_xticklabels([c.replace("_", "\n") for c in groups], fontsize=8)
    ax.axhline(0, color="black", linewidth=0.6, zorder=0.5)  # under the stubs of zero scores
    ax.set_ylabel("score (95% interval over episodes)")
    ax.set_ylim(-0.03, 1.2)  # room above 1.0 for the interval and the label
    ax.set_yticks([0, 0.2, 0.4, 0.6, 0.8, 1.0])
    ax.grid(axis="y", alpha=0.3)
    ax.set_axisbelow(True)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)  # outside the bars
    _title(ax, title or "memenv leaderboard", caption)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def plot_tradeoff(results: Results, path: Path, title: str = "", caption: str = "") -> None:
    """Mean score against memory tokens, one point per system; see the module docstring."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = ranked(results)
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    fig, ax = plt.subplots(figsize=(8.0, 4.8))
    stream = stream_tokens(results)
    if stream:
        ax.axvline(stream, color="grey", linestyle=":", linewidth=1)
        ax.text(stream, 1.13, f"whole stream ({_tokens(stream)}) ", fontsize=7, color="grey", va="top", ha="right")
    ax.set_xscale("symlog", linthresh=10, linscale=0.5)
    right = max([stream or 0.0, *(float(results[n]["memory_tokens"]) for n in names)])
    ax.set_xlim(-1, right * 8)  # room for labels right of the whole stream
    ax.set_ylim(-0.03, 1.15)
    points = []
    for i, name in enumerate(names):
        r = results[name]
        x, y = float(r["memory_tokens"]), float(r["mean"])
        bounds = (r.get("ci") or {}).get("mean")
        yerr = [[max(y - bounds[0], 0.0)], [max(bounds[1] - y, 0.0)]] if bounds else None
        color = colors[i % len(colors)]
        ax.errorbar(
            [x],
            [y],
            yerr=yerr,
            fmt="o",
            markersize=8,
            color=color,
            markerfacecolor="white" if name in CEILINGS else color,
            capsize=3,
            label=label(name),
        )
        points.append((f"{label(name)} {y:.2f}", x, y))
    ax.set_xlabel("memory the reader answers from (tokens at the end of an episode, mean; symlog axis)")
    ax.set_ylabel("mean score (95% interval)")
    ax.grid(alpha=0.3)
    _title(ax, title or "memenv: score against memory size", caption)
    fig.tight_layout()
    place_labels(ax, points)
    fig.savefig(path, dpi=120)
    plt.close(fig)


# Where a point's label may go, in points from the point, tried in order: right, left, then further up or
# down on either side with a leader line (which ties the label to its point where points crowd), then
# straight above or below.
_OFFSETS = [
    ((8, 0), "left", "center"),
    ((-8, 0), "right", "center"),
    *(
        ((side * 12, dy), ha, "center")
        for dy in (14, -14, 26, -26, 38, -38)
        for side, ha in ((1, "left"), (-1, "right"))
    ),
    ((0, 8), "center", "bottom"),
    ((0, -8), "center", "top"),
]


def _overlap(a: Any, b: Any) -> float:
    """Area shared by two display-space boxes."""
    return max(0.0, min(a.x1, b.x1) - max(a.x0, b.x0)) * max(0.0, min(a.y1, b.y1) - max(a.y0, b.y0))


def _text_extent(note: Any, renderer: Any) -> Any:
    """An annotation's text box in display space, without its leader line (which ends at its own point)."""
    from matplotlib.text import Text

    note.get_window_extent(renderer)  # places the text for this renderer
    return Text.get_window_extent(note, renderer)


def place_labels(ax: Any, points: Sequence[tuple[str, float, float]], fontsize: float = 8) -> list[Any]:
    """Annotate each ``(text, x, y)`` point, in order, at the first place of :data:`_OFFSETS` where its
    label overlaps no earlier label and no other point's marker and stays inside the axes; when no place
    is free, at the place with the least overlap. Call it once the axes' limits and layout are final;
    returns the annotations in ``points`` order."""
    from matplotlib.transforms import Bbox

    fig = ax.figure
    renderer = fig.canvas.get_renderer()
    frame = ax.get_window_extent(renderer)
    radius = 4 * fig.dpi / 72  # a marker of size 8 is 8 points across
    markers = [
        Bbox.from_extents(mx - radius, my - radius, mx + radius, my + radius)
        for mx, my in (ax.transData.transform((x, y)) for _, x, y in points)
    ]
    taken: list[Any] = []
    placed = []
    for index, (text, x, y) in enumerate(points):
        best: tuple[float, Any] | None = None
        for offset, ha, va in _OFFSETS:
            leader = {"arrowstyle": "-", "color": "grey", "linewidth": 0.6} if abs(offset[1]) > 8 else None
            note = ax.annotate(
                text, (x, y), xytext=offset, textcoords="offset points", ha=ha, va=va, fontsize=fontsize,
                arrowprops=leader,
            )  # fmt: skip
            box = _text_extent(note, renderer)
            outside = box.width * box.height - _overlap(box, frame)
            cost = outside + sum(_overlap(box, other) for other in taken)
            cost += sum(_overlap(box, marker) for j, marker in enumerate(markers) if j != index)
            if best is None or cost < best[0]:
                if best is not None:
                    best[1].remove()
                best = (cost, note)
            else:
                note.remove()
            if cost == 0:
                break
        assert best is not None
        taken.append(_text_extent(best[1], renderer))
        placed.append(best[1])
    return placed


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m baselines.charts RESULTS_JSON [--out DIR]``: redraw both pictures from a results.json."""
    parser = argparse.ArgumentParser(
        prog="python -m baselines.charts", description="Redraw leaderboard.png and tradeoff.png from a results.json."
    )
    parser.add_argument("results", type=Path, help="a results.json written by memenv eval")
    parser.add_argument("--out", type=Path, default=None, help="folder for the PNGs (default: the results' folder)")
    args = parser.parse_args(argv)
    try:
        document = json.loads(args.results.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        parser.error(f"{args.results}: cannot read it as JSON ({exc})")
    if not isinstance(document, dict) or not isinstance(document.get("systems"), dict):
        parser.error(f"{args.results}: not a leaderboard results.json (no 'systems' object)")
    if not plotting_available():
        print(SKIPPED_NOTE, file=sys.stderr)
        return 1
    out = args.out or args.results.parent
    out.mkdir(parents=True, exist_ok=True)
    written = write_charts(document["systems"], document.get("columns", []), out, document.get("config"))
    print(f"wrote {', '.join(str(out / name) for name in written)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
