"""``memenv view``: one recorded episode as a self-contained HTML page, several systems side by side.

    memenv view runs/accurate_retrieval-0/ -o episode.html         # every system recorded on that episode
    memenv view mem-alpha.jsonl store-all.jsonl --episode ID -o episode.html

The page (:func:`render_html`) needs no server and no network: CSS, script and data are inline, and
a Content-Security-Policy forbids every fetch. It steps through the episode with a slider, the
buttons or the arrow keys (Home / End jump to the ends) and shows, at each step, the chunk, each
system's reply, its calls (failed ones flagged with their error), and its memory tiers with the
step's changes highlighted (added, updated with the text it replaced, deleted). The question panel
lists every question with each system's score; clicking one jumps to the final memory, highlights
the entries each reader was given (``context_ids`` of the records) and shows gold, prediction,
score and recalls; each given entry names the step that wrote it (click to go there).

Recorded text is untrusted: the data is embedded as JSON with ``<``, ``>``, ``&`` and the JS line
separators escaped, so it cannot close its script element, and the page's script only ever writes
text with ``textContent``.
"""

from __future__ import annotations

import argparse
import html
import json
import sys
from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import Any

from memenv.cli import one_line_errors
from memenv.trajectories import Trajectory, read_trajectories

_ESCAPES = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}


def _template() -> str:
    return resources.files("memenv").joinpath("viewer.html").read_text(encoding="utf-8")


def embed_json(data: Any) -> str:
    """``data`` as JSON that is safe inside a ``<script>`` element (no ``<``, ``>`` or ``&`` characters)."""
    text = json.dumps(data, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    return "".join(_ESCAPES.get(ch, ch) for ch in text) if any(ch in text for ch in _ESCAPES) else text


def episode_data(trajectories: Sequence[Trajectory], title: str = "") -> dict[str, Any]:
    """What the page shows: the episode, and per system its initial memory, steps and end record."""
    if not trajectories:
        raise ValueError("no trajectories to show")
    ids = {t.episode_id for t in trajectories}
    if len(ids) > 1:
        raise ValueError(f"the trajectories are of different episodes ({', '.join(sorted(ids))}); pick one")
    first = trajectories[0].header
    names: dict[str, int] = {}
    systems = []
    for t in trajectories:
        name = t.system or "system"
        names[name] = names.get(name, 0) + 1
        if names[name] > 1:  # the same system twice on one episode: tell the runs apart
            name = f"{name} #{names[name]}"
        systems.append(
            {
                "name": name,
                "env_id": t.header.get("env_id"),
                "reference": bool(t.header.get("reference")),
                "memory": t.header.get("memory") or {},
                "steps": t.steps,
                "end": t.end,
                "file": t.source_path,
            }
        )
    episode = {key: first.get(key) for key in ("episode_id", "competency", "source", "num_chunks")}
    episode["id"] = episode.pop("episode_id")
    return {
        "title": title or f"memenv episode {episode['id']}",
        "episode": episode,
        "systems": systems,
    }


def render_html(trajectories: Sequence[Trajectory], title: str = "") -> str:
    """A self-contained HTML page showing ``trajectories`` (all of one episode) side by side."""
    data = episode_data(trajectories, title)
    page = _template()
    head, rest = page.split("<!--TITLE-->", 1)
    middle, tail = rest.split("<!--DATA-->", 1)
    return head + html.escape(data["title"]) + middle + embed_json(data) + tail


def select_episode(trajectories: Sequence[Trajectory], episode: str | None) -> list[Trajectory]:
    """The trajectories of ``episode`` (default: the first episode recorded), in the order given."""
    if not trajectories:
        raise ValueError("no trajectories found")
    wanted = episode if episode is not None else trajectories[0].episode_id
    chosen = [t for t in trajectories if t.episode_id == wanted]
    if not chosen:
        available = ", ".join(dict.fromkeys(t.episode_id for t in trajectories))
        raise ValueError(f"no trajectory of episode {wanted!r}; recorded episodes: {available}")
    return chosen


def parser(prog: str = "memenv view") -> argparse.ArgumentParser:
    p = one_line_errors(argparse.ArgumentParser(prog=prog, description=__doc__.split("\n\n")[0]))
    p.add_argument("paths", nargs="+", type=Path, help="trajectory JSONL files, or folders of them")
    p.add_argument("-o", "--output", type=Path, default=Path("episode.html"), help="the HTML file to write")
    p.add_argument("--episode", default=None, help="episode id to show (default: the first one recorded)")
    p.add_argument("--title", default="", help="page title (default: the episode id)")
    return p


def main(argv: Sequence[str] | None = None, *, prog: str = "memenv view") -> int:
    p = parser(prog)
    args = p.parse_args(argv)
    try:
        trajectories = read_trajectories(args.paths)
        chosen = select_episode(trajectories, args.episode)
    except (ValueError, FileNotFoundError) as exc:
        p.error(str(exc))
    try:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(render_html(chosen, args.title), encoding="utf-8")
    except OSError as exc:
        p.error(f"cannot write {args.output}: {exc.strerror or exc}")
    others = list(dict.fromkeys(t.episode_id for t in trajectories if t.episode_id != chosen[0].episode_id))
    systems = ", ".join(t.system for t in chosen)
    print(f"wrote {args.output}: episode {chosen[0].episode_id}, {len(chosen)} system(s): {systems}")
    if others:
        print(f"other episodes in these files (--episode): {', '.join(others)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
