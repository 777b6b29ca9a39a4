"""``MemAlpha-v0``: build a three-tier memory with Mem-α's tools while reading a stream chunk by chunk."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from memenv.envs.base import MemoryEnv
from memenv.envs.options import check_int
from memenv.limits import MAX_CALLS_PER_STEP, MAX_ENTRY_CHARS, MAX_REPLY_CHARS
from memenv.memory import LIST_TIERS, Memory, normalize_id, tier_of
from memenv.readers import Reader
from memenv.reward import BETA, GAMMA, ContentJudge, Write
from memenv.tasks import Episode
from memenv.tools import TOOL_SCHEMAS, ToolCall, ToolResult, execute

SYSTEM_PROMPT = """\
You are the memory writer of an assistant that reads a long stream of text one chunk at a time. \
Later, questions about the whole stream will be answered using ONLY your memory, so record what \
may be asked: facts, events with their time, definitions, examples with their labels, and changes \
to earlier facts. The memory has three parts:
- core_memory: one short paragraph (at most {core_limit} tokens) with the most important, \
always-relevant information. Rewrite it whole with memory_update.
- semantic_memory: a list of lasting facts and knowledge, one per entry.
- episodic_memory: a list of events, each with when it happened if known.
Insert new entries with new_memory_insert, rewrite an outdated entry with memory_update (give its \
memory_id), and remove wrong or redundant entries with memory_delete. Keep entries short and \
specific, avoid duplicates, and update facts that change instead of keeping stale versions. \
Several calls per reply are allowed; reply with no call when the chunk holds nothing worth keeping.
Call tools as <tool_call>{{"name": ..., "arguments": {{...}}}}</tool_call>.

Current memory:
{memory}"""

USER_PROMPT = "Chunk {step} of {total}:\n{chunk}\n\nUpdate the memory with what is worth keeping from this chunk."


class MemAlphaEnv(MemoryEnv):
    """
    ## Description

    Mem-α's memory-construction task as a Gymnasium environment. An agent reads a long stream one
    chunk per step and maintains a three-tier memory with tool calls; after the last chunk a reader
    answers questions about the stream from the memory alone, and the answers are scored. The agent
    is rewarded for a memory that answers well, for calls that execute, for a compact memory and for
    writes grounded in what it read (Mem-α, arXiv 2509.25911).

    Memory (see :mod:`memenv.memory`): **core** — one string, at most ``core_token_limit`` tokens
    (512; longer updates are cut with a visible marker); **semantic** and **episodic** — ordered
    lists of ``{id, text}`` entries with short ids that are deterministic per seed.

    Tools (Mem-α's names and arguments, OpenAI JSON schemas in ``info["tools"]``):
    ``new_memory_insert(memory_type, content)``, ``memory_update(memory_type, new_content,
    memory_id?)``, ``memory_delete(memory_type, memory_id?)``; ``memory_type`` is ``core_memory``,
    ``semantic_memory`` or ``episodic_memory`` (bare ``core``/``semantic``/``episodic`` accepted).

    Tasks: the four MemoryAgentBench competencies, generated deterministically (see
    :mod:`memenv.tasks.synthetic`): ``accurate_retrieval`` (single- and multi-hop facts among
    distractors), ``test_time_learning`` (classification with arbitrary digit labels learned from
    examples), ``long_range_understanding`` (a summary of a long story, keyword-scored) and
    ``conflict_resolution`` (facts that change; the latest wins). ``"mixed"`` draws one per episode.
    Or pass your own ``episodes``.

    ## Action Space

    ``AnyText``: the writer's reply, any string. Tool calls are parsed out of it
    (:func:`memenv.parsing.parse_tool_calls`): Qwen-Agent ``✿FUNCTION✿``/``✿ARGS✿`` pairs,
    ``<tool_call>{...}</tool_call>`` blocks, or a bare JSON object/list, with JSON repair. Calls run
    in order on the live memory, so a reply may update an entry it inserted earlier. A reply with no
    call is legal. Model output is data: nothing it contains raises, and text in the chunk is never
    executed. Programmatic agents can write calls with :func:`memenv.parsing.render_tool_calls`.

    ## Observation Space

    ``Dict(chunk=AnyText, memory=AnyText)``: the chunk to read at this step (``""`` after the last
    one) and the memory as the writer sees it — the full core and the ``visible_k`` most recent
    entries of each list with "showing k most recent of N" (plus up to ``related_k`` older entries
    most related to the chunk, if enabled). ``info["messages"]`` holds the same as ready chat
    messages (a system prompt with the memory and the rules, a user message with the chunk) and
    ``info["tools"]`` the tool schemas, so an LLM writer is one call: ``llm(messages, tools)``.

    ## Rewards

    At step t, ``r_t = r1 + r2_t + beta * r3 + gamma * r4_t`` (Mem-α: beta = 0.05, gamma = 0.1):

    - ``r1_qa`` (last step only): mean question score; equals ``info["qa"]["accuracy"]`` (with
      ``qa_signal`` a reader-free recall instead, see Arguments).
    - ``r2_tool_call``: share of this step's calls that executed; 0 when the reply made no call (so
      an unparseable reply earns nothing — its only penalty, as in Mem-α).
    - ``r3_compression`` (last step only): ``1 - memory_tokens / stream_tokens``.
    - ``r4_content``: share of this step's executed operations judged valid; the default judge
      (:class:`memenv.reward.GroundingJudge`) accepts a write when at least half of its distinct
      words come from the chunk or the text it replaces; deletes score 0 as in Mem-α.

    Every part is in ``info["reward_components"]`` at every step (terminal parts are 0 before the
    end), so trainers can assign per-step credit; ``reward`` is their weighted sum.

    ## Starting State

    ``reset(seed=...)`` draws an episode (the same seed gives the same episode, memory ids and
    everything after), empties the memory and shows the first chunk.

    ## Episode End

    Terminates after the step that reads the last chunk: the reader (default
    :class:`memenv.readers.EvidenceReader`, offline and deterministic) answers every question from
    the core plus the BM25 top-``reader_top_k`` entries of each list. ``info["qa"]`` holds the
    accuracy, the mean ``answer_recall`` and ``evidence_recall`` (and ``evidence_left_out``: questions
    without evidence) and one row per question (question, answers, prediction, metric, category,
    score, ``answer_recall``, ``evidence_recall``, ``context_ids``: the memory entries the reader was
    given). Never truncates.

    ## Info

    Every step: ``messages``, ``tools``, ``tool_results`` (one record per call: name, arguments,
    ok, error kind — ``parse_error``, ``unknown_tool``, ``missing_argument``,
    ``invalid_argument``, ``unknown_id``, ``duplicate``, ``core_insert``, ``over_budget``,
    ``too_long``, or for a whole refused reply ``reply_too_long`` / ``too_many_calls`` — message,
    memory_id; arguments are a fresh copy with well-formed text, so ``info`` always pickles and
    encodes as UTF-8), ``parse_error`` (why calls could not be read, or None), ``reward_components``, ``step``,
    ``num_chunks``, ``memory_tokens``, ``competency``, ``episode_id``. Last step: ``qa`` and
    ``memory`` (the final memory as plain data).

    ## Arguments

    ```python
    import gymnasium as gym
    import memenv

    env = gym.make("memenv/MemAlpha-v0", task="accurate_retrieval", context_tokens=8192)
    ```

    - ``task``: a competency name or ``"mixed"`` (default).
    - ``context_tokens`` (8192), ``chunk_tokens`` (512), ``num_questions`` (10): generator sizes.
    - ``episodes``: a sequence of :class:`memenv.tasks.Episode` to sample from instead of generating.
    - ``dataset``, ``source``, ``dataset_split``: sample episodes from published data instead, loaded
      with :func:`memenv.tasks.load` (``source`` in ``memalpha``, ``memoryagentbench``, ``locomo``,
      ``longmemeval``; ``dataset`` a local file/folder or a hub id).
    - ``reader``: ``"evidence"`` or a :class:`memenv.readers.Reader`; ``reader_top_k`` (20).
    - ``qa_signal`` (``"reader"``): what ``r1_qa`` is — ``"reader"``: the reader's mean question score
      (Mem-α); ``"answer_recall"`` or ``"evidence_recall"``: the mean reader-free recall of the gold
      answer's tokens (or of the evidence statements' content words) in what the reader is given
      (:func:`memenv.metrics.answer_recall`, :func:`memenv.metrics.evidence_recall`), so a writer can
      be trained with RL on real data (LoCoMo, LongMemEval, MemoryAgentBench) without any LLM. The
      rest of the reward is unchanged. ``"evidence_recall"`` needs episodes whose questions name
      their evidence (checked at ``reset``).
    - ``beta`` (0.05), ``gamma`` (0.1): reward weights; ``judge``: the r4 judge.
    - ``visible_k`` (5): recent entries shown per list; ``related_k`` (0): older entries related to
      the chunk shown per list (Mem-α could never reach older entries; this lets a writer update them).
    - ``core_token_limit`` (512).
    - ``max_memory_tokens`` (None): a cap on the whole memory; a write that would grow it past the cap
      fails with ``over_budget`` and changes nothing, so storing everything becomes impossible (pair it
      with a larger ``beta`` to also reward compactness).
    - ``unknown_id_delete``: ``"error"`` (default) or ``"ignore"`` (Mem-α counted deleting an
      unknown id as success).
    - ``feedback_tool_results`` (False): prepend the previous step's call results to the next user
      message (Mem-α fed nothing back).
    - ``system_prompt`` (None): your own system prompt template instead of the default (prompt
      ablations, small models); it must contain ``{memory}`` (the memory is shown there) and may use
      ``{core_limit}``; checked at construction.
    - ``render_mode``: ``"ansi"`` or None.
    - ``scoring`` (``"default"``): the evaluation protocol that scores the questions, one of
      :data:`memenv.metrics.SCORING_PROFILES`; ``"default"`` scores each question as its own
      benchmark's code does (docs/scoring.md), ``"mem0"`` as Mem0 / Memory-R1 report.
    - ``suite`` (``"v0"``): the version of the synthetic generators episodes are drawn from
      (:mod:`memenv.tasks.synthetic`); the ``-v1`` id sets ``"v1"``. Ignored with ``episodes`` or
      ``dataset``.
    - ``max_reply_chars`` (1,000,000), ``max_calls_per_step`` (1,024), ``max_entry_chars`` (100,000):
      size caps on model output (:mod:`memenv.limits`). A longer reply is not read (one failed call,
      ``reply_too_long``); a reply with more calls runs none of them (one failed call,
      ``too_many_calls``); a write whose text is longer fails with ``too_long``. Arguments nested
      deeper than 32 levels are a ``parse_error``. ``context_tokens`` is at most 4,194,304. Every
      option's type is checked at construction (``TypeError`` / ``ValueError`` naming it).

    ## Version History

    - v0: initial release (``qa_signal`` and the recall metrics added without changing the default
      reward).
    - v1: the same env with ``suite="v1"``: episodes from suite v1 of the generators (coreference,
      relative dates, out-of-order and withdrawn updates, relabelling, event order and causes, ...;
      docs/suite_v1.md). v0 keeps suite v0.
    - ids: registered as ``memenv/MemAlpha-v0`` and ``memenv/MemAlpha-v1`` (Gymnasium namespace ``memenv``);
      the earlier ids ``MemAlpha-v0`` / ``MemAlpha-v1`` stay registered as aliases of the same envs.
    """

    default_system_prompt = SYSTEM_PROMPT
    system_prompt_fields = ("core_limit", "memory")
    required_system_prompt_fields = ("memory",)
    tool_schemas: ClassVar[list[dict[str, Any]]] = TOOL_SCHEMAS

    def __init__(
        self,
        task: str = "mixed",
        context_tokens: int = 8192,
        chunk_tokens: int = 512,
        num_questions: int = 10,
        episodes: Sequence[Episode] | None = None,
        dataset: str | None = None,
        source: str | None = None,
        dataset_split: str | None = None,
        reader: str | Reader = "evidence",
        reader_top_k: int = 20,
        qa_signal: str = "reader",
        beta: float = BETA,
        gamma: float = GAMMA,
        judge: ContentJudge | None = None,
        visible_k: int = 5,
        related_k: int = 0,
        core_token_limit: int = 512,
        unknown_id_delete: str = "error",
        max_memory_tokens: int | None = None,
        feedback_tool_results: bool = False,
        system_prompt: str | None = None,
        render_mode: str | None = None,
        scoring: str = "default",
        suite: str = "v0",
        max_reply_chars: int = MAX_REPLY_CHARS,
        max_calls_per_step: int = MAX_CALLS_PER_STEP,
        max_entry_chars: int = MAX_ENTRY_CHARS,
    ) -> None:
        if unknown_id_delete not in ("error", "ignore"):
            raise ValueError(f"unknown_id_delete must be 'error' or 'ignore', got {unknown_id_delete!r}")
        visible_k = check_int("visible_k", visible_k, minimum=0)
        related_k = check_int("related_k", related_k, minimum=0)
        self.visible_k = visible_k
        self.related_k = related_k
        self.unknown_id_delete = unknown_id_delete
        super().__init__(
            task=task,
            context_tokens=context_tokens,
            chunk_tokens=chunk_tokens,
            num_questions=num_questions,
            episodes=episodes,
            dataset=dataset,
            source=source,
            dataset_split=dataset_split,
            reader=reader,
            reader_top_k=reader_top_k,
            qa_signal=qa_signal,
            beta=beta,
            gamma=gamma,
            judge=judge,
            core_token_limit=core_token_limit,
            max_memory_tokens=max_memory_tokens,
            feedback_tool_results=feedback_tool_results,
            system_prompt=system_prompt,
            render_mode=render_mode,
            scoring=scoring,
            suite=suite,
            max_reply_chars=max_reply_chars,
            max_calls_per_step=max_calls_per_step,
            max_entry_chars=max_entry_chars,
        )

    def _new_memory(self, seed: int) -> Memory:
        return Memory(
            core_token_limit=self.core_token_limit,
            seed=seed,
            indexed=self.related_k > 0,
            token_budget=self.max_memory_tokens,
            max_entry_chars=self.max_entry_chars,
        )

    def _execute(self, call: ToolCall) -> tuple[ToolResult, Write | None]:
        tier = tier_of(call.arguments.get("memory_type")) if call.error is None else None
        previous = self._current_text(tier, call.arguments)
        result = execute(self.memory, call, unknown_id_delete=self.unknown_id_delete)
        if not result.ok:
            return result, None
        content = call.arguments.get("content", call.arguments.get("new_content", ""))
        return result, Write(call.name, tier or "", content if isinstance(content, str) else "", previous)

    def _memory_view(self, chunk: str) -> str:
        related = None
        if self.related_k > 0 and chunk:
            related = {
                tier: self.memory.related(
                    tier, chunk, self.related_k, exclude=[e.id for e in self.memory.recent(tier, self.visible_k)]
                )
                for tier in LIST_TIERS
            }
        return self.memory.render(self.visible_k, related)

    def _messages(self, chunk: str, view: str, feedback: str) -> list[dict[str, str]]:
        assert self.episode is not None
        user = USER_PROMPT.format(step=self._step + 1, total=len(self.episode.chunks), chunk=chunk)
        if feedback:
            user = f"{feedback}\n\n{user}"
        system = self.system_prompt.format(core_limit=self.core_token_limit, memory=view)
        return [{"role": "system", "content": system}, {"role": "user", "content": user}]

    def _current_text(self, tier: str | None, arguments: dict[str, Any]) -> str:
        """The text a call on ``tier`` (its ``memory_type``) would replace (for the content judge), or ""."""
        if tier == "core":
            return self.memory.core
        memory_id = normalize_id(arguments.get("memory_id"))
        if tier is None or memory_id is None:
            return ""
        entry = self.memory.get(tier, memory_id)
        return entry.text if entry else ""
