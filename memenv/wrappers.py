"""Adapters that let classic RL libraries (stable-baselines3, ...) act in memenv's text environments.

memenv's environments observe and act in text (``Dict(chunk=Text, memory=Text)`` in, a reply out).
Libraries such as stable-baselines3 accept only ``Box``/``Discrete``/``MultiDiscrete``/``MultiBinary``
spaces, so memenv ships three wrappers, used together::

    import gymnasium as gym
    import memenv
    from memenv.wrappers import DiscreteMemoryActions, HashedTextObservation, MemoryBudget

    env = gym.make("memenv/MemAlpha-v0", task="accurate_retrieval", context_tokens=1024, chunk_tokens=64)
    env = MemoryBudget(env, max_tokens=160, tool_call_weight=0.0, content_weight=0.0)
    env = HashedTextObservation(env)          # Box(float32) features
    env = DiscreteMemoryActions(env)          # Discrete menu of memory operations

* :class:`MemoryBudget` caps the memory: a write that would take it past ``max_tokens`` is refused
  (the memory is left as it was, the call fails with ``error_kind="over_budget"``), so storing
  everything is impossible and the policy must choose what to keep. It also re-weights Mem-α's reward
  parts (a menu agent cannot write a malformed call, so the format reward r2 only pays for activity).
* :class:`HashedTextObservation` turns the text observation into a fixed-size ``Box(float32)``:
  signed hashed bag-of-words features of the chunk and of the memory (a stable hash, identical in
  every process) plus numeric state: step fraction, memory fill per tier, tokens used against the
  budget, and cheap salience features of the chunk (share of capitalised words, of numbers, ...).
* :class:`DiscreteMemoryActions` exposes a ``Discrete`` menu of memory operations and renders the
  chosen one to the text action the environment expects (Mem-α tool calls, a MemoryR1 JSON fact
  event list, or a MEM1 paragraph).

The operations (:data:`OPERATIONS`; each is offered only where it makes sense for the memory system):

======================  ==============================================================================
``skip``                write nothing
``store_chunk``         store the chunk verbatim (MemAlpha: episodic entry; MemoryR1: ADD; MEM1: append)
``store_facts``         store the chunk's most salient sentences (MemAlpha: one semantic entry;
                        MemoryR1: one ADD per sentence; MEM1: append them to the paragraph)
``refresh_core``        MemAlpha: rewrite the core as the previous core plus the chunk's most salient
                        sentence, oldest sentences dropped to stay within ``core_tokens``;
                        MEM1: rewrite the paragraph the same way
``update_related``      replace the list entry most related to the chunk (BM25) with the chunk's salient
                        sentences (MemAlpha, MemoryR1 UPDATE); nothing related -> write nothing
``delete_related``      delete the list entry most related to the chunk (MemAlpha, MemoryR1 DELETE)
======================  ==============================================================================

:class:`RecordEpisodes` (from :mod:`memenv.trajectories`, re-exported here) is of another kind: it
writes every step of an episode to a JSONL file for ``memenv view``.

Every wrapper here records its constructor arguments (``gym.utils.RecordConstructorArgs``), so a wrapped
env's ``spec`` names the whole stack and ``gym.make(env.spec)`` builds an identical one, as for
Gymnasium's own wrappers.

"Salient" is a documented rule, not a model: a sentence scores ``(capitalised words after the first +
2 x words with a digit) / words``; names, places and numbers are what questions ask about.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from memenv import tokenizer
from memenv.envs.base import MemoryEnv
from memenv.memory import LIST_TIERS, OVER_BUDGET, Memory
from memenv.parsing import render_tool_calls
from memenv.retrieval import BM25Index, tokenize
from memenv.reward import total_reward
from memenv.tasks.chunking import split_sentences
from memenv.trajectories import RecordEpisodes

__all__ = [
    "DIALECTS",
    "OPERATIONS",
    "OVER_BUDGET",
    "DiscreteMemoryActions",
    "HashedTextObservation",
    "MemoryBudget",
    "RecordEpisodes",
    "dialect_of",
    "hashed_features",
    "salience",
    "salient_sentences",
]


OPERATIONS = ("skip", "store_chunk", "store_facts", "refresh_core", "update_related", "delete_related")
DIALECTS = ("mem_alpha", "mem1", "memory_r1")
# Which operations each memory system can express.
SUPPORTED = {
    "mem_alpha": OPERATIONS,
    "memory_r1": ("skip", "store_chunk", "store_facts", "update_related", "delete_related"),
    "mem1": ("skip", "store_chunk", "store_facts", "refresh_core"),
}

# MEM1-v0's one tool (memenv.envs.mem1), repeated here so this module does not import every env.
MEM1_REWRITE_TOOL = "memory_rewrite"
MEM1_REWRITE_ARGUMENT = "new_memory"

_WORD = re.compile(r"\w+")
# Markup of the writer's memory view that says nothing about content: tags, ids, "(showing k of N)".
_VIEW_MARKUP = re.compile(r"<[^>\n]*>|\[[0-9a-fA-F]{2,16}\]|\((?:showing|older entries)[^)\n]*\)|\(empty\)")


def dialect_of(env: gym.Env) -> str:
    """Which memory system an environment is: ``"mem_alpha"``, ``"mem1"`` or ``"memory_r1"``.

    Decided by the class name of ``env.unwrapped`` (``MemAlphaEnv``, ``MEM1Env``, ``MemoryR1Env``),
    else by its tool schemas (Mem-α's tools -> ``"mem_alpha"``). Raises ``ValueError`` otherwise.
    """
    base = env.unwrapped
    name = type(base).__name__.lower()
    if "memoryr1" in name or "memory_r1" in name:
        return "memory_r1"
    if "mem1" in name:
        return "mem1"
    if "memalpha" in name:
        return "mem_alpha"
    tools = {schema.get("function", {}).get("name") for schema in getattr(base, "tool_schemas", [])}
    if "new_memory_insert" in tools:
        return "mem_alpha"
    raise ValueError(f"cannot tell which memory system {type(base).__name__} is; pass dialect= (one of {DIALECTS})")


# -- features -----------------------------------------------------------------------------------------


def _hash(token: str) -> int:
    # blake2b, not hash(): Python salts str hashes per process, and features must match across workers.
    return int.from_bytes(hashlib.blake2b(token.encode("utf-8"), digest_size=8).digest(), "little")


def hashed_features(text: str, size: int) -> np.ndarray:
    """Signed hashed bag of words (lowercase ``\\w+``) of ``text``, L2-normalised (all zeros for no words).

    Word w adds ±1 at index ``h(w) mod size`` with the sign from another bit of ``h`` (blake2b), so
    collisions cancel on average instead of piling up. Deterministic in every process.
    """
    vector = np.zeros(size, dtype=np.float64)
    for word in tokenize(text):
        h = _hash(word)
        vector[h % size] += 1.0 if (h >> 63) & 1 else -1.0
    norm = float(np.linalg.norm(vector))
    return (vector / norm if norm > 0 else vector).astype(np.float32)


def salience(sentence: str) -> float:
    """``(capitalised words after the first + 2 x words containing a digit) / words`` (0 for no words)."""
    words = _WORD.findall(sentence)
    if not words:
        return 0.0
    capitals = sum(w[0].isupper() for w in words[1:])
    numbers = sum(any(c.isdigit() for c in w) for w in words)
    return (capitals + 2 * numbers) / len(words)


def salient_sentences(text: str, k: int) -> list[str]:
    """The ``k`` most salient sentences of ``text`` (ties: earlier first), in their original order."""
    sentences = split_sentences(text)
    ranked = sorted(range(len(sentences)), key=lambda i: (-salience(sentences[i]), i))[: max(k, 0)]
    return [sentences[i] for i in sorted(ranked)]


def _budget_of(env: gym.Env) -> int | None:
    return env.get_wrapper_attr("max_tokens") if env.has_wrapper_attr("max_tokens") else None


def _memory_of(env: gym.Env) -> Memory:
    base = env.unwrapped
    if not isinstance(base, MemoryEnv):
        raise TypeError(f"memenv wrappers need a memenv environment, got {type(base).__name__}")
    return base.memory


class HashedTextObservation(gym.Wrapper, gym.utils.RecordConstructorArgs):
    """Observation wrapper: text observation -> fixed-size ``Box(-1, 1, (n,), float32)`` features.

    ## Observation Space

    ``Box(low=-1, high=1, shape=(chunk_features + memory_features + NUM_STATE_FEATURES,), float32)``,
    in this order:

    1. ``chunk_features`` signed hashed bag-of-words features of the chunk (:func:`hashed_features`);
    2. ``memory_features`` of the memory view, with its markup (tags, ids, "showing k of N") removed;
    3. :data:`STATE_FEATURES` (each clipped to [0, 1]): ``step_fraction`` (steps done / chunks),
       ``chunk_empty``, ``chunk_tokens`` / scale, ``core_fill`` (core tokens / core cap),
       ``semantic_fill`` and ``episodic_fill`` (tier tokens / scale), ``memory_used`` (all memory
       tokens / scale), ``chunk_fits`` (1 if the chunk fits in what is left of the budget),
       ``entries`` (list entries / 32), ``capital_share`` (capitalised words after a sentence's first,
       / words), ``number_share`` (words with a digit / words), ``max_salience`` (best sentence's
       :func:`salience`, / 2), ``novelty`` (share of the chunk's distinct words not yet in memory).

    "scale" is the ``max_tokens`` of a :class:`MemoryBudget` below this wrapper when there is one, else
    ``token_scale``. Every feature is a pure function of the observation and the memory, computed with
    stable hashes, so the same episode gives the same features in any process.

    ## Arguments

    - ``env``: a memenv environment (possibly already wrapped, e.g. in :class:`MemoryBudget`).
    - ``chunk_features`` (64), ``memory_features`` (32): hashed feature sizes (>= 1).
    - ``token_scale`` (2048): token count that maps to 1.0 when there is no budget.

    ```python
    env = HashedTextObservation(gym.make("memenv/MemAlpha-v0"))
    obs, info = env.reset(seed=0)     # obs.shape == (64 + 32 + 13,)
    ```

    The text observation stays available: ``info["text_observation"]``.
    """

    STATE_FEATURES = (
        "step_fraction",
        "chunk_empty",
        "chunk_tokens",
        "core_fill",
        "semantic_fill",
        "episodic_fill",
        "memory_used",
        "chunk_fits",
        "entries",
        "capital_share",
        "number_share",
        "max_salience",
        "novelty",
    )
    NUM_STATE_FEATURES = len(STATE_FEATURES)

    def __init__(
        self, env: gym.Env, chunk_features: int = 64, memory_features: int = 32, token_scale: int = 2048
    ) -> None:
        gym.utils.RecordConstructorArgs.__init__(
            self, chunk_features=chunk_features, memory_features=memory_features, token_scale=token_scale
        )
        gym.Wrapper.__init__(self, env)
        for name, value in (
            ("chunk_features", chunk_features),
            ("memory_features", memory_features),
            ("token_scale", token_scale),
        ):
            if value < 1:
                raise ValueError(f"{name} must be >= 1, got {value}")
        _memory_of(env)  # fail early on a non-memenv env
        self.chunk_features = chunk_features
        self.memory_features = memory_features
        self.token_scale = token_scale
        size = chunk_features + memory_features + self.NUM_STATE_FEATURES
        self.observation_space = spaces.Box(-1.0, 1.0, shape=(size,), dtype=np.float32)

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[np.ndarray, dict]:
        obs, info = self.env.reset(seed=seed, options=options)
        return self.features(obs, info), {**info, "text_observation": obs}

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict]:
        obs, reward, terminated, truncated, info = self.env.step(action)
        return self.features(obs, info), reward, terminated, truncated, {**info, "text_observation": obs}

    def features(self, obs: dict[str, str], info: dict[str, Any]) -> np.ndarray:
        """The feature vector of one text observation (``info`` gives ``step`` and ``num_chunks``)."""
        chunk, view = obs["chunk"], obs["memory"]
        memory = _memory_of(self.env)
        budget = _budget_of(self.env)
        scale = float(budget or self.token_scale)
        chunk_tokens = tokenizer.count_tokens(chunk) if chunk else 0
        used = memory.tokens()
        words = _WORD.findall(chunk)
        sentences = split_sentences(chunk)
        first_words = sum(1 for s in sentences if _WORD.search(s))
        n_words = max(len(words), 1)
        chunk_vocab = set(tokenize(chunk))
        memory_vocab = set(tokenize(_VIEW_MARKUP.sub(" ", view))) | set(tokenize(memory.core))
        for tier in LIST_TIERS:
            for entry in memory.entries(tier):
                memory_vocab.update(tokenize(entry.text))
        state = [
            info.get("step", 0) / max(info.get("num_chunks", 1), 1),
            0.0 if chunk else 1.0,
            chunk_tokens / scale,
            memory.tokens("core") / memory.core_token_limit,
            memory.tokens("semantic") / scale,
            memory.tokens("episodic") / scale,
            used / scale,
            1.0 if chunk and (budget is None or used + chunk_tokens <= budget) else 0.0,
            (memory.size("semantic") + memory.size("episodic")) / 32,
            # Capitalised words minus one per sentence (its first word is capitalised anyway).
            max(sum(w[0].isupper() for w in words) - first_words, 0) / n_words,
            sum(any(c.isdigit() for c in w) for w in words) / n_words,
            max((salience(s) for s in sentences), default=0.0) / 2,
            len(chunk_vocab - memory_vocab) / len(chunk_vocab) if chunk_vocab else 0.0,
        ]
        return np.concatenate(
            [
                hashed_features(chunk, self.chunk_features),
                hashed_features(_VIEW_MARKUP.sub(" ", view), self.memory_features),
                np.clip(np.asarray(state, dtype=np.float32), 0.0, 1.0),
            ]
        ).astype(np.float32)


# -- actions ------------------------------------------------------------------------------------------


class DiscreteMemoryActions(gym.ActionWrapper, gym.utils.RecordConstructorArgs):
    """Action wrapper: a ``Discrete`` menu of memory operations, rendered to the env's text action.

    ## Action Space

    ``Discrete(len(operations))``; action ``i`` performs ``operations[i]`` on the current chunk (see
    :data:`OPERATIONS` and the module docstring). :meth:`action` returns the text the environment
    receives, so ``info`` (tool results, reward parts) is exactly what a text agent doing the same
    would get.

    ## Arguments

    - ``env``: a memenv environment (``MemAlpha-v0``, ``MEM1-v0``, ``MemoryR1-v0``), possibly wrapped.
    - ``operations``: names from :data:`OPERATIONS`, in menu order; default: every operation the
      memory system supports (:data:`SUPPORTED`). An unsupported name raises ``ValueError``.
    - ``dialect``: force ``"mem_alpha"``, ``"mem1"`` or ``"memory_r1"`` (default: :func:`dialect_of`).
    - ``facts_per_chunk`` (2): salient sentences kept by ``store_facts`` and ``update_related``.
    - ``core_tokens`` (128): token cap of the rolling summary written by ``refresh_core``.
    - ``style`` (``"hermes"``): tool-call text style for MemAlpha (:func:`memenv.parsing.render_tool_calls`).

    ```python
    env = DiscreteMemoryActions(gym.make("memenv/MemAlpha-v0"), operations=("skip", "store_chunk"))
    env.reset(seed=0)
    env.step(1)   # inserts the chunk into episodic memory
    ```
    """

    def __init__(
        self,
        env: gym.Env,
        operations: Sequence[str] | None = None,
        *,
        dialect: str | None = None,
        facts_per_chunk: int = 2,
        core_tokens: int = 128,
        style: str = "hermes",
    ) -> None:
        gym.utils.RecordConstructorArgs.__init__(
            self,
            operations=None if operations is None else list(operations),
            dialect=dialect,
            facts_per_chunk=facts_per_chunk,
            core_tokens=core_tokens,
            style=style,
        )
        gym.ActionWrapper.__init__(self, env)
        self.dialect = dialect or dialect_of(env)
        if self.dialect not in DIALECTS:
            raise ValueError(f"dialect must be one of {DIALECTS}, got {self.dialect!r}")
        supported = SUPPORTED[self.dialect]
        self.operations = tuple(operations) if operations is not None else supported
        if not self.operations:
            raise ValueError("operations must name at least one operation")
        for op in self.operations:
            if op not in supported:
                raise ValueError(f"operation {op!r} is not supported by {self.dialect}; choose from {supported}")
        if len(set(self.operations)) != len(self.operations):
            raise ValueError(f"operations has duplicates: {self.operations}")
        if facts_per_chunk < 1 or core_tokens < 16:
            raise ValueError(f"need facts_per_chunk >= 1 and core_tokens >= 16, got {facts_per_chunk}, {core_tokens}")
        _memory_of(env)
        self.facts_per_chunk = facts_per_chunk
        self.core_tokens = core_tokens
        self.style = style
        self.action_space = spaces.Discrete(len(self.operations))

    def action(self, action: Any) -> str:
        """The text action for menu index ``action`` on the current chunk."""
        index = int(action)
        if not 0 <= index < len(self.operations):
            raise ValueError(f"action must be in [0, {len(self.operations)}), got {action!r}")
        base = self.env.unwrapped
        assert isinstance(base, MemoryEnv)
        return self.render(self.operations[index], base.current_chunk, base.memory)

    def render(self, operation: str, chunk: str, memory: Memory) -> str:
        """The text that performs ``operation`` for ``chunk`` on ``memory`` in this wrapper's dialect."""
        if self.dialect == "mem_alpha":
            return self._mem_alpha(operation, chunk, memory)
        if self.dialect == "memory_r1":
            return self._memory_r1(operation, chunk, memory)
        return self._mem1(operation, chunk, memory)

    # One renderer per memory system; each returns the "do nothing" text when there is nothing to do.

    def _mem_alpha(self, operation: str, chunk: str, memory: Memory) -> str:
        facts = " ".join(salient_sentences(chunk, self.facts_per_chunk))
        calls: list[dict[str, Any]] = []
        if not chunk or operation == "skip":
            pass
        elif operation == "store_chunk":
            calls.append(_call("new_memory_insert", memory_type="episodic_memory", content=chunk))
        elif operation == "store_facts" and facts:
            calls.append(_call("new_memory_insert", memory_type="semantic_memory", content=facts))
        elif operation == "refresh_core":
            core = _rolling_summary(memory.core, chunk, self.core_tokens)
            if core and core != memory.core:
                calls.append(_call("memory_update", memory_type="core_memory", new_content=core))
        elif operation in ("update_related", "delete_related"):
            found = _most_related(memory, LIST_TIERS, chunk)
            if found is not None:
                tier, memory_id = found
                if operation == "delete_related":
                    calls.append(_call("memory_delete", memory_type=f"{tier}_memory", memory_id=memory_id))
                elif facts:
                    calls.append(
                        _call("memory_update", memory_type=f"{tier}_memory", new_content=facts, memory_id=memory_id)
                    )
        return render_tool_calls(calls, self.style) if calls else ""

    def _memory_r1(self, operation: str, chunk: str, memory: Memory) -> str:
        events: list[dict[str, str]] = []
        if chunk and operation == "store_chunk":
            events.append({"id": "", "text": chunk, "event": "ADD"})
        elif chunk and operation == "store_facts":
            events += [{"id": "", "text": s, "event": "ADD"} for s in salient_sentences(chunk, self.facts_per_chunk)]
        elif chunk and operation in ("update_related", "delete_related"):
            found = _most_related(memory, ("semantic",), chunk)
            if found is not None:
                memory_id = found[1]
                if operation == "delete_related":
                    events.append({"id": memory_id, "text": "", "event": "DELETE"})
                else:
                    text = " ".join(salient_sentences(chunk, self.facts_per_chunk))
                    events.append({"id": memory_id, "text": text, "event": "UPDATE"})
        # No operation is an empty reply (prose without JSON is no call, so r2 = 0 as for "skip" elsewhere).
        return json.dumps({"memory": events}, ensure_ascii=False) if events else ""

    def _mem1(self, operation: str, chunk: str, memory: Memory) -> str:
        # MEM1's action is the whole new paragraph, sent as its memory_rewrite call (plain text starting
        # with "{" would be read as JSON); an empty reply keeps the paragraph.
        paragraph = memory.core
        if not chunk or operation == "skip":
            return ""
        if operation == "store_chunk":
            new = f"{paragraph} {chunk}".strip()
        elif operation == "store_facts":
            new = f"{paragraph} {' '.join(salient_sentences(chunk, self.facts_per_chunk))}".strip()
        else:
            new = _rolling_summary(paragraph, chunk, self.core_tokens) or paragraph
        if not new or new == paragraph:
            return ""
        return render_tool_calls([_call(MEM1_REWRITE_TOOL, **{MEM1_REWRITE_ARGUMENT: new})], "hermes")


def _call(name: str, **arguments: str) -> dict[str, Any]:
    return {"name": name, "arguments": arguments}


def _rolling_summary(core: str, chunk: str, max_tokens: int) -> str:
    """``core`` plus the chunk's most salient sentence, oldest sentences dropped to fit ``max_tokens``."""
    sentences = split_sentences(core) + salient_sentences(chunk, 1)
    while len(sentences) > 1 and tokenizer.count_tokens(" ".join(sentences)) > max_tokens:
        sentences.pop(0)
    text = " ".join(sentences)
    return tokenizer.truncate(text, max_tokens)[0] if tokenizer.count_tokens(text) > max_tokens else text


def _most_related(memory: Memory, tiers: Sequence[str], chunk: str) -> tuple[str, str] | None:
    """(tier, id) of the list entry most related to ``chunk`` by BM25 over ``tiers`` (ties: older first)."""
    keys = [(tier, e.id) for tier in tiers for e in memory.entries(tier)]
    if not keys:
        return None
    index = BM25Index.from_texts([memory.get(tier, i).text for tier, i in keys])  # type: ignore[union-attr]
    hits = index.search(chunk, 1)
    return keys[hits[0][0]] if hits else None


# -- budget -------------------------------------------------------------------------------------------


class MemoryBudget(gym.Wrapper, gym.utils.RecordConstructorArgs):
    """A hard cap on memory size, and Mem-α's reward with adjustable weights.

    ## Description

    Sets the environment's ``max_memory_tokens`` option: a write that would leave the memory (all
    tiers) above ``max_tokens`` tokens and larger than before is refused — the memory and its ids stay
    exactly as they were — and the call fails with ``error_kind="over_budget"`` (so it earns no r2
    and no r4). Shrinking operations (deletes, shorter updates) are always allowed. Storing everything
    is therefore impossible: a policy has to choose what to keep.

    ## Rewards

    ``reward = r1 + tool_call_weight * r2 + beta * r3 + content_weight * r4 - refusal_penalty * refused``
    from the env's ``info["reward_components"]`` (``refused``: this step's calls refused for the
    budget). Defaults reproduce the env's own reward (weights 1, env ``beta``, env ``gamma``, no
    penalty). For a menu agent (:class:`DiscreteMemoryActions`) every call is well formed and
    grounded, so r2 and r4 only pay for activity; set ``tool_call_weight=0, content_weight=0`` to
    make the reward what the memory answers, its compactness and the refusals.

    ## Info

    Every step adds ``info["budget"] = {"max_tokens", "memory_tokens", "refused"}``; refused calls
    also appear in ``info["tool_results"]`` with ``error="over_budget"``. The env's reward parts stay
    in ``info["reward_components"]`` unchanged.

    ## Arguments

    - ``env``: a memenv environment (possibly wrapped) without a budget of its own; the cap applies
      from the next ``reset``.
    - ``max_tokens``: the cap (> 0), in the env's tokenizer (o200k_base).
    - ``refusal_penalty`` (0.0), ``tool_call_weight`` (1.0), ``beta`` (env's), ``content_weight``
      (env's ``gamma``).

    ```python
    env = MemoryBudget(gym.make("memenv/MemAlpha-v0", task="accurate_retrieval"), max_tokens=256)
    ```
    """

    def __init__(
        self,
        env: gym.Env,
        max_tokens: int,
        *,
        refusal_penalty: float = 0.0,
        tool_call_weight: float = 1.0,
        beta: float | None = None,
        content_weight: float | None = None,
    ) -> None:
        gym.utils.RecordConstructorArgs.__init__(
            self,
            max_tokens=max_tokens,
            refusal_penalty=refusal_penalty,
            tool_call_weight=tool_call_weight,
            beta=beta,
            content_weight=content_weight,
        )
        gym.Wrapper.__init__(self, env)
        if max_tokens < 1:
            raise ValueError(f"max_tokens must be >= 1, got {max_tokens}")
        base = env.unwrapped
        if not isinstance(base, MemoryEnv):
            raise TypeError(f"MemoryBudget needs a memenv environment, got {type(base).__name__}")
        if base.max_memory_tokens is not None:
            raise ValueError(f"this environment already has a memory budget ({base.max_memory_tokens} tokens)")
        base.max_memory_tokens = max_tokens
        self.max_tokens = max_tokens
        self.refusal_penalty = refusal_penalty
        self.tool_call_weight = tool_call_weight
        self.beta = base.beta if beta is None else beta
        self.content_weight = base.gamma if content_weight is None else content_weight

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[Any, dict]:
        obs, info = self.env.reset(seed=seed, options=options)
        info["budget"] = self._budget_info(0)
        return obs, info

    def step(self, action: Any) -> tuple[Any, float, bool, bool, dict]:
        obs, _, terminated, truncated, info = self.env.step(action)
        refused = sum(result["error"] == OVER_BUDGET for result in info["tool_results"])
        parts = info["reward_components"]
        weighted = dict(parts, r2_tool_call=self.tool_call_weight * parts["r2_tool_call"])
        reward = total_reward(weighted, self.beta, self.content_weight) - self.refusal_penalty * refused
        info["budget"] = self._budget_info(refused)
        return obs, float(reward), terminated, truncated, info

    def _budget_info(self, refused: int) -> dict[str, int]:
        base = self.env.unwrapped
        assert isinstance(base, MemoryEnv)
        return {"max_tokens": self.max_tokens, "memory_tokens": base.memory.tokens(), "refused": refused}
