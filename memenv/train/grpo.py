"""GRPO for memory writers, in one file that reads top to bottom (CleanRL style).

The loop, per training step:

1. **Rollouts.** Take the next ``episodes_per_step`` training episodes (:class:`EpisodePlan`); play
   ``group_size`` rollouts of each with the policy sampling at ``temperature``
   (:func:`memenv.train.rollout.play`).
   Every chunk step becomes one training *row*: the env's ``info["messages"]`` rendered with the
   chat template, and the completion as the exact token ids sampled.
2. **Rewards** (:func:`memenv.train.losses.step_rewards`). ``reward_mode="step"`` (Mem-α): row t of
   a rollout gets ``r1 + r2_t + beta * r3 + gamma * r4_t`` where ``r1`` (QA accuracy) and ``r3``
   (compression) are the rollout's terminal values broadcast to every step and ``r2_t`` (share of
   the step's calls that executed), ``r4_t`` (share of its writes judged valid) are the step's own;
   beta and gamma are the env's. ``reward_mode="trajectory"``: every row gets the mean of those.
3. **Advantages** (:func:`~memenv.train.losses.group_advantages`): normalised over all rows of the G
   rollouts of one episode, ``(r - mean) / (std + eps)``; without the std division when
   ``scale_rewards`` is off (the default for ``dr_grpo``). All-equal groups get 0 and are skipped.
4. **Update.** ``update_epochs`` passes over the rows, each split into ``num_minibatches``
   minibatches = one optimiser step each, computed in micro-batches of ``micro_batch_size`` rows
   (gradient accumulation, exact: the micro-batch losses sum to the minibatch loss). Per token:
   clipped ratio loss with ``clip_low`` / ``clip_high`` (asymmetric = DAPO's clip-higher), plus
   ``kl_coef`` × k3 KL to a frozen reference (the model as RL starts, i.e. after SFT), log-probs from
   ``softmax(logits / temperature)``, only completion tokens in the loss, aggregated by
   ``loss_aggregation`` (``grpo`` / ``dapo`` / ``dr_grpo``, see
   :func:`~memenv.train.losses.aggregate_loss`).
5. **Log** every diagnostic to ``output_dir/log.jsonl`` and ``log.csv``; checkpoint every
   ``checkpoint_every`` steps; evaluate greedily on held-out seeds every ``eval_every`` steps.

Before step 1, optionally: an SFT warm start on a heuristic writer's episodes
(:mod:`memenv.train.sft`) and an evaluation (the "before RL" number).

Exact resume: a checkpoint holds the trainable weights, the optimiser state, the Python / NumPy /
torch RNG states, the step counter, the training-seed cursor and the run's config, so
``resume="latest"`` continues with the numbers an uninterrupted run would have produced (on the same
device and library versions).

Safe resume: everything is checked before any file of the run changes — the checkpoint loads (with
``torch.load(weights_only=True)``: a checkpoint is data, never code), has every part and fits the
model; its config equals this one except for :data:`RESUME_MAY_CHANGE`; the log reads (a torn last
line, from a run killed mid-write, is dropped). A failed check raises :class:`RunError` naming the file
and what is wrong, and leaves ``log.jsonl``, ``config.json`` and the checkpoints as they were. A fresh
run into a folder that already holds a run is refused unless ``overwrite=True`` (which then deletes
that run's log, config, checkpoints, reference and final model), so ``resume="latest"`` can never pick
up another run's checkpoint.

Run it: ``python -m memenv.train --help`` or :func:`train` with a :class:`GRPOConfig`.
"""

from __future__ import annotations

import copy
import csv
import importlib
import json
import random
import shutil
import time
from collections.abc import Callable
from dataclasses import MISSING, asdict, dataclass, field
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import torch

import memenv  # registers the environments
from memenv.envs.base import TASKS
from memenv.errors import MemEnvError
from memenv.llm.protocol import template_variables
from memenv.tasks import SOURCES, Episode, load
from memenv.train.losses import (
    LOSS_AGGREGATIONS,
    REWARD_MODES,
    aggregate_loss,
    clipped_objective,
    group_advantages,
    k3_kl,
    step_rewards,
)
from memenv.train.report import REPORT_TO, Reporters, check_report_to
from memenv.train.rollout import PromptEncoder, Rollout, Row, completion_log_probs, play
from memenv.train.sft import collect_demonstrations, heuristic_policy, train_sft

# Seed ranges: training episodes count up from seed * 100_000, evaluation and SFT episodes live far away,
# so the held-out evaluation never sees a training or demonstration episode (GRPOConfig checks the ranges).
EVAL_SEED_OFFSET = 1_000_000
SFT_SEED_OFFSET = 2_000_000
SEED_STRIDE = 100_000

# Config fields a resumed run may change; any other difference means another run, and is refused.
RESUME_MAY_CHANGE = frozenset(
    {
        "output_dir",
        "resume",
        "overwrite",
        "total_steps",
        "progress",
        "threads",
        "device",
        "checkpoint_every",
        "eval_every",
        "eval_episodes",
        "save_model",
        "report_to",
    }
)
# What a run leaves in output_dir (a fresh run refuses a folder holding any of them, unless overwrite).
RUN_FILES = (
    "config.json",
    "log.jsonl",
    "log.csv",
    "reference.pt",
    "checkpoints",
    "final",
    "tensorboard",
    "wandb",
    "wandb_run_id",
)
DTYPES = ("float32", "bfloat16", "float16")
SCALE_REWARDS = ("auto", "true", "false")


class RunError(MemEnvError, ValueError):
    """A run folder, checkpoint or log that cannot be used as asked; the message names the file."""


def option(default: Any = MISSING, help: str = "", *, factory: Callable[[], Any] | None = None, **argparse: Any) -> Any:
    """A :class:`GRPOConfig` field with its command-line manual: ``help`` and any ``argparse`` options
    (``choices``, ``aliases``, ``metavar``) are what ``python -m memenv.train --help`` shows (the parser is
    generated from the fields by ``transformers.HfArgumentParser``)."""
    metadata = {"help": help, **argparse}
    if factory is not None:
        return field(default_factory=factory, metadata=metadata)
    return field(default=default, metadata=metadata)


class ConfigError(MemEnvError, ValueError):
    """A :class:`GRPOConfig` value, or an env / dataset / tracker it names, that cannot be used; the
    message names the field (the command line prints it as one line)."""


@dataclass
class GRPOConfig:
    """Every knob of a run; the CLI (``python -m memenv.train`` / ``memenv train``) has one flag per field,
    with the help text below. Values are checked here (:class:`ConfigError` naming the field); what they
    name (the env, the dataset, the trackers) is checked by :func:`train` before any model loads."""

    # experiment
    output_dir: str = option("runs/grpo", "logs, checkpoints and the final model go here", aliases=["--out", "-o"])
    seed: int = option(0, "seeds python, numpy and torch; training episodes use seeds seed*100000 + 0, 1, ...")
    progress: bool = option(True, "show a progress bar on stderr (--no-progress to hide it)")
    report_to: list[str] = option(
        help="also send the log records to these trackers (the JSONL and CSV logs are always written): "
        "tensorboard (event files in OUTPUT_DIR/tensorboard), wandb",
        factory=list,
        choices=REPORT_TO,
    )
    threads: int = option(0, "torch CPU threads; 0 = torch's default")
    # model
    model: str = option(
        "default", "'default' (SmolLM2-135M-Instruct, embedded), 'tiny' (a random 1M-parameter test model) or a folder"
    )
    device: str = option("", "cuda, cpu, cuda:1, ...; empty = CUDA when available, else CPU")
    dtype: str = option(
        "", "float32, bfloat16 or float16; empty = bfloat16 on a GPU that has it, else float32", choices=DTYPES
    )
    enable_thinking: bool | None = option(
        None,
        "reasoning models (Qwen3): false renders prompts with the template's thinking switch off, so the "
        "completion budget goes to the answer; unset = the chat template's default",
    )
    chat_template_kwargs: str | None = option(
        None, "extra chat-template variables as a JSON object, e.g. '{\"enable_thinking\": false}'", metavar="JSON"
    )
    lora_r: int = option(0, "LoRA rank; 0 = train all weights")
    lora_alpha: int = option(32, "LoRA scale numerator")
    lora_targets: str = option("all-linear", "comma-separated module names, or all-linear")
    lora_layers: int = option(0, "LoRA on the last N decoder layers only (the backward pass stops below them); 0 = all")
    include_tools: bool = option(
        False, "put the info['tools'] schemas into the prompt (the system prompt already has the call format)"
    )
    # environment
    env_id: str = option(
        "memenv/MemAlpha-v0",
        "any memenv env: memenv/MemAlpha-v0, memenv/MEM1-v0, memenv/MemoryR1-v0 (or -v1, or the short ids)",
    )
    task: str = option(
        "accurate_retrieval", "competency of the generated episodes, or mixed (one per episode)", choices=TASKS
    )
    context_tokens: int = option(512, "stream length per generated episode, in tokens")
    chunk_tokens: int = option(128, "tokens per chunk (one step each)")
    num_questions: int = option(4, "questions per generated episode")
    dataset: str | None = option(
        None, "train on this dataset file or folder instead of generated episodes (with --source)"
    )
    source: str | None = option(None, "format of --dataset", choices=SOURCES)
    split: str | None = option(None, "split of --dataset, where it has several")
    env_kwargs: str = option(
        "", "extra gym.make keyword arguments as a JSON object, e.g. '{\"visible_k\": 3}'", metavar="JSON"
    )
    # rollouts
    total_steps: int = option(10, "training steps (each: rollouts, then an update)")
    episodes_per_step: int = option(2, "distinct episodes (groups) per step")
    group_size: int = option(4, "G: rollouts per episode, same seed")
    max_new_tokens: int = option(64, "completion length cap, in tokens")
    temperature: float = option(1.0, "sampling temperature of the rollouts, also used for the log-probs (> 0)")
    generation_batch_size: int = option(16, "prompts per generate() call")
    # rewards and advantages
    reward_mode: str = option(
        "step", "step: Mem-alpha's per-step credit; trajectory: one reward per rollout", choices=REWARD_MODES
    )
    scale_rewards: str = option(
        "auto", "divide advantages by the group std: auto (unless dr_grpo), true, false", choices=SCALE_REWARDS
    )
    mask_truncated: bool = option(False, "drop completions that hit max_new_tokens from the loss")
    # loss
    loss_aggregation: str = option(
        "grpo", "how per-token losses are averaged (see memenv.train.losses)", choices=LOSS_AGGREGATIONS
    )
    clip_low: float = option(0.2, "ratio floor is 1 - clip_low")
    clip_high: float = option(0.2, "ratio ceiling is 1 + clip_high (DAPO: 0.28)")
    kl_coef: float = option(0.0, "weight of the k3 KL to a frozen reference; 0 = no reference model")
    # optimisation
    learning_rate: float = option(1e-5, "AdamW learning rate")
    weight_decay: float = option(0.0, "AdamW weight decay")
    max_grad_norm: float = option(1.0, "gradient norm clip")
    update_epochs: int = option(1, "passes over each step's rows")
    num_minibatches: int = option(1, "optimiser steps per pass")
    micro_batch_size: int = option(4, "rows per forward/backward (gradient accumulation inside a minibatch)")
    # SFT warm start (behaviour cloning of the env's heuristic writer)
    sft_episodes: int = option(0, "heuristic episodes to clone before RL; 0 = no warm start")
    sft_epochs: int = option(1, "passes over the demonstrations")
    sft_learning_rate: float = option(1e-4, "learning rate of the warm start")
    sft_batch_size: int = option(8, "demonstrations per optimiser step")
    sft_policy: str = option(
        "", "the writer to clone as module:function; empty = the env's heuristic (memenv.train.sft.HEURISTICS)"
    )
    # evaluation (greedy, held-out seeds)
    eval_episodes: int = option(0, "held-out episodes evaluated greedily; 0 = no evaluation")
    eval_every: int = option(0, "evaluate every N steps (and at the end); 0 = only before and after")
    # checkpoints
    checkpoint_every: int = option(0, "save a checkpoint every N steps; 0 = no checkpoints")
    resume: str = option("", "empty = fresh run; latest = newest checkpoint in output_dir; or a checkpoint folder")
    overwrite: bool = option(False, "a fresh run may replace a run already in output_dir (else that is refused)")
    save_model: bool = option(True, "save_pretrained the final model (adapters only with LoRA) to output_dir/final")

    def __post_init__(self) -> None:
        if isinstance(self.report_to, str):  # the Python API may name one tracker, or several comma-separated
            self.report_to = [name.strip() for name in self.report_to.split(",") if name.strip()]
        self.report_to = list(self.report_to)

        def need(ok: bool, message: str) -> None:
            if not ok:
                raise ConfigError(message)

        need(
            self.loss_aggregation in LOSS_AGGREGATIONS,
            f"loss_aggregation must be one of {LOSS_AGGREGATIONS}, got {self.loss_aggregation!r}",
        )
        need(self.reward_mode in REWARD_MODES, f"reward_mode must be one of {REWARD_MODES}, got {self.reward_mode!r}")
        need(
            self.scale_rewards in SCALE_REWARDS,
            f"scale_rewards must be 'auto', 'true' or 'false', got {self.scale_rewards!r}",
        )
        need(self.task in TASKS, f"task must be one of {TASKS}, got {self.task!r}")
        need(self.dtype in ("", *DTYPES), f"dtype must be one of {DTYPES} or empty, got {self.dtype!r}")
        need(self.source is None or self.source in SOURCES, f"source must be one of {SOURCES}, got {self.source!r}")
        for name in self.report_to:
            need(name in REPORT_TO, f"report_to: unknown tracker {name!r}; expected some of {REPORT_TO}")
        need(
            self.group_size >= 1 and self.episodes_per_step >= 1 and self.total_steps >= 0,
            "need group_size >= 1, episodes_per_step >= 1, total_steps >= 0",
        )
        need(self.temperature > 0, f"temperature must be > 0 for training rollouts, got {self.temperature}")
        need(
            self.num_minibatches >= 1 and self.micro_batch_size >= 1 and self.update_epochs >= 1,
            "need num_minibatches, micro_batch_size and update_epochs >= 1",
        )
        need(
            self.seed >= 0 and self.eval_episodes >= 0 and self.sft_episodes >= 0,
            "need seed, eval_episodes and sft_episodes >= 0",
        )
        for name in (
            "context_tokens",
            "chunk_tokens",
            "num_questions",
            "max_new_tokens",
            "generation_batch_size",
            "sft_epochs",
            "sft_batch_size",
            "lora_alpha",
        ):
            need(getattr(self, name) >= 1, f"{name} must be >= 1, got {getattr(self, name)}")
        for name in (
            "threads",
            "lora_r",
            "lora_layers",
            "eval_every",
            "checkpoint_every",
            "kl_coef",
            "weight_decay",
            "clip_high",
        ):
            need(getattr(self, name) >= 0, f"{name} must be >= 0, got {getattr(self, name)}")
        need(0 <= self.clip_low < 1, f"clip_low must be in [0, 1), got {self.clip_low}")
        for name in ("learning_rate", "sft_learning_rate", "max_grad_norm"):
            need(getattr(self, name) > 0, f"{name} must be > 0, got {getattr(self, name)}")
        self.template_variables()  # checks chat_template_kwargs and enable_thinking
        extra = self.extra_env_kwargs()
        dataset = self.dataset if self.dataset is not None else extra.get("dataset")
        source = self.source if self.source is not None else extra.get("source")
        if self.dataset is not None and "dataset" in extra:
            raise ConfigError("the dataset is given twice: as dataset and in env_kwargs; give it once")
        if dataset is not None and source is None:
            raise ConfigError(f"dataset {dataset!r} needs source=, one of {SOURCES}")
        # Generated episodes: the training seed range must stay clear of the held-out and SFT ranges.
        first, count = self.seed * SEED_STRIDE, self.total_steps * self.episodes_per_step
        if count > SEED_STRIDE or first + count > EVAL_SEED_OFFSET:
            raise ConfigError(
                f"training seeds {first}..{first + count - 1} (seed={self.seed}, total_steps x episodes_per_step="
                f"{count}) would reach the held-out seeds from {EVAL_SEED_OFFSET}; use seed <= "
                f"{(EVAL_SEED_OFFSET - count) // SEED_STRIDE} and at most {SEED_STRIDE} training episodes"
            )
        if self.eval_episodes > SFT_SEED_OFFSET - EVAL_SEED_OFFSET:
            raise ConfigError(f"eval_episodes must be <= {SFT_SEED_OFFSET - EVAL_SEED_OFFSET}")

    @property
    def scale(self) -> bool:
        if self.scale_rewards == "auto":
            return self.loss_aggregation != "dr_grpo"
        return self.scale_rewards == "true"

    def extra_env_kwargs(self) -> dict[str, Any]:
        """``env_kwargs`` parsed (a JSON object; ``{}`` when empty)."""
        return _json_object("env_kwargs", self.env_kwargs)

    def template_variables(self) -> dict[str, Any]:
        """The chat-template variables of the policy's prompts (``chat_template_kwargs`` + ``enable_thinking``)."""
        variables = _json_object("chat_template_kwargs", self.chat_template_kwargs)
        try:
            return template_variables(variables, self.enable_thinking)
        except ValueError as exc:
            raise ConfigError(str(exc)) from None


def _json_object(name: str, text: str | None) -> dict[str, Any]:
    """The JSON object in the config field ``name`` (``{}`` when empty); :class:`ConfigError` otherwise."""
    if not text:
        return {}
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{name} is not JSON ({exc.msg} at column {exc.colno}): {text!r}") from None
    if not isinstance(value, dict):
        raise ConfigError(f"{name} must be a JSON object, got {text!r}")
    return value


# ---------------------------------------------------------------------------------------------------
# Setup


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def rng_state() -> dict[str, Any]:
    """The RNG states as plain data and tensors (what ``torch.load(weights_only=True)`` reads back)."""
    name, keys, position, has_gauss, cached = np.random.get_state()
    numpy_state = (name, [int(k) for k in keys], int(position), int(has_gauss), float(cached))
    state = {"python": random.getstate(), "numpy": numpy_state, "torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    random.setstate(state["python"])
    name, keys, position, has_gauss, cached = state["numpy"]
    np.random.set_state((name, np.array(keys, dtype=np.uint32), position, has_gauss, cached))
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def load_policy(config: GRPOConfig) -> Any:
    """The :class:`memenv.llm.HFChatModel` named by ``config.model``, LoRA-wrapped if ``lora_r > 0``."""
    from memenv.llm import HFChatModel, build_tiny_model, default_model_path

    if config.model == "default":
        path = default_model_path()
    elif config.model == "tiny":
        path = build_tiny_model(Path(config.output_dir) / "tiny_model", seed=config.seed)
    else:
        path = Path(config.model)
    chat = HFChatModel(
        path,
        device=config.device or None,
        dtype=config.dtype or None,
        chat_template_kwargs=config.template_variables(),
    )
    if config.lora_r > 0:
        from peft import LoraConfig, get_peft_model

        targets: str | list[str] = config.lora_targets
        if targets != "all-linear":
            targets = [t.strip() for t in config.lora_targets.split(",") if t.strip()]
        layers = None
        if config.lora_layers > 0:
            total = chat.model.config.num_hidden_layers
            layers = list(range(max(total - config.lora_layers, 0), total))
            if targets == "all-linear":  # peft needs module names to pick layers
                targets = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
        lora = LoraConfig(
            r=config.lora_r,
            lora_alpha=config.lora_alpha,
            lora_dropout=0.0,
            target_modules=targets,
            layers_to_transform=layers,
        )
        chat.model = get_peft_model(chat.model, lora)
    # Eval mode for the whole run: no dropout, so the sampling policy and the trained one are the same
    # function (gradients still flow).
    chat.model.eval()
    return chat


DATASET_KEYS = ("dataset", "source", "dataset_split")


def _env_kwargs(config: GRPOConfig) -> dict[str, Any]:
    kwargs: dict[str, Any] = {
        "task": config.task,
        "context_tokens": config.context_tokens,
        "chunk_tokens": config.chunk_tokens,
        "num_questions": config.num_questions,
    }
    kwargs.update(config.extra_env_kwargs())
    # --dataset/--source/--split are the same as env_kwargs' dataset/source/dataset_split.
    for key, value in (("dataset", config.dataset), ("source", config.source), ("dataset_split", config.split)):
        if value is not None:
            kwargs[key] = value
    return kwargs


def env_factory(config: GRPOConfig) -> Callable[[], gym.Env]:
    """Builds the run's env. A ``dataset`` in ``env_kwargs`` is left out: :class:`EpisodePlan` loads it once
    and every reset names its episode (``options={"episode": ...}``)."""
    kwargs = {k: v for k, v in _env_kwargs(config).items() if k not in DATASET_KEYS}
    return lambda: gym.make(config.env_id, **kwargs)


def check_environment(config: GRPOConfig) -> tuple[EpisodePlan, float, float]:
    """Build the run's env once and its :class:`EpisodePlan` (which loads a dataset): what ``env_id``,
    the env options and the dataset say, checked before any model loads. Returns the plan and the env's
    reward weights ``beta``, ``gamma``.

    Raises:
        ConfigError: an unknown env id, an env option the env refuses, or a dataset that cannot be
            loaded (the message names which).
    """
    module, _, name = config.env_id.rpartition(":")  # gym.make's "module:EnvId" imports the module first
    try:
        if module:
            importlib.import_module(module)
        gym.spec(name)
    except (gym.error.Error, ImportError) as exc:
        known = ", ".join(env_id for env_id, _ in memenv.ENVIRONMENTS)
        raise ConfigError(f"env_id {config.env_id!r}: {exc} (memenv's envs: {known})") from None
    try:
        probe = env_factory(config)()
    except (TypeError, ValueError, gym.error.Error) as exc:
        kwargs = {k: v for k, v in _env_kwargs(config).items() if k not in DATASET_KEYS}
        raise ConfigError(f"gym.make({config.env_id!r}, **{kwargs}) failed: {exc}") from None
    beta, gamma = probe.unwrapped.beta, probe.unwrapped.gamma
    probe.close()
    try:
        plan = EpisodePlan(config)
    except MemEnvError:
        raise
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    return plan, beta, gamma


class EpisodePlan:
    """Which episodes a run trains on, evaluates on and clones (SFT): three disjoint sets.

    Generated episodes (the default): training seeds ``seed * 100_000 + 0, 1, ...``, held-out seeds
    ``EVAL_SEED_OFFSET + 0 .. eval_episodes - 1``, SFT seeds ``SFT_SEED_OFFSET + seed * 100_000 + ...``
    (:class:`GRPOConfig` checks that the ranges never meet).

    A dataset (``dataset=PATH, source="memalpha"``, or the same in ``env_kwargs``) is loaded once, here, and its
    rows are split: the last ``eval_episodes`` rows are held out; training walks the other rows in a
    seeded random order, every row once per epoch (a new order each epoch); SFT demonstrations come
    from the first training rows of epoch 0's order. "Seeds" are then row indices, passed to
    :func:`~memenv.train.rollout.play` with ``episodes=``.
    """

    def __init__(self, config: GRPOConfig) -> None:
        self.config = config
        self.episodes: list[Episode] | None = None
        kwargs = _env_kwargs(config)
        if kwargs.get("dataset") is not None:
            if kwargs.get("source") is None:
                raise ConfigError(f"dataset {kwargs['dataset']!r} needs source=, one of {SOURCES}")
            self.episodes = load(kwargs["source"], kwargs["dataset"], split=kwargs.get("dataset_split"))
            held_out = config.eval_episodes
            if held_out >= len(self.episodes):
                raise ConfigError(
                    f"eval_episodes={held_out} leaves no training row: the dataset has {len(self.episodes)} episodes"
                )
            self.train_rows = list(range(len(self.episodes) - held_out))
            if config.sft_episodes > len(self.train_rows):
                raise ConfigError(f"sft_episodes={config.sft_episodes} > the {len(self.train_rows)} training rows")

    def _epoch_order(self, epoch: int) -> list[int]:
        order = list(self.train_rows)
        random.Random(f"{self.config.seed}:{epoch}").shuffle(order)
        return order

    def train_seeds(self, cursor: int, count: int) -> list[int]:
        """The ``count`` training episodes after the first ``cursor`` ones."""
        if self.episodes is None:
            return [self.config.seed * SEED_STRIDE + cursor + i for i in range(count)]
        n = len(self.train_rows)
        return [self._epoch_order((cursor + i) // n)[(cursor + i) % n] for i in range(count)]

    def eval_seeds(self) -> list[int]:
        if self.episodes is None:
            return [EVAL_SEED_OFFSET + i for i in range(self.config.eval_episodes)]
        return list(range(len(self.episodes) - self.config.eval_episodes, len(self.episodes)))

    def sft_seeds(self) -> list[int]:
        if self.episodes is None:
            return [SFT_SEED_OFFSET + self.config.seed * SEED_STRIDE + i for i in range(self.config.sft_episodes)]
        return self._epoch_order(0)[: self.config.sft_episodes]


def trainable_state(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {name: p.detach().cpu().clone() for name, p in model.named_parameters() if p.requires_grad}


def load_trainable_state(model: torch.nn.Module, state: dict[str, torch.Tensor], source: Path | str = "") -> None:
    """Copy ``state`` into the model's trainable parameters; checks names and shapes before changing any."""
    where = f"{source}: " if source else ""
    params = dict(model.named_parameters())
    missing = [name for name, p in params.items() if p.requires_grad and name not in state]
    if missing:
        raise RunError(f"{where}lacks trainable parameters {missing[:3]}... (was it made with another config?)")
    unknown = [name for name in state if name not in params]
    if unknown:
        raise RunError(f"{where}holds parameters the model does not have: {unknown[:3]}...")
    for name, value in state.items():
        if not isinstance(value, torch.Tensor) or value.shape != params[name].shape:
            got = tuple(value.shape) if isinstance(value, torch.Tensor) else type(value).__name__
            raise RunError(f"{where}parameter {name} is {got}, the model's is {tuple(params[name].shape)}")
    with torch.no_grad():
        for name, value in state.items():
            params[name].copy_(value.to(params[name].device))


# ---------------------------------------------------------------------------------------------------
# Logs


class RunLog:
    """Appends one JSON record per event to ``log.jsonl`` and keeps ``log.csv`` (all columns) in step; with
    ``reporters`` (:mod:`memenv.train.report`), sends each new record to the run's trackers too."""

    def __init__(
        self, output_dir: Path, records: list[dict[str, Any]] | None = None, reporters: Reporters | None = None
    ) -> None:
        self.reporters = reporters
        self.jsonl = output_dir / "log.jsonl"
        self.csv = output_dir / "log.csv"
        self.records: list[dict[str, Any]] = list(records or [])
        tmp = self.jsonl.with_suffix(".jsonl.tmp")
        tmp.write_text("".join(json.dumps(r) + "\n" for r in self.records))
        tmp.replace(self.jsonl)  # the old log stays whole until the new one is complete
        self._write_csv()

    @staticmethod
    def read(path: Path, until_step: int) -> list[dict[str, Any]]:
        """The records of ``path`` up to ``until_step`` (a resume drops what came after its checkpoint).

        A last line that does not parse is a write cut off by a kill, and is dropped; any other line that
        does not parse raises :class:`RunError` naming the file and line.
        """
        if not path.exists():
            return []
        try:
            lines = path.read_text(encoding="utf-8").split("\n")
        except (OSError, UnicodeDecodeError) as exc:
            raise RunError(f"{path}: cannot read the run log ({exc})") from None
        records = []
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
                if not isinstance(record, dict):
                    raise ValueError("not a JSON object")
            except (ValueError, RecursionError) as exc:
                if all(not rest.strip() for rest in lines[number:]):
                    break  # a torn last line
                raise RunError(f"{path}, line {number}: not a log record ({exc})") from None
            step = record.get("step", 0)
            if isinstance(step, int) and step <= until_step:
                records.append(record)
        return records

    def write(self, record: dict[str, Any]) -> None:
        self.records.append(record)
        with self.jsonl.open("a") as handle:
            handle.write(json.dumps(record) + "\n")
        self._write_csv()
        if self.reporters is not None:
            self.reporters.log(record)

    def _write_csv(self) -> None:
        columns: list[str] = []
        for record in self.records:
            columns.extend(k for k in record if k not in columns)
        with self.csv.open("w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=columns)
            writer.writeheader()
            writer.writerows(self.records)


# ---------------------------------------------------------------------------------------------------
# Evaluation


def evaluate(
    chat: Any,
    encode: PromptEncoder,
    make_env: Callable[[], gym.Env],
    config: GRPOConfig,
    plan: EpisodePlan | None = None,
) -> dict[str, float]:
    """Greedy rollouts on the held-out episodes (:meth:`EpisodePlan.eval_seeds`)."""
    plan = plan or EpisodePlan(config)
    seeds = plan.eval_seeds()
    with torch.random.fork_rng(devices=[]):  # evaluation must not move the training RNG
        rollouts = play(
            chat.model,
            chat.tokenizer,
            encode,
            make_env,
            seeds,
            group_size=1,
            max_new_tokens=config.max_new_tokens,
            temperature=0.0,
            batch_size=config.generation_batch_size,
            episodes=plan.episodes,
        )
    calls = sum(r.calls for r in rollouts)
    return {
        "eval_accuracy": float(np.mean([r.accuracy for r in rollouts])),
        "eval_valid_call_rate": sum(r.calls_ok for r in rollouts) / calls if calls else 0.0,
        "eval_calls_per_step": calls / sum(len(r.rows) for r in rollouts),
        "eval_memory_tokens": float(np.mean([r.memory_tokens for r in rollouts])),
    }


# ---------------------------------------------------------------------------------------------------
# The update


def _pad(rows: list[list[float]], width: int) -> torch.Tensor:
    out = torch.zeros((len(rows), width))
    for i, values in enumerate(rows):
        out[i, : len(values)] = torch.tensor(values[:width])
    return out


def policy_update(
    model: Any,
    reference: Any,
    optimizer: torch.optim.Optimizer,
    rows: list[Row],
    config: GRPOConfig,
    pad_id: int,
) -> dict[str, float]:
    """Clipped-ratio GRPO update on ``rows`` (advantages already set); returns the diagnostics."""
    params = [p for p in model.parameters() if p.requires_grad]
    device = next(model.parameters()).device
    n = len(rows)
    # Rows whose advantage is 0 contribute nothing to the clipped loss; without a KL term they are
    # skipped (still counted in the loss normalisers, so the numbers are those of the full batch).
    needed = [i for i in range(n) if rows[i].advantage != 0.0 or config.kl_coef > 0]
    needed_set = set(needed)
    on_policy = config.update_epochs == 1 and config.num_minibatches == 1

    def forward(indices: list[int]) -> tuple[torch.Tensor, torch.Tensor]:
        return completion_log_probs(
            model,
            [rows[i].prompt_ids for i in indices],
            [rows[i].completion_ids for i in indices],
            pad_id=pad_id,
            temperature=config.temperature,
        )

    old: dict[int, list[float]] = {}
    ref: dict[int, list[float]] = {}
    with torch.no_grad():
        for start in range(0, len(needed), config.micro_batch_size):
            micro = needed[start : start + config.micro_batch_size]
            if not on_policy:  # several optimiser steps per batch: freeze the behaviour log-probs first
                logp, _ = forward(micro)
                for j, i in enumerate(micro):
                    old[i] = logp[j, : len(rows[i].completion_ids)].tolist()
            if reference is not None:
                logp, _ = completion_log_probs(
                    reference,
                    [rows[i].prompt_ids for i in micro],
                    [rows[i].completion_ids for i in micro],
                    pad_id=pad_id,
                    temperature=config.temperature,
                )
                for j, i in enumerate(micro):
                    ref[i] = logp[j, : len(rows[i].completion_ids)].tolist()

    def loss_mask(i: int) -> float:
        return 0.0 if config.mask_truncated and rows[i].truncated else 1.0

    totals = {"loss": 0.0, "clipped": 0.0, "tokens": 0.0, "kl": 0.0, "ratio": 0.0, "grad_norm": 0.0}
    optimizer_steps = 0
    trained_tokens = 0
    for _ in range(config.update_epochs):
        order = torch.randperm(n).tolist()
        for minibatch in np.array_split(np.array(order, dtype=np.int64), config.num_minibatches):
            minibatch = minibatch.tolist()
            if not minibatch:
                continue
            num_tokens = sum(len(rows[i].completion_ids) * loss_mask(i) for i in minibatch)
            work = [i for i in minibatch if i in needed_set]
            optimizer.zero_grad(set_to_none=True)
            for start in range(0, len(work), config.micro_batch_size):
                micro = work[start : start + config.micro_batch_size]
                logp, mask = forward(micro)
                mask = mask * torch.tensor([loss_mask(i) for i in micro], device=device).unsqueeze(-1)
                width = logp.shape[1]
                advantages = torch.tensor([rows[i].advantage for i in micro], device=device)
                old_logp = logp.detach() if on_policy else _pad([old[i] for i in micro], width).to(device)
                per_token, clipped = clipped_objective(logp, old_logp, advantages, config.clip_low, config.clip_high)
                if reference is not None:
                    kl = k3_kl(logp, _pad([ref[i] for i in micro], width).to(device))
                    per_token = per_token + config.kl_coef * kl
                    totals["kl"] += float((kl.detach() * mask).sum())
                loss = aggregate_loss(
                    per_token,
                    mask,
                    config.loss_aggregation,
                    max_completion_length=config.max_new_tokens,
                    num_sequences=len(minibatch),
                    num_tokens=num_tokens,
                )
                loss.backward()
                totals["loss"] += float(loss.detach())
                totals["clipped"] += float((clipped.float() * mask).sum())
                totals["ratio"] += float((torch.exp(logp.detach() - old_logp) * mask).sum())
                totals["tokens"] += float(mask.sum())
                trained_tokens += sum(len(rows[i].prompt_ids) + len(rows[i].completion_ids) for i in micro)
            if work:
                totals["grad_norm"] += float(torch.nn.utils.clip_grad_norm_(params, config.max_grad_norm))
                optimizer.step()
                optimizer_steps += 1
    tokens = max(totals["tokens"], 1.0)
    passes = config.update_epochs * config.num_minibatches
    return {
        "loss": totals["loss"] / passes,
        "clip_fraction": totals["clipped"] / tokens,
        "ratio_mean": totals["ratio"] / tokens if totals["tokens"] else 1.0,
        "kl": totals["kl"] / tokens,
        "grad_norm": totals["grad_norm"] / max(optimizer_steps, 1),
        "optimizer_steps": optimizer_steps,
        "trained_rows": len(needed),
        "trained_tokens": trained_tokens,
    }


# ---------------------------------------------------------------------------------------------------
# Checkpoints


def checkpoint_dir(output_dir: Path, step: int) -> Path:
    return output_dir / "checkpoints" / f"step_{step:06d}"


def save_checkpoint(
    path: Path, model: Any, optimizer: torch.optim.Optimizer, step: int, cursor: int, config: GRPOConfig
) -> None:
    path.mkdir(parents=True, exist_ok=True)
    state = {
        "model": trainable_state(model),
        "optimizer": optimizer.state_dict(),
        "rng": rng_state(),
        "step": step,
        "cursor": cursor,
        "config": asdict(config),
    }
    torch.save(state, path / "state.pt.tmp")
    (path / "state.pt.tmp").replace(path / "state.pt")  # a half-written checkpoint is never "latest"


def find_checkpoint(output_dir: Path, resume: str) -> Path:
    if resume != "latest":
        path = Path(resume)
        if not (path / "state.pt").is_file():
            raise RunError(
                f"{path / 'state.pt'}: no such checkpoint file (resume= takes 'latest' or a checkpoint folder)"
            )
        return path
    found = sorted((output_dir / "checkpoints").glob("step_*/state.pt"))
    if not found:
        raise RunError(f"{output_dir / 'checkpoints'}: resume='latest' but this folder holds no checkpoint")
    return found[-1].parent


def load_tensors(file: Path) -> Any:
    """``torch.load(file, weights_only=True)``: tensors and plain data only, never code; errors name the file."""
    try:
        return torch.load(file, weights_only=True, map_location="cpu")
    except FileNotFoundError:
        raise RunError(f"{file}: no such file") from None
    except Exception as exc:  # torch raises UnpicklingError, EOFError, RuntimeError, ... for a bad file
        raise RunError(f"{file}: not a readable checkpoint ({type(exc).__name__}: {str(exc)[:300]})") from None


def load_checkpoint(path: Path) -> dict[str, Any]:
    """The state saved by :func:`save_checkpoint` in folder ``path``, checked part by part."""
    file = path / "state.pt"
    state = load_tensors(file)
    if not isinstance(state, dict):
        raise RunError(f"{file}: not a memenv checkpoint (holds {type(state).__name__}, expected a dict)")
    parts = {"model": dict, "optimizer": dict, "rng": dict, "step": int, "cursor": int, "config": dict}
    for key, kind in parts.items():
        if not isinstance(state.get(key), kind) or isinstance(state.get(key), bool):
            found = "nothing" if key not in state else type(state[key]).__name__
            raise RunError(f"{file}: field {key!r} should be a {kind.__name__}, found {found}")
    if state["step"] < 0 or state["cursor"] < 0:
        raise RunError(f"{file}: step and cursor must be >= 0, found {state['step']}, {state['cursor']}")
    if not {"python", "numpy", "torch"} <= set(state["rng"]):
        raise RunError(f"{file}: field 'rng' lacks the python, numpy or torch state")
    return state


def check_resumable(saved: dict[str, Any], config: GRPOConfig, file: Path) -> None:
    """Refuse to continue a run made with other settings (all but :data:`RESUME_MAY_CHANGE` must match)."""
    current = asdict(config)
    # A field added to GRPOConfig after the checkpoint was written counts as its default in that run.
    defaults = asdict(GRPOConfig(output_dir=config.output_dir))
    saved = {**{k: v for k, v in defaults.items() if k not in saved}, **saved}
    differ = sorted(
        k for k in set(current) | set(saved) if k not in RESUME_MAY_CHANGE and saved.get(k) != current.get(k)
    )
    if differ:
        changes = ", ".join(f"{k}: {saved.get(k)!r} -> {current.get(k)!r}" for k in differ)
        raise RunError(
            f"{file}: this checkpoint belongs to a run with other settings ({changes}); resume with the run's "
            f"settings (see its config.json), or start a new run in another output_dir"
        )


def check_fresh_output_dir(output_dir: Path, overwrite: bool) -> list[Path]:
    """The files of an earlier run in ``output_dir``; refuses a fresh run over them unless ``overwrite``."""
    found = [output_dir / name for name in RUN_FILES if (output_dir / name).exists()]
    if found and not overwrite:
        names = ", ".join(p.name for p in found)
        raise RunError(
            f"{output_dir}: already holds a run ({names}); pass resume='latest' to continue it, overwrite=True to "
            "replace it, or another output_dir"
        )
    return found


# ---------------------------------------------------------------------------------------------------
# The run

RewardFn = Callable[[Rollout], list[float]]


def train(config: GRPOConfig, reward_fn: RewardFn | None = None) -> list[dict[str, Any]]:
    """Run GRPO as configured; returns every log record (also in ``output_dir/log.jsonl``).

    ``reward_fn`` (Python API only) replaces the per-row rewards: it gets each :class:`Rollout` and
    returns one reward per row (e.g. to add a format bonus); by default
    :func:`~memenv.train.losses.step_rewards` with the env's beta and gamma.
    """
    output_dir = Path(config.output_dir)
    # -- check everything before any file of the run changes, and before any model loads --
    trackers = check_report_to(config.report_to)
    if config.model not in ("default", "tiny") and not Path(config.model).is_dir():
        raise ConfigError(f"model {config.model!r}: no such folder (expected 'default', 'tiny' or a model folder)")
    plan, beta, gamma = check_environment(config)
    sft_writer = None
    if config.sft_episodes > 0 and not config.resume:
        try:
            sft_writer = heuristic_policy(config.env_id, config.sft_policy or None)
        except ValueError as exc:
            raise ConfigError(f"sft_policy: {exc}") from None
    resume_from: Path | None = None
    state: dict[str, Any] | None = None
    kept_records: list[dict[str, Any]] = []
    reference_state: dict[str, torch.Tensor] | None = None
    stale: list[Path] = []
    if config.resume:
        resume_from = find_checkpoint(output_dir, config.resume)
        state = load_checkpoint(resume_from)
        check_resumable(state["config"], config, resume_from / "state.pt")
        if state["step"] > config.total_steps:
            raise RunError(
                f"{resume_from / 'state.pt'}: the checkpoint is at step {state['step']}, past total_steps="
                f"{config.total_steps}; raise total_steps to train on"
            )
        kept_records = RunLog.read(output_dir / "log.jsonl", until_step=state["step"])
        if config.kl_coef > 0:
            reference_state = load_tensors(output_dir / "reference.pt")
            if not isinstance(reference_state, dict):
                raise RunError(f"{output_dir / 'reference.pt'}: expected a dict of tensors")
    else:
        stale = check_fresh_output_dir(output_dir, config.overwrite)
    output_dir.mkdir(parents=True, exist_ok=True)
    seed_everything(config.seed)
    if config.threads > 0:
        torch.set_num_threads(config.threads)

    chat = load_policy(config)
    model, tokenizer = chat.model, chat.tokenizer
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    encode = PromptEncoder(tokenizer, chat.render_prompt, config.include_tools)
    make_env = env_factory(config)

    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=config.learning_rate, weight_decay=config.weight_decay)
    if state is not None and resume_from is not None:
        load_trainable_state(model, state["model"], resume_from / "state.pt")
        try:
            optimizer.load_state_dict(state["optimizer"])
        except (ValueError, KeyError, TypeError, RuntimeError) as exc:
            raise RunError(f"{resume_from / 'state.pt'}: the optimiser state does not fit this model ({exc})") from None

    # -- from here on the run's files change --
    for path in stale:  # overwrite=True: the earlier run's files go, so nothing of it can be resumed later
        shutil.rmtree(path) if path.is_dir() else path.unlink()
    (output_dir / "config.json").write_text(json.dumps(asdict(config), indent=2) + "\n")
    reporters = Reporters(trackers, output_dir, asdict(config), resume_step=None if state is None else state["step"])
    log = RunLog(output_dir, kept_records, reporters)
    try:
        # -- SFT warm start and the "before RL" evaluation (done once; a resumed run has them in its log) --
        if state is None:
            if sft_writer is not None:
                if config.eval_episodes > 0:
                    log.write({"step": 0, "phase": "eval_base", **evaluate(chat, encode, make_env, config, plan)})
                demos = collect_demonstrations(make_env, sft_writer, plan.sft_seeds(), episodes=plan.episodes)
                train_sft(
                    model,
                    tokenizer,
                    encode,
                    demos,
                    epochs=config.sft_epochs,
                    learning_rate=config.sft_learning_rate,
                    batch_size=config.sft_batch_size,
                    micro_batch_size=config.micro_batch_size,
                    max_completion_tokens=max(config.max_new_tokens, 8),
                    seed=config.seed,
                    log=lambda record: log.write({"step": 0, **record}),
                )
            if config.kl_coef > 0:
                torch.save(trainable_state(model), output_dir / "reference.pt")
            if config.eval_episodes > 0:
                log.write({"step": 0, "phase": "eval", **evaluate(chat, encode, make_env, config, plan)})

        reference = None
        if config.kl_coef > 0:
            reference = copy.deepcopy(model)
            if reference_state is None:
                reference_state = load_tensors(output_dir / "reference.pt")
            load_trainable_state(reference, reference_state, output_dir / "reference.pt")
            for p in reference.parameters():
                p.requires_grad_(False)

        step, cursor = 0, 0
        if state is not None:
            set_rng_state(state["rng"])
            step, cursor = state["step"], state["cursor"]

        progress = None
        if config.progress:
            from tqdm.auto import tqdm

            progress = tqdm(total=config.total_steps, initial=step, desc="grpo", unit="step")
        while step < config.total_steps:
            step += 1
            began = time.perf_counter()
            # -- 1. rollouts: G per episode, same seed --
            seeds = plan.train_seeds(cursor, config.episodes_per_step)
            cursor += config.episodes_per_step
            rollouts = play(
                model,
                tokenizer,
                encode,
                make_env,
                seeds,
                group_size=config.group_size,
                max_new_tokens=config.max_new_tokens,
                temperature=config.temperature,
                batch_size=config.generation_batch_size,
                episodes=plan.episodes,
            )
            rollout_seconds = time.perf_counter() - began

            # -- 2. rewards per row, 3. advantages per group --
            rows: list[Row] = []
            for rollout in rollouts:
                rewards = (
                    reward_fn(rollout)
                    if reward_fn
                    else step_rewards(rollout.components, beta, gamma, config.reward_mode)
                )
                for row, reward in zip(rollout.rows, rewards, strict=True):
                    row.reward = float(reward)
                rows.extend(rollout.rows)
            advantages, equal = group_advantages(
                torch.tensor([r.reward for r in rows]), torch.tensor([r.group for r in rows]), scale=config.scale
            )
            for row, advantage in zip(rows, advantages.tolist(), strict=True):
                row.advantage = advantage

            # -- 4. update --
            update_began = time.perf_counter()
            stats = policy_update(model, reference, optimizer, rows, config, pad_id)
            update_seconds = time.perf_counter() - update_began
            seconds = time.perf_counter() - began

            # -- 5. log --
            generated = sum(len(r.completion_ids) for r in rows)
            group_equal = [bool(equal[[r.group == g for r in rows]].all()) for g in range(len(seeds))]
            calls = sum(r.calls for r in rollouts)
            record: dict[str, Any] = {
                "step": step,
                "phase": "train",
                "episodes_seen": cursor,
                "reward": float(np.mean([r.reward for r in rows])),
                "reward_std": float(np.std([r.reward for r in rows])),
                "r1_qa": float(np.mean([r.rows[-1].components["r1_qa"] for r in rollouts])),
                "r2_tool_call": float(np.mean([r.components["r2_tool_call"] for r in rows])),
                "r3_compression": float(np.mean([r.rows[-1].components["r3_compression"] for r in rollouts])),
                "r4_content": float(np.mean([r.components["r4_content"] for r in rows])),
                "accuracy": float(np.mean([r.accuracy for r in rollouts])),
                "valid_call_rate": sum(r.calls_ok for r in rollouts) / calls if calls else 0.0,
                "calls_per_step": calls / len(rows),
                "memory_tokens": float(np.mean([r.memory_tokens for r in rollouts])),
                "equal_group_share": float(np.mean(group_equal)),
                "advantage_abs": float(advantages.abs().mean()),
                "completion_tokens": generated / len(rows),
                "truncated_share": float(np.mean([r.truncated for r in rows])),
                **stats,
                "rollout_seconds": rollout_seconds,
                "update_seconds": update_seconds,
                "generate_tokens_per_s": generated / rollout_seconds,
                "train_tokens_per_s": stats["trained_tokens"] / update_seconds if update_seconds > 0 else 0.0,
                "tokens_per_s": sum(len(r.prompt_ids) + len(r.completion_ids) for r in rows) / seconds,
                "sample": rollouts[0].texts[0][:200],
            }
            log.write(record)
            if config.checkpoint_every and step % config.checkpoint_every == 0:
                save_checkpoint(checkpoint_dir(output_dir, step), model, optimizer, step, cursor, config)
            last = step == config.total_steps
            if config.eval_episodes > 0 and ((config.eval_every and step % config.eval_every == 0) or last):
                log.write({"step": step, "phase": "eval", **evaluate(chat, encode, make_env, config, plan)})
            if progress is not None:
                progress.update(1)
                progress.set_postfix(reward=f"{record['reward']:.3f}", acc=f"{record['accuracy']:.2f}")
        if progress is not None:
            progress.close()
        if config.save_model:
            final = output_dir / "final"
            if final.exists():
                shutil.rmtree(final)
            model.save_pretrained(final)
            tokenizer.save_pretrained(final)
        return log.records
    finally:
        reporters.close()
