"""``MEM1-v0``: keep one flat memory paragraph under a token budget, rewriting it at every chunk."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from memenv.envs.base import MemoryEnv
from memenv.envs.options import check_int
from memenv.limits import MAX_CALLS_PER_STEP, MAX_ENTRY_CHARS, MAX_REPLY_CHARS
from memenv.memory import INVALID_ARGUMENT, MISSING_ARGUMENT, MemoryOpError
from memenv.parsing import FN_ARGS, FN_NAME, TOOL_CALL_OPEN, parse_tool_calls, render_tool_calls, strip_thinking
from memenv.qa import ContextFn
from memenv.readers import Reader, ReaderContext
from memenv.reward import BETA, GAMMA, ContentJudge, Write
from memenv.tasks import Episode
from memenv.tools import PARSE_ERROR, UNKNOWN_TOOL, ToolCall, ToolResult

REWRITE_TOOL = "memory_rewrite"
REWRITE_ARGUMENT = "new_memory"

REWRITE_SCHEMA: dict[str, Any] = {
    "type": "function",
    "function": {
        "name": REWRITE_TOOL,
        "description": "Replace the whole memory paragraph with a new one (longer text is cut at the token budget).",
        "parameters": {
            "type": "object",
            "properties": {
                REWRITE_ARGUMENT: {"type": "string", "description": "The complete new memory paragraph."},
            },
            "required": [REWRITE_ARGUMENT],
        },
    },
}

SYSTEM_PROMPT = """\
You read a long text one section at a time and keep notes in a single memory paragraph of at most \
{budget} tokens; after the last section, questions about the whole text will be answered from that \
paragraph alone. You do not know the questions yet, so keep what is most likely to be asked: names, \
numbers, dates, definitions, labelled examples, key events, and the latest value of any fact that \
changed. After each section, write the complete new paragraph: keep the useful old notes, add what \
matters from the new section, replace outdated facts, and drop the least useful notes when space \
runs out. Text beyond the budget is cut off.
Reply with the new paragraph only (or call {tool}({argument}=...)). An empty reply keeps the \
paragraph unchanged."""

USER_PROMPT = """\
Current memory ({used} of {budget} tokens):
{memory}

Section {step} of {total}:
{chunk}

Write the updated memory paragraph."""


def parse_reply(text: str) -> list[ToolCall]:
    """The calls in a ``MEM1-v0`` reply: tool calls where there are any, else the plain paragraph.

    See the Action Space section of :class:`Mem1Env`. Never raises on a string.
    """
    if FN_NAME in text or FN_ARGS in text or TOOL_CALL_OPEN in text:
        return parse_tool_calls(text)
    paragraph = strip_thinking(text).strip()
    if not paragraph:
        return []
    if paragraph.startswith(("{", "[")):
        calls = parse_tool_calls(paragraph)
        # Only JSON shaped like a call is a call: it names memory_rewrite, or names a tool and passes it
        # arguments. A dialogue header ("[Dialogue at ...]"), a note in braces or a JSON record such as
        # {"name": "Caroline", "city": "Berlin"} is the paragraph itself.
        if any(call.name == REWRITE_TOOL or (call.name and (call.arguments or call.error)) for call in calls):
            return calls
    return [ToolCall(REWRITE_TOOL, {REWRITE_ARGUMENT: paragraph}, raw=text)]


def paragraph_reply(paragraph: str) -> str:
    """A reply that ``MEM1-v0`` reads as exactly ``paragraph`` (stripped), whatever text it holds.

    ``paragraph`` itself when it reads back as that paragraph (any ordinary text); otherwise — text
    that holds tool-call markers, ``</think>``, or a JSON call, e.g. copied from a chunk — an explicit
    ``memory_rewrite`` call written by :func:`memenv.parsing.render_tool_calls`, whose JSON escapes keep
    such text inert. Policies that pass chunk text through use it, so chunk text stays data. An empty
    or whitespace-only paragraph gives ``""`` (no call: the memory stays as it is).
    """
    text = paragraph.strip()
    if not text:
        return ""
    if parse_reply(paragraph) == [ToolCall(REWRITE_TOOL, {REWRITE_ARGUMENT: text}, raw=paragraph)]:
        return paragraph
    return render_tool_calls([{"name": REWRITE_TOOL, "arguments": {REWRITE_ARGUMENT: text}}])


class Mem1Env(MemoryEnv):
    """
    ## Description

    A MEM1 / MemAgent-style memory as a Gymnasium environment. An agent reads a long stream one chunk
    per step and keeps a single flat memory paragraph under a token budget (MemAgent: 1024 tokens),
    which it rewrites in full after every chunk. After the last chunk a reader answers questions
    about the stream from that paragraph alone, and the answers are scored. Same task suite, reader,
    metrics, reward parts and conformance checks as ``MemAlpha-v0``; only the memory differs.

    MemAgent and MEM1 show the question while the memory is written; here (as in Mem-α) the
    questions come only after the last chunk, so the paragraph must anticipate them.

    Memory: :class:`memenv.memory.Memory` with only its **core** string in use, capped at
    ``memory_token_budget`` tokens; a longer paragraph is cut at the cap and ends with the visible
    marker ``" [...truncated]"``. The semantic and episodic lists stay empty.

    ## Action Space

    ``AnyText``: the writer's reply.

    - Plain text is the new paragraph: one ``memory_rewrite`` call, always executed. A Qwen3
      reasoning block ending in ``</think>`` is dropped first; surrounding whitespace is stripped.
    - A tool call — ``<tool_call>{"name": "memory_rewrite", "arguments": {"new_memory": ...}}
      </tool_call>``, a Qwen-Agent ``✿FUNCTION✿``/``✿ARGS✿`` pair, or a reply that is a JSON call
      object/list — is read with :func:`memenv.parsing.parse_tool_calls` whenever such markers are
      present, or the reply starts with ``{`` / ``[`` and holds a JSON call: one that names
      ``memory_rewrite``, or names a tool and gives it arguments. Several calls run in order (the last
      wins). Another tool name is ``unknown_tool``, a missing
      ``new_memory`` is ``missing_argument``, a non-string one ``invalid_argument``, unreadable JSON
      inside markers ``parse_error``; none of them changes the paragraph. A reply that starts with
      ``[`` / ``{`` but holds no call — a ``[Dialogue at ...]`` header, a note in braces, a JSON
      record such as ``{"name": "Caroline", "city": "Berlin"}`` — is plain text like any other.
    - A policy that copies chunk text into its paragraph should reply with
      :func:`paragraph_reply`, which wraps text that would otherwise read as calls in an explicit,
      escaped ``memory_rewrite`` call: chunk text is data, never executed.
    - An empty or whitespace-only reply is no call: the paragraph stays as it is (r2 = 0).

    ## Observation Space

    ``Dict(chunk=AnyText, memory=AnyText)``: the chunk to read at this step (``""`` after the last
    one) and the current paragraph verbatim (``""`` when empty). ``info["messages"]`` holds ready chat
    messages (a system prompt with the rules and the budget; a user message with the paragraph, its
    token count and the chunk) and ``info["tools"]`` the schema of ``memory_rewrite(new_memory)``.

    ## Rewards

    As in ``MemAlpha-v0``: ``r_t = r1 + r2_t + beta * r3 + gamma * r4_t`` with ``r1_qa`` (last step:
    mean question score, or a reader-free recall with ``qa_signal``), ``r2_tool_call`` (share of
    this step's calls that executed; 0 without a call), ``r3_compression`` (last step:
    ``1 - memory_tokens / stream_tokens``) and ``r4_content``
    (share of executed rewrites the judge accepts). The judge sees a rewrite as Mem-α's
    ``memory_update`` of the core (``Write("memory_update", "core", new, old)``), so any Mem-α judge
    works; the default :class:`memenv.reward.GroundingJudge` accepts a paragraph when at least half
    of its distinct words come from the chunk or the previous paragraph. All parts are in
    ``info["reward_components"]``.

    ## Starting State

    ``reset(seed=...)`` draws an episode (same seed, same episode), empties the paragraph and shows
    the first chunk.

    ## Episode End

    Terminates after the step that reads the last chunk: the reader (default
    :class:`memenv.readers.EvidenceReader`) answers every question with the whole paragraph as its
    context (``ReaderContext(core=paragraph, passages=())``; there is nothing to retrieve from), and
    ``info["qa"]`` holds the accuracy, the mean ``answer_recall`` and ``evidence_recall`` (and
    ``evidence_left_out``: questions without evidence) and one row per question (question, answers,
    prediction, metric, category, score, ``answer_recall``, ``evidence_recall``, ``context_ids``: the
    memory entries the reader was given). Never truncates.

    ## Info

    As in ``MemAlpha-v0``: every step ``messages``, ``tools``, ``tool_results``, ``parse_error``,
    ``reward_components``, ``step``, ``num_chunks``, ``memory_tokens``, ``competency``,
    ``episode_id``; last step ``qa`` and ``memory`` (``{"core": paragraph, "semantic": [],
    "episodic": []}``).

    ## Arguments

    ```python
    import gymnasium as gym
    import memenv

    env = gym.make("memenv/MEM1-v0", task="conflict_resolution", context_tokens=8192, memory_token_budget=1024)
    obs, info = env.reset(seed=0)
    obs, reward, terminated, truncated, info = env.step("Notes: " + obs["chunk"][:200])
    ```

    - ``task``: a competency name or ``"mixed"`` (default).
    - ``context_tokens`` (8192), ``chunk_tokens`` (512), ``num_questions`` (10): generator sizes.
    - ``episodes``: a sequence of :class:`memenv.tasks.Episode` to sample from instead of generating.
    - ``dataset``, ``source``, ``dataset_split``: sample episodes from published data instead
      (:func:`memenv.tasks.load`).
    - ``reader``: ``"evidence"`` or a :class:`memenv.readers.Reader`; ``reader_top_k`` (20) is kept
      for a uniform signature and unused (the reader always sees the whole paragraph).
    - ``qa_signal`` (``"reader"``): what ``r1_qa`` is — ``"reader"``: the reader's mean question score
      (Mem-α); ``"answer_recall"`` or ``"evidence_recall"``: the mean reader-free recall of the gold
      answer's tokens (or of the evidence statements' content words) in what the reader is given
      (:func:`memenv.metrics.answer_recall`, :func:`memenv.metrics.evidence_recall`), so a writer can
      be trained with RL on real data (LoCoMo, LongMemEval, MemoryAgentBench) without any LLM. The
      rest of the reward is unchanged. ``"evidence_recall"`` needs episodes whose questions name
      their evidence (checked at ``reset``).
    - ``beta`` (0.05), ``gamma`` (0.1): reward weights; ``judge``: the r4 judge.
    - ``memory_token_budget`` (1024): the paragraph's token cap (MemAgent's memory size).
    - ``max_memory_tokens`` (None): a cap on the whole memory; a write that would grow it past the cap
      fails with ``over_budget`` and changes nothing, so storing everything becomes impossible (pair it
      with a larger ``beta`` to also reward compactness).
    - ``feedback_tool_results`` (False): prepend the previous step's call results to the next user
      message.
    - ``system_prompt`` (None): your own system prompt template instead of the default (prompt
      ablations, small models); it may use ``{budget}``, ``{tool}`` and ``{argument}``; checked at
      construction.
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

    - v0: initial release.
    - v1: the same env with ``suite="v1"``: episodes from suite v1 of the generators (coreference,
      relative dates, out-of-order and withdrawn updates, relabelling, event order and causes, ...;
      docs/suite_v1.md). v0 keeps suite v0.
    - ids: registered as ``memenv/MEM1-v0`` and ``memenv/MEM1-v1`` (Gymnasium namespace ``memenv``);
      the earlier ids ``MEM1-v0`` / ``MEM1-v1`` stay registered as aliases of the same envs.
    """

    default_system_prompt = SYSTEM_PROMPT
    system_prompt_fields = ("budget", "tool", "argument")
    tool_schemas: ClassVar[list[dict[str, Any]]] = [REWRITE_SCHEMA]

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
        memory_token_budget: int = 1024,
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
        self.memory_token_budget = check_int("memory_token_budget", memory_token_budget, minimum=1)
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
            # Memory validates the cap (it must leave room for the truncation marker).
            core_token_limit=self.memory_token_budget,
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

    def _parse(self, text: str) -> list[ToolCall]:
        return parse_reply(text)

    def _execute(self, call: ToolCall) -> tuple[ToolResult, Write | None]:
        if call.error is not None:
            return ToolResult(call, False, PARSE_ERROR, call.error), None
        if call.name != REWRITE_TOOL:
            message = f"unknown tool {call.name!r}; the tool is {REWRITE_TOOL}"
            return ToolResult(call, False, UNKNOWN_TOOL, message), None
        if REWRITE_ARGUMENT not in call.arguments:
            return ToolResult(call, False, MISSING_ARGUMENT, f"{REWRITE_TOOL} needs {REWRITE_ARGUMENT}"), None
        paragraph = call.arguments[REWRITE_ARGUMENT]
        if not isinstance(paragraph, str):
            message = f"{REWRITE_ARGUMENT} must be a string, got {type(paragraph).__name__}"
            return ToolResult(call, False, INVALID_ARGUMENT, message), None
        previous = self.memory.core
        paragraph = paragraph.strip()
        try:
            cut = self.memory.set_core(paragraph)
        except MemoryOpError as exc:  # over max_memory_tokens
            return ToolResult(call, False, exc.kind, exc.message), None
        message = "memory cut to its token budget" if cut else ""
        return ToolResult(call, True, message=message), Write("memory_update", "core", paragraph, previous)

    def _memory_view(self, chunk: str) -> str:
        return self.memory.core

    def _messages(self, chunk: str, view: str, feedback: str) -> list[dict[str, str]]:
        assert self.episode is not None
        user = USER_PROMPT.format(
            used=self.memory.tokens("core"),
            budget=self.memory_token_budget,
            memory=view or "(empty)",
            step=self._step + 1,
            total=len(self.episode.chunks),
            chunk=chunk,
        )
        if feedback:
            user = f"{feedback}\n\n{user}"
        system = self.system_prompt.format(
            budget=self.memory_token_budget, tool=REWRITE_TOOL, argument=REWRITE_ARGUMENT
        )
        return [{"role": "system", "content": system}, {"role": "user", "content": user}]

    def _reader_context(self) -> ContextFn:
        context = ReaderContext(self.memory.core, ())
        return lambda _question: context
