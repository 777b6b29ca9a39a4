"""Train a stable-baselines3 agent to build memory in MemAlpha-v0 (or -v1) under a token budget.

    PYTHONPATH=. python examples/sb3_ppo.py --algo ppo --timesteps 80000 --seed 0 --num-seeds 3 \\
        --curve docs/sb3_learning_curve.png
    PYTHONPATH=. python examples/sb3_ppo.py --suite v1 ...   # the same on suite v1's harder phenomena
    PYTHONPATH=. python examples/sb3_ppo.py --replot docs/sb3_learning_curve.json   # redraw, no training

The agent sees :class:`~memenv.wrappers.HashedTextObservation` features and picks one operation per chunk
from :class:`~memenv.wrappers.DiscreteMemoryActions` (skip, store the chunk, store its salient sentences,
refresh the core, update / delete the most related entry). :class:`~memenv.wrappers.MemoryBudget` caps
the memory at ``--budget`` tokens, far below what storing every chunk (or every chunk's facts) needs, and
makes the reward ``r1 (QA accuracy) + beta * r3 (compression)``; with ``--qa-signal answer_recall`` (or
``evidence_recall``) r1 is the reader-free recall of the answer (or its evidence) in what the reader is
given, the signal that trains on real data without any LLM. The stream is distractor-heavy
(synthetic ``accurate_retrieval``: a few asked facts among distractor facts and filler prose), so a good
policy must spend its budget on the chunks that carry facts.

Evaluation is on held-out episodes: training episodes are generated from the non-negative seeds the
environment draws, evaluation episodes from negative generator seeds (-1, -2, ...), which training never
sees. Every fixed menu policy (always <operation>, and uniform random) is evaluated on the same episodes.
The last line of output is one JSON object: policy name -> held-out mean episode reward (averaged over
training seeds for the learned agent).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import torch

import memenv  # noqa: F401  (registers the environments)
from memenv.tasks import Episode
from memenv.tasks.synthetic import generate
from memenv.wrappers import DiscreteMemoryActions, HashedTextObservation, MemoryBudget


@dataclass
class Args:
    algo: str = "ppo"  # ppo | a2c | dqn
    timesteps: int = 80_000  # environment steps per training seed
    seed: int = 0  # first training seed
    num_seeds: int = 1  # training seeds seed .. seed+num_seeds-1
    n_envs: int = 8  # parallel envs (DummyVecEnv) for PPO/A2C
    eval_episodes: int = 100  # held-out episodes for the final evaluation
    curve_every: int = 5_000  # steps between held-out checkpoints of the learning curve (0: none)
    curve_episodes: int = 30  # held-out episodes per checkpoint
    curve: str = ""  # PNG path for the learning curve ("" : no plot); its data goes to the same path with .json
    replot: str = ""  # redraw --curve (default: this path with .png) from a saved .json record; no training
    context_tokens: int = 1024
    chunk_tokens: int = 64
    num_questions: int = 3
    budget: int = 160  # memory token cap
    train_episodes: int = 500  # training pool: generator seeds 0..N-1 (0: a fresh episode every reset)
    beta: float = 0.05  # compression weight
    qa_signal: str = "reader"  # r1: "reader" (the evidence reader's score), "answer_recall" or "evidence_recall"
    suite: str = "v0"  # generator version: "v0" (MemAlpha-v0) or "v1" (MemAlpha-v1, the harder phenomena)
    task: str = "accurate_retrieval"  # the competency of every episode


def make_env(args: Args, episodes: list[Episode] | None = None) -> gym.Env:
    """The training/evaluation environment: MemAlpha-<suite> + budget + features + menu.

    ``episodes``: a pool to sample from (generating an episode costs more than playing it).
    """
    env = gym.make(
        f"MemAlpha-{args.suite}",
        task=args.task,
        context_tokens=args.context_tokens,
        chunk_tokens=args.chunk_tokens,
        num_questions=args.num_questions,
        episodes=episodes,
        qa_signal=args.qa_signal,
    )
    # A menu agent cannot write a malformed or ungrounded call: r2/r4 would only pay for activity.
    env = MemoryBudget(env, max_tokens=args.budget, tool_call_weight=0.0, content_weight=0.0, beta=args.beta)
    env = HashedTextObservation(env)
    return DiscreteMemoryActions(env)


def episodes_from(args: Args, seeds: range) -> list[Episode]:
    return [
        generate(
            args.task,
            seed=seed,
            context_tokens=args.context_tokens,
            chunk_tokens=args.chunk_tokens,
            num_questions=args.num_questions,
            suite=args.suite,
        )
        for seed in seeds
    ]


def evaluate(env: gym.Env, act: Any, episodes: list[Any], seed: int = 0) -> list[float]:
    """Episode returns of ``act(obs, rng) -> action`` on ``episodes``."""
    rng = np.random.default_rng(seed)
    returns = []
    for episode in episodes:
        obs, _ = env.reset(seed=seed, options={"episode": episode})
        total, done = 0.0, False
        while not done:
            obs, reward, terminated, truncated, _ = env.step(act(obs, rng))
            total += float(reward)
            done = terminated or truncated
        returns.append(total)
    return returns


def fixed_policies(n_actions: int, operations: tuple[str, ...]) -> dict[str, Any]:
    def always(index: int) -> Any:
        return lambda _obs, _rng: index

    policies: dict[str, Any] = {f"always_{op}": always(i) for i, op in enumerate(operations)}
    policies["random"] = lambda _obs, rng: int(rng.integers(n_actions))
    return policies


def train_one(
    args: Args, seed: int, train_pool: list[Episode] | None, curve_episodes: list[Episode]
) -> tuple[Any, list[tuple[int, float]]]:
    from stable_baselines3 import A2C, DQN, PPO
    from stable_baselines3.common.callbacks import BaseCallback
    from stable_baselines3.common.env_util import make_vec_env

    eval_env = make_env(args)
    curve: list[tuple[int, float]] = []

    def held_out(model: Any) -> float:
        def act(obs: np.ndarray, _rng: Any) -> int:
            return int(model.predict(obs, deterministic=True)[0])

        return statistics.mean(evaluate(eval_env, act, curve_episodes))

    class HeldOutCurve(BaseCallback):
        """Held-out mean reward every ``curve_every`` steps (the first point is the untrained policy)."""

        def _on_training_start(self) -> None:
            self.next_point = 0

        def _on_step(self) -> bool:
            if args.curve_every and self.num_timesteps >= self.next_point:
                curve.append((self.num_timesteps, held_out(self.model)))
                print(f"  seed {seed} step {self.num_timesteps}: held-out mean reward {curve[-1][1]:.3f}", flush=True)
                self.next_point += args.curve_every
            return True

    common: dict[str, Any] = {"seed": seed, "verbose": 0, "device": "cpu"}
    if args.algo == "ppo":
        venv = make_vec_env(lambda: make_env(args, train_pool), n_envs=args.n_envs, seed=seed)
        model = PPO(
            "MlpPolicy", venv, n_steps=256, batch_size=256, n_epochs=10, gamma=1.0, gae_lambda=0.95,
            ent_coef=0.01, learning_rate=3e-4, **common,
        )  # fmt: skip
    elif args.algo == "a2c":
        venv = make_vec_env(lambda: make_env(args, train_pool), n_envs=args.n_envs, seed=seed)
        model = A2C("MlpPolicy", venv, n_steps=32, gamma=1.0, ent_coef=0.01, learning_rate=7e-4, **common)
    elif args.algo == "dqn":
        model = DQN(
            "MlpPolicy", make_env(args, train_pool), gamma=1.0, learning_starts=2_000, exploration_fraction=0.3,
            target_update_interval=1_000, train_freq=4, **common,
        )  # fmt: skip
    else:
        raise ValueError(f"--algo must be ppo, a2c or dqn, got {args.algo!r}")
    model.learn(total_timesteps=args.timesteps, callback=HeldOutCurve())
    if args.curve_every and curve[-1][0] < model.num_timesteps:
        curve.append((model.num_timesteps, held_out(model)))
    eval_env.close()
    return model, curve


def curve_record(
    args: Args,
    curves: dict[int, list[tuple[int, float]]],
    baselines: dict[str, float],
    result: dict[str, float],
    per_seed: list[float],
) -> dict[str, Any]:
    """What the learning-curve figure is drawn from, as written next to it (``--curve X.png`` -> ``X.json``):
    the settings, each seed's held-out curve (``[steps, mean reward]`` pairs), the fixed policies on the
    same curve episodes, and the final held-out result (the script's last output line; ``per_seed``: the
    learned policy's held-out mean reward for each training seed)."""
    return {
        "settings": vars(args),
        "curves": {str(seed): [[int(x), round(y, 4)] for x, y in points] for seed, points in curves.items()},
        "baselines": {name: round(value, 4) for name, value in baselines.items()},
        "held_out": result,
        "held_out_per_seed": [round(x, 4) for x in per_seed],
    }


def merged_references(baselines: dict[str, float], digits: int = 3) -> list[tuple[str, float]]:
    """Fixed policies as reference lines, highest first; policies with the same value (to ``digits``) share
    one line and one label (``always_skip / update_related / delete_related``), since lines drawn on top
    of each other cannot be told apart."""
    groups: dict[float, list[str]] = {}
    for name, value in baselines.items():
        groups.setdefault(round(value, digits), []).append(name)
    references = []
    for value, names in sorted(groups.items(), key=lambda kv: -kv[0]):
        names = sorted(names)
        shared = "always_" if all(n.startswith("always_") for n in names) and len(names) > 1 else ""
        label = shared + " / ".join(n.removeprefix(shared) for n in names)
        references.append((label, value))
    return references


def spread_labels(values: list[float], gap: float) -> list[float]:
    """Label heights for lines at ``values`` (sorted high to low): each at its line, pushed down so that
    consecutive labels are at least ``gap`` apart."""
    placed: list[float] = []
    for value in values:
        placed.append(min(value, placed[-1] - gap) if placed else value)
    return placed


def plot(
    curves: dict[int, list[tuple[int, float]]],
    baselines: dict[str, float],
    algo: str,
    path: str,
    title: str = "MemAlpha-v0",
    episodes: int = 0,
) -> None:
    """The learning curve: one coloured line per training seed, one coloured dashed line per fixed policy
    (equal ones merged), each labelled at its right end; the seeds' legend sits below the axes."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(9, 4.8))
    seed_colors = plt.get_cmap("tab10").colors[:3]
    for i, (seed, points) in enumerate(curves.items()):
        ax.plot(
            [x for x, _ in points],
            [y for _, y in points],
            marker="o",
            markersize=3,
            linewidth=1.8,
            color=seed_colors[i % len(seed_colors)],
            label=f"{algo.upper()} seed {seed}",
        )
    references = merged_references(baselines)
    # Colours the seeds do not use, dark enough for thin lines; the dash style is a second cue.
    reference_colors = ["#8c564b", "#9467bd", "#d62728", "#6b6b6b", "#7a7a00", "#0f8a99", "#c0509a"]
    low = min([v for _, v in references] + [y for points in curves.values() for _, y in points])
    high = max([v for _, v in references] + [y for points in curves.values() for _, y in points])
    margin = 0.06 * (high - low or 1.0)
    ax.set_ylim(low - margin, high + margin)
    heights = spread_labels([v for _, v in references], gap=0.045 * (high - low + 2 * margin))
    for (label, value), y, color in zip(references, heights, reference_colors, strict=False):
        ax.axhline(value, color=color, linestyle="--", linewidth=1.1)
        ax.annotate(
            f"{label} ({value:.2f})",
            xy=(1.0, value),
            xycoords=("axes fraction", "data"),
            xytext=(1.01, y),
            textcoords=("axes fraction", "data"),
            va="center",
            fontsize=7.5,
            color=color,
            arrowprops={"arrowstyle": "-", "color": color, "linewidth": 0.6} if abs(y - value) > 1e-9 else None,
        )
    ax.set_xlabel("environment steps")
    ax.set_ylabel(f"held-out mean episode reward{f' ({episodes} episodes)' if episodes else ''}")
    ax.set_title(f"{title} under a memory budget: learned policy vs fixed menu policies (dashed)", fontsize=10)
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.13), ncol=len(curves), frameon=False)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120, bbox_inches="tight")  # "tight": the labels right of the axes are kept whole
    plt.close(fig)


def replot(record_path: str, path: str = "") -> str:
    """Redraw the learning curve from a saved record (:func:`curve_record`) without training; returns the
    PNG path (``path``, or the record's path with ``.png``)."""
    record = json.loads(Path(record_path).read_text())
    for key in ("settings", "curves", "baselines"):
        if key not in record:
            raise ValueError(f"{record_path}: not a learning-curve record (no {key!r} field)")
    curves = {int(seed): [(int(x), float(y)) for x, y in points] for seed, points in record["curves"].items()}
    settings = record["settings"]
    out = path or str(Path(record_path).with_suffix(".png"))
    title = f"MemAlpha-{settings['suite']}"
    plot(curves, record["baselines"], settings["algo"], out, title=title, episodes=settings["curve_episodes"])
    return out


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    for name, default in vars(Args()).items():
        parser.add_argument(f"--{name.replace('_', '-')}", type=type(default), default=default)
    args = Args(**vars(parser.parse_args(argv)))
    if args.replot:
        print(f"learning curve: {replot(args.replot, args.curve)}")
        return {}
    if args.curve and not args.curve_every:
        parser.error("--curve needs --curve-every > 0")

    torch.set_num_threads(1)  # a 2x64 MLP: threads only add contention on a small CPU
    # Held-out episodes come from negative generator seeds; training uses seeds 0..train_episodes-1 (or,
    # with --train-episodes 0, the non-negative seeds the env draws): the two never overlap.
    episodes = episodes_from(args, range(-1, -1 - args.eval_episodes, -1))
    train_pool = episodes_from(args, range(args.train_episodes)) if args.train_episodes else None
    curve_episodes = episodes[: args.curve_episodes]
    env = make_env(args)
    operations = env.operations
    baselines = {
        name: evaluate(env, act, episodes) for name, act in fixed_policies(env.action_space.n, operations).items()
    }
    curve_baselines = {
        name: statistics.mean(evaluate(env, act, curve_episodes))
        for name, act in fixed_policies(env.action_space.n, operations).items()
    }

    learned: list[float] = []
    curves: dict[int, list[tuple[int, float]]] = {}
    for seed in range(args.seed, args.seed + args.num_seeds):
        start = time.perf_counter()
        model, curves[seed] = train_one(args, seed, train_pool, curve_episodes)

        def act(obs: np.ndarray, _rng: Any, model: Any = model) -> int:
            return int(model.predict(obs, deterministic=True)[0])

        returns = evaluate(env, act, episodes)
        learned.append(statistics.mean(returns))
        print(
            f"seed {seed}: {args.algo} held-out mean reward {learned[-1]:.3f} "
            f"({len(returns)} episodes, trained {model.num_timesteps} steps in {time.perf_counter() - start:.0f} s)"
        )
    env.close()

    print(f"\nheld-out mean episode reward ({args.eval_episodes} episodes; learned: mean ± std over seeds)")
    spread = statistics.stdev(learned) if len(learned) > 1 else 0.0
    print(
        f"  {args.algo:<24s} {statistics.mean(learned):.3f} ± {spread:.3f}  per seed {[round(x, 3) for x in learned]}"
    )
    for name, returns in sorted(baselines.items(), key=lambda kv: -statistics.mean(kv[1])):
        print(f"  {name:<24s} {statistics.mean(returns):.3f} ± {statistics.stdev(returns):.3f} (over episodes)")
    result = {args.algo: round(statistics.mean(learned), 4)}
    result.update({name: round(statistics.mean(r), 4) for name, r in baselines.items()})
    if args.curve:
        record = Path(args.curve).with_suffix(".json")
        record.parent.mkdir(parents=True, exist_ok=True)
        record.write_text(json.dumps(curve_record(args, curves, curve_baselines, result, learned), indent=1) + "\n")
        title = f"MemAlpha-{args.suite}"
        plot(curves, curve_baselines, args.algo, args.curve, title=title, episodes=args.curve_episodes)
        print(f"learning curve: {args.curve} (data: {record}; redraw with --replot {record})")
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
