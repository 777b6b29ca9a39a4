"""Mem-α's three memory tools: their JSON schemas, the call records, and the executor.

Names and argument names are exactly Mem-α's, so a model trained for Mem-α can act in memenv:

* ``new_memory_insert(memory_type, content)`` — append to ``semantic_memory`` or ``episodic_memory``;
* ``memory_update(memory_type, new_content, memory_id?)`` — rewrite the core, or replace an entry;
* ``memory_delete(memory_type, memory_id?)`` — clear the core, or remove an entry.

``memory_type`` takes Mem-α's spelling (``core_memory`` ...) and the bare tier name (``core`` ...).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from memenv.memory import (
    CORE_INSERT,
    DUPLICATE,
    INVALID_ARGUMENT,
    MISSING_ARGUMENT,
    OVER_BUDGET,
    TOO_LONG,
    UNKNOWN_ID,
    Memory,
    MemoryOpError,
    normalize_id,
    tier_of,
)

# Why a call failed; ``None`` on success. Stable strings: trainers and tests match on them.
PARSE_ERROR = "parse_error"
UNKNOWN_TOOL = "unknown_tool"
# A whole reply refused before any of its calls ran (see memenv.limits for the caps).
REPLY_TOO_LONG = "reply_too_long"
TOO_MANY_CALLS = "too_many_calls"
ERROR_KINDS = (
    PARSE_ERROR,
    UNKNOWN_TOOL,
    MISSING_ARGUMENT,
    INVALID_ARGUMENT,
    UNKNOWN_ID,
    DUPLICATE,
    CORE_INSERT,
    OVER_BUDGET,
    TOO_LONG,
    REPLY_TOO_LONG,
    TOO_MANY_CALLS,
)


@dataclass(frozen=True)
class ToolCall:
    """A tool call read from model output.

    ``error`` is set by the parser when a call was attempted but could not be read (then ``name`` may
    be empty); such a call counts as a failed call. ``raw`` is the text it was read from.
    """

    name: str
    arguments: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    raw: str = ""


@dataclass(frozen=True)
class ToolResult:
    """The outcome of executing one :class:`ToolCall` against the memory."""

    call: ToolCall
    ok: bool
    error_kind: str | None = None
    message: str = ""
    memory_id: str | None = None


def _schema(name: str, description: str, properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    return {
        "type": "function",
        "function": {
            "name": name,
            "description": description,
            "parameters": {"type": "object", "properties": properties, "required": required},
        },
    }


_LIST_TYPES = ["semantic_memory", "episodic_memory"]
_ALL_TYPES = ["core_memory", *_LIST_TYPES]
_MEMORY_ID = {"type": "string", "description": "Id of the entry, as shown in brackets. Not used for core_memory."}

TOOL_SCHEMAS: list[dict[str, Any]] = [
    _schema(
        "new_memory_insert",
        "Add a new entry to the semantic memory (lasting facts) or the episodic memory (events, with time).",
        {
            "memory_type": {"type": "string", "enum": _LIST_TYPES},
            "content": {"type": "string", "description": "The text of the new entry."},
        },
        ["memory_type", "content"],
    ),
    _schema(
        "memory_update",
        "Rewrite the whole core memory, or replace the text of one semantic or episodic entry by its id.",
        {
            "memory_type": {"type": "string", "enum": _ALL_TYPES},
            "new_content": {"type": "string", "description": "The new text."},
            "memory_id": _MEMORY_ID,
        },
        ["memory_type", "new_content"],
    ),
    _schema(
        "memory_delete",
        "Clear the core memory, or remove one semantic or episodic entry by its id.",
        {"memory_type": {"type": "string", "enum": _ALL_TYPES}, "memory_id": _MEMORY_ID},
        ["memory_type"],
    ),
]
TOOL_NAMES = tuple(s["function"]["name"] for s in TOOL_SCHEMAS)
WRITE_TOOLS = ("new_memory_insert", "memory_update")


def execute(memory: Memory, call: ToolCall, *, unknown_id_delete: str = "error") -> ToolResult:
    """Apply one call to ``memory``; a failed call leaves the memory unchanged.

    ``unknown_id_delete``: ``"error"`` (default) makes deleting an unknown id a failed call;
    ``"ignore"`` counts it as a success, as Mem-α did.
    """
    if call.error is not None:
        return ToolResult(call, False, PARSE_ERROR, call.error)
    if call.name not in TOOL_NAMES:
        return ToolResult(call, False, UNKNOWN_TOOL, f"unknown tool {call.name!r}; tools are {', '.join(TOOL_NAMES)}")
    args = call.arguments
    if "memory_type" not in args:
        return ToolResult(call, False, MISSING_ARGUMENT, f"{call.name} needs memory_type")
    tier = tier_of(args["memory_type"])
    if tier is None:
        return ToolResult(call, False, INVALID_ARGUMENT, f"unknown memory_type {args['memory_type']!r}")
    memory_id = args.get("memory_id")
    if memory_id is not None and not isinstance(memory_id, str):
        return ToolResult(call, False, INVALID_ARGUMENT, "memory_id must be a string")
    memory_id = normalize_id(memory_id)
    # Results are built with positional fields (call, ok, error_kind, message, memory_id): keyword
    # arguments make a frozen dataclass ~1.25x slower to build, and every call builds one.
    try:
        if call.name == "new_memory_insert":
            if "content" not in args:
                return ToolResult(call, False, MISSING_ARGUMENT, "new_memory_insert needs content")
            entry = memory.insert(tier, args["content"])
            return ToolResult(call, True, None, "", entry.id)
        if call.name == "memory_update":
            if "new_content" not in args:
                return ToolResult(call, False, MISSING_ARGUMENT, "memory_update needs new_content")
            if tier == "core":
                cut = memory.set_core(args["new_content"])
                return ToolResult(call, True, None, "core truncated to its token limit" if cut else "")
            memory.update(tier, args["new_content"], memory_id)
            return ToolResult(call, True, None, "", memory_id)
        removed = memory.delete(tier, memory_id, missing_ok=unknown_id_delete == "ignore")
        note = "no such entry; ignored" if tier != "core" and removed is None else ""
        return ToolResult(call, True, None, note, memory_id)
    except MemoryOpError as exc:
        return ToolResult(call, False, exc.kind, exc.message)


def result_record(result: ToolResult) -> dict[str, Any]:
    """A plain dict of a result, for ``info["tool_results"]`` and logs."""
    return {
        "name": result.call.name,
        "arguments": result.call.arguments,
        "ok": result.ok,
        "error": result.error_kind,
        "message": result.message,
        "memory_id": result.memory_id,
    }
