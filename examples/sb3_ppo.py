"""Train a stable-baselines3 agent to build memory in MemAlpha-v0 (or -v1) under a token budget.

    PYTHONPATH=. python examples/sb3_ppo.py --algo ppo --timesteps 80000 --seed 0 --num-seeds 3 \\
        --curve docs/sb3_learning_curve.png
    PYTHONPATH=. python examples/sb3_ppo.py --suite v1 ...   # the same on suite v1's harder phenomena

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
    curve: str = ""  # PNG path for the learning curve ("" : no plot)
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


def plot(
    curves: dict[int, list[tuple[int, float]]],
    baselines: dict[str, float],
    algo: str,
    path: str,
    title: str = "MemAlpha-v0",
) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.2))
    for seed, points in curves.items():
        ax.plot(
            [x for x, _ in points],
            [y for _, y in points],
            marker="o",
            markersize=3,
            label=f"{algo.upper()} seed {seed}",
        )
    styles = iter(["--", ":", "-.", (0, (5, 1)), (0, (1, 1)), (0, (3, 1, 1, 1)), (0, (5, 5))])
    for name, value in sorted(baselines.items(), key=lambda kv: -kv[1]):
        ax.axhline(value, color="grey", linestyle=next(styles, "--"), linewidth=1, label=f"{name} ({value:.2f})")
    ax.set_xlabel("environment steps")
    ax.set_ylabel("held-out mean episode reward")
    ax.set_title(f"{title} under a memory budget: learned policy vs fixed menu policies")
    ax.legend(fontsize=7, loc="lower right")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    for name, default in vars(Args()).items():
        parser.add_argument(f"--{name.replace('_', '-')}", type=type(default), default=default)
    args = Args(**vars(parser.parse_args(argv)))
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
    if args.curve:
        plot(curves, curve_baselines, args.algo, args.curve, title=f"MemAlpha-{args.suite}")
        print(f"learning curve: {args.curve}")
    result = {args.algo: round(statistics.mean(learned), 4)}
    result.update({name: round(statistics.mean(r), 4) for name, r in baselines.items()})
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
