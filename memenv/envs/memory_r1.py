"""``MemoryR1-v0``: manage a fact bank with Memory-R1's ADD / UPDATE / DELETE / NONE operations."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np

from memenv.envs.base import MemoryEnv
from memenv.envs.options import check_int
from memenv.limits import MAX_CALLS_PER_STEP, MAX_ENTRY_CHARS, MAX_REPLY_CHARS
from memenv.memory import (
    INVALID_ARGUMENT,
    LIST_TIERS,
    MISSING_ARGUMENT,
    Memory,
    MemoryEntry,
    MemoryOpError,
    normalize_id,
)

# The tolerant JSON decoding (C decoder, then json_repair under a character-count budget) and the
# fence/marker handling are the tool-call parser's; reusing them keeps one set of repair limits.
from memenv.parsing import (
    FENCE,
    FN_ARGS,
    FN_NAME,
    TOOL_CALL_CLOSE,
    TOOL_CALL_OPEN,
    TOOL_RESPONSE_OPEN,
    RepairBudget,
    decode_json_values,
    parse_tool_calls,
    strip_thinking,
    unfence,
)
from memenv.qa import ContextFn
from memenv.readers import Passage, Reader, ReaderContext
from memenv.retrieval import BM25Index, tokenize
from memenv.reward import BETA, GAMMA, ContentJudge, Write
from memenv.tasks import Episode
from memenv.tasks.chunking import split_sentences
from memenv.tasks.records import Question
from memenv.tools import PARSE_ERROR, ToolCall, ToolResult

BANK = "semantic"  # the Memory tier that holds the fact bank
EVENTS = ("ADD", "UPDATE", "DELETE", "NONE")
EVENT_ALIASES = {"NOOP": "NONE", "NO_OP": "NONE", "NO-OP": "NONE"}

OPERATIONS_TOOL = "memory_operations"
OPERATIONS_SCHEMA: dict[str, Any] = {
    "type": "function",
    "function": {
        "name": OPERATIONS_TOOL,
        "description": "Apply a list of operations to the fact bank (the same object can be written as plain JSON).",
        "parameters": {
            "type": "object",
            "properties": {
                "memory": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {
                            "id": {"type": "string", "description": "Id of an existing fact (ignored for ADD)."},
                            "text": {"type": "string", "description": "The fact's text (the new text for UPDATE)."},
                            "event": {"type": "string", "enum": list(EVENTS)},
                            "old_memory": {"type": "string", "description": "For UPDATE: the text it replaces."},
                        },
                        "required": ["event"],
                    },
                }
            },
            "required": ["memory"],
        },
    },
}

SYSTEM_PROMPT = """\
You are the memory manager of an assistant that reads a long text one section at a time. Facts are \
kept in a fact bank, one short fact per entry; after the last section, questions about the whole \
text are answered from the bank alone. For each section, find the facts worth keeping (names, \
numbers, dates, definitions, labelled examples, events) and compare each with the existing facts \
you are shown:
- ADD: a new fact the bank does not hold (the bank assigns its id).
- UPDATE: the fact of entry "id" has changed or can be made more complete; give the new "text" \
(and the replaced text as "old_memory"). Prefer this over adding a second, conflicting fact.
- DELETE: entry "id" is wrong or contradicted and should go.
- NONE: the fact is already in the bank as it is.
Reply with one JSON object and nothing else:
{{"memory": [{{"id": "...", "text": "...", "event": "ADD|UPDATE|DELETE|NONE", "old_memory": "..."}}]}}
An empty list changes nothing."""

USER_PROMPT = """\
{view}

New section ({step} of {total}):
{chunk}

Reply with the operations as JSON."""


class MemoryR1Env(MemoryEnv):
    """
    ## Description

    A Memory-R1-style fact bank as a Gymnasium environment. An agent (the memory manager) reads a
    long stream one chunk per step; at each step it sees the chunk and the bank entries most similar
    to it and answers with Memory-R1's operation list: ADD a new fact, UPDATE an entry whose fact
    changed, DELETE a wrong one, or NONE. After the last chunk an answer agent retrieves the facts
    most related to each question, selects the useful ones and answers; the answers are scored.
    Same task suite, reader, metrics, reward parts and conformance checks as ``MemAlpha-v0``.

    Memory: :class:`memenv.memory.Memory` with its **semantic** list as the fact bank (entries
    ``{id, text}``, short ids that are deterministic per seed, never reused; a duplicate text is
    refused). The core and the episodic list stay empty.

    ## Action Space

    ``AnyText``: the reply, holding ``{"memory": [{"id", "text", "event", "old_memory"}, ...]}``
    (a bare list of operations, or a single operation object, also works). It is read from, in this
    order of precedence: ``<tool_call>`` blocks (the object itself, or ``{"name":
    "memory_operations", "arguments": {"memory": [...]}}``), Qwen-Agent ``✿FUNCTION✿``/``✿ARGS✿``
    calls whose arguments hold ``memory``, the first ````` fence, or a reply that starts with ``{`` /
    ``[``; JSON goes through the same repair as :func:`memenv.parsing.parse_tool_calls`. A Qwen3
    ``</think>`` block is dropped first. Prose without JSON is no operation (r2 = 0); JSON that cannot
    be read, or an object with no ``memory`` list, is one failed call (``parse_error``).

    Each operation is one call, executed in order:

    - ``ADD``: insert ``text`` (the id is assigned by the bank; a given ``id`` is ignored).
    - ``UPDATE``: replace the text of entry ``id`` with ``text`` (``old_memory`` is informational).
    - ``DELETE``: remove entry ``id``.
    - ``NONE`` (or ``NOOP``): executed, changes nothing.

    Failures (the operation changes nothing): no ``event`` / ``text`` / ``id`` where needed ->
    ``missing_argument``; an unknown event, a non-string text, an empty text or an id that is not a
    string or integer -> ``invalid_argument``; an id not in the bank -> ``unknown_id``; ADD or UPDATE
    to a text the bank already holds elsewhere -> ``duplicate``; an operation that is not a JSON
    object -> ``parse_error``. Event names are case-insensitive; ids may be written ``"[a3f1]"``.

    ## Observation Space

    ``Dict(chunk=AnyText, memory=AnyText)``: the chunk to read (``""`` after the last one) and the
    manager's view of the bank, two lines: ``"Fact bank: N facts; the k most similar to this
    chunk:"`` and a JSON list ``[{"id": ..., "text": ...}, ...]`` of the ``similar_k`` entries most
    similar to the chunk: each sentence of the chunk is a BM25 query, and the candidates rank by their
    word overlap with the sentence they resemble most (best first; entries sharing no word with the
    chunk are left out; see :meth:`similar_entries`). Memory-R1 retrieves similar memories per
    extracted fact; ranking per sentence approximates that without knowing what will be extracted.
    ``info["messages"]`` holds the Memory-R1-style manager prompt (system: the operations; user: the
    view and the chunk); ``info["tools"]`` a ``memory_operations(memory=[...])`` schema for models
    that prefer tool calls.

    ## Rewards

    As in ``MemAlpha-v0``: ``r_t = r1 + r2_t + beta * r3 + gamma * r4_t`` — ``r1_qa`` (last step; a
    reader-free recall with ``qa_signal``),
    ``r2_tool_call`` (share of this step's operations that executed, NONE included; 0 without an
    operation), ``r3_compression`` (last step) and ``r4_content`` (share of this step's changing
    operations the judge accepts; NONE is not judged). The judge sees ADD / UPDATE / DELETE as
    Mem-α's ``new_memory_insert`` / ``memory_update`` / ``memory_delete`` on the ``semantic`` tier,
    so any Mem-α judge works; by default deletes score 0, as in Mem-α.

    ## Starting State

    ``reset(seed=...)`` draws an episode (same seed, same episode and ids), empties the bank and
    shows the first chunk.

    ## Episode End

    Terminates after the step that reads the last chunk. For each question the answer agent is given
    the BM25 top-``reader_top_k`` facts (Memory-R1: 60; the question is the query) as passages, best
    first. Memory-R1's answer agent first selects the useful facts, then answers. With the default
    offline :class:`memenv.readers.EvidenceReader` the selection step is the reader's own span
    scoring: it ranks the retrieved facts against the question and answers with the best one (no
    model involved). With ``reader=LLMReader(model, style="memory-r1")`` the model is prompted to
    name the useful memories first and then answer, and only its answer is scored.
    ``info["qa"]`` holds the accuracy, the mean ``answer_recall`` and ``evidence_recall`` (and
    ``evidence_left_out``: questions without evidence) and one row per question (question, answers,
    prediction, metric, category, score, ``answer_recall``, ``evidence_recall``, ``context_ids``: the
    memory entries the reader was given). Never truncates.

    ## Info

    As in ``MemAlpha-v0``: every step ``messages``, ``tools``, ``tool_results`` (one record per
    operation; ``name`` is the event), ``parse_error``, ``reward_components``, ``step``,
    ``num_chunks``, ``memory_tokens``, ``competency``, ``episode_id``; last step ``qa`` and
    ``memory`` (the bank is ``memory["semantic"]``).

    ## Arguments

    ```python
    import gymnasium as gym
    import memenv

    env = gym.make("memenv/MemoryR1-v0", task="conflict_resolution", context_tokens=8192, similar_k=10)
    obs, info = env.reset(seed=0)
    obs, reward, terminated, truncated, info = env.step(
        '{"memory": [{"id": "0", "text": "Mira Okafor lives in Port Senna.", "event": "ADD"}]}'
    )
    ```

    - ``task``: a competency name or ``"mixed"`` (default).
    - ``context_tokens`` (8192), ``chunk_tokens`` (512), ``num_questions`` (10): generator sizes.
    - ``episodes``: a sequence of :class:`memenv.tasks.Episode` to sample from instead of generating.
    - ``dataset``, ``source``, ``dataset_split``: sample episodes from published data instead
      (:func:`memenv.tasks.load`).
    - ``reader``: ``"evidence"`` or a :class:`memenv.readers.Reader`; ``reader_top_k`` (60): facts
      retrieved per question.
    - ``qa_signal`` (``"reader"``): what ``r1_qa`` is — ``"reader"``: the reader's mean question score
      (Mem-α); ``"answer_recall"`` or ``"evidence_recall"``: the mean reader-free recall of the gold
      answer's tokens (or of the evidence statements' content words) in what the reader is given
      (:func:`memenv.metrics.answer_recall`, :func:`memenv.metrics.evidence_recall`), so a writer can
      be trained with RL on real data (LoCoMo, LongMemEval, MemoryAgentBench) without any LLM. The
      rest of the reward is unchanged. ``"evidence_recall"`` needs episodes whose questions name
      their evidence (checked at ``reset``).
    - ``beta`` (0.05), ``gamma`` (0.1): reward weights; ``judge``: the r4 judge.
    - ``similar_k`` (10): bank entries shown per step.
    - ``max_memory_tokens`` (None): a cap on the whole memory; a write that would grow it past the cap
      fails with ``over_budget`` and changes nothing, so storing everything becomes impossible (pair it
      with a larger ``beta`` to also reward compactness).
    - ``feedback_tool_results`` (False): prepend the previous step's operation results to the next
      user message.
    - ``system_prompt`` (None): your own system prompt template instead of the default (prompt
      ablations, small models); it has no fields (write literal braces as ``{{ }}``); checked at
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
    - ids: registered as ``memenv/MemoryR1-v0`` and ``memenv/MemoryR1-v1`` (Gymnasium namespace ``memenv``);
      the earlier ids ``MemoryR1-v0`` / ``MemoryR1-v1`` stay registered as aliases of the same envs.
    """

    default_system_prompt = SYSTEM_PROMPT
    system_prompt_fields = ()
    tool_schemas: ClassVar[list[dict[str, Any]]] = [OPERATIONS_SCHEMA]

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
        reader_top_k: int = 60,
        qa_signal: str = "reader",
        beta: float = BETA,
        gamma: float = GAMMA,
        judge: ContentJudge | None = None,
        similar_k: int = 10,
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
        similar_k = check_int("similar_k", similar_k, minimum=0)
        self.similar_k = similar_k
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
            core_token_limit=512,  # unused: the core stays empty
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

    def _reader_context(self) -> ContextFn:
        """The base's reader context (core + BM25 top-``reader_top_k`` per list tier), which is exactly
        the answer agent's retrieval here since only the bank tier holds entries, searched in the env's
        own index of the bank instead of a new one: it holds the bank's texts in the bank's order, so
        the hits, scores and ties are the same (terms of rewritten or deleted entries stay in its
        vocabulary with no postings, which changes no score)."""
        memory, index, top_k = self.memory, self._index, self.reader_top_k
        bank = [entry.id for entry in memory.entries(BANK)]
        if any(memory.size(tier) for tier in LIST_TIERS if tier != BANK) or index.keys() != bank:
            # Not written by this env's operations alone (another tier, or a bank changed directly).
            return super()._reader_context()

        def context(question: Question) -> ReaderContext:
            hits = [memory.get(BANK, key) for key, _ in index.search(question.question, top_k)]  # type: ignore[arg-type]
            return ReaderContext(memory.core, tuple(Passage(e.text, BANK, e.id) for e in hits if e is not None))

        return context

    def _new_memory(self, seed: int) -> Memory:
        # The view needs BM25 scores per sentence and word overlaps (Memory.related gives ranks
        # only), so the env keeps its own index of the bank, updated by every executed operation.
        self._index = BM25Index()
        return super()._new_memory(seed)

    def _indexed(self, entry: MemoryEntry, new: bool) -> None:
        """Record an added (``new``) or rewritten bank entry in the env's index."""
        if new:
            self._index.add(entry.id, entry.text)
        else:
            self._index.replace(entry.id, entry.text)

    def _parse(self, text: str) -> list[ToolCall]:
        return parse_operations(text)

    def _execute(self, call: ToolCall) -> tuple[ToolResult, Write | None]:
        if call.error is not None:
            return ToolResult(call, False, PARSE_ERROR, call.error), None
        op = call.arguments
        event = op.get("event")
        if event is None:
            return ToolResult(call, False, MISSING_ARGUMENT, f"the operation needs an event, one of {EVENTS}"), None
        event = normalize_event(event)
        if event is None:
            message = f"unknown event {op['event']!r}; expected one of {', '.join(EVENTS)} (or NOOP)"
            return ToolResult(call, False, INVALID_ARGUMENT, message), None
        if event == "NONE":
            return ToolResult(call, True), None
        try:
            if event == "ADD":
                if "text" not in op:
                    return ToolResult(call, False, MISSING_ARGUMENT, "ADD needs text"), None
                entry = self.memory.insert(BANK, op["text"])
                self._indexed(entry, new=True)
                return ToolResult(call, True, memory_id=entry.id), Write("new_memory_insert", BANK, entry.text, "")
            memory_id = _operation_id(op)
            if event == "UPDATE":
                if "text" not in op:
                    return ToolResult(call, False, MISSING_ARGUMENT, "UPDATE needs text"), None
                old = self.memory.get(BANK, memory_id) if memory_id is not None else None
                entry = self.memory.update(BANK, op["text"], memory_id)
                assert entry is not None and old is not None
                self._indexed(entry, new=False)
                return ToolResult(call, True, memory_id=memory_id), Write("memory_update", BANK, entry.text, old.text)
            old = self.memory.delete(BANK, memory_id)
            assert old is not None
            self._index.remove(memory_id)
            return ToolResult(call, True, memory_id=memory_id), Write("memory_delete", BANK, "", old.text)
        except MemoryOpError as exc:
            return ToolResult(call, False, exc.kind, exc.message), None

    def _memory_view(self, chunk: str) -> str:
        shown = self.similar_entries(chunk)
        header = f"Fact bank: {self.memory.size(BANK)} facts; the {len(shown)} most similar to this chunk:"
        return header + "\n" + json.dumps([{"id": e.id, "text": e.text} for e in shown], ensure_ascii=False)

    def similar_entries(self, chunk: str) -> list[MemoryEntry]:
        """The ``similar_k`` bank entries most similar to ``chunk``, best first.

        Memory-R1 retrieves similar memories per extracted fact; the env does not know which facts
        the manager will extract, so it treats every sentence of the chunk (lines, then sentences) as
        one: each sentence's BM25 top-``similar_k`` entries are the candidates, and a candidate ranks
        by its word overlap (Jaccard over lowercase ``\\w+`` words) with the sentence it resembles
        most, then by BM25 score, then age (older first). Overlap is normalised, so the old version
        of a restated fact outranks long entries that merely share many common words with the chunk.
        """
        if not chunk or not self.similar_k or not len(self._index):
            return []
        # A repeated sentence adds the same hits with the same overlaps and scores again, which changes no
        # entry's best (overlap, score): each distinct token sequence is searched once.
        queries = list(dict.fromkeys(tuple(tokenize(s)) for line in chunk.splitlines() for s in split_sentences(line)))
        hits = self._index.top_k_many(queries, self.similar_k)
        if not len(hits.position):
            return []
        # Jaccard overlap of each hit with its sentence: shared words / (sentence words + entry words
        # - shared words); the index knows how many distinct words each entry has and how many of the
        # sentence's it contains. Exact integers in float64, so the division rounds as Python's int / int.
        sentence_words = np.array([len(set(tokens)) for tokens in queries])[hits.query]
        shared = hits.matched
        overlap = shared / (sentence_words + self._index.distinct_terms()[hits.position] - shared)
        # Each entry's best (overlap, score), then entries by it, then by age: the index keeps the
        # bank's insertion order (an UPDATE keeps its place), so the earlier position is the older.
        order = np.lexsort((hits.position, -hits.score, -overlap))
        positions = hits.position[order]
        _, first = np.unique(positions, return_index=True)
        ranked = positions[np.sort(first)][: self.similar_k]
        keys = hits.keys
        return [entry for i in ranked.tolist() if (entry := self.memory.get(BANK, keys[i])) is not None]  # type: ignore[arg-type]

    def _messages(self, chunk: str, view: str, feedback: str) -> list[dict[str, str]]:
        assert self.episode is not None
        user = USER_PROMPT.format(view=view, step=self._step + 1, total=len(self.episode.chunks), chunk=chunk)
        if feedback:
            user = f"{feedback}\n\n{user}"
        return [{"role": "system", "content": self.system_prompt.format()}, {"role": "user", "content": user}]


def normalize_event(event: object) -> str | None:
    """``"add"``, ``" Update "``, ``"NOOP"`` ... -> one of :data:`EVENTS`; None if not an event."""
    if not isinstance(event, str):
        return None
    name = event.strip().upper()
    name = EVENT_ALIASES.get(name, name)
    return name if name in EVENTS else None


def _operation_id(op: dict[str, Any]) -> str | None:
    """The entry id of an UPDATE / DELETE; raises MemoryOpError when it is missing or not an id."""
    if op.get("id") is None:
        raise MemoryOpError(MISSING_ARGUMENT, f"{str(op.get('event')).strip().upper()} needs the id of an entry")
    raw = op["id"]
    if isinstance(raw, int) and not isinstance(raw, bool):
        raw = str(raw)  # Memory-R1's prompts number memories; a model may write them as integers
    memory_id = normalize_id(raw)
    if memory_id is None:
        raise MemoryOpError(INVALID_ARGUMENT, f"id must be a non-empty string, got {op['id']!r}")
    return memory_id


# --- reading the operation list ---------------------------------------------------------------------


def parse_operations(text: str) -> list[ToolCall]:
    """The operations in a reply, in order, as calls named by their event (see the class docstring).

    Never raises on a string. Each operation object becomes ``ToolCall(name=<event as written,
    stripped>, arguments=<the object>)``; what cannot be read becomes one call with ``error`` set.
    """
    if not isinstance(text, str):
        raise TypeError(f"parse_operations expects the reply as a str, got {type(text).__name__}")
    try:
        text = strip_thinking(text)
        budget = RepairBudget()
        if TOOL_CALL_OPEN in text:
            response = text.find(TOOL_RESPONSE_OPEN)
            if response >= 0:
                text = text[:response]
            calls: list[ToolCall] = []
            for piece in text.split(TOOL_CALL_OPEN)[1:]:
                close = piece.find(TOOL_CALL_CLOSE)
                body = unfence((piece if close < 0 else piece[:close]).strip())
                calls.extend(_operations_from_json(body, TOOL_CALL_OPEN + piece, "the <tool_call> block", budget))
            return calls
        if FN_NAME in text or FN_ARGS in text:
            return _operations_from_tool_calls(parse_tool_calls(text))
        stripped = text.strip()
        fence = stripped.find(FENCE)
        if stripped.startswith(("{", "[")):
            return _operations_from_json(stripped, stripped, "the reply", budget)
        if fence >= 0:
            body = unfence(stripped[fence:])
            if not body.startswith(("{", "[")):
                return []  # a fenced block of something else is not an operation list
            return _operations_from_json(body, stripped, "the fenced block", budget)
        return []
    except Exception as exc:  # last line of defence: a parser bug must not crash env.step
        return [ToolCall(name="", arguments={}, error=f"internal parser error: {exc!r}", raw=text)]


def _operations_from_json(body: str, raw: str, where: str, budget: RepairBudget) -> list[ToolCall]:
    if not body.startswith(("{", "[")):
        return [ToolCall(name="", arguments={}, error=f"{where} is not JSON", raw=raw)]
    values, error = decode_json_values(body, budget)
    if error is not None:
        return [ToolCall(name="", arguments={}, error=f"{where} {error}", raw=raw)]
    calls: list[ToolCall] = []
    for value in values:
        calls.extend(_operations_from_value(value, raw, budget))
    return calls


def _operations_from_value(value: Any, raw: str, budget: RepairBudget, depth: int = 0) -> list[ToolCall]:
    """One decoded JSON value -> operations: ``{"memory": [...]}``, a list, one op, or a call wrapper."""
    if isinstance(value, list):
        return [_operation(item, raw) for item in value]
    if not isinstance(value, dict):
        return [ToolCall(name="", arguments={}, error=f"expected {{'memory': [...]}}, got {_kind(value)}", raw=raw)]
    if "memory" in value:
        ops = value["memory"]
        if isinstance(ops, dict):
            ops = [ops]
        if not isinstance(ops, list):
            return [ToolCall(name="", arguments={}, error=f"'memory' must be a list, got {_kind(ops)}", raw=raw)]
        return [_operation(item, raw) for item in ops]
    if "event" in value:
        return [_operation(value, raw)]
    if depth < 2:
        # A tool-call wrapper: {"name": ..., "arguments": {...} or "<json>"} or {"function": {...}}.
        inner = value.get("arguments", value.get("parameters", value.get("function")))
        if isinstance(inner, str) and inner.strip().startswith("{"):
            decoded, error = decode_json_values(inner.strip(), budget)
            inner = decoded[0] if error is None else None
        if isinstance(inner, dict):
            return _operations_from_value(inner, raw, budget, depth + 1)
    return [ToolCall(name="", arguments={}, error="the object has no 'memory' list of operations", raw=raw)]


def _operations_from_tool_calls(calls: list[ToolCall]) -> list[ToolCall]:
    out: list[ToolCall] = []
    for call in calls:
        if call.error is not None:
            out.append(call)
        else:
            out.extend(_operations_from_value(call.arguments, call.raw, RepairBudget(0), depth=2))
    return out


def _operation(item: Any, raw: str) -> ToolCall:
    if not isinstance(item, dict):
        return ToolCall(name="", arguments={}, error=f"an operation must be a JSON object, got {_kind(item)}", raw=raw)
    event = item.get("event")
    return ToolCall(name=event.strip() if isinstance(event, str) else "", arguments=item, raw=raw)


def _kind(value: Any) -> str:
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "a list"
    return "a string" if isinstance(value, str) else type(value).__name__
