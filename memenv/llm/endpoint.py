"""OpenAI-compatible chat endpoints (vLLM, llama.cpp's ``llama-server``, SGLang, OpenAI) over ``httpx``.

Whatever the server (or something pretending to be it) sends, a call ends within its ``timeout`` with a
reply or an :class:`~memenv.llm.EndpointError` that names the URL and the cause:

- **One deadline for the whole call.** ``timeout`` bounds everything — connecting, sending, a server
  that trickles its headers or body a byte at a time, every retry and the waits between them. The
  request runs as a coroutine under ``asyncio.wait_for`` on a background event loop (one thread per
  process), so the deadline holds at every step, not per socket read.
- **Bounded retries on transient failures**: connection errors, resets, truncated bodies, garbage
  status lines (any ``httpx.TransportError``), HTTP 408, 429 and 5xx, and a 2xx body that is not JSON
  (a truncated close-delimited body looks like that). At most ``max_retries`` retries, with
  exponential backoff from ``retry_backoff`` seconds (a ``Retry-After`` header is honoured up to 30 s),
  and only while the deadline leaves time for them. Other HTTP errors fail at once.
- **Safe redirects.** The API key goes only to the configured scheme, host and port. A redirect to the
  same origin is followed (the request is sent again as it was, at most 5 times); a redirect anywhere
  else is refused, without sending anything there.
- **A response size cap** (``max_response_bytes``, 8 MiB): a longer body (decompressed) is not read
  further and the call fails; a declared ``Content-Length`` over the cap fails before reading.
- **Checked response shape**: ``choices[0].message`` with text ``content`` (or content parts) and
  well-formed ``tool_calls``; anything else (``"tool_calls": [null]``, a number as content, ...) is an
  ``EndpointError`` saying which field is wrong.

``httpx`` is in the ``llm`` extra; it is imported on the first call, so memenv imports without it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
import os
import threading
from collections.abc import Coroutine, Mapping, Sequence
from typing import Any, TypeVar

from memenv.llm.protocol import (
    ChatModel,
    EndpointError,
    Message,
    ModelUnavailableError,
    reply_budgets,
    template_variables,
)

logger = logging.getLogger(__name__)

MAX_RESPONSE_BYTES = 8 << 20
MAX_REDIRECTS = 5
MAX_RETRY_AFTER = 30.0
_DEFAULT_PORTS = {"http": 80, "https": 443}

T = TypeVar("T")


# --------------------------------------------------------------------------------------------------
# One event loop per process, on a daemon thread, runs every client's requests.


class _LoopThread:
    def __init__(self) -> None:
        self.pid = os.getpid()
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self._serve, name="memenv-http", daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        future = asyncio.run_coroutine_threadsafe(coroutine, self.loop)
        try:
            return future.result()
        except BaseException:  # Ctrl-C while waiting: stop the request too
            future.cancel()
            raise


_loop: _LoopThread | None = None
_loop_lock = threading.Lock()


def _event_loop() -> _LoopThread:
    global _loop
    with _loop_lock:
        if _loop is None or _loop.pid != os.getpid():  # a forked child has no copy of the thread
            _loop = _LoopThread()
        return _loop


def _forget_loop_after_fork() -> None:
    global _loop, _loop_lock
    _loop, _loop_lock = None, threading.Lock()


os.register_at_fork(after_in_child=_forget_loop_after_fork)


# --------------------------------------------------------------------------------------------------
# The client


class _Retry(Exception):
    """A transient failure: worth another attempt while time and retries remain."""

    def __init__(self, cause: str, status: int | None = None, retry_after: float = 0.0) -> None:
        super().__init__(cause)
        self.cause, self.status, self.retry_after = cause, status, retry_after


class _Fail(Exception):
    """A failure another attempt would repeat."""

    def __init__(self, cause: str, status: int | None = None) -> None:
        super().__init__(cause)
        self.cause, self.status = cause, status


class OpenAIChatModel(ChatModel):
    """A chat model served over HTTP with the OpenAI ``/chat/completions`` protocol.

    Works with vLLM (``vllm serve MODEL`` -> ``http://localhost:8000/v1``), llama.cpp's ``llama-server``
    (``http://localhost:8080/v1``), SGLang and OpenAI. See the module docstring for what it guarantees
    against slow, broken or hostile servers.

    Each call POSTs ``{base_url}/chat/completions`` with ``model``, ``messages``, ``max_tokens``,
    ``temperature``, ``seed`` (when given), ``tools`` (when given, passed through unchanged) and
    ``chat_template_kwargs`` (when set: vLLM, SGLang and llama.cpp's server hand them to the chat
    template, e.g. ``{"enable_thinking": false}`` for Qwen3; OpenAI itself does not take them). The
    reply is ``choices[0].message.content``; when the server returns structured ``tool_calls`` instead
    (vLLM with a tool parser, OpenAI), they are written back as ``<tool_call>{...}</tool_call>`` text so
    memenv's parser reads them like any other model's output.

    The API key is read from the environment variable ``api_key_env`` at each call (so it is never
    stored on the object), is sent only to ``base_url``'s origin, and is never logged; local servers
    usually need none. Connections are pooled. :meth:`generate_batch` sends its conversations
    concurrently (servers such as vLLM batch concurrent requests), keeping up to ``concurrency``
    requests in flight; the bound holds for the model as a whole, whichever threads or batches the
    calls come from. Instances pickle (without their connections) and work after a fork.

    Args:
        base_url: the API root, e.g. ``http://localhost:8000/v1`` (no trailing ``/chat/completions``).
        model: the model name the server expects.
        api_key_env: the environment variable holding the key (sent as ``Authorization: Bearer``).
        timeout: seconds one call may take in all, retries included.
        max_retries: retries after the first attempt (so at most ``max_retries + 1`` requests).
        retry_backoff: seconds before the first retry (doubled each time).
        concurrency: the most requests in flight at once (all calls of this model together in one
            process); set it to what the server batches well (vLLM: its ``--max-num-seqs``, 256 by
            default, or less).
        max_response_bytes: the largest response body read (8 MiB).
        chat_template_kwargs: extra chat-template variables sent with every request (see above).
        enable_thinking: shorthand for ``chat_template_kwargs["enable_thinking"]``; ``False`` asks a
            reasoning model (Qwen3) to answer without a reasoning block; ``None`` (default) sends nothing.
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
        max_response_bytes: int = MAX_RESPONSE_BYTES,
        chat_template_kwargs: Mapping[str, Any] | None = None,
        enable_thinking: bool | None = None,
    ) -> None:
        self.chat_template_kwargs = template_variables(chat_template_kwargs, enable_thinking)
        try:
            json.dumps(self.chat_template_kwargs)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"chat_template_kwargs must be JSON data to send to a server ({exc})") from None
        if not isinstance(base_url, str) or not base_url.startswith(("http://", "https://")):
            raise ValueError(f"base_url must start with http:// or https://, got {base_url!r}")
        if not isinstance(model, str) or not model:
            raise ValueError("model must be a non-empty model name")
        for name, value in (("timeout", timeout), ("retry_backoff", retry_backoff)):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                raise ValueError(f"{name} must be a finite number of seconds, got {value!r}")
        for name, value in (("max_retries", max_retries), ("concurrency", concurrency)):
            if isinstance(value, bool) or not isinstance(value, int):
                raise ValueError(f"{name} must be an int, got {value!r}")
        if max_retries < 0 or timeout <= 0 or concurrency < 1 or retry_backoff < 0 or max_response_bytes < 1:
            raise ValueError(
                "need max_retries >= 0, timeout > 0, concurrency >= 1, retry_backoff >= 0, max_response_bytes >= 1; "
                f"got {max_retries}, {timeout}, {concurrency}, {retry_backoff}, {max_response_bytes}"
            )
        self.base_url = base_url.rstrip("/")
        self.url = f"{self.base_url}/chat/completions"
        self.model = model
        self.name = model
        self.api_key_env = api_key_env
        self.timeout = float(timeout)
        self.max_retries = max_retries
        self.retry_backoff = float(retry_backoff)
        self.concurrency = concurrency
        self.max_response_bytes = max_response_bytes
        self._client: Any = None  # an httpx.AsyncClient, made on the event loop at first use
        self._client_pid = 0
        self._semaphore: asyncio.Semaphore | None = None  # made on the event loop at first use
        self._semaphore_pid = 0

    # -- public API -------------------------------------------------------------------------------

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
        if self.chat_template_kwargs:
            body["chat_template_kwargs"] = dict(self.chat_template_kwargs)
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
        return _event_loop().run(self._call(body))

    def generate_batch(
        self,
        batch: Sequence[list[Message]],
        *,
        tools: list[dict] | None = None,
        max_new_tokens: int | Sequence[int] = 256,
        temperature: float = 0.0,
        seed: int | None = None,
    ) -> list[str]:
        """One reply per conversation, in order, with up to ``concurrency`` requests in flight.

        ``max_new_tokens`` is one budget for all, or one per conversation. Each conversation gets its
        own ``timeout``, counted from when its request is sent; the first failure is raised once all
        have ended.
        """
        budgets = reply_budgets(max_new_tokens, len(batch))
        bodies = [
            self.request_body(m, tools=tools, max_new_tokens=budget, temperature=temperature, seed=seed)
            for m, budget in zip(batch, budgets, strict=True)
        ]
        return _event_loop().run(self._call_many(bodies)) if bodies else []

    def close(self) -> None:
        """Close the pooled connections (a later call opens new ones)."""
        if self._client is not None and self._client_pid == os.getpid():
            _event_loop().run(self._client.aclose())
        self._client = None

    def __enter__(self) -> OpenAIChatModel:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_client"], state["_client_pid"] = None, 0
        state["_semaphore"], state["_semaphore_pid"] = None, 0
        return state

    # -- one call ---------------------------------------------------------------------------------

    async def _call_many(self, bodies: list[dict[str, Any]]) -> list[str]:
        replies = await asyncio.gather(*(self._call(body) for body in bodies), return_exceptions=True)
        for reply in replies:
            if isinstance(reply, BaseException):
                raise reply
        return list(replies)  # type: ignore[arg-type]

    async def _call(self, body: dict[str, Any]) -> str:
        # The model's requests in flight, from every caller at once, never exceed `concurrency`. The
        # deadline starts once a place is free: waiting for one is not the server being slow.
        async with self._gate():
            return await self._call_now(body)

    def _gate(self) -> asyncio.Semaphore:
        """The semaphore bounding this model's requests in flight (one per process; used on the loop thread only)."""
        if self._semaphore is None or self._semaphore_pid != os.getpid():
            self._semaphore = asyncio.Semaphore(self.concurrency)
            self._semaphore_pid = os.getpid()
        return self._semaphore

    async def _call_now(self, body: dict[str, Any]) -> str:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.timeout
        data = json.dumps(body).encode("utf-8")
        attempts = self.max_retries + 1
        attempt = 0
        while True:
            attempt += 1
            try:
                response = await asyncio.wait_for(self._attempt(data), timeout=max(deadline - loop.time(), 0.0))
            except asyncio.TimeoutError:
                cause = f"timed out after {self.timeout:g} s (the whole call, {attempt} attempt(s))"
                raise EndpointError(self.url, cause, attempts=attempt) from None
            except _Fail as failure:
                raise EndpointError(self.url, failure.cause, status=failure.status, attempts=attempt) from None
            except _Retry as transient:
                if attempt >= attempts:
                    raise EndpointError(self.url, transient.cause, status=transient.status, attempts=attempt) from None
                delay = max(self.retry_backoff * 2 ** (attempt - 1), transient.retry_after)
                if loop.time() + delay >= deadline:
                    cause = f"{transient.cause}; no time left to retry within the {self.timeout:g} s timeout"
                    raise EndpointError(self.url, cause, status=transient.status, attempts=attempt) from None
                logger.warning(
                    "chat endpoint %s: %s; retry %d of %d in %.1f s",
                    self.url,
                    transient.cause,
                    attempt,
                    self.max_retries,
                    delay,
                )
                await asyncio.sleep(delay)
                continue
            return _reply_text(response, self.url)

    async def _attempt(self, data: bytes) -> Any:
        """One request (following same-origin redirects); the decoded JSON body, or _Retry / _Fail."""
        import httpx

        client = self._http_client()
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        key = os.environ.get(self.api_key_env, "")
        if key:
            headers["Authorization"] = f"Bearer {key}"
        origin = _origin(httpx.URL(self.url))
        url = httpx.URL(self.url)
        for _ in range(MAX_REDIRECTS + 1):
            try:
                async with client.stream("POST", url, content=data, headers=headers) as response:
                    status, reason = response.status_code, response.reason_phrase
                    location = response.headers.get("location") if 300 <= status < 400 else None
                    if location is None:
                        raw = await _read_capped(response, self.max_response_bytes)
                        retry_after = _retry_after_seconds(response.headers.get("retry-after"))
            except httpx.TransportError as error:
                raise _Retry(_describe(error)) from None
            except httpx.InvalidURL as error:
                raise _Fail(f"the server sent an unusable redirect ({error})", 300) from None
            if location is not None:
                target = url.join(location)
                if _origin(target) != origin:
                    raise _Fail(
                        f"HTTP {status} redirect to {target.scheme}://{target.host}"
                        f"{'' if target.port is None else f':{target.port}'} refused: a redirect may not leave "
                        f"{origin[0]}://{origin[1]}:{origin[2]} (the API key is never sent elsewhere)",
                        status,
                    )
                url = target
                continue
            if status >= 400:
                detail = raw[:500].decode("utf-8", "replace").strip()
                cause = f"HTTP {status} {reason}: {detail}" if detail else f"HTTP {status} {reason}"
                if status in (408, 429) or status >= 500:
                    raise _Retry(cause, status, retry_after)
                raise _Fail(cause, status)
            if status >= 300:
                raise _Fail(f"HTTP {status} {reason} without a Location to follow", status)
            try:
                return json.loads(raw)
            except (ValueError, RecursionError):
                raise _Retry(f"the response is not JSON: {raw[:200]!r}", status) from None
        raise _Fail(f"more than {MAX_REDIRECTS} redirects", status)

    def _http_client(self) -> Any:
        if self._client is None or self._client_pid != os.getpid():
            try:
                import httpx
            except ImportError as error:
                raise ModelUnavailableError(
                    "OpenAIChatModel needs httpx; install it with: pip install 'memenv[llm]' (or pip install httpx)"
                ) from error
            limits = httpx.Limits(max_connections=self.concurrency, max_keepalive_connections=self.concurrency)
            # No httpx timeouts: the call's deadline (asyncio.wait_for) bounds every step instead.
            self._client = httpx.AsyncClient(timeout=None, follow_redirects=False, limits=limits)
            self._client_pid = os.getpid()
        return self._client


def _describe(error: BaseException) -> str:
    """``"ConnectError: All connection attempts failed (Connection refused)"``: the error and its root OS cause."""
    text = f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
    cause, seen = error.__cause__ or error.__context__, 0
    while cause is not None and seen < 10:
        if isinstance(cause, OSError) and (cause.errno or cause.strerror):
            return f"{text} ({os.strerror(cause.errno) if cause.errno else cause.strerror})"
        cause, seen = cause.__cause__ or cause.__context__, seen + 1
    return text


def _origin(url: Any) -> tuple[str, str, int]:
    return url.scheme, url.host, url.port or _DEFAULT_PORTS.get(url.scheme, 0)


async def _read_capped(response: Any, cap: int) -> bytes:
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > cap:
        raise _Fail(f"the response declares {int(declared):,} bytes, over the cap of {cap:,}", response.status_code)
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_bytes():  # decompressed: a gzip bomb is capped too
        size += len(chunk)
        if size > cap:
            raise _Fail(f"the response is over the cap of {cap:,} bytes; stopped reading", response.status_code)
        chunks.append(chunk)
    return b"".join(chunks)


def _retry_after_seconds(value: str | None) -> float:
    if value is None:
        return 0.0
    with contextlib.suppress(ValueError):
        seconds = float(value)
        if math.isfinite(seconds):
            return min(max(seconds, 0.0), MAX_RETRY_AFTER)
    return 0.0


# --------------------------------------------------------------------------------------------------
# The response


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean"}.get(type(value), "a number")


def _reply_text(response: Any, url: str) -> str:
    """``choices[0].message`` as text: its content, then any structured tool calls as ``<tool_call>`` blocks."""

    def bad(problem: str) -> EndpointError:
        return EndpointError(url, f"the response {problem}", status=200)

    choices = response.get("choices") if isinstance(response, dict) else None
    message = (
        choices[0].get("message") if isinstance(choices, list) and choices and isinstance(choices[0], dict) else None
    )
    if not isinstance(message, dict):
        raise bad(f"has no choices[0].message: {str(response)[:200]}")
    content = message.get("content")
    if content is None:
        content = ""
    elif isinstance(content, list):  # some servers return content parts
        texts = []
        for i, part in enumerate(content):
            if not isinstance(part, dict):
                raise bad(f"has choices[0].message.content[{i}] that is {_kind(part)}, expected an object")
            if isinstance(part.get("text"), str):
                texts.append(part["text"])
        content = "".join(texts)
    elif not isinstance(content, str):
        raise bad(f"has choices[0].message.content that is {_kind(content)}, expected text")
    tool_calls = message.get("tool_calls")
    if tool_calls is None:
        tool_calls = []
    if not isinstance(tool_calls, list):
        raise bad(f"has choices[0].message.tool_calls that is {_kind(tool_calls)}, expected a list")
    blocks = []
    for i, call in enumerate(tool_calls):
        where = f"choices[0].message.tool_calls[{i}]"
        function = call.get("function") if isinstance(call, dict) else None
        if not isinstance(function, dict):
            got = _kind(call) if not isinstance(call, dict) else f"an object whose function is {_kind(function)}"
            raise bad(f"has {where} that is {got}, expected an object with a function object")
        name = function.get("name", "")
        if not isinstance(name, str):
            raise bad(f"has {where}.function.name that is {_kind(name)}, expected a string")
        arguments = function.get("arguments", {})
        if isinstance(arguments, str):
            # On bad JSON keep the raw string; the parser's JSON repair gets a chance at it.
            with contextlib.suppress(ValueError, RecursionError):
                arguments = json.loads(arguments)
        elif arguments is not None and not isinstance(arguments, dict):
            raise bad(f"has {where}.function.arguments that is {_kind(arguments)}, expected an object or JSON text")
        try:
            payload = json.dumps({"name": name, "arguments": arguments}, ensure_ascii=False)
        except (ValueError, RecursionError):
            raise bad(f"has {where}.function.arguments nested too deeply to write back") from None
        blocks.append(f"<tool_call>{payload}</tool_call>")
    return "\n".join([content, *blocks]).strip() if blocks else content
