"""The heuristic writers' outputs are pinned: speed-ups must not change a single reply or memory.

For each heuristic system (``mem-alpha``, ``mem1``, ``memory-r1``, ``memory-r1-add-only``) and each
episode below, the test plays the episode in the system's environment and keeps two hashes: ``writer``
covers what the policy produced (every reply and the final memory), ``sha256`` the whole run (also every
reward and the QA report, so reader and scoring changes show up here but not in ``writer``).

Issue 19's BM25 fix (repeated query terms counted, bm25s' exact float arithmetic) reorders near-tied
retrieval results, which changes what some writers store. ``before_bm25_fix`` holds the writer hashes of
those runs under the old rule, and
:func:`test_with_the_old_bm25_scoring_the_changed_runs_are_as_before` shows the rule is the whole
difference: with the old rule restored, they come out as before. Regenerate deliberately, after a change
that is *meant* to change outputs, with::

    python tests/test_baseline_outputs.py --record
"""

from __future__ import annotations

import hashlib
import json
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import pytest

import memenv.envs.memory_r1
import memenv.memory
import memenv.qa
import memenv.readers.evidence
from baselines.systems import LEARNED, _heuristic
from memenv.retrieval import BM25Index
from memenv.tasks import COMPETENCIES, Episode, Question, generate, load

FIXTURE = Path(__file__).parent / "fixtures" / "heuristic_outputs.json"
SYSTEMS = ("mem-alpha", "mem1", "memory-r1", "memory-r1-add-only")


def episodes() -> dict[str, Episode]:
    """Generated episodes of every competency (two seeds, then other seeds at other sizes: 4K tokens in
    128-token chunks, 24K in 2048-token chunks), a LoCoMo-format dialogue, a longer LoCoMo-like one
    (``benchmarks/locomo_like.py``) and a stream of awkward text (:func:`awkward_episode`)."""
    out = {
        f"{task}/seed{seed}": generate(task, seed=seed, context_tokens=24_576, chunk_tokens=512)
        for task in COMPETENCIES
        for seed in (0, 1)
    }
    out["locomo_tiny"] = load("locomo", Path(__file__).parent / "fixtures" / "locomo10_tiny.json")[0]
    for task in COMPETENCIES:
        out[f"{task}/seed3/4k-c128"] = generate(task, seed=3, context_tokens=4096, chunk_tokens=128)
        out[f"{task}/seed5/c2048"] = generate(task, seed=5, context_tokens=24_576, chunk_tokens=2048)
    from benchmarks.locomo_like import conversation  # the repository's benchmarks/ (not an installed package)

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "locomo_like.json"
        path.write_text(json.dumps([conversation(0)]))
        out["locomo_like"] = load("locomo", path, include_adversarial=True)[0]
    out["awkward"] = awkward_episode()
    return out


def awkward_episode() -> Episode:
    """Text the generators never write: accents, CJK, emoji, dates in many formats, speaker lines,
    labelled examples with odd labels, a sentence repeated, empty-ish chunks, no punctuation, a very long
    sentence, facts restated with a changed word."""
    chunks = (
        "Zoë Łukasiewicz lives in Kraków and owns a café called Ärger. 東京で田中さんは寿司を食べた。 "
        "Jose\u0301 met José at the ﬁnal ﬂoor; room Ⅻ costs １２３ yen.",
        "My dog 🐶 is called Pepper 🌶️. 👨‍👩‍👧‍👦 The family moved to Oslo in 2019 🏠. The password is 🦄-42-🌈.",
        "On 2023-05-07 Mara adopted a cat named Biscuit. On 07/05/2023 Teo started as a nurse. "
        "1:56 pm on 8 May, 2023: Oskar finished a painting. 2023/05/07 (Sun) 14:30 Lena called Rosa. "
        "On the 7th of May '23 Priya went hiking. Last Saturday Farid went to a jazz concert.",
        "[D1:1] Mara: My dog is called Pepper.\n[D1:2] Teo: I grew up in Oban, by the sea.\n"
        "Speaker A: I work as a translator.\nUser: Remember that my locker code is 4471.",
        "Input: the movie was great -> label: 1\ntext: refund not received => label_7\n"
        "Example 3: card blocked abroad\nLabel: -1\nreview: 'meh' label: 0.5\nInput: 我的卡丢了 -> label: 5",
        "The capital of Zarnia is Velm. " * 12,
        "",
        " \n\n ... — ",
        "mara lives near the quiet north harbor and teo keeps seven blue lamps by the market signal " * 8,
        "The capital of Zarnia is now Ostrand. Room 12 has 4 chairs. Room 12 has 7 chairs now. "
        + "the river stone lamp was quiet and the harbor signal of the north market " * 30
        + "ends here.",
    )
    questions = (
        Question("What is the capital of Zarnia?", ("Ostrand",), "subem"),
        Question("Where does Zoë Łukasiewicz live?", ("Kraków",), "subem"),
        Question("What is the locker code?", ("4471",), "subem"),
        Question("When did Mara adopt a cat?", ("7 May 2023",), "subem"),
    )
    return Episode("awkward", chunks, questions, "accurate_retrieval")


def digest(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def episode_digest(episode: Episode) -> str:
    return digest([list(episode.chunks), [[q.question, list(q.answers), q.metric] for q in episode.questions]])


def play(system: str, episode: Episode) -> dict[str, Any]:
    """Run one heuristic system on one episode; return the hash of its whole trace and a few readable values."""
    policy = _heuristic(system)
    env = gym.make(LEARNED[system.removesuffix("-add-only")])
    obs, info = env.reset(seed=0, options={"episode": episode})
    replies, rewards = [], []
    terminated = False
    while not terminated:
        reply = policy(obs, info)
        obs, reward, terminated, _, info = env.step(reply)
        replies.append(reply)
        rewards.append(reward)
    env.close()
    return {
        "writer": digest({"replies": replies, "memory": info["memory"]}),
        "sha256": digest({"replies": replies, "rewards": rewards, "memory": info["memory"], "qa": info["qa"]}),
        "accuracy": info["qa"]["accuracy"],
        "memory_tokens": info["memory_tokens"],
    }


def with_old_bm25(monkeypatch: pytest.MonkeyPatch) -> None:
    for module in (memenv.qa, memenv.memory, memenv.readers.evidence, memenv.envs.memory_r1):
        monkeypatch.setattr(module, "BM25Index", OldScoringBM25)


def record() -> dict[str, Any]:
    eps = episodes()
    outputs = {system: {name: play(system, e) for name, e in eps.items()} for system in SYSTEMS}
    with pytest.MonkeyPatch.context() as monkeypatch:
        with_old_bm25(monkeypatch)
        old = {system: {name: play(system, e)["writer"] for name, e in eps.items()} for system in SYSTEMS}
    before = {
        system: {name: writer for name, writer in runs.items() if writer != outputs[system][name]["writer"]}
        for system, runs in old.items()
    }
    return {
        "episodes": {name: episode_digest(e) for name, e in eps.items()},
        "outputs": outputs,
        "before_bm25_fix": {system: runs for system, runs in before.items() if runs},
    }


@pytest.fixture(scope="module")
def pinned() -> dict[str, Any]:
    return json.loads(FIXTURE.read_text())


@pytest.fixture(scope="module")
def suite(pinned: dict[str, Any]) -> dict[str, Episode]:
    eps = episodes()
    changed = [name for name, e in eps.items() if episode_digest(e) != pinned["episodes"][name]]
    assert not changed, f"the episodes themselves changed ({changed}): the generator or loader changed; re-record"
    return eps


@pytest.mark.parametrize("system", SYSTEMS)
def test_heuristic_outputs_are_unchanged(system: str, pinned: dict[str, Any], suite: dict[str, Episode]) -> None:
    expected = pinned["outputs"][system]
    got = {name: play(system, episode) for name, episode in suite.items()}
    assert got == expected


class OldScoringBM25(BM25Index):
    """BM25 as memenv scored it before issue 19: each distinct query term once (in term-id order), idf
    with ``log1p``, weight ``idf · tf / (tf + norm)``. Same index, storage and top-k code otherwise."""

    @staticmethod
    def _idf(df: np.ndarray, n_docs: int) -> np.ndarray:
        return np.log1p((n_docs - df + 0.5) / (df + 0.5))

    @staticmethod
    def _weights(idf: np.ndarray, tfs: np.ndarray, norms: np.ndarray) -> np.ndarray:
        return idf * tfs / (tfs + norms)

    def _term_ids(self, tokens: Sequence[str]) -> list[int]:
        return sorted({self._vocab[t] for t in tokens if t in self._vocab})


def test_with_the_old_bm25_scoring_the_changed_runs_are_as_before(
    pinned: dict[str, Any], suite: dict[str, Episode], monkeypatch: pytest.MonkeyPatch
) -> None:
    changed = pinned["before_bm25_fix"]
    assert changed, "no run is marked as changed by the BM25 fix"
    with_old_bm25(monkeypatch)
    for system, runs in changed.items():
        for name, before in runs.items():
            assert before != pinned["outputs"][system][name]["writer"], (system, name)
            assert play(system, suite[name])["writer"] == before, (system, name)


if __name__ == "__main__":
    if sys.argv[1:] != ["--record"]:
        raise SystemExit(f"usage: python {sys.argv[0]} --record")
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # benchmarks/, as pytest's rootdir gives it
    previous = json.loads(FIXTURE.read_text()) if FIXTURE.exists() else {}
    data = {"note": previous.get("note", ""), **record()}
    FIXTURE.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")
    print(f"wrote {FIXTURE}")
