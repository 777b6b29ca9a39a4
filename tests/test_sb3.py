from __future__ import annotations

import importlib.util
import json
import os
import sys
import warnings
from pathlib import Path

import gymnasium as gym
import pytest

import memenv
from memenv.wrappers import SUPPORTED, DiscreteMemoryActions, HashedTextObservation, MemoryBudget

sb3 = pytest.importorskip("stable_baselines3")
torch = pytest.importorskip("torch")

from stable_baselines3.common.env_checker import check_env  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SMALL = {"task": "accurate_retrieval", "context_tokens": 1024, "chunk_tokens": 128, "num_questions": 2}


def wrapped(env_id: str, budget: bool) -> gym.Env:
    env = gym.make(env_id, **SMALL)
    if budget:
        env = MemoryBudget(env, max_tokens=256)
    return DiscreteMemoryActions(HashedTextObservation(env))


def load_example():
    spec = importlib.util.spec_from_file_location("sb3_ppo", ROOT / "examples" / "sb3_ppo.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses resolve string annotations through sys.modules
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("budget", [False, True])
@pytest.mark.parametrize("env_id", [env_id for env_id, _ in memenv.ENVIRONMENTS])
def test_sb3_check_env_passes_with_no_warnings(env_id, budget):
    env = wrapped(env_id, budget)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check_env(env, warn=True)


def test_ppo_runs_a_few_hundred_steps():
    torch.set_num_threads(1)
    env = wrapped("MemAlpha-v0", budget=True)
    model = sb3.PPO("MlpPolicy", env, n_steps=128, batch_size=64, n_epochs=2, seed=0, device="cpu")
    model.learn(total_timesteps=256)
    assert model.num_timesteps == 256
    obs, _ = env.reset(seed=0)
    action, _ = model.predict(obs, deterministic=True)
    assert env.action_space.contains(int(action))


def test_ppo_beats_random_on_held_out_episodes():
    # The example script itself, with a small budget of steps (the README's full run uses more).
    example = load_example()
    result = example.main(
        [
            "--timesteps", "12000", "--seed", "0", "--train-episodes", "100", "--eval-episodes", "30",
            "--curve-every", "0",
        ]
    )  # fmt: skip
    assert set(result) == {"ppo", "random"} | {f"always_{op}" for op in SUPPORTED["mem_alpha"]}
    assert result["ppo"] > result["random"]


def test_the_example_trains_on_a_reader_free_recall():
    example = load_example()
    env = example.make_env(example.Args(qa_signal="answer_recall"))
    assert env.unwrapped.qa_signal == "answer_recall"
    env.reset(seed=0)
    done = False
    while not done:
        _, _, terminated, truncated, info = env.step(2)  # store_facts
        done = terminated or truncated
    assert info["reward_components"]["r1_qa"] == info["qa"]["answer_recall"] > 0


def test_the_example_plays_suite_v1():
    example = load_example()
    args = example.Args(suite="v1")
    env = example.make_env(args)
    assert env.unwrapped.spec.id == "MemAlpha-v1" and env.unwrapped.suite == "v1"
    episodes = example.episodes_from(args, range(-1, -3, -1))
    assert [e.id for e in episodes] == ["accurate_retrieval-v1--1-1024", "accurate_retrieval-v1--2-1024"]
    obs, _ = env.reset(seed=0, options={"episode": episodes[0]})
    assert env.observation_space.contains(obs)


@pytest.mark.skipif(os.environ.get("MEMENV_SLOW") != "1", reason="about 4 minutes each; set MEMENV_SLOW=1")
@pytest.mark.parametrize("flags", [["--qa-signal", "answer_recall"], ["--suite", "v1"]], ids=["answer_recall", "v1"])
def test_ppo_beats_every_fixed_policy(flags: list[str]):
    example = load_example()
    result = example.main(["--timesteps", "80000", "--seed", "0", "--curve-every", "0", *flags])
    best_fixed = max(v for k, v in result.items() if k != "ppo")
    assert result["ppo"] > best_fixed


def test_learning_curve_redraws_from_its_record_with_distinct_reference_lines(tmp_path, monkeypatch):
    import matplotlib.figure

    example = load_example()
    figures = []
    savefig = matplotlib.figure.Figure.savefig

    def keep(self, *args, **kwargs):
        result = savefig(self, *args, **kwargs)
        self.canvas.draw()
        figures.append(self)
        return result

    monkeypatch.setattr(matplotlib.figure.Figure, "savefig", keep)
    baselines = {"always_refresh_core": 0.3667, "random": 0.2533, "always_store_facts": 0.2233}
    baselines |= {"always_skip": 0.05, "always_update_related": 0.05, "always_delete_related": 0.05}
    curves = {0: [(8, 0.07), (5000, 0.37), (10000, 0.55)], 1: [(8, 0.08), (5000, 0.4), (10000, 0.6)]}
    args = example.Args(timesteps=10000, num_seeds=2, curve=str(tmp_path / "curve.png"))
    record = example.curve_record(args, curves, baselines, {"ppo": 0.6}, [0.61, 0.59])
    (tmp_path / "curve.json").write_text(json.dumps(record))
    assert example.main(["--replot", str(tmp_path / "curve.json")]) == {}
    assert (tmp_path / "curve.png").stat().st_size > 1000
    ax = figures[0].axes[0]
    references = [line for line in ax.lines if line.get_linestyle() == "--"]
    # equal policies share one line: four lines for six policies, each its own colour
    assert [line.get_ydata()[0] for line in references] == [0.367, 0.253, 0.223, 0.05]
    assert len({line.get_color() for line in references}) == 4
    labels = [t.get_text() for t in ax.texts]
    assert labels[-1] == "always_delete_related / skip / update_related (0.05)"
    # each label sits right of the plot at its line's end; the close ones (0.25, 0.22) are pushed apart
    frame = ax.get_window_extent()
    boxes = [t.get_window_extent() for t in ax.texts]
    assert all(box.x0 >= frame.x1 for box in boxes)
    assert not any(a.overlaps(b) for i, a in enumerate(boxes) for b in boxes[i + 1 :])
    legend = ax.get_legend()
    assert [t.get_text() for t in legend.get_texts()] == ["PPO seed 0", "PPO seed 1"]
    assert legend.get_window_extent().y1 <= frame.y0  # below the axes, not over the curves


def test_replot_names_a_file_that_is_not_a_curve_record(tmp_path):
    example = load_example()
    (tmp_path / "x.json").write_text(json.dumps({"curves": {}}))
    with pytest.raises(ValueError, match=r"x\.json: not a learning-curve record \(no 'settings' field\)"):
        example.replot(str(tmp_path / "x.json"))
