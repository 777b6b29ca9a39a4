"""Reading tool calls out of a model's reply, and writing structured calls back as text.

:func:`parse_tool_calls` turns any reply into a list of :class:`~memenv.tools.ToolCall`, in the order the
calls appear. It never raises on a string: bad model output is data, so a call that was clearly attempted
but cannot be read comes back as ``ToolCall(name=<best guess or "">, arguments={}, error=<why>, raw=...)``
and counts as a failed call. A reply without any call gives ``[]``.

Call formats, chosen by the markers present (first match wins):

1. **Qwen-Agent** (what Mem-α's models were prompted with)::

       ✿FUNCTION✿: new_memory_insert
       ✿ARGS✿: {"memory_type": "semantic_memory", "content": "..."}

   Several pairs per reply. Everything from the first ``✿RESULT✿`` (a tool result the model made up) or
   ``✿RETURN✿`` onward is dropped, calls included. A ``✿FUNCTION✿`` without ``✿ARGS✿`` has arguments
   ``{}``; several ``✿ARGS✿`` after one ``✿FUNCTION✿`` call it once each (as Qwen-Agent reads them); an
   ``✿ARGS✿`` before any ``✿FUNCTION✿`` is a failed call with no name. Marker text inside the JSON
   arguments (``"content": "mentions ✿FUNCTION✿"``) is content, not a marker.
2. **Hermes / Qwen2.5 / Qwen3 native**: ``<tool_call>{"name": ..., "arguments": {...}}</tool_call>``,
   several per reply. A last block cut off before ``</tool_call>`` is still read; a block with nothing in
   it (``<tool_call></tool_call>``, or a trailing ``<tool_call>``) is not a call, as Qwen-Agent skips it.
   ``arguments`` may be a JSON string (OpenAI style). Everything from the first ``<tool_response>`` (a
   made-up result) is dropped.
3. **Bare JSON**, only when the whole reply (after stripping) starts with ``{``, ``[`` or a ````` fence:
   an object, a list of objects, or objects one after another. Each object is ``{"name", "arguments"}``,
   OpenAI's ``{"type": "function", "function": {"name", "arguments": "<json>"}}``, or a
   ``{"tool_calls": [...]}`` wrapper around either.

Free prose is never searched for JSON: "I'd store {x}" is not a call. A reasoning block ending in
``</think>`` (Qwen3) is dropped before anything else, so drafts inside it are not calls. When markers of
several formats occur, the one that comes first decides, and a reply that is one JSON value is bare JSON
whatever marker text its strings hold.

Every object goes through Python's JSON decoder first (raw control characters allowed) and, only if that
fails, through ``json_repair`` (single quotes, trailing commas, missing closing braces, ...). Repair is
pure Python and its time grows with length x brackets/quotes (measured: 87 s for 64 KiB of ``{'{'...``),
so it is attempted only while ``len(text) * (40 + brackets and quotes in text)`` stays under
:data:`MAX_REPAIR_COST` for the call and :data:`MAX_REPAIR_COST_PER_REPLY` for the whole reply; past that
the call is a parse error. Both limits are character counts, so the outcome never depends on the machine.

Names are stripped of whitespace and otherwise kept as given; arguments are kept as parsed. Whether a name
is a known tool (``core`` for ``core_memory`` etc.) and whether argument values have the right types is
the executor's business (:mod:`memenv.tools`).

:func:`render_tool_calls` writes structured calls in any of the three formats, so programmatic agents act
through the same parser as models, and ``parse_tool_calls(render_tool_calls(calls, style))`` gives the
same names and arguments back:

>>> text = render_tool_calls([{"name": "memory_delete", "arguments": {"memory_type": "core"}}], "qwen")
>>> print(text)
✿FUNCTION✿: memory_delete
✿ARGS✿: {"memory_type": "core"}
>>> parse_tool_calls(text)[0].arguments
{'memory_type': 'core'}
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from json.encoder import encode_basestring
from typing import Any

from json_repair import repair_json

from memenv.tools import ToolCall

FN_NAME = "✿FUNCTION✿"
FN_ARGS = "✿ARGS✿"
FN_RESULT = "✿RESULT✿"
FN_EXIT = "✿RETURN✿"
TOOL_CALL_OPEN = "<tool_call>"
TOOL_CALL_CLOSE = "</tool_call>"
TOOL_RESPONSE_OPEN = "<tool_response>"
THINK_CLOSE = "</think>"
FENCE = "```"

STYLES = ("hermes", "qwen", "json")

# Repair cost = len(text) * (_COST_PER_CHAR + characters that start json_repair's look-ahead scans).
# Measured worst cases: ~13 us per character of plain text and ~0.35 us per (character x bracket/quote),
# so one call stays under ~0.7 s and one reply under ~2 s, while a single-quoted 12 KiB memory with a
# hundred quotes (~1.7 M) is still repaired.
MAX_REPAIR_COST = 2_000_000
MAX_REPAIR_COST_PER_REPLY = 6_000_000
_COST_PER_CHAR = 40
_COSTLY_CHARS = "{}[]()\"'“”`"

_DECODER = json.JSONDecoder(strict=False)  # strict=False: raw newlines inside strings are common in LLM JSON
_NAME_GUESS = re.compile(r"""["']name["']\s*:\s*["']([^"'\\\n]{1,200})["']""")


@dataclass
class RepairBudget:
    """What is left of one reply's repair allowance (see the module docstring)."""

    left: int = MAX_REPAIR_COST_PER_REPLY


def strip_thinking(text: str) -> str:
    """The reply after a reasoning block that ends in ``</think>`` (Qwen3); drafts in it are not calls."""
    end_of_thought = text.find(THINK_CLOSE)
    return text[end_of_thought + len(THINK_CLOSE) :] if end_of_thought >= 0 else text


def parse_tool_calls(text: str) -> list[ToolCall]:
    """Read the tool calls in ``text``, in order; see the module docstring for the formats.

    Never raises on a string. A call that was attempted but cannot be read has ``error`` set (a sentence
    saying why), ``arguments == {}`` and the best guess at its name (or ``""``). ``raw`` is the text the
    call was read from: the ``✿FUNCTION✿`` segment, the ``<tool_call>`` block, or the whole bare-JSON
    reply (shared by all calls of a list).

    >>> [call] = parse_tool_calls('<tool_call>{"name": "memory_delete", "arguments": {"memory_type": "core"')
    >>> call.name, call.arguments, call.error
    ('memory_delete', {'memory_type': 'core'}, None)

    ``[]`` means the reply holds no call.
    """
    if not isinstance(text, str):
        raise TypeError(f"parse_tool_calls expects the reply as a str, got {type(text).__name__}")
    try:
        text = strip_thinking(text)
        budget = RepairBudget()
        style = _format_of(text)
        if style == "qwen":
            return _parse_qwen(text, budget)
        if style == "hermes":
            return _parse_hermes(text, budget)
        if style == "json":
            return _parse_bare(text.strip(), budget)
        return []
    except Exception as exc:  # last line of defence: a parser bug must not crash env.step
        return [ToolCall(name="", arguments={}, error=f"internal parser error: {exc!r}", raw=text)]


def render_tool_calls(calls: Iterable[ToolCall | Mapping[str, Any]], style: str = "hermes") -> str:
    """Write ``calls`` as text that :func:`parse_tool_calls` reads back to the same names and arguments.

    ``calls`` holds :class:`~memenv.tools.ToolCall` objects or mappings ``{"name": str, "arguments":
    mapping}`` (``arguments`` may be left out). ``style`` is one of :data:`STYLES`:

    * ``"hermes"``: one ``<tool_call>\\n{"name": ..., "arguments": ...}\\n</tool_call>`` per call, joined by
      newlines (the layout of Qwen2.5/Qwen3's chat template);
    * ``"qwen"``: ``✿FUNCTION✿: name`` / ``✿ARGS✿: {...}`` pairs, one line each;
    * ``"json"``: one JSON list of ``{"name", "arguments"}`` objects.

    JSON is written with ``ensure_ascii=False``, except that ``<`` and ``✿`` inside strings are written
    as ``\\u003c`` and ``\\u273f`` so that text in an argument can never pass for a marker. No calls gives
    ``""`` (``"[]"`` in the json style).

    Raises ``ValueError`` for an unknown style, a name that is not one clean line (empty, surrounding
    whitespace, a line break, ``✿`` or ``<``), arguments that are not a mapping with string keys, or
    argument values that JSON cannot hold.
    """
    if style not in STYLES:
        raise ValueError(f"unknown style {style!r}: expected one of {', '.join(map(repr, STYLES))}")
    if style == "json":
        items = [_checked_name_and_arguments(call, index) for index, call in enumerate(calls)]
        return dump_json([{"name": name, "arguments": arguments} for name, arguments in items])
    # Each call is checked and written in turn (the first bad call raises, as when all were checked
    # first), its JSON written once: writing it is the check that it can be written.
    pieces = []
    for index, call in enumerate(calls):
        name, arguments = _name_and_arguments(call, index)
        try:
            if style == "hermes":
                # _dump_object({"name": name, "arguments": arguments}), written around the arguments' JSON
                # (json.dumps writes a dict field by field): the name holds no marker to escape.
                body = f'{{"name": {encode_basestring(name)}, "arguments": {_dump_object(arguments)}}}'
                pieces.append(f"{TOOL_CALL_OPEN}\n{body}\n{TOOL_CALL_CLOSE}")
            else:
                pieces.append(f"{FN_NAME}: {name}\n{FN_ARGS}: {_dump_object(arguments)}")
        except (TypeError, ValueError) as exc:
            raise _unwritable(index, name, exc) from exc
    return "\n".join(pieces)


def _dump_object(value: dict[str, Any]) -> str:
    """:func:`dump_json` of a dict, written directly when its values are strings or dicts of strings.

    Tool-call arguments are almost always strings. ``json.dumps`` with ``ensure_ascii=False`` writes a
    dict as ``{"key": value, ...}`` with each string through ``encode_basestring`` (the C function it
    uses itself), so joining those pieces gives the same text without the encoder's per-call setup
    (a typical call's body: 2.9 us instead of 5.8 us). Anything else (numbers, lists, deeper nesting,
    non-``str`` keys) goes through :func:`dump_json`.
    """
    text = _object_text(value, nested=True)
    return dump_json(value) if text is None else _escape_markers(text)


def _object_text(value: dict[str, Any], nested: bool) -> str | None:
    """``json.dumps(value, ensure_ascii=False)`` when ``value`` maps ``str`` keys to ``str`` values (or, if
    ``nested``, to dicts that do); else None."""
    fields = []
    for key, item in value.items():
        if type(key) is not str:
            return None
        if type(item) is str:
            text = encode_basestring(item)
        elif nested and type(item) is dict:
            text = _object_text(item, nested=False)
            if text is None:
                return None
        else:
            return None
        fields.append(f"{encode_basestring(key)}: {text}")
    return "{" + ", ".join(fields) + "}"


def _unwritable(index: int, name: str, exc: Exception) -> ValueError:
    return ValueError(f"call {index} ({name}): arguments cannot be written as JSON: {exc}")


# --- the three formats ---------------------------------------------------------------------------------

_QWEN_MARKERS = re.compile("|".join(re.escape(marker) for marker in (FN_NAME, FN_ARGS, FN_RESULT, FN_EXIT)))


def _format_of(text: str) -> str | None:
    """``"qwen"``, ``"hermes"``, ``"json"`` or None: which format the reply's calls are written in."""
    stripped = text.strip()
    if stripped.startswith(("{", "[", FENCE)):
        body = unfence(stripped)
        if body.startswith(("{", "[")):
            try:
                _, end = _DECODER.raw_decode(body)
            except (ValueError, RecursionError):
                end = -1
            # One well-formed JSON value with nothing marker-like after it: its strings are content.
            rest = body[end:] if end >= 0 else body
            if end >= 0 and not _QWEN_MARKERS.search(rest) and TOOL_CALL_OPEN not in rest:
                return "json"
    qwen = min((i for i in (text.find(FN_NAME), text.find(FN_ARGS)) if i >= 0), default=-1)
    hermes = text.find(TOOL_CALL_OPEN)
    if qwen >= 0 and (hermes < 0 or qwen < hermes):
        return "qwen"
    if hermes >= 0:
        return "hermes"
    return "json" if stripped.startswith(("{", "[", FENCE)) else None


def _json_end(text: str, start: int) -> int:
    """Where the JSON object written after an ``✿ARGS✿`` ending at ``start`` ends (``start`` if none).

    Skips an optional ``:``, whitespace and an opening code fence. Only a well-formed object counts, so
    marker text inside its strings is never taken for a marker; a broken one ends at the next marker.
    """
    position = start
    while position < len(text) and text[position].isspace():
        position += 1
    if text.startswith(":", position):
        position += 1
    while position < len(text) and text[position].isspace():
        position += 1
    if text.startswith(FENCE, position):
        newline = text.find("\n", position)
        position = len(text) if newline < 0 else newline + 1
        while position < len(text) and text[position].isspace():
            position += 1
    if not text.startswith("{", position):
        return start
    try:
        _, end = _DECODER.raw_decode(text, position)
    except (ValueError, RecursionError):
        return start
    return end


def _qwen_markers(text: str) -> list[tuple[str, int, int]]:
    """``(marker, start, end)`` of every marker, in order, skipping markers inside ``✿ARGS✿`` JSON."""
    found = []
    position = 0
    while (match := _QWEN_MARKERS.search(text, position)) is not None:
        found.append((match.group(), match.start(), match.end()))
        position = match.end()
        if match.group() == FN_ARGS:
            position = max(position, _json_end(text, match.end()))
    return found


def _parse_qwen(text: str, budget: RepairBudget) -> list[ToolCall]:
    markers = _qwen_markers(text)
    for index, (marker, _start, _end) in enumerate(markers):
        if marker in (FN_RESULT, FN_EXIT):  # a made-up tool result: it and everything after are dropped
            text, markers = text[: markers[index][1]], markers[:index]
            break
    calls: list[ToolCall] = []
    name: str | None = None  # the current ✿FUNCTION✿'s name; None before the first one
    name_raw = ""
    called = True  # whether the current ✿FUNCTION✿ has had its ✿ARGS✿
    for index, (marker, _start, end) in enumerate(markers):
        body = text[end : markers[index + 1][1] if index + 1 < len(markers) else len(text)]
        if marker == FN_NAME:
            if not called:
                calls.append(_qwen_call(name or "", name_raw, None, budget))
            name, name_raw, called = _qwen_name(body), FN_NAME + body, False
        elif name is None:
            calls.append(
                ToolCall(
                    name="",
                    arguments={},
                    error=f"{FN_ARGS} without a {FN_NAME} before it",
                    raw=(FN_ARGS + body).strip(),
                )
            )
        else:
            calls.append(_qwen_call(name, name_raw, body, budget))
            called = True
    if not called:
        calls.append(_qwen_call(name or "", name_raw, None, budget))
    return calls


def _qwen_call(name: str, name_raw: str, args_body: str | None, budget: RepairBudget) -> ToolCall:
    """One call of the function named in ``name_raw``, with the text after an ``✿ARGS✿`` (or none)."""
    raw = (name_raw + ("" if args_body is None else FN_ARGS + args_body)).strip()
    if not name:
        return ToolCall(name="", arguments={}, error=f"{FN_NAME} is not followed by a name", raw=raw)
    if args_body is None:
        return ToolCall(name=name, arguments={}, raw=raw)
    arguments, error = _qwen_arguments(args_body, budget)
    return ToolCall(name=name, arguments=arguments, error=error, raw=raw)


def _qwen_name(name_part: str) -> str:
    """The name after ``✿FUNCTION✿``: skip one ``:``, take the first non-empty line."""
    name_part = name_part.lstrip()
    if name_part.startswith(":"):
        name_part = name_part[1:]
    for line in name_part.split("\n"):
        if line.strip():
            return line.strip()
    return ""


def _qwen_arguments(args_text: str, budget: RepairBudget) -> tuple[dict[str, Any], str | None]:
    args_text = args_text.strip()
    if args_text.startswith(":"):
        args_text = args_text[1:]
    args_text = unfence(args_text.strip())
    if not args_text:
        return {}, None
    if not args_text.startswith("{"):
        return {}, f"the text after {FN_ARGS} is not a JSON object"
    values, error = decode_json_values(args_text, budget)
    if error is not None:
        return {}, f"arguments {error}"
    return _as_arguments(values[0])


def _parse_hermes(text: str, budget: RepairBudget) -> list[ToolCall]:
    response = text.find(TOOL_RESPONSE_OPEN)
    if response >= 0:
        text = text[:response]
    calls: list[ToolCall] = []
    for piece in text.split(TOOL_CALL_OPEN)[1:]:
        close = piece.find(TOOL_CALL_CLOSE)
        content = piece if close < 0 else piece[:close]
        body = content.strip()
        if not body:
            continue  # an empty block holds no call (Qwen-Agent skips it too)
        raw = TOOL_CALL_OPEN + content + (TOOL_CALL_CLOSE if close >= 0 else "")
        call = _plain_call(body, raw)
        if call is not None:
            calls.append(call)
        else:
            calls.extend(_calls_from_json_text(unfence(body), raw, "the <tool_call> block", budget))
    return calls


def _plain_call(body: str, raw: str) -> ToolCall | None:
    """The call in a block that is exactly one well-formed ``{"name": "...", "arguments": {...}}`` object,
    or None for any other block.

    Nearly every block models and :func:`render_tool_calls` write is such an object. The general path
    (:func:`_calls_from_json_text`) reads it the same way, through five functions that look for what
    such a block does not hold (a fence, JSON lines, repair, a ``tool_calls`` wrapper, OpenAI's nesting,
    string or ``parameters`` arguments); a call here costs ~40% less (measured on the mem-alpha writer's
    replies; JSON decoding, the same either way, is most of what is left). Whatever this declines goes
    to the general path, which also gives the error of a broken block.
    """
    if not body.startswith("{"):
        return None
    try:
        obj, end = _DECODER.raw_decode(body)
    except (ValueError, RecursionError):
        return None
    if end != len(body) or type(obj) is not dict or "tool_calls" in obj:
        return None
    name, arguments = obj.get("name"), obj.get("arguments")
    if type(name) is not str or type(arguments) is not dict:
        return None
    name = name.strip()
    return ToolCall(name, arguments, None, raw) if name else None  # positional: ~1.25x faster to build


def _parse_bare(stripped: str, budget: RepairBudget) -> list[ToolCall]:
    body = unfence(stripped)
    if not body.startswith(("{", "[")):
        return []  # a fenced block of something else (code, prose) is not a call
    return _calls_from_json_text(body, stripped, "the reply", budget)


# --- JSON to calls -------------------------------------------------------------------------------------


def _calls_from_json_text(body: str, raw: str, where: str, budget: RepairBudget) -> list[ToolCall]:
    if not body:
        return [ToolCall(name="", arguments={}, error=f"{where} is empty", raw=raw)]
    if not body.startswith(("{", "[")):
        return [ToolCall(name=_guess_name(body), arguments={}, error=f"{where} is not JSON", raw=raw)]
    values, error = decode_json_values(body, budget)
    if error is not None:
        return [ToolCall(name=_guess_name(body), arguments={}, error=f"{where} {error}", raw=raw)]
    calls: list[ToolCall] = []
    for value in values:
        calls.extend(_calls_from_value(value, raw, budget))
    return calls


def _calls_from_value(value: Any, raw: str, budget: RepairBudget) -> list[ToolCall]:
    """One decoded JSON value -> calls: an object, a list of objects, or a ``tool_calls`` wrapper."""
    if isinstance(value, dict) and isinstance(value.get("tool_calls"), list):
        value = value["tool_calls"]
    if isinstance(value, dict):
        return [_call_from_object(value, raw, budget)]
    if isinstance(value, list):
        return [
            _call_from_object(item, raw, budget)
            if isinstance(item, dict)
            else ToolCall(name="", arguments={}, error=_not_an_object("a call", item), raw=raw)
            for item in value
        ]
    return [ToolCall(name="", arguments={}, error=_not_an_object("a call", value), raw=raw)]


def _call_from_object(obj: dict[str, Any], raw: str, budget: RepairBudget) -> ToolCall:
    function = obj.get("function")
    if "name" not in obj and isinstance(function, dict):  # OpenAI: {"type": "function", "function": {...}}
        obj = function
    name = obj.get("name")
    # Llama-style models write "parameters"; Hermes and OpenAI write "arguments".
    arguments = obj["arguments"] if "arguments" in obj else obj.get("parameters")
    if not isinstance(name, str):
        problem = "has no name" if name is None else f"has a name that is {_json_type(name)}, not a string"
        return ToolCall(name="", arguments={}, error=f"the call {problem}", raw=raw)
    name = name.strip()
    if not name:
        return ToolCall(name="", arguments={}, error="the call has an empty name", raw=raw)
    if isinstance(arguments, str):  # OpenAI style: the arguments object encoded as a JSON string
        text = unfence(arguments.strip())
        if not text:
            arguments = None
        elif not text.startswith("{"):
            return ToolCall(name=name, arguments={}, error="the arguments string is not a JSON object", raw=raw)
        else:
            values, error = decode_json_values(text, budget)
            if error is not None:
                return ToolCall(name=name, arguments={}, error=f"the arguments string {error}", raw=raw)
            arguments = values[0]
    if arguments is None:
        return ToolCall(name=name, arguments={}, raw=raw)
    parsed, error = _as_arguments(arguments)
    return ToolCall(name=name, arguments=parsed, error=error, raw=raw)


def _as_arguments(value: Any) -> tuple[dict[str, Any], str | None]:
    if isinstance(value, dict):
        return value, None
    return {}, _not_an_object("the arguments", value)


def _not_an_object(what: str, value: Any) -> str:
    return f"{what} must be a JSON object, got {_json_type(value)}"


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    return "an object" if isinstance(value, dict) else type(value).__name__


def _guess_name(text: str) -> str:
    match = _NAME_GUESS.search(text[:4096])
    return match.group(1).strip() if match else ""


# --- JSON decoding -------------------------------------------------------------------------------------


def decode_json_values(text: str, budget: RepairBudget) -> tuple[list[Any], str | None]:
    """Decode ``text`` (starting with ``{`` or ``[``) into its top-level values, or say why not.

    Values written one after another (JSON lines) are all read; anything after the last value is
    ignored. Valid JSON of any length is read by the C decoder; the first broken value goes to
    ``json_repair`` if the budget allows, and only the objects it yields before any junk are kept.
    """
    values: list[Any] = []
    pos = 0
    while pos < len(text) and text[pos] in "{[":
        try:
            value, pos = _DECODER.raw_decode(text, pos)
        except (ValueError, RecursionError):
            break
        values.append(value)
        while pos < len(text) and text[pos].isspace():
            pos += 1
    if pos >= len(text) or text[pos] not in "{[":
        return values, None
    rest = text[pos:]
    cost = len(rest) * (_COST_PER_CHAR + sum(rest.count(char) for char in _COSTLY_CHARS))
    if cost > MAX_REPAIR_COST or cost > budget.left:
        if values:
            return values, None
        limit = "this call's" if cost > MAX_REPAIR_COST else "this reply's remaining"
        return [], f"is not valid JSON and is too long or tangled to repair within {limit} repair budget"
    budget.left -= cost
    try:
        repaired = repair_json(rest, return_objects=True, skip_json_loads=True)
    except Exception:  # json_repair raises ValueError on deep nesting; be safe against anything else
        repaired = None
    if rest[0] == "{" and isinstance(repaired, list):
        # Repair returns a list when it found several top-level values; keep the leading objects only,
        # the rest is usually prose that repair turned into strings.
        for item in repaired:
            if not isinstance(item, dict):
                break
            values.append(item)
    elif isinstance(repaired, (dict, list)) and (rest[0] == "[") == isinstance(repaired, list):
        values.append(repaired)
    if values:
        return values, None
    return [], "is not valid JSON and could not be repaired"


def unfence(text: str) -> str:
    """The body of a leading ```` ```json ```` fence (to the closing fence, or the end); else ``text``."""
    if not text.startswith(FENCE):
        return text
    newline = text.find("\n")
    if newline < 0:
        return ""
    body = text[newline + 1 :]
    close = body.find(FENCE)
    return (body if close < 0 else body[:close]).strip()


# --- rendering -----------------------------------------------------------------------------------------


_BAD_NAME = frozenset("\n\r✿<")  # characters a call's name may not hold


def _name_and_arguments(call: ToolCall | Mapping[str, Any], index: int) -> tuple[str, dict[str, Any]]:
    # type(...) is dict first: the usual call is a plain dict, which spares the slower Mapping (ABC) checks.
    if isinstance(call, ToolCall):
        name, arguments = call.name, call.arguments
    elif type(call) is dict or isinstance(call, Mapping):
        name, arguments = call.get("name"), call.get("arguments", {})
    else:
        raise ValueError(f"call {index}: expected a ToolCall or a mapping, got {type(call).__name__}")
    if not isinstance(name, str) or not name or name != name.strip() or not _BAD_NAME.isdisjoint(name):
        raise ValueError(
            f"call {index}: name {name!r} must be a non-empty one-line string without surrounding "
            "whitespace, '✿' or '<'"
        )
    if not (type(arguments) is dict or isinstance(arguments, Mapping)) or not all(
        map(isinstance, arguments, itertools.repeat(str))
    ):
        raise ValueError(f"call {index} ({name}): arguments must be a mapping with string keys, got {arguments!r}")
    return name, dict(arguments)


def _checked_name_and_arguments(call: ToolCall | Mapping[str, Any], index: int) -> tuple[str, dict[str, Any]]:
    """:func:`_name_and_arguments`, and the arguments can be written as JSON."""
    name, arguments = _name_and_arguments(call, index)
    try:
        json.dumps(arguments)
    except (TypeError, ValueError) as exc:
        raise _unwritable(index, name, exc) from exc
    return name, arguments


def dump_json(value: Any) -> str:
    """``value`` as JSON text in which no string can pass for a call marker.

    Written with ``ensure_ascii=False``, except that ``<`` and ``✿`` are escaped as ``\\u003c`` and
    ``\\u273f``: they only ever occur inside JSON strings, so the JSON decodes to the same value while
    no text in it can look like ``<tool_call>``, ``</think>``, ``<tool_response>`` or a ``✿`` marker.
    Policies that put chunk text into a JSON reply use it, so chunk text stays data.
    """
    return _escape_markers(json.dumps(value, ensure_ascii=False))


def _escape_markers(text: str) -> str:
    """JSON text with ``<`` and ``✿`` written as escapes (see :func:`dump_json`)."""
    return text.replace("<", "\\u003c").replace("✿", "\\u273f")
