"""An LLM reader: a chat model answers each question from the memory it is shown.

Two prompt shapes, after the papers (our wording):

- ``"mem-alpha"`` (Mem-α's reader): the core memory in full, then the retrieved semantic and episodic
  entries, then the question, with an instruction that depends on the question's metric: a short answer
  for QA, ``\\boxed{label}`` for classification (``boxed_label_em``), a summary for summary questions
  (``keyword_hit``). The reply is the answer.
- ``"memory-r1"`` (Memory-R1's answer agent): the retrieved memories numbered; the model first names the
  memories that matter, then writes ``Answer: ...`` on its last line. The reader returns what follows the
  last ``Answer:`` (the whole reply when there is none), so the selection step is not scored as answer.

Either way a reasoning block (``<think>...</think>``, Qwen3) is removed first, as a serving stack with a
reasoning parser does; a reply whose reasoning never closes has no answer (``""``).

Any :class:`memenv.llm.ChatModel` works: a local Hugging Face model, the embedded SmolLM2, or an
OpenAI-compatible server (e.g. the Qwen3-32B reader Mem-α used, served by vLLM)::

    from memenv.llm import make_chat_model
    from memenv.readers.llm import LLMReader

    reader = LLMReader(make_chat_model("hf:default"))
    reader.answer(question, context)

:class:`LLMJudge` turns the same kind of model into the judge of the ``llm_judge`` questions: each scoring
profile sends it its reference prompt (LongMemEval's per question type, Mem-α's, Mem0's) and reads the
reply with its own verdict rule (:data:`memenv.metrics.JUDGE_TEMPLATES`).
"""

from __future__ import annotations

from collections.abc import Sequence

from memenv import tokenizer
from memenv.llm import ChatModel, Message
from memenv.metrics import answer_tail, judge_prompt, parse_judge_verdict, strip_reasoning
from memenv.readers.base import Passage, Reader, ReaderContext
from memenv.tasks.records import Question

STYLES = ("mem-alpha", "memory-r1")

# How each passage source is headed in the Mem-α prompt, in the order the sections appear.
_SECTIONS = (
    ("semantic", "Semantic memory (facts and knowledge; most relevant first)"),
    ("episodic", "Episodic memory (events, with times where known; most relevant first)"),
    ("chunk", "Retrieved text (most relevant first)"),
)
_OTHER_SECTION = "Other retrieved memory (most relevant first)"

MEM_ALPHA_SYSTEM = (
    "You answer questions using memory notes written while a long text was read: a core summary, "
    "semantic entries (facts and knowledge) and episodic entries (events, with times where known). Only "
    "the entries most related to the question are shown."
)

MEMORY_R1_SYSTEM = (
    "You answer questions about earlier conversations using memories retrieved for you. Some memories may "
    "be unrelated to the question, and some may be out of date: when two disagree, trust the more recent "
    "one."
)

QA_INSTRUCTION = "Reply with the answer only, in a few words."
CLASSIFICATION_INSTRUCTION = (
    "The memory holds examples with their labels. Decide which label the input in the question belongs "
    "to, and reply with that label only, written as \\boxed{label}."
)
SUMMARY_INSTRUCTION = (
    "Write a summary of the whole text from what the memory holds: the main events, the people or "
    "things involved, and how it ends."
)
SELECT_THEN_ANSWER = (
    "First, write the numbers of the memories that help answer the question, as `Relevant: 2, 5` (or "
    "`Relevant: none`). Then, on a last line, write `Answer:` followed by {what}."
)


def task_instruction(question: Question) -> str:
    """The instruction that follows the question, chosen by the question's metric."""
    if question.metric == "boxed_label_em":
        return CLASSIFICATION_INSTRUCTION
    if question.metric == "keyword_hit":
        return SUMMARY_INSTRUCTION
    return QA_INSTRUCTION


def _answer_form(question: Question) -> str:
    if question.metric == "boxed_label_em":
        return "the label only, written as \\boxed{label}"
    if question.metric == "keyword_hit":
        return "a summary of the main events, the people or things involved, and how it ends"
    return "a short answer of a few words"


def fit_context(context: ReaderContext, max_tokens: int | None) -> ReaderContext:
    """``context`` cut to about ``max_tokens`` tokens (``None``: unchanged).

    The core is kept first (cut with a ``" [...]"`` marker if it alone is too long), then passages in
    retrieval order while they fit; a passage that does not fit is dropped whole, and so are all
    after it. Counts use memenv's tokenizer (o200k_base), which is close to, not equal to, the model's
    own; leave a margin below the model's context length.
    """
    if max_tokens is None:
        return context
    if max_tokens < 0:
        raise ValueError(f"max_tokens must be >= 0 or None, got {max_tokens}")
    core, _ = tokenizer.truncate(context.core, max_tokens, marker=" [...]")
    room = max_tokens - tokenizer.count_tokens(core)
    kept: list[Passage] = []
    for passage, size in zip(
        context.passages, tokenizer.count_tokens_batch([p.text for p in context.passages]), strict=True
    ):
        if size > room:
            break
        kept.append(passage)
        room -= size
    return ReaderContext(core, tuple(kept))


def mem_alpha_messages(question: Question, context: ReaderContext) -> list[Message]:
    """The Mem-α-style reader prompt.

    System: what the memory is, then the metric's instruction (:func:`task_instruction`). User: the core,
    the retrieved entries grouped by tier (semantic, episodic, raw chunks, anything else), the question.
    """
    parts = [f"Core memory:\n{context.core.strip() or '(empty)'}"]
    known = {source for source, _ in _SECTIONS}
    for source, heading in _SECTIONS:
        texts = [p.text.strip() for p in context.passages if p.source == source]
        if texts:
            parts.append(heading + ":\n" + "\n".join(f"- {t}" for t in texts))
    others = [p.text.strip() for p in context.passages if p.source not in known]
    if others:
        parts.append(_OTHER_SECTION + ":\n" + "\n".join(f"- {t}" for t in others))
    parts.append(f"Question: {question.question.strip()}")
    # The instruction sits in the system message so the user turn ends with the question: small models
    # tend to echo an instruction that comes last instead of following it.
    system = f"{MEM_ALPHA_SYSTEM} {task_instruction(question)}"
    return [{"role": "system", "content": system}, {"role": "user", "content": "\n\n".join(parts)}]


def memory_r1_messages(question: Question, context: ReaderContext) -> list[Message]:
    """The Memory-R1-style answer-agent prompt: numbered memories, select the relevant ones, then answer."""
    lines = [f"[{i}] {p.text.strip()}" for i, p in enumerate(context.passages, start=1)]
    parts = []
    if context.core.strip():
        parts.append(f"Summary kept so far:\n{context.core.strip()}")
    parts.append("Memories:\n" + ("\n".join(lines) if lines else "(none)"))
    parts.append(f"Question: {question.question.strip()}")
    parts.append(SELECT_THEN_ANSWER.format(what=_answer_form(question)))
    return [{"role": "system", "content": MEMORY_R1_SYSTEM}, {"role": "user", "content": "\n\n".join(parts)}]


class LLMReader(Reader):
    """A reader backed by a chat model (any :class:`memenv.llm.ChatModel`).

    Args:
        model: the chat model that writes answers.
        style: ``"mem-alpha"`` (answer directly from core + retrieved entries) or ``"memory-r1"``
            (select the relevant memories, then answer; only the text after the last ``Answer:`` is
            returned). See the module docstring.
        max_new_tokens: the longest answer to a QA or classification question.
        summary_tokens: the longest answer to a summary question (metric ``keyword_hit``).
        temperature: ``0.0`` (default) decodes greedily, so answers are repeatable. Mem-α's reader
            sampled at 0.7.
        max_context_tokens: cut the memory shown to about this many tokens (see :func:`fit_context`);
            ``None`` shows everything. Set it below the model's context length (SmolLM2: 8192).

    Questions answered together (:meth:`answer_batch`) go to the model's ``generate_batch``, so a local
    model decodes them in one batch and a server receives them concurrently.
    """

    name = "llm"

    def __init__(
        self,
        model: ChatModel,
        *,
        style: str = "mem-alpha",
        max_new_tokens: int = 64,
        summary_tokens: int = 256,
        temperature: float = 0.0,
        max_context_tokens: int | None = None,
    ) -> None:
        if style not in STYLES:
            raise ValueError(f"style must be one of {STYLES}, got {style!r}")
        for argument, value in (("max_new_tokens", max_new_tokens), ("summary_tokens", summary_tokens)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{argument} must be an int >= 1, got {value!r}")
        if temperature < 0:
            raise ValueError(f"temperature must be >= 0, got {temperature}")
        self.model = model
        self.style = style
        self.max_new_tokens = max_new_tokens
        self.summary_tokens = summary_tokens
        self.temperature = temperature
        self.max_context_tokens = max_context_tokens

    def messages(self, question: Question, context: ReaderContext) -> list[Message]:
        """The chat messages sent to the model for ``question`` (public so they can be logged or tested)."""
        context = fit_context(context, self.max_context_tokens)
        if self.style == "memory-r1":
            return memory_r1_messages(question, context)
        return mem_alpha_messages(question, context)

    def answer(self, question: Question, context: ReaderContext) -> str:
        return self.answer_batch([question], [context])[0]

    def answer_batch(self, questions: Sequence[Question], contexts: Sequence[ReaderContext]) -> list[str]:
        if len(questions) != len(contexts):
            raise ValueError(f"got {len(questions)} questions but {len(contexts)} contexts; they must align")
        answers = [""] * len(questions)
        # One model call per answer budget, so summaries do not stretch every QA answer's budget.
        by_budget: dict[int, list[int]] = {}
        for index, question in enumerate(questions):
            budget = self.summary_tokens if question.metric == "keyword_hit" else self.max_new_tokens
            by_budget.setdefault(budget, []).append(index)
        for budget, indices in by_budget.items():
            batch = [self.messages(questions[i], contexts[i]) for i in indices]
            replies = self.model.generate_batch(batch, max_new_tokens=budget, temperature=self.temperature)
            for index, reply in zip(indices, replies, strict=True):
                answers[index] = self._final_answer(reply)
        return answers

    def _final_answer(self, reply: str) -> str:
        reply = strip_reasoning(reply)
        if self.style == "memory-r1":
            tail = answer_tail(reply)
            if tail is not None:
                return tail.strip()
        return reply.strip()


class LLMJudge:
    """A correctness judge backed by a chat model (greedy decoding by default, so verdicts repeat).

    It is a :class:`memenv.metrics.JudgeModel`: pass it as ``judge=`` to
    :func:`memenv.metrics.score_question` (or :func:`memenv.qa.answer_questions`) and each scoring
    profile sends :meth:`complete` its own reference prompt and reads the reply with its own verdict
    rule and reply budget. Called directly, ``judge(question, answers, prediction)`` asks
    LongMemEval's default prompt (:func:`memenv.metrics.judge_prompt`) and reads the first standalone
    yes/no (:func:`memenv.metrics.parse_judge_verdict`; unclear = no).

    Args:
        model: the chat model that judges.
        max_new_tokens: reply budget when the caller gives none (a profile gives its own: 10 tokens
            for the yes/no protocols, as LongMemEval; 256 for Mem0's reason-then-label reply).
        temperature: ``0.0`` (default) decodes greedily; above 0 samples.

    A reasoning block in the reply (``<think>...</think>``) is removed before the verdict is read. With
    a reasoning model, build the model with ``enable_thinking=False`` (:class:`memenv.llm.HFChatModel`,
    :class:`memenv.llm.OpenAIChatModel`), or the 10-token budget goes to the reasoning.
    """

    def __init__(self, model: ChatModel, max_new_tokens: int = 10, temperature: float = 0.0) -> None:
        if temperature < 0:
            raise ValueError(f"temperature must be >= 0, got {temperature}")
        self.model = model
        self.max_new_tokens = max_new_tokens
        self.temperature = temperature

    def complete(self, prompt: str, max_new_tokens: int | None = None) -> str:
        """The model's reply to ``prompt``, sent as one user message, with any reasoning block removed
        (:func:`memenv.metrics.strip_reasoning`; reasoning that never closes leaves ``""``, no verdict)."""
        budget = self.max_new_tokens if max_new_tokens is None else max_new_tokens
        reply = self.model.generate(
            [{"role": "user", "content": prompt}], max_new_tokens=budget, temperature=self.temperature
        )
        return strip_reasoning(reply)

    def __call__(self, question: str, answers: tuple[str, ...], prediction: str) -> bool:
        return parse_judge_verdict(self.complete(judge_prompt(question, answers, prediction)))


__all__ = [
    "STYLES",
    "LLMJudge",
    "LLMReader",
    "fit_context",
    "mem_alpha_messages",
    "memory_r1_messages",
    "task_instruction",
]
