"""The chat-model protocol every backend implements, its errors, and a scripted stand-in for tests."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol, runtime_checkable

from memenv.errors import MemEnvError

Message = dict[str, Any]
"""One OpenAI-style chat message: ``{"role": ..., "content": ...}`` (assistant messages may carry
``tool_calls``; tool results use ``role="tool"``)."""


class EndpointError(MemEnvError, RuntimeError):
    """An OpenAI-compatible endpoint could not be reached or gave an unusable answer.

    Attributes:
        url: the URL that was requested.
        cause: what went wrong, in words (connection refused, timeout, HTTP 400 with the body, ...).
        status: the HTTP status, or ``None`` when no response came back.
        attempts: how many requests were made before giving up.
    """

    def __init__(self, url: str, cause: str, *, status: int | None = None, attempts: int = 1) -> None:
        tries = f" after {attempts} attempts" if attempts > 1 else ""
        hint = "" if status is not None else " (is the server running, and is the base URL right?)"
        super().__init__(f"chat endpoint {url} failed{tries}: {cause}{hint}")
        self.url = url
        self.cause = cause
        self.status = status
        self.attempts = attempts


class ModelUnavailableError(MemEnvError, RuntimeError):
    """A local model (or the packages needed to run one) is not installed; the message says what to install."""


# apply_chat_template's own arguments; a template variable may not take their names.
_RENDER_ARGUMENTS = frozenset(
    {"conversation", "messages", "tools", "add_generation_prompt", "tokenize", "chat_template", "return_dict"}
)


def template_variables(chat_template_kwargs: Mapping[str, Any] | None, enable_thinking: bool | None = None) -> dict:
    """``chat_template_kwargs`` as a checked dict, with ``enable_thinking`` added when it is not None.

    Raises:
        ValueError: a key that is not a string or is one of ``apply_chat_template``'s own arguments,
            or ``enable_thinking`` that is not a bool (or disagrees with the same key in the mapping).
    """
    if chat_template_kwargs is not None and not isinstance(chat_template_kwargs, Mapping):
        raise ValueError(f"chat_template_kwargs must be a mapping, got {type(chat_template_kwargs).__name__}")
    variables = dict(chat_template_kwargs or {})
    for key in variables:
        if not isinstance(key, str) or key in _RENDER_ARGUMENTS:
            raise ValueError(f"chat_template_kwargs may not set {key!r} (an argument of apply_chat_template)")
    if enable_thinking is not None:
        if not isinstance(enable_thinking, bool):
            raise ValueError(f"enable_thinking must be True, False or None, got {enable_thinking!r}")
        if variables.get("enable_thinking", enable_thinking) != enable_thinking:
            raise ValueError("enable_thinking and chat_template_kwargs['enable_thinking'] disagree")
        variables["enable_thinking"] = enable_thinking
    return variables


def reply_budgets(max_new_tokens: int | Sequence[int], rows: int) -> list[int]:
    """One reply budget per conversation of a batch, from one int for all or a sequence of ``rows``.

    Every :meth:`ChatModel.generate_batch` reads its ``max_new_tokens`` through this.

    Raises:
        ValueError: a sequence of another length than ``rows``, or a budget that is not an int >= 1.
    """
    if isinstance(max_new_tokens, int) and not isinstance(max_new_tokens, bool):
        budgets = [max_new_tokens] * rows
    else:
        budgets = list(max_new_tokens)
        if len(budgets) != rows:
            raise ValueError(f"max_new_tokens has {len(budgets)} budgets for {rows} conversations; they must align")
    for budget in budgets:
        if isinstance(budget, bool) or not isinstance(budget, int) or budget < 1:
            raise ValueError(f"max_new_tokens must be an int >= 1 (or one per conversation), got {budget!r}")
    return budgets


# --------------------------------------------------------------------------------------------------
# The protocol


@runtime_checkable
class ChatModel(Protocol):
    """Anything that turns chat messages into a reply.

    Implementations set :attr:`name` (shown in reports) and implement :meth:`generate`; those that can
    batch (a local model, a server that takes concurrent requests) override :meth:`generate_batch`.
    Subclassing is optional: any object with these methods is a ``ChatModel``.
    """

    name: str

    def generate(
        self,
        messages: list[Message],
        *,
        tools: list[dict] | None = None,
        max_new_tokens: int = 256,
        temperature: float = 0.0,
        seed: int | None = None,
    ) -> str:
        """The reply to ``messages`` as text (tool calls included as text).

        Args:
            messages: OpenAI-style messages, oldest first.
            tools: tool schemas (OpenAI style) the model may call, or ``None``.
            max_new_tokens: the most tokens the reply may have.
            temperature: ``0.0`` = greedy (deterministic); above 0 samples.
            seed: makes sampling repeatable where the backend allows it.
        """
        ...

    def generate_batch(
        self,
        batch: Sequence[list[Message]],
        *,
        tools: list[dict] | None = None,
        max_new_tokens: int | Sequence[int] = 256,
        temperature: float = 0.0,
        seed: int | None = None,
    ) -> list[str]:
        """One reply per conversation in ``batch``, in order (by default one :meth:`generate` each).

        ``max_new_tokens`` is one budget for all conversations or one per conversation. Backends that
        batch (:class:`~memenv.llm.HFChatModel`: one padded batch; :class:`~memenv.llm.OpenAIChatModel`:
        concurrent requests) return, with greedy decoding, the replies :meth:`generate` gives each
        conversation alone.
        """
        budgets = reply_budgets(max_new_tokens, len(batch))
        return [
            self.generate(m, tools=tools, max_new_tokens=budget, temperature=temperature, seed=seed)
            for m, budget in zip(batch, budgets, strict=True)
        ]


class ScriptedChatModel(ChatModel):
    """A stand-in model that returns canned replies in order and records what it was asked.

    For tests of code that drives a model (readers, LLM writer policies, judges): the prompts it saw are
    in :attr:`calls` as ``(messages, tools)`` pairs, so a test can assert on them exactly. When the
    replies run out, it repeats the last one (or returns ``""`` if it was given none).
    """

    def __init__(self, replies: Sequence[str] = (), name: str = "scripted") -> None:
        self.replies = list(replies)
        self.name = name
        self.calls: list[tuple[list[Message], list[dict] | None]] = []

    def generate(
        self,
        messages: list[Message],
        *,
        tools: list[dict] | None = None,
        max_new_tokens: int = 256,
        temperature: float = 0.0,
        seed: int | None = None,
    ) -> str:
        index = len(self.calls)
        self.calls.append((messages, tools))
        if not self.replies:
            return ""
        return self.replies[min(index, len(self.replies) - 1)]
