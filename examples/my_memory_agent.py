"""Your own memory agent on the leaderboard: a factory that returns a writing policy.

    memenv eval --systems mem-alpha no-memory examples.my_memory_agent:make_writer --episodes 2

(run from the repository root: ``memenv eval`` puts the current folder on the import path, as
``python -m`` does). The factory is called once per worker process with no arguments; it returns a
policy ``policy(obs, info) -> reply`` that sees each chunk (``obs["chunk"]``, the memory view in
``obs["memory"]``, the chat messages and tool schemas in ``info``) and replies with tool calls, exactly
what an LLM writer would produce. It is played in ``MemAlpha-v0`` (set ``policy.env_id`` to play it
in another registered env), and the leaderboard's reader answers the questions from what it stored.

This one keeps every sentence that names something (a capitalised word after the first) or holds a
number, one semantic entry per sentence, and never updates or deletes: a fair first attempt that the
``mem-alpha`` heuristic beats on conflict resolution, where facts change.
"""

from __future__ import annotations

import re
from typing import Any

from memenv.parsing import render_tool_calls

_SENTENCE = re.compile(r"(?<=[.!?])\s+")
_NAME_OR_NUMBER = re.compile(r"\d|\s[A-Z][a-z]")


def keep_named_sentences(obs: dict[str, str], info: dict[str, Any]) -> str:
    """Insert each sentence of the chunk that names something or holds a number into semantic memory."""
    calls = [
        {"name": "new_memory_insert", "arguments": {"memory_type": "semantic_memory", "content": sentence}}
        for sentence in _SENTENCE.split(obs["chunk"].strip())
        if sentence and _NAME_OR_NUMBER.search(sentence)
    ]
    return render_tool_calls(calls) if calls else ""


def make_writer() -> Any:
    """The factory ``memenv eval --systems examples.my_memory_agent:make_writer`` calls."""
    return keep_named_sentences
