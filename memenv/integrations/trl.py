"""Train memenv writers with TRL's ``GRPOTrainer``: a ``rollout_func`` that plays memenv episodes.

TRL's GRPO is single-turn: one dataset prompt, ``num_generations`` completions, one reward each, and
advantages normalised over each run of ``num_generations`` consecutive rows. A memenv episode is
multi-step — one completion per chunk — so the adapter maps it onto that shape the way Mem-α trains:

- A dataset row names an *episode* (``{"prompt": [{"role": "user", "content": "memenv seed=17"}]}``,
  built by :func:`episode_dataset`); TRL repeats it ``num_generations`` times.
- :class:`MemenvRollout` (the ``rollout_func``) plays ``rollouts_per_episode`` = G rollouts of that
  episode with the trainer's model and returns **one TRL row per chunk step**: the step's prompt ids
  (the env's ``info["messages"]`` through the chat template) and the exact completion ids sampled. So
  set ``num_generations = G × (chunks per episode)``: TRL's group is then every row of the G rollouts of
  one episode — Mem-α's group normalisation — and TRL's loss (``loss_type``, ``epsilon``,
  ``epsilon_high``, ``beta``, ...) applies unchanged.
- Each row's reward (the extra field ``memenv_reward``, read back by :func:`memenv_reward`) is
  Mem-α's per-step reward ``r1 + r2_t + beta * r3 + gamma * r4_t`` with the terminal r1, r3
  broadcast to every step (or one trajectory reward; see :func:`memenv.train.losses.step_rewards`).
- If an episode has fewer chunks than planned, the spare rows are padding: one pad token, masked out
  of the loss (``env_mask`` 0) and with reward ``None``, which TRL leaves out of the group mean and
  std and gives advantage 0.

Generation: with ``use_vllm=True`` the adapter asks TRL's vLLM backend (``trainer.vllm_generation``);
otherwise it samples with the trainer's own model (unwrapped for generation) at the trainer's
temperature with top-k/top-p off. Prompts go through the chat template with the trainer's
``chat_template_kwargs`` (e.g. ``{"enable_thinking": False}`` for Qwen3). Each process plays the
groups in its own prompt slice, so a process's slice must hold whole groups (TRL's default sampler
gives that when ``per_device_train_batch_size × steps_per_generation`` is a multiple of
``num_generations``).

Several processes (``accelerate launch``): vLLM server mode gathers the prompts of every rank in each
``generate`` call, and a ZeRO-3 forward gathers parameters, so all ranks must make the same number
of calls with the same number of prompts. The adapter therefore plays every rollout for exactly
``chunks_per_episode`` steps (``lockstep=True``, the default): a rollout whose episode has ended
keeps its seat with a one-token filler prompt whose completion is dropped, so episodes with
different chunk counts cost a little filler generation and never desynchronise the ranks.

Real data: ``env_kwargs={"dataset": path, "source": "memalpha", ...}`` loads the episodes once, at
construction, and a dataset row ``memenv seed=N`` then names *row* N (build the TRL dataset with
:meth:`MemenvRollout.episode_dataset`, one row per episode; TRL's sampler walks the rows without
replacement each epoch). ``chunks_per_episode`` defaults to the longest episode's chunk count.

Example (see ``examples/trl_grpo.py``)::

    rollout = MemenvRollout("memenv/MemAlpha-v0", {"task": "accurate_retrieval", "context_tokens": 512,
                                            "chunk_tokens": 128}, rollouts_per_episode=2)
    args = GRPOConfig(num_generations=rollout.num_generations(), ...)
    trainer = GRPOTrainer(model, reward_funcs=memenv_reward, args=args,
                          train_dataset=episode_dataset(64), rollout_func=rollout)
    trainer.train()
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import gymnasium as gym

import memenv  # noqa: F401  (registers the environments)
from memenv.reward import COMPONENTS, TERMINAL_COMPONENTS
from memenv.tasks import Episode, load
from memenv.train.losses import step_rewards
from memenv.train.rollout import PromptEncoder, play, sample, stop_token_ids

PROMPT_TEMPLATE = "memenv seed={seed}"
_SEED = re.compile(r"memenv seed=(-?\d+)")


def episode_dataset(num_episodes: int, seed_offset: int = 0) -> Any:
    """A ``datasets.Dataset`` of ``num_episodes`` episode prompts, seeds ``seed_offset + 0, 1, ...``."""
    from datasets import Dataset

    prompts = [[{"role": "user", "content": PROMPT_TEMPLATE.format(seed=seed_offset + i)}] for i in range(num_episodes)]
    return Dataset.from_dict({"prompt": prompts})


def episode_seed(prompt: Any) -> int:
    """The seed named by a dataset prompt (conversational or plain text)."""
    text = prompt[-1]["content"] if isinstance(prompt, list) else str(prompt)
    found = _SEED.search(text if isinstance(text, str) else str(text))
    if found is None:
        raise ValueError(f"prompt {text!r} names no episode; build the dataset with episode_dataset()")
    return int(found.group(1))


def memenv_reward(completions: list[Any], memenv_reward: list[float | None], **kwargs: Any) -> list[float | None]:
    """The reward function to pass to ``GRPOTrainer``: the per-row rewards the rollout computed.

    Also logs the mean of each Mem-α reward part (``memenv/r1_qa`` ...) and the QA accuracy through
    TRL's ``log_metric``.
    """
    log_metric: Callable[[str, float], None] | None = kwargs.get("log_metric")
    if log_metric is not None:
        for name in (*COMPONENTS, "accuracy"):
            values = [v for v in kwargs.get(f"memenv_{name}", []) if v is not None]
            if values:
                log_metric(f"memenv/{name}", sum(values) / len(values))
    return list(memenv_reward)


class MemenvRollout:
    """A TRL ``rollout_func`` that plays memenv episodes; see the module docstring for the mapping.

    Args:
        env_id: a registered memenv env (``MemAlpha-v0``, ``MEM1-v0``, ``MemoryR1-v0``).
        env_kwargs: ``gym.make`` keyword arguments. With ``dataset`` (+ ``source``, optionally
            ``dataset_split``) the episodes are loaded here, once, and dataset rows name row indices.
        rollouts_per_episode: G, the rollouts played per episode.
        chunks_per_episode: rows planned per rollout (and, with ``lockstep``, steps played); ``None``
            = the longest loaded episode's chunk count, or for generated episodes the chunk count of
            the episode with seed 0 (synthetic episodes of one size all have the same count).
        reward_mode: ``"step"`` (Mem-α) or ``"trajectory"``.
        include_tools: put ``info["tools"]`` schemas into the prompt.
        generation_batch_size: prompts per ``generate`` call (HF backend and vLLM alike).
        lockstep: play exactly ``chunks_per_episode`` steps with one prompt per rollout each (filler
            prompts for finished rollouts), so every rank makes identical generate calls. Needed with
            several processes; harmless (a few filler completions) on one.
    """

    def __init__(
        self,
        env_id: str = "memenv/MemAlpha-v0",
        env_kwargs: dict[str, Any] | None = None,
        *,
        rollouts_per_episode: int = 2,
        chunks_per_episode: int | None = None,
        reward_mode: str = "step",
        include_tools: bool = False,
        generation_batch_size: int = 16,
        lockstep: bool = True,
    ) -> None:
        if rollouts_per_episode < 1:
            raise ValueError(f"rollouts_per_episode must be >= 1, got {rollouts_per_episode}")
        if chunks_per_episode is not None and chunks_per_episode < 1:
            raise ValueError(f"chunks_per_episode must be >= 1 or None, got {chunks_per_episode}")
        self.env_id = env_id
        self.env_kwargs = dict(env_kwargs or {})
        self.episodes: list[Episode] | None = None
        if self.env_kwargs.get("dataset") is not None:
            # Read the file once here; every rollout then resets onto a row of this list.
            dataset = self.env_kwargs.pop("dataset")
            source = self.env_kwargs.pop("source", None)
            if source is None:
                raise ValueError(f"env_kwargs dataset={dataset!r} needs source=, one of the memenv.tasks SOURCES")
            self.episodes = load(source, dataset, split=self.env_kwargs.pop("dataset_split", None))
            if not self.episodes:
                raise ValueError(f"dataset {dataset!r} (source {source!r}) holds no episode")
            # The list is not handed to gym.make (which deep-copies its kwargs on every call): each reset
            # gets its episode through options={"episode": ...} instead.
        self.rollouts_per_episode = rollouts_per_episode
        self.reward_mode = reward_mode
        self.include_tools = include_tools
        self.generation_batch_size = generation_batch_size
        self.lockstep = lockstep
        probe = self.make_env()
        if self.episodes is not None:
            _, info = probe.reset(seed=0, options={"episode": self.episodes[0]})
            planned = max(len(episode.chunks) for episode in self.episodes)
        else:
            _, info = probe.reset(seed=0)
            planned = int(info["num_chunks"])
        self.beta, self.gamma = probe.unwrapped.beta, probe.unwrapped.gamma
        probe.close()
        self.chunks_per_episode = chunks_per_episode or planned

    def make_env(self) -> gym.Env:
        return gym.make(self.env_id, **self.env_kwargs)

    def num_generations(self) -> int:
        """The ``num_generations`` to give TRL: rows per group = G × chunks per episode."""
        return self.rollouts_per_episode * self.chunks_per_episode

    def episode_dataset(self, num_episodes: int | None = None, seed_offset: int = 0) -> Any:
        """The TRL ``train_dataset``: one prompt per episode.

        With loaded episodes: one row per episode (rows ``0 .. N-1``; ``num_episodes`` may ask for
        fewer, ``seed_offset`` shifts the first row). Otherwise :func:`episode_dataset` with seeds
        ``seed_offset + 0 .. num_episodes - 1``.
        """
        if self.episodes is None:
            if num_episodes is None:
                raise ValueError("num_episodes is required for generated episodes (there is no dataset to count)")
            return episode_dataset(num_episodes, seed_offset)
        available = len(self.episodes) - seed_offset
        count = available if num_episodes is None else num_episodes
        if seed_offset < 0 or count < 1 or count > available:
            raise ValueError(
                f"the dataset has {len(self.episodes)} episodes; rows {seed_offset}..{seed_offset + count - 1} "
                "do not fit"
            )
        return episode_dataset(count, seed_offset)

    def __call__(self, prompts: list[Any], trainer: Any) -> dict[str, list]:
        group = trainer.num_generations if trainer.model.training else trainer.num_generations_eval
        if len(prompts) % group:
            raise ValueError(f"got {len(prompts)} prompts, not whole groups of num_generations={group}")
        seeds = [episode_seed(prompts[start]) for start in range(0, len(prompts), group)]
        for k, seed in enumerate(seeds):
            if any(episode_seed(p) != seed for p in prompts[k * group : (k + 1) * group]):
                raise ValueError(
                    "each run of num_generations prompts must name one episode (TRL's RepeatSampler order)"
                )
        rollouts = self._play(trainer, seeds)

        tokenizer = trainer.processing_class
        pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
        out: dict[str, list] = {"prompt_ids": [], "completion_ids": [], "logprobs": [], "env_mask": []}
        extra = ["memenv_reward"] + [f"memenv_{name}" for name in (*COMPONENTS, "accuracy")]
        for key in extra:
            out[key] = []
        G = self.rollouts_per_episode
        for k in range(len(seeds)):
            rows = 0
            for rollout in rollouts[k * G : (k + 1) * G]:
                rewards = step_rewards(rollout.components, self.beta, self.gamma, self.reward_mode)
                for row, reward in zip(rollout.rows, rewards, strict=True):
                    out["prompt_ids"].append(row.prompt_ids)
                    out["completion_ids"].append(row.completion_ids)
                    out["logprobs"].append(row.sampling_logprobs or [0.0] * len(row.completion_ids))
                    out["env_mask"].append([1] * len(row.completion_ids))
                    out["memenv_reward"].append(reward)
                    for name in COMPONENTS:  # terminal parts as the broadcast values the reward used
                        terminal = name in TERMINAL_COMPONENTS
                        out[f"memenv_{name}"].append((rollout.rows[-1] if terminal else row).components[name])
                    out["memenv_accuracy"].append(rollout.accuracy)
                    rows += 1
            if rows > group:
                raise ValueError(
                    f"episode seed={seeds[k]} gave {rows} rows (G={G} rollouts × its chunks) but num_generations="
                    f"{group}; raise num_generations or chunks_per_episode"
                )
            for _ in range(group - rows):  # padding: no loss, no reward
                out["prompt_ids"].append(out["prompt_ids"][-1])
                out["completion_ids"].append([pad_id])
                out["logprobs"].append([0.0])
                out["env_mask"].append([0])
                for key in extra:
                    out[key].append(None)
        return out

    def _play(self, trainer: Any, seeds: list[int]) -> list:
        tokenizer = trainer.processing_class
        chat_kwargs = dict(getattr(trainer, "chat_template_kwargs", None) or {})
        encode = PromptEncoder(tokenizer, _renderer(tokenizer, chat_kwargs), self.include_tools)
        temperature = trainer.temperature
        max_new_tokens = trainer.max_completion_length
        common: dict[str, Any] = {
            "group_size": self.rollouts_per_episode,
            "max_new_tokens": max_new_tokens,
            "temperature": temperature,
            "batch_size": self.generation_batch_size,
            "episodes": self.episodes,
            "lockstep_steps": self.chunks_per_episode if self.lockstep else None,
        }
        if getattr(trainer, "use_vllm", False):
            return play(None, tokenizer, encode, self.make_env, seeds, sampler=_vllm_sampler(trainer), **common)
        from trl.models.utils import unwrap_model_for_generation

        with unwrap_model_for_generation(trainer.model_wrapped, trainer.accelerator) as model:
            stops = stop_token_ids(model, tokenizer)
            pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else stops[0]

            def sampler(prompts: list[list[int]]) -> list[tuple[list[int], bool, list[float] | None]]:
                logprobs: list[list[float]] = []
                done = sample(
                    model,
                    prompts,
                    pad_id=pad_id,
                    stop_ids=stops,
                    max_new_tokens=max_new_tokens,
                    temperature=temperature,
                    logprobs=logprobs,
                )
                return [(ids, cut, lp) for (ids, cut), lp in zip(done, logprobs, strict=True)]

            return play(model, tokenizer, encode, self.make_env, seeds, sampler=sampler, **common)


def _renderer(
    tokenizer: Any, chat_template_kwargs: dict[str, Any] | None = None
) -> Callable[[list[dict], list[dict] | None], str]:
    """Chat-template rendering as :class:`memenv.llm.HFChatModel` does it (:func:`memenv.llm.render_chat_prompt`:
    tools into the system message when the template has no place for them), with extra template
    variables such as ``enable_thinking``."""
    from memenv.llm import render_chat_prompt

    extra = dict(chat_template_kwargs or {})

    def render(messages: list[dict], tools: list[dict] | None) -> str:
        return render_chat_prompt(tokenizer, messages, tools, extra)

    return render


def _vllm_sampler(trainer: Any) -> Callable[[list[list[int]]], list[tuple[list[int], bool, list[float] | None]]]:
    """Generation through TRL's vLLM backend (untested here: no GPU on the machine this was written on)."""
    stops = set(trainer.eos_token_ids)
    limit = trainer.max_completion_length

    def sampler(prompts: list[list[int]]) -> list[tuple[list[int], bool, list[float] | None]]:
        _, completions, logprobs, _ = trainer.vllm_generation.generate(prompts=prompts, images=None, num_generations=1)
        return [
            (list(ids), not (ids and ids[-1] in stops) and len(ids) >= limit, [lp[0] for lp in lps])
            for ids, lps in zip(completions, logprobs, strict=True)
        ]

    return sampler
