"""The episode viewer in a real browser: Debian's headless Chromium, driven by Playwright.

The first test runs the README's two commands (the leaderboard with ``--save-trajectories``, then
``memenv view``), steps through the page, clicks a question, checks what the page shows against the
records, and saves the README's screenshot as ``docs/viewer.png``. The second opens a page built
from hostile text and checks that none of it ran or became markup.
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from test_viewer import HOSTILE, record_hostile  # the hostile episode of the page test

from baselines.leaderboard import main as leaderboard_main
from memenv.cli import main as cli_main
from memenv.trajectories import read_trajectories, text_of

CHROMIUM = "/usr/bin/chromium"  # Debian's package, installed by `make install`
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",  # overlay scrollbars fade on a timer: without them the screenshot is reproducible
]
SCREENSHOT = Path(__file__).parent.parent / "docs" / "viewer.png"
# The README's episode: three memory writers and a memory-free reference on one conflict-resolution stream.
README_SYSTEMS = ["mem-alpha", "memory-r1", "mem1", "rag-top-k"]


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"{CHROMIUM} is missing: `make install` installs Debian's chromium for this test")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-profile")),
            executable_path=CHROMIUM,
            args=FLAGS,
            headless=True,
            viewport={"width": 1500, "height": 1000},
        )
        yield context
        context.close()


def save_screenshot(png: bytes) -> None:
    """Write ``docs/viewer.png`` unless the page looks as it did: a few pixels of antialiasing differ
    from run to run, and `make test` should not leave a changed file behind for that."""
    from PIL import Image, ImageChops

    if SCREENSHOT.exists():
        old = Image.open(SCREENSHOT).convert("RGB")
        new = Image.open(io.BytesIO(png)).convert("RGB")
        if old.size == new.size:
            changed = ImageChops.difference(old, new).convert("L").point(lambda v: 255 if v else 0).histogram()[255]
            if changed <= 0.001 * old.width * old.height:
                return
    SCREENSHOT.parent.mkdir(exist_ok=True)
    SCREENSHOT.write_bytes(png)


def open_page(browser: Any, path: Path) -> tuple[Any, list[str]]:
    page = browser.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.goto(path.resolve().as_uri())
    return page, errors


def test_step_through_an_episode_and_click_a_question(browser: Any, tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    argv = ["--systems", *README_SYSTEMS, "--tasks", "conflict_resolution", "--episodes", "1"]
    argv += ["--context-tokens", "4096", "--save-trajectories", str(runs), "--out", str(tmp_path / "lb")]
    assert leaderboard_main([*argv, "--no-progress"]) == 0
    [episode_dir] = runs.iterdir()
    html = tmp_path / "episode.html"
    assert cli_main(["view", str(episode_dir), "-o", str(html)]) == 0
    by_system = {t.system: t for t in read_trajectories(episode_dir)}
    alpha = by_system["mem-alpha"]
    last = len(alpha.steps)

    page, errors = open_page(browser, html)
    assert page.inner_text("#step-label") == f"step 1 / {last}"
    assert page.inner_text("#chunk-text") == alpha.steps[0]["chunk"]
    columns = page.locator(".system")
    assert columns.count() == 3  # rag-top-k writes no memory: it appears in the questions only
    assert [columns.nth(i).get_attribute("data-system") for i in range(3)] == ["mem-alpha", "mem1", "memory-r1"]
    card = page.locator('.system[data-system="mem-alpha"]')

    def changed(step: int, kind: str) -> int:
        diff = alpha.steps[step]["diff"]
        return sum(len(diff.get(tier, {}).get(kind, [])) for tier in ("semantic", "episodic"))

    page.keyboard.press("ArrowRight")
    assert page.inner_text("#step-label") == f"step 2 / {last}"
    assert page.inner_text("#chunk-text") == alpha.steps[1]["chunk"]
    assert card.locator(".entry.added").count() == changed(1, "added") > 0
    # Step 4 is where the writer first overwrites facts that changed.
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    assert page.inner_text("#step-label") == f"step 4 / {last}"
    updates = alpha.steps[3]["diff"]["semantic"]["updated"]
    assert card.locator(".entry.updated").count() == len(updates) > 0
    first = card.locator(f'.entry.updated[data-id="{updates[0]["id"]}"]')
    assert text_of(updates[0]["after"]) in first.inner_text()
    assert first.locator(".was").inner_text() == f"was: {text_of(updates[0]['before'])}"
    assert card.locator(".core.updated").count() == 1
    assert page.locator(".call.failed").count() == 0  # the heuristic writers' calls all execute

    # Clicking a question jumps to the final memory and highlights what each reader was given.
    scores = [{t.questions[i]["score"] for t in by_system.values()} for i in range(len(alpha.questions))]
    q = next((i for i, s in enumerate(scores) if len(s) > 1), 0)  # one the systems disagree on, if any
    page.locator("#question-list li").nth(q).click()
    assert page.inner_text("#step-label") == f"step {last} / {last}"
    question = alpha.questions[q]
    detail = page.locator("#question-detail")
    assert text_of(question["question"]) in detail.inner_text()
    assert detail.locator(".gold").inner_text() == " | ".join(question["answers"])
    for name, trajectory in by_system.items():
        row = detail.locator(f'tr[data-system="{name}"]')
        assert row.locator(".prediction").inner_text() == text_of(trajectory.questions[q]["prediction"])
        assert row.locator(".badge").inner_text() == f"{trajectory.questions[q]['score']:.3f}"
    for name in ("mem-alpha", "memory-r1"):
        ids = by_system[name].questions[q]["context_ids"]
        column = page.locator(f'.system[data-system="{name}"]')
        assert column.locator(".entry.used").count() == len([i for i in ids if i != "core"]) > 0
        assert column.locator(".core.used").count() == ("core" in ids)
        assert detail.locator(f'tr[data-system="{name}"] .chip').count() == len(ids)
    # Each given entry names the step that wrote it; clicking it goes there, highlights kept.
    final = alpha.memory_after()
    holder = next(
        (
            f"{tier}:{row['id']}"
            for tier in ("semantic", "episodic")
            for row in final[tier]
            if text_of(question["prediction"]).lower() in text_of(row["text"]).lower()
        ),
        next(i for i in question["context_ids"] if i != "core"),
    )
    chip = detail.locator(f'tr[data-system="mem-alpha"] .chip:text-matches("^{holder} · step")')
    written = int(chip.inner_text().rsplit(" ", 1)[1])
    chip.click()
    assert page.inner_text("#step-label") == f"step {written} / {last}"
    entry = card.locator(f'.entry[data-id="{holder.split(":")[1]}"]')
    assert "used" in entry.get_attribute("class") and {"added", "updated"} & set(entry.get_attribute("class").split())
    assert card.locator(".entry.used").count() > 0
    assert errors == []
    page.set_viewport_size({"width": 1500, "height": 1500})
    page.evaluate("window.scrollTo(0, 0)")
    save_screenshot(page.screenshot())
    page.close()


def test_hostile_text_stays_text(browser: Any, tmp_path: Path) -> None:
    path = tmp_path / "hostile.jsonl"
    record_hostile(path)
    html = tmp_path / "hostile.html"
    assert cli_main(["view", str(path), "-o", str(html), "--title", HOSTILE]) == 0
    page, errors = open_page(browser, html)
    assert page.evaluate("typeof window.__pwned") == "undefined"
    assert page.evaluate("document.images.length") == 0
    assert page.evaluate("document.scripts.length") == 2
    assert page.title() == HOSTILE
    assert HOSTILE in page.inner_text("#chunk-text")
    assert page.inner_text(".sys-name") == f"sys{HOSTILE}"
    card = page.locator(".system")
    assert HOSTILE in card.locator(".entry.added").inner_text()
    assert f"core {HOSTILE}" in card.locator(".core").inner_text()
    failed = card.locator(".call.failed")
    assert failed.count() == 1 and "unknown_id" in failed.inner_text()
    page.keyboard.press("ArrowRight")
    page.locator("#question-list li").nth(0).click()
    assert HOSTILE in page.inner_text("#question-detail")
    assert page.evaluate("typeof window.__pwned") == "undefined"
    assert errors == []
    page.close()
