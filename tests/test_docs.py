"""The documentation's code runs as written.

The convention for README.md and docs/*.md:

- a block fenced as ```` ```python ```` runs as written on a fresh install (``make install``), in an
  empty folder, in a fresh interpreter, within two minutes;
- a fragment that needs something a user must fetch or start first (a dataset file, a model, a GPU, a
  server) is fenced as ```` ```py ````, and the sentence right before it says what it needs;
- shell commands are fenced as ```` ```bash ````.

:func:`test_python_block_runs` extracts every ``python`` block and runs it with ``sys.executable`` in a
pytest ``tmp_path`` (an empty folder), one subprocess per block, each test named by the block's
``file:line``. The other tests keep blocks from escaping that check: a fence with an unknown language
(``Python``, ``python3``) or left unclosed would otherwise hide a block from it.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = (ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")))
TIMEOUT_S = 120
RUNNABLE = "python"
FRAGMENT = "py"
# Every fence language the docs may use. Anything else is a typo that would hide a block from the runner.
LANGUAGES = frozenset({RUNNABLE, FRAGMENT, "bash", "text", "json", "yaml", "toml", ""})
_FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<ticks>`{3,})(?P<info>[^`]*)$")


@dataclass(frozen=True)
class Block:
    """One fenced code block: where it opens (1-based line of the fence), its language and its code."""

    path: Path
    line: int
    language: str
    code: str

    @property
    def id(self) -> str:
        return f"{self.path.relative_to(ROOT) if self.path.is_relative_to(ROOT) else self.path}:{self.line}"


def fenced_blocks(path: Path) -> list[Block]:
    """The fenced blocks of the markdown file ``path``, in order.

    A block opens with three or more backticks (optionally indented, as in a list item) followed by its
    language, and closes with a line of at least as many backticks at most as indented; the code is
    dedented by the opening fence's indent. Raises ``ValueError`` naming ``file:line`` for a fence that
    is never closed.
    """
    blocks: list[Block] = []
    lines = path.read_text(encoding="utf-8").splitlines()
    index = 0
    while index < len(lines):
        opening = _FENCE.match(lines[index])
        index += 1
        if opening is None:
            continue
        start, ticks = index, opening["ticks"]
        body: list[str] = []
        while index < len(lines):
            closing = _FENCE.match(lines[index])
            if closing and closing["info"].strip() == "" and len(closing["ticks"]) >= len(ticks):
                break
            body.append(lines[index])
            index += 1
        else:
            raise ValueError(f"{path}:{start}: fence {ticks}{opening['info']} is never closed")
        index += 1
        language = opening["info"].strip().split(" ")[0] if opening["info"].strip() else ""
        code = textwrap.dedent("\n".join(body)) + "\n"
        blocks.append(Block(path, start, language, code))
    return blocks


def all_blocks() -> list[Block]:
    return [block for path in DOCS for block in fenced_blocks(path)]


PYTHON_BLOCKS = [block for block in all_blocks() if block.language == RUNNABLE]


@pytest.mark.parametrize("block", PYTHON_BLOCKS, ids=[block.id for block in PYTHON_BLOCKS])
def test_python_block_runs(block: Block, tmp_path: Path) -> None:
    """The block, run as written in an empty folder by a fresh interpreter, exits with status 0."""
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    env["MPLBACKEND"] = "Agg"
    # One torch/BLAS thread: on a busy shared CPU, thread hand-offs made a tiny model's block 5-10x slower.
    # The thread count changes how fast a block runs, not what it computes.
    env["OMP_NUM_THREADS"] = "1"
    try:
        done = subprocess.run(
            [sys.executable, "-c", block.code],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=TIMEOUT_S,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"{block.id}: the python block ran past {TIMEOUT_S} s")
    assert done.returncode == 0, (
        f"{block.id}: the python block exited with status {done.returncode}\n"
        f"--- stderr ---\n{done.stderr[-6000:]}\n--- stdout ---\n{done.stdout[-2000:]}"
    )


def test_every_doc_block_is_seen() -> None:
    """Every fence parses, uses a known language, and the README has a runnable quickstart."""
    blocks = all_blocks()  # raises on an unclosed fence
    unknown = [f"{block.id} ({block.language!r})" for block in blocks if block.language not in LANGUAGES]
    assert unknown == [], f"fences with a language the docs test does not know: {unknown}"
    readme = [block for block in PYTHON_BLOCKS if block.path.name == "README.md"]
    assert any("gym.make(" in block.code and "env.step(" in block.code for block in readme), (
        "README.md needs a runnable ```python quickstart that makes an env and steps it"
    )
    assert len({block.id for block in PYTHON_BLOCKS}) == len(PYTHON_BLOCKS)


def test_fragments_say_what_they_need() -> None:
    """A ```py block comes right after a sentence (not a heading, a table or another block)."""
    bare = []
    for path in DOCS:
        lines = path.read_text(encoding="utf-8").splitlines()
        for block in fenced_blocks(path):
            if block.language != FRAGMENT:
                continue
            before = [line.strip() for line in lines[: block.line - 1] if line.strip()]
            if not before or before[-1].startswith(("#", "```", "|")):
                bare.append(block.id)
    assert bare == [], f"```py fragments without a sentence right before them: {bare}"


_LINK = re.compile(r"\]\(([^)\s]+)\)")


def heading_anchor(heading: str) -> str:
    """GitHub's anchor for a markdown heading: lower case, punctuation dropped, spaces to hyphens."""
    text = heading.lstrip("#").strip().lower()
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def anchors(path: Path) -> set[str]:
    lines = path.read_text(encoding="utf-8").splitlines()
    inside = {
        line for block in fenced_blocks(path) for line in range(block.line, block.line + block.code.count("\n") + 1)
    }
    return {
        heading_anchor(line) for number, line in enumerate(lines, 1) if line.startswith("#") and number not in inside
    }


def test_links_resolve() -> None:
    """Every relative link of the docs names a file that exists and, after a ``#``, one of its headings."""
    broken = []
    for path in DOCS:
        for target in _LINK.findall(path.read_text(encoding="utf-8")):
            if target.startswith(("http://", "https://", "mailto:")):
                continue
            file, _, anchor = target.partition("#")
            linked = (path.parent / file).resolve() if file else path
            if not linked.exists():
                broken.append(f"{path.name}: {target} (no such file)")
            elif anchor and linked.suffix == ".md" and anchor not in anchors(linked):
                broken.append(f"{path.name}: {target} (no such heading)")
    assert broken == [], f"broken links: {broken}"


def test_heading_anchor() -> None:
    assert heading_anchor("## Evaluation: serial vs processes vs Ray") == "evaluation-serial-vs-processes-vs-ray"
    assert heading_anchor("### `memenv eval` (the command)") == "memenv-eval-the-command"
    assert heading_anchor("## Mem-α's reward") == "mem-αs-reward"


def test_fenced_blocks_reads_markdown(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text(
        "# Title\n\n```python\nprint(1)\n```\n\n- item:\n\n  ```bash\n  echo hi\n  ```\n\n"
        "````py\n```\nstill code\n````\n",
        encoding="utf-8",
    )
    blocks = fenced_blocks(page)
    assert [(b.line, b.language, b.code) for b in blocks] == [
        (3, "python", "print(1)\n"),
        (9, "bash", "echo hi\n"),
        (13, "py", "```\nstill code\n"),
    ]
    page.write_text("text\n\n```python\nprint(1)\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"page\.md:3: fence ```python is never closed"):
        fenced_blocks(page)
