"""The episode viewer's page and command (memenv/viewer.py), without a browser."""

from __future__ import annotations

import json
import re
from pathlib import Path

import gymnasium as gym
import pytest

import memenv  # noqa: F401  (registers the envs)
from memenv.cli import main as cli_main
from memenv.parsing import render_tool_calls
from memenv.tasks import Episode, Question
from memenv.trajectories import RecordEpisodes, read_trajectories
from memenv.viewer import embed_json, render_html

# Untrusted text that would run script or inject markup if it reached the page as HTML.
HOSTILE = (
    '</script><script>window.__pwned = 1</script><img src=x onerror="window.__pwned = 2">'
    "<!-- & \u2028 \"quoted\" 'single' </style>"
)


def hostile_episode() -> Episode:
    return Episode(
        id="hostile<b>",
        chunks=(f"Chunk one. {HOSTILE}", "Chunk two: the code is 4157."),
        questions=(Question(f"What is the code? {HOSTILE}", ("4157", HOSTILE), "subem", category="x<i>"),),
        competency="accurate_retrieval",
    )


def record_hostile(path: Path) -> None:
    """Two steps of MemAlpha-v0 whose chunk, reply, memory, calls and question all carry HOSTILE."""
    env = RecordEpisodes(gym.make("MemAlpha-v0"), path, system=f"sys{HOSTILE}")
    env.reset(seed=0, options={"episode": hostile_episode()})
    calls = [
        {"name": "new_memory_insert", "arguments": {"memory_type": "semantic_memory", "content": HOSTILE}},
        {"name": "memory_update", "arguments": {"memory_type": "core_memory", "new_content": f"core {HOSTILE}"}},
        {"name": "memory_delete", "arguments": {"memory_type": "episodic_memory", "memory_id": "ffff"}},  # fails
    ]
    env.step(f"{HOSTILE}\n{render_tool_calls(calls)}")
    insert = {"memory_type": "episodic_memory", "content": "The code is 4157."}
    env.step(render_tool_calls([{"name": "new_memory_insert", "arguments": insert}]))
    env.close()


def test_hostile_text_cannot_leave_the_data_block(tmp_path: Path) -> None:
    path = tmp_path / "hostile.jsonl"
    record_hostile(path)
    trajectories = read_trajectories(path)
    page = render_html(trajectories, title=f"title {HOSTILE}")
    # Exactly our two script elements; no markup from the data anywhere.
    assert page.count("<script") == 2 and page.count("</script>") == 2
    assert "<img" not in page and "window.__pwned" in page  # present only as escaped data
    assert "<title>title &lt;/script&gt;&lt;script&gt;" in page
    block = re.search(r'<script type="application/json" id="trajectory-data">(.*?)</script>', page, re.S)
    assert block is not None
    assert not set("<>&\u2028\u2029") & set(block.group(1))
    data = json.loads(block.group(1))
    [system] = data["systems"]
    assert system["name"] == f"sys{HOSTILE}"
    assert system["steps"][0]["chunk"] == f"Chunk one. {HOSTILE}"
    assert system["steps"][0]["diff"]["semantic"]["added"][0]["text"] == HOSTILE
    assert system["end"]["questions"][0]["answers"] == ["4157", HOSTILE]


def test_embed_json_round_trips_any_text() -> None:
    value = {"a": HOSTILE, "b": ["\u2029", "&amp;", 1.5, None]}
    text = embed_json(value)
    assert json.loads(text) == value and "<" not in text and "&" not in text


def test_view_command_picks_an_episode(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    record_hostile(tmp_path / "a.jsonl")
    env = RecordEpisodes(gym.make("MEM1-v0", context_tokens=512, chunk_tokens=256), tmp_path / "b.jsonl", system="m1")
    obs, info = env.reset(seed=0)
    env.step(obs["chunk"][:100])
    env.close()
    out = tmp_path / "page.html"
    assert cli_main(["view", str(tmp_path / "a.jsonl"), str(tmp_path / "b.jsonl"), "-o", str(out)]) == 0
    assert "episode hostile<b>, 1 system(s)" in capsys.readouterr().out
    assert out.read_text().startswith("<!DOCTYPE html>")
    other = read_trajectories(tmp_path / "b.jsonl")[0].episode_id
    assert cli_main(["view", str(tmp_path), "--episode", other, "-o", str(out)]) == 0
    assert f"episode {other}, 1 system(s): m1" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        cli_main(["view", str(tmp_path), "--episode", "nope", "-o", str(out)])
    assert "recorded episodes: hostile<b>" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        cli_main(["view", str(tmp_path / "missing.jsonl")])
    assert "no trajectory file or folder" in capsys.readouterr().err


def test_page_needs_no_network(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    record_hostile(path)
    page = render_html(read_trajectories(path))
    assert "default-src 'none'" in page  # the browser refuses every fetch
    assert not re.search(r"(src|href)\s*=\s*[\"']?(https?:)?//", page)
    with pytest.raises(ValueError, match="different episodes"):
        env = RecordEpisodes(gym.make("MEM1-v0", context_tokens=512, chunk_tokens=256), tmp_path / "b.jsonl")
        obs, _ = env.reset(seed=0)
        env.step("x")
        env.close()
        render_html(read_trajectories([path, tmp_path / "b.jsonl"]))
