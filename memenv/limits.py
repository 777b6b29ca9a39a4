"""What memenv accepts from a model, a file or a user: the size caps, and text and data made safe to keep.

Model output inside ``env.step`` is data: however large, deep or malformed it is, it must neither
crash the step nor make ``info`` unpicklable, the memory unencodable or one step take minutes. The
environments therefore bound each reply before reading it (defaults below; each is a constructor
option, documented in the env's manual):

=======================  ==============  ================================================================
cap                      default         what happens past it
=======================  ==============  ================================================================
``max_reply_chars``      1,000,000       the reply is not read: one failed call, ``reply_too_long``
``max_calls_per_step``   1,024           no call of the reply runs: one failed call, ``too_many_calls``
``max_entry_chars``      100,000         that write fails with ``too_long`` (the memory is unchanged)
argument nesting         32 levels       that call fails with ``parse_error`` (:data:`MAX_ARGUMENT_DEPTH`)
``context_tokens``       4,194,304       refused at construction (:data:`MAX_CONTEXT_TOKENS`)
=======================  ==============  ================================================================

Character caps are checked before anything is tokenised, so a refusal costs no more than a length.
Text is kept as well-formed Unicode: a lone UTF-16 surrogate (a completion cut inside an emoji, or a
``"\\ud83d"`` JSON escape) becomes U+FFFD (:func:`well_formed`), so the memory, the observations and
``info`` always encode as UTF-8.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # memenv.tools imports memenv.memory, which imports this module
    from memenv.tools import ToolCall

MAX_REPLY_CHARS = 1_000_000
MAX_CALLS_PER_STEP = 1024
MAX_ENTRY_CHARS = 100_000
# Deep enough for any real tool call, shallow enough that pickling info (one C frame per level, and
# AsyncVectorEnv pickles every info) never comes near the recursion limit.
MAX_ARGUMENT_DEPTH = 32
# The generators' stream length cap: 4x the largest stream memenv benchmarks (1M tokens).
MAX_CONTEXT_TOKENS = 1 << 22


def well_formed(text: str) -> str:
    """``text`` with every lone surrogate replaced by U+FFFD (a valid surrogate pair becomes its character).

    Returns ``text`` itself when it already encodes as UTF-8 (the usual case, checked at C speed).
    """
    if text.isascii():
        return text
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    return text


class _TooDeep(Exception):
    pass


def bounded_call(call: ToolCall, max_depth: int = MAX_ARGUMENT_DEPTH) -> ToolCall:
    """``call`` with well-formed strings throughout, or a parse error if its arguments nest too deep.

    The arguments are copied (the parser's objects are never shared with ``info``); a call that fails
    is ``ToolCall(name, {}, error=...)``, which every env records as a failed ``parse_error`` call.
    """
    # type(call)(name, arguments, error, raw) rather than dataclasses.replace, which costs as much as the
    # copy, or keyword arguments, which make a frozen dataclass ~1.25x slower to build.
    arguments = call.arguments
    if max_depth > 0 and call.name.isascii() and type(arguments) is dict and _flat_ascii(arguments):
        # The usual call (string arguments, all ASCII): nothing to make well-formed, nothing nested.
        return type(call)(call.name, dict(arguments), call.error, call.raw)
    name = well_formed(call.name)
    try:
        arguments = _copy(call.arguments, max_depth)
    except _TooDeep:
        error = f"the arguments are nested deeper than {max_depth} levels"
        return type(call)(name, {}, error, call.raw)
    return type(call)(name, arguments, call.error, call.raw)


def _flat_ascii(arguments: dict[Any, Any]) -> bool:
    """Whether every key and value of ``arguments`` is a plain ``str`` of ASCII characters."""
    for key, value in arguments.items():
        if type(key) is not str or type(value) is not str or not key.isascii() or not value.isascii():
            return False
    return True


def _copy(value: Any, depth: int) -> Any:
    # Recursion is bounded by ``depth``: it stops at the cap, however deep the value goes. Strings (most
    # argument values) are made well-formed in place rather than through a call of _copy each.
    if isinstance(value, str):
        return well_formed(value)
    if isinstance(value, dict):
        if depth <= 0:
            raise _TooDeep
        return {
            (well_formed(k) if isinstance(k, str) else k): (
                well_formed(v) if isinstance(v, str) else _copy(v, depth - 1)
            )
            for k, v in value.items()
        }
    if isinstance(value, (list, tuple)):
        if depth <= 0:
            raise _TooDeep
        return [_copy(v, depth - 1) for v in value]
    return value
