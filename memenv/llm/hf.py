"""A local Hugging Face causal LM behind the :class:`~memenv.llm.ChatModel` interface.

``torch`` and ``transformers`` are imported only when a model is built, so the rest of memenv works
without them.
"""

from __future__ import annotations

import hashlib
import importlib.util
import inspect
import json
import os
import time
from collections import OrderedDict
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any

from memenv.llm.protocol import ChatModel, Message, ModelUnavailableError, reply_budgets, template_variables

PREFILL_MODES = ("auto", "rows", "batch")

PREFIX_BLOCK = 256
"""Tokens per block of the prefix cache (see :meth:`HFChatModel.generate_ids`)."""

HF_PIP = 'pip install "torch==2.13.0" transformers gguf accelerate'

TOOL_CALL_INSTRUCTIONS = (
    "You may call the tools listed below. To call one, write\n"
    '<tool_call>{"name": "TOOL_NAME", "arguments": {ARGUMENTS AS JSON}}</tool_call>\n'
    "You may write several calls, one after another; they run in order. The tools, as JSON schemas:"
)
"""Put into the system message by :class:`HFChatModel` when tools are given but the model's chat
template has no place for them (e.g. SmolLM2), so the model still sees what it can call."""


def render_chat_prompt(
    tokenizer: Any,
    messages: list[Message],
    tools: list[dict] | None = None,
    chat_template_kwargs: Mapping[str, Any] | None = None,
) -> str:
    """The prompt text for ``messages``, ready for the model to continue: every memenv prompt goes through here.

    The tokenizer's chat template is applied with ``add_generation_prompt=True``, ``tools`` and the
    extra template variables ``chat_template_kwargs`` (``{"enable_thinking": False}`` makes Qwen3's
    template open and close an empty reasoning block, so the model answers at once; a template that
    does not use a variable ignores it). When the template has no place for tools, the tool schemas
    are written into the system message with :data:`TOOL_CALL_INSTRUCTIONS`. A tokenizer without a
    chat template gets a plain ``role: content`` transcript ending in ``assistant:``.
    """
    template = tokenizer.chat_template
    template_text = json.dumps(template) if isinstance(template, dict) else (template or "")
    if tools and "tools" not in template_text:
        messages = _with_tools_in_system(messages, tools)
        tools = None
    if template_text:
        variables = dict(chat_template_kwargs or {})
        return tokenizer.apply_chat_template(
            messages, tools=tools or None, add_generation_prompt=True, tokenize=False, **variables
        )
    lines = [f"{m['role']}: {m.get('content') or ''}" for m in messages]
    return "\n".join([*lines, "assistant:"])


def stop_token_ids(model: Any, tokenizer: Any) -> list[int]:
    """Token ids that end a reply: the generation config's EOS ids and the tokenizer's EOS.

    ``model`` may be ``None`` (or have no generation config): then only the tokenizer's EOS counts.
    """
    ids: list[int] = []
    configured = getattr(getattr(model, "generation_config", None), "eos_token_id", None)
    if configured is not None:
        ids.extend(configured if isinstance(configured, list) else [configured])
    # Chat models end a turn with the tokenizer's EOS (e.g. <|im_end|>), which the model's
    # generation config does not always list.
    if tokenizer.eos_token_id is not None and tokenizer.eos_token_id not in ids:
        ids.append(tokenizer.eos_token_id)
    return ids


def left_padded(rows: Sequence[Sequence[int]], pad_id: int) -> tuple[Any, Any]:
    """``(input_ids, attention_mask)`` of token-id rows as one left-padded batch (``torch.long``, on the CPU):
    each row ends at the last column, the columns before it hold ``pad_id`` with mask 0."""
    import torch

    width = max(len(row) for row in rows)
    ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for i, row in enumerate(rows):
        ids[i, width - len(row) :] = torch.tensor(row, dtype=torch.long)
        mask[i, width - len(row) :] = 1
    return ids, mask


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
    template, ``add_generation_prompt=True`` and the extra template variables ``chat_template_kwargs``,
    e.g. ``enable_thinking=False`` for Qwen3). When the template has no place for tools, the tool
    schemas are written into the system message with :data:`TOOL_CALL_INSTRUCTIONS`, so any model sees
    what it may call. A tokenizer without a chat template gets a plain ``role: content`` transcript
    (:func:`render_chat_prompt`).
    Decoding is greedy when ``temperature == 0`` (the default), so the same prompt gives the same reply;
    only the newly generated text is returned, special tokens removed, whitespace kept.

    :attr:`model` and :attr:`tokenizer` are the plain ``transformers`` objects, for trainers that want
    to compute log-probabilities or take gradient steps on the same weights.

    Args:
        path: a local folder holding the model and its tokenizer (as written by ``save_pretrained``).
        device: ``"cuda"``, ``"cpu"``, ``"cuda:1"``, ...; ``None`` picks CUDA when available.
        dtype: a ``torch.dtype`` or its name; ``None`` = bfloat16 on a GPU that supports it, else float32.
        name: shown in reports; defaults to the folder name.
        prefill: how :meth:`generate_ids` runs the prompts of a batch: ``"rows"`` (one at a time, no
            padding: fastest on a CPU), ``"batch"`` (one left-padded pass: fastest on a GPU) or
            ``"auto"`` (``"batch"`` on CUDA, else ``"rows"``).
        prefix_cache_tokens: how many prompt tokens of keys/values the prefix cache keeps (see
            :meth:`generate_ids`; 0 turns it off). A token costs ``2 * layers * kv_heads * head_dim``
            numbers: 46 KB in float32 for SmolLM2-135M, so the default 4096 tokens is about 190 MB.
        share_prefix: whether a batch's rows keep the prompt prefix they share once for decoding (see
            :meth:`generate_ids`; on a CPU with ``prefill="rows"``). ``False`` decodes over a full copy
            per row, with the same greedy replies: for measuring what sharing buys.
        chat_template_kwargs: extra variables for the chat template, e.g. ``{"enable_thinking": False}``
            (see :func:`render_chat_prompt`).
        enable_thinking: shorthand for ``chat_template_kwargs["enable_thinking"]``: ``False`` turns off
            the reasoning block of models whose template has the switch (Qwen3), so a short reply budget
            is spent on the answer; ``None`` (default) leaves the template's own default.

    :attr:`usage` counts what was generated (``batches``, ``rows``, ``prompt_tokens``,
    ``prompt_tokens_cached`` (of which taken from the prefix cache), ``prompt_tokens_shared`` (of
    which decoded without a copy of their own: a prefix shared by the rows of a batch is kept once),
    ``completion_tokens``) and how long it took (``generate_seconds``: wall seconds in
    :meth:`generate_ids`; ``prompt_seconds``: of which in the prompt pass, before the first new token —
    counted by the batched loop of :meth:`generate_ids`, not by the ``transformers`` fallback), for
    throughput reports: the prompt pass costs the same batched or not on a CPU, so ``generate_seconds /
    prompt_seconds`` of one-at-a-time calls bounds what batching them can gain.

    :meth:`generate_batch` decodes several conversations as one batch (see :meth:`generate_ids`); with
    greedy decoding in float32 each reply equals what :meth:`generate` gives that conversation alone.

    Example::

        model = HFChatModel(default_model_path())
        model.generate([{"role": "user", "content": "What is the capital of France?"}], max_new_tokens=16)
    """

    def __init__(
        self,
        path: str | os.PathLike,
        device: str | None = None,
        dtype: Any = None,
        name: str = "",
        prefill: str = "auto",
        prefix_cache_tokens: int = 4096,
        chat_template_kwargs: Mapping[str, Any] | None = None,
        enable_thinking: bool | None = None,
        share_prefix: bool = True,
    ) -> None:
        if prefill not in PREFILL_MODES:
            raise ValueError(f"prefill must be one of {PREFILL_MODES}, got {prefill!r}")
        self.chat_template_kwargs = template_variables(chat_template_kwargs, enable_thinking)
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
        self.prefill = prefill if prefill != "auto" else ("batch" if self.device.startswith("cuda") else "rows")
        self.usage = {
            "batches": 0,
            "rows": 0,
            "prompt_tokens": 0,
            "prompt_tokens_cached": 0,
            "prompt_tokens_shared": 0,
            "completion_tokens": 0,
            "generate_seconds": 0.0,
            "prompt_seconds": 0.0,
        }
        if isinstance(prefix_cache_tokens, bool) or not isinstance(prefix_cache_tokens, int) or prefix_cache_tokens < 0:
            raise ValueError(f"prefix_cache_tokens must be an int >= 0, got {prefix_cache_tokens!r}")
        self.prefix_cache_tokens = prefix_cache_tokens
        self.share_prefix = bool(share_prefix)
        self._prefix_blocks: OrderedDict[bytes, list[tuple[Any, Any]]] = OrderedDict()  # least recently used first
        self._prefix_weights: tuple[int, int] = (0, -1)
        self._loop_ok: bool | None = None  # whether this model's cache suits the decoding loop (None: not seen yet)
        self._cache_argument_of: tuple[int, str] = (0, "")

    def _cache_argument(self) -> str:
        """The forward() argument taking the KV cache: ``cache`` in recent transformers, else ``past_key_values``."""
        if self._cache_argument_of[0] != id(self.model):  # trainers may wrap the model (peft) after construction
            model = self.model.get_base_model() if hasattr(self.model, "get_base_model") else self.model
            name = "cache" if "cache" in inspect.signature(model.forward).parameters else "past_key_values"
            self._cache_argument_of = (id(self.model), name)
        return self._cache_argument_of[1]

    # -- prompt building ------------------------------------------------------------------------

    def render_prompt(self, messages: list[Message], tools: list[dict] | None = None) -> str:
        """The exact text the model is given for ``messages`` (chat template applied with
        :attr:`chat_template_kwargs`, ready to continue); see :func:`render_chat_prompt`."""
        return render_chat_prompt(self.tokenizer, messages, tools, self.chat_template_kwargs)

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
        max_new_tokens: int | Sequence[int] = 256,
        temperature: float = 0.0,
        seed: int | None = None,
    ) -> list[str]:
        """Replies for several conversations, decoded together (see :meth:`generate_ids`).

        ``max_new_tokens`` is one budget for all, or one per conversation. Greedy replies equal the
        ones :meth:`generate` gives each conversation alone (up to float near-ties; exact on the CPU
        in float32 in our tests); with ``temperature > 0`` and a ``seed`` they repeat call to call.
        """
        if not batch:
            return []
        prompts = [self.render_prompt(list(m), tools) for m in batch]
        # The chat template already wrote any BOS/control tokens the model expects.
        ids = self.tokenizer(prompts, add_special_tokens=False)["input_ids"]
        completions = self.generate_ids(ids, max_new_tokens=max_new_tokens, temperature=temperature, seed=seed)
        # Not stripped: the text is exactly what the new tokens decode to (trainers may re-tokenize it).
        return self.tokenizer.batch_decode(completions, skip_special_tokens=True)

    def generate_ids(
        self,
        prompts: Sequence[Sequence[int]],
        *,
        max_new_tokens: int | Sequence[int] = 256,
        temperature: float = 0.0,
        seed: int | None = None,
    ) -> list[list[int]]:
        """Token ids in, token ids out: one completion per prompt, all decoded as one batch.

        How: each prompt is prefilled on its own (``prefill="rows"``, the CPU default: no padding in the
        long prompt pass, and each row's first token is exactly what a lone call gives) or all together
        left-padded (``prefill="batch"``, the GPU default); then the rows decode together, one forward
        pass per token, over a left-padded KV cache (preallocated: a step writes in place instead of
        copying the cache) with an attention mask and per-row positions. A row leaves the batch as
        soon as it emits a stop token (:meth:`stop_ids`) or reaches its own budget, so short replies
        do not pay for long ones.

        Prefix cache (``prefill="rows"``): prompts are run in blocks of :data:`PREFIX_BLOCK` tokens and
        the keys/values of every full block are kept (up to ``prefix_cache_tokens``, least recently
        used dropped first), keyed by all the tokens up to the block's end. A prompt that starts like
        an earlier one (the same system prompt and tool schemas at every step of every episode)
        starts from the stored blocks. A block is always computed from the same earlier blocks, so a
        reply is bit for bit the same with or without stored blocks. The store is emptied when the
        weights change (an optimiser step, a LoRA merge: any in-place update of a parameter) and is
        not used while the model is in training mode.

        Shared prefix (``prefill="rows"`` on a CPU, 2+ rows): the whole blocks at the start that every
        row shares, with bit-for-bit equal keys/values (the same stored blocks), are kept once instead
        of once per row, and each decode step's attention reads them once for all rows
        (:func:`_shared_prefix_attention`). On a CPU that read, not the arithmetic, is what each row
        adds to a step: eight rows' 2K-token caches spill out of the CPU's cache where one row's fits.

        Decoding: greedy (``argmax``) when ``temperature == 0``; otherwise ``softmax(logits /
        temperature)`` after the top-k / top-p / min-p the model's generation config sets. With a
        ``seed``, row ``i`` samples from its own generator seeded ``seed + i`` (the global RNG is left
        alone), so a row's draws do not depend on the other rows and the same call repeats; without
        one it samples from torch's global RNG.

        Batched replies equal lone ones (greedy: :meth:`generate`; sampled: ``generate(seed=seed + i)``
        for row ``i``) in float32 on a CPU, shared prefix or not, in our tests. In bfloat16 or float16 a
        batch rounds its arithmetic differently from a lone row, so where two tokens score within that
        rounding a row's choice or draw can go the other way: on the tiny random model (nearly flat
        next-token scores) rows of an 8-row bfloat16 batch measured different from their lone replies.

        A model whose cache is not a plain per-layer key/value cache (sliding-window or linear-attention
        layers), or whose generation config asks for other logits processing (repetition penalty,
        banned words, ...), goes through ``transformers``' own ``generate`` on the left-padded batch
        instead; the replies are the same up to float near-ties and sampling draws.

        Args:
            prompts: prompt token ids, one list per row (each non-empty).
            max_new_tokens: the most new tokens per row: one int for all rows, or one per row (each >= 1).
            temperature: ``0.0`` = greedy.
            seed: makes sampling repeatable.

        Returns:
            The new ids of each row, its stop token included when it emitted one.
        """
        import torch

        budgets = reply_budgets(max_new_tokens, len(prompts))
        if temperature < 0:
            raise ValueError(f"temperature must be >= 0, got {temperature}")
        rows = [list(p) for p in prompts]
        for i, row in enumerate(rows):
            if not row:
                raise ValueError(f"prompt {i} is empty: a prompt needs at least one token")
        if not rows:
            return []
        start = time.perf_counter()
        with torch.inference_mode():
            completions = self._decode(rows, budgets, temperature, seed) if self._plain_decoding() else None
            if completions is None:
                completions = self._generate_with_transformers(rows, budgets, temperature, seed)
        self.usage["batches"] += 1
        self.usage["rows"] += len(rows)
        self.usage["prompt_tokens"] += sum(len(r) for r in rows)
        self.usage["completion_tokens"] += sum(len(c) for c in completions)
        self.usage["generate_seconds"] += time.perf_counter() - start
        return completions

    def stop_ids(self) -> list[int]:
        """Token ids that end a reply (see :func:`stop_token_ids`)."""
        return stop_token_ids(self.model, self.tokenizer)

    # -- the decoding loop --------------------------------------------------------------------------

    def _plain_decoding(self) -> bool:
        """Whether the generation config asks only for what :meth:`_decode` does (temperature, top-k/p, min-p)."""
        if self._loop_ok is False:
            return False
        config = self.model.generation_config
        for field, neutral in _NEUTRAL_GENERATION.items():
            value = getattr(config, field, None)
            if value is not None and value != neutral and value != []:
                return False
        return True

    def _forward(self, **inputs: Any) -> tuple[Any, Any]:
        """One forward pass; ``(logits of the last position, the cache)``, across transformers versions."""
        cache = inputs.pop("cache", None)
        if cache is not None:
            inputs[self._cache_argument()] = cache
        output = self.model(**inputs, use_cache=True, logits_to_keep=1)
        new_cache = output.get("cache") if "cache" in output else output.get("past_key_values")
        return output.logits[:, -1, :], new_cache

    def _decode(self, rows: list[list[int]], budgets: list[int], temperature: float, seed: int | None) -> Any:
        """The batched decoding loop (see :meth:`generate_ids`); ``None`` if this model's cache does not fit it."""
        import torch

        device = self.model.device
        start = time.perf_counter()
        started = self._prefill(rows, room=max(budgets))
        if started is None:
            return None
        if device.type == "cuda":
            torch.cuda.synchronize(device)  # the kernels run asynchronously: time their end, not their launch
        self.usage["prompt_seconds"] += time.perf_counter() - start
        logits, cache, mask, width, prefix = started
        positions = torch.tensor([len(r) for r in rows], device=device)
        stops = set(self.stop_ids())
        generators = None
        if temperature > 0 and seed is not None:
            generators = [torch.Generator(device=device).manual_seed(seed + i) for i in range(len(rows))]
        sampling = self._sampling_filters() if temperature > 0 else None
        completions: list[list[int]] = [[] for _ in rows]
        live = list(range(len(rows)))  # which row each batch line holds
        while True:
            draws = None if generators is None else [generators[i] for i in live]
            tokens = _choose(logits, temperature, sampling, draws)
            keep: list[int] = []
            for line, (row, token) in enumerate(zip(live, tokens.tolist(), strict=True)):
                completions[row].append(token)
                if token not in stops and len(completions[row]) < budgets[row]:
                    keep.append(line)
            if not keep:
                return completions
            if len(keep) < len(live):
                index = torch.tensor(keep, device=device)
                cache.batch_select_indices(index)
                mask, positions, tokens = mask[index], positions[index], tokens[index]
                live = [live[line] for line in keep]
            mask[:, width] = 1 if prefix is None else 0  # allocated in full up front: no copy per step
            width += 1
            # With a shared prefix the cache holds only what follows it; the prefix's keys/values, stored
            # once for all rows, go to the attention as an argument (see _shared_prefix_attention), which
            # takes the mask in its 4-D form.
            shared = {} if prefix is None else {"memenv_prefix": prefix}
            with nullcontext() if prefix is None else _shared_prefix_attention_in(self.model):
                logits, cache = self._forward(
                    input_ids=tokens[:, None],
                    attention_mask=mask[:, :width] if prefix is None else mask[:, None, None, :width],
                    position_ids=positions[:, None],
                    cache=cache,
                    **shared,
                )
            positions = positions + 1

    def _prefill(self, rows: list[list[int]], room: int) -> tuple[Any, Any, Any, int, Any] | None:
        """Run the prompts: ``(logits of each row's first new token, cache, mask, width, prefix)``.

        The cache is left-padded with ``room`` free places per row; the mask is allocated with the room
        (ones on the prompt); ``width`` is the filled width. With ``prefill="rows"`` and rows that share
        a prompt prefix whose keys/values are bit for bit the same in every row (the prefix cache's
        blocks), ``prefix`` holds those keys/values once, ``(keys, values)`` per layer with batch size 1,
        and the cache and mask hold only what follows it (see :func:`_shared_prefix_attention`);
        otherwise ``prefix`` is ``None``.
        """
        import torch

        device = self.model.device
        lengths = [len(r) for r in rows]
        width = max(lengths)
        if self.prefill == "batch" and len(rows) > 1:
            mask = _prompt_mask(lengths, width, room, device, torch.long)
            ids = torch.full((len(rows), width), self.tokenizer.pad_token_id, dtype=torch.long, device=device)
            for i, row in enumerate(rows):
                ids[i, width - len(row) :] = torch.tensor(row, device=device)
            positions = (mask[:, :width].cumsum(-1) - 1).clamp(min=0)
            logits, cache = self._forward(input_ids=ids, attention_mask=mask[:, :width], position_ids=positions)
            if not self._check_cache(cache):
                return None
            return logits, _growing_cache([cache], [width], width, room), mask, width, None
        last, caches = [], []
        for row in rows:
            started = self._prefill_row(row)
            if started is None:
                return None
            last.append(started[0])
            caches.append(started[1])
        shared = self._shared_prefix_length(rows, caches)
        if not shared:
            mask = _prompt_mask(lengths, width, room, device, torch.long)
            return torch.cat(last, dim=0), _growing_cache(caches, lengths, width, room), mask, width, None
        prefix = [(layer.keys[:, :, :shared], layer.values[:, :, :shared]) for layer in caches[0].layers]
        own = [n - shared for n in lengths]  # each row's tokens after the shared prefix
        # Additive, in the model's dtype (what the flash kernel takes): 0 where a row has a token, else -inf.
        visible = _prompt_mask(own, width - shared, room, device, torch.bool)
        mask = torch.zeros(visible.shape, dtype=prefix[0][0].dtype, device=device).masked_fill(~visible, float("-inf"))
        cache = _growing_cache(caches, lengths, width, room, start=shared)
        self.usage["prompt_tokens_shared"] += shared * (len(rows) - 1)
        return torch.cat(last, dim=0), cache, mask, width - shared, prefix

    def _shared_prefix_length(self, rows: list[list[int]], caches: list[Any]) -> int:
        """How many leading prompt tokens the decoding loop keeps once for all rows (0: none).

        The rows' common token prefix, in whole prefix-cache blocks (those came from one stored copy),
        and only when every row's keys and values there are bit for bit the same as the first row's:
        sharing them then changes no input of any row's attention, only how often it is read. Only
        with :attr:`share_prefix`, on a CPU (the kernel :func:`_shared_prefix_attention` calls), with the
        ``sdpa`` attention (what it replaces) and 2+ rows.
        """
        import torch

        if (
            not self.share_prefix
            or len(rows) < 2
            or self.model.device.type != "cpu"
            or getattr(self.model.config, "_attn_implementation", None) != "sdpa"
        ):
            return 0
        common = min(len(r) for r in rows) - 1  # every row keeps at least its last prompt token
        first = rows[0]
        for row in rows[1:]:
            common = next((i for i in range(common) if row[i] != first[i]), common)
        shared = common // PREFIX_BLOCK * PREFIX_BLOCK
        if not shared:
            return 0
        for cache in caches[1:]:
            for mine, theirs in zip(cache.layers, caches[0].layers, strict=True):
                if not (
                    torch.equal(mine.keys[:, :, :shared], theirs.keys[:, :, :shared])
                    and torch.equal(mine.values[:, :, :shared], theirs.values[:, :, :shared])
                ):
                    return 0
        return shared

    def _prefill_row(self, row: list[int]) -> tuple[Any, Any] | None:
        """One prompt, block by block through the prefix cache: ``(logits of its last token, its cache)``.

        The prompt is cut into blocks of :data:`PREFIX_BLOCK` tokens; every full block before the one
        holding the last token is looked up by the tokens up to its end and, when missing, computed
        from the blocks before it and stored. Because a block is always computed the same way (from
        the same earlier blocks, whichever call computed them), a prompt's keys, values and first
        token are bit for bit the same whether its prefix came from the store or not, so replies do
        not depend on what ran before. The rest of the prompt is one forward pass.
        """
        import torch

        device = self.model.device
        store = self._prefix_store()
        blocks = (len(row) - 1) // PREFIX_BLOCK if store is not None else 0
        keys = _block_keys(row, blocks)
        cached = []
        for key in keys:
            entry = store.get(key) if store is not None else None
            if entry is None:
                break
            store.move_to_end(key)
            cached.append(entry)
        cache = None
        if cached:
            from transformers import DynamicCache

            cache = DynamicCache()
            for layer in range(len(cached[0])):
                keys_, values_ = zip(*(block[layer] for block in cached), strict=True)
                cache.update(torch.cat(keys_, dim=2), torch.cat(values_, dim=2), layer)
            self.usage["prompt_tokens_cached"] += len(cached) * PREFIX_BLOCK
        start = len(cached) * PREFIX_BLOCK
        for block in range(len(cached), blocks):
            end = start + PREFIX_BLOCK
            _, cache = self._forward(
                input_ids=torch.tensor([row[start:end]], device=device),
                position_ids=torch.arange(start, end, device=device)[None],
                cache=cache,
            )
            if not self._check_cache(cache):
                return None
            self._store_block(
                keys[block], [(layer.keys[:, :, start:end], layer.values[:, :, start:end]) for layer in cache.layers]
            )
            start = end
        logits, cache = self._forward(
            input_ids=torch.tensor([row[start:]], device=device),
            position_ids=torch.arange(start, len(row), device=device)[None],
            cache=cache,
        )
        if not self._check_cache(cache):
            return None
        return logits, cache

    def clear_prefix_cache(self) -> None:
        """Drop every stored prefix block (benchmarks start each timed run from an empty store)."""
        self._prefix_blocks.clear()

    def _prefix_store(self) -> OrderedDict[bytes, list[tuple[Any, Any]]] | None:
        """The prefix blocks of the current weights (emptied when they change), or ``None`` when off."""
        if self.prefix_cache_tokens < PREFIX_BLOCK or self.model.training:
            return None
        # In-place updates (an optimiser step, a LoRA merge) bump each parameter's version counter.
        weights = (id(self.model), sum(p._version for p in self.model.parameters()))
        if weights != self._prefix_weights:
            self._prefix_blocks.clear()
            self._prefix_weights = weights
        return self._prefix_blocks

    def _store_block(self, key: bytes, layers: list[tuple[Any, Any]]) -> None:
        store = self._prefix_blocks
        store[key] = [(k.clone(), v.clone()) for k, v in layers]  # clones: the slices view a cache that grows
        while len(store) * PREFIX_BLOCK > self.prefix_cache_tokens:
            store.popitem(last=False)

    def _check_cache(self, cache: Any) -> bool:
        """A plain per-layer key/value cache (what the loop pads, stitches and slices); remembered per model."""
        from transformers import DynamicCache

        layers = getattr(cache, "layers", None)  # older transformers keep no per-layer objects
        ok = (
            type(cache) is DynamicCache
            and isinstance(layers, list)
            and all(
                type(layer).__name__ == "DynamicLayer" and getattr(layer, "keys", None) is not None for layer in layers
            )
        )
        self._loop_ok = ok
        return ok

    def _sampling_filters(self) -> tuple[int, float, float]:
        config = self.model.generation_config
        top_k = getattr(config, "top_k", None) or 0
        top_p = getattr(config, "top_p", None)
        min_p = getattr(config, "min_p", None) or 0.0
        return int(top_k), 1.0 if top_p is None else float(top_p), float(min_p)

    def _generate_with_transformers(
        self, rows: list[list[int]], budgets: list[int], temperature: float, seed: int | None
    ) -> list[list[int]]:
        """The fallback: ``model.generate`` on the left-padded batch, cut per row at its stop token and budget."""
        import torch

        device = self.model.device
        pad = self.tokenizer.pad_token_id
        ids, mask = left_padded(rows, pad)
        width = ids.shape[1]
        stops = self.stop_ids()
        options: dict[str, Any] = {"max_new_tokens": max(budgets), "pad_token_id": pad, "eos_token_id": stops}
        if temperature > 0:
            options.update(do_sample=True, temperature=temperature)
        else:
            # Override any sampling defaults in the folder's generation_config.json.
            options.update(do_sample=False, temperature=None, top_p=None, top_k=None)
        devices = [self.model.device] if self.model.device.type == "cuda" else []
        with torch.random.fork_rng(devices=devices):
            if seed is not None:
                torch.manual_seed(seed)
            output = self.model.generate(input_ids=ids.to(device), attention_mask=mask.to(device), **options)
        completions = []
        for row, budget in zip(output[:, width:].tolist(), budgets, strict=True):
            row = row[:budget]
            cut = next((j + 1 for j, token in enumerate(row) if token in stops), len(row))
            completions.append(row[:cut])
        return completions


# Generation-config fields and their do-nothing values: any other value needs transformers' own generate.
_NEUTRAL_GENERATION: dict[str, Any] = {
    "repetition_penalty": 1.0,
    "encoder_repetition_penalty": 1.0,
    "no_repeat_ngram_size": 0,
    "bad_words_ids": None,
    "min_length": 0,
    "min_new_tokens": 0,
    "suppress_tokens": None,
    "begin_suppress_tokens": None,
    "forced_bos_token_id": None,
    "forced_eos_token_id": None,
    "sequence_bias": None,
    "typical_p": 1.0,
    "epsilon_cutoff": 0.0,
    "eta_cutoff": 0.0,
    "exponential_decay_length_penalty": None,
    "guidance_scale": 1.0,
    "watermarking_config": None,
    "num_beams": 1,
}


def _block_keys(row: list[int], blocks: int) -> list[bytes]:
    """A key per full block of ``row``: a digest of every token up to the block's end (chained, so cheap)."""
    keys, digest = [], b""
    for block in range(blocks):
        tokens = row[block * PREFIX_BLOCK : (block + 1) * PREFIX_BLOCK]
        digest = hashlib.blake2b(digest + b"".join(t.to_bytes(4, "little", signed=True) for t in tokens)).digest()
        keys.append(digest)
    return keys


def _prompt_mask(lengths: list[int], width: int, room: int, device: Any, dtype: Any) -> Any:
    """The attention mask of right-aligned rows of ``lengths`` in ``width`` columns, with ``room`` more columns."""
    import torch

    mask = torch.zeros((len(lengths), width + room), dtype=dtype, device=device)
    for i, length in enumerate(lengths):
        mask[i, width - length : width] = 1
    return mask


def _growing_cache(caches: list[Any], lengths: list[int], width: int, room: int, start: int = 0) -> Any:
    """One ``DynamicCache`` holding the rows of ``caches`` (in order), right-aligned at ``width``, with
    ``room`` free places after it, so decoding writes each new key/value in place. With ``start`` > 0
    it holds each row's positions from ``start`` on (the shared prefix before it is kept elsewhere), and
    ``lengths`` and ``width`` still count from position 0.

    ``transformers``' own ``DynamicLayer`` concatenates at every step, copying the whole cache; with
    eight long rows that copy was most of a decode step on a CPU.
    """
    from transformers import DynamicCache

    layers = []
    rows = sum(cache.layers[0].keys.shape[0] for cache in caches)
    for layer in range(len(caches[0].layers)):
        buffers = []
        for kind in ("keys", "values"):
            sample = getattr(caches[0].layers[layer], kind)
            heads, dim = sample.shape[1], sample.shape[3]
            buffer = sample.new_zeros((rows, heads, width - start + room, dim))
            first = 0
            for cache, length in zip(caches, lengths, strict=True):
                tensor = getattr(cache.layers[layer], kind)[:, :, start:]
                buffer[first : first + tensor.shape[0], :, width - length : width - start] = tensor
                first += tensor.shape[0]
            buffers.append(buffer)
        layers.append(_GrowingLayer.make(buffers[0], buffers[1], width - start))
    cache = DynamicCache()
    cache.layers = layers
    return cache


SHARED_PREFIX_ATTENTION = "memenv_shared_prefix"
"""The attention implementation :class:`HFChatModel`'s decoding loop switches to while rows share a prefix."""


@contextmanager
def _shared_prefix_attention_in(model: Any) -> Iterator[None]:
    """Run ``model`` with :func:`_shared_prefix_attention` as its attention (registered with
    ``transformers`` on first use), then switch back to what it had. The switch is a config field the
    attention layers read at every call; another thread's forward pass in the meantime (no
    ``memenv_prefix`` argument) still gets plain ``sdpa``."""
    from transformers import AttentionInterface

    if SHARED_PREFIX_ATTENTION not in AttentionInterface._global_mapping:
        AttentionInterface.register(SHARED_PREFIX_ATTENTION, _shared_prefix_attention)
    before = model.config._attn_implementation
    model.config._attn_implementation = SHARED_PREFIX_ATTENTION
    try:
        yield
    finally:
        model.config._attn_implementation = before


def _shared_prefix_attention(
    module: Any,
    query: Any,
    key: Any,
    value: Any,
    attention_mask: Any,
    dropout: float = 0.0,
    scaling: float | None = None,
    memenv_prefix: list[tuple[Any, Any]] | None = None,
    **kwargs: Any,
) -> tuple[Any, None]:
    """Decoding attention (one new token per row, on a CPU) over a prefix shared by every row plus each
    row's own keys and values.

    ``key`` / ``value`` ``(batch, kv_heads, own, dim)`` hold each row's positions after the shared
    prefix (left-padded; ``attention_mask`` ``(batch, 1, 1, own)`` is 0 where a row has a token and
    ``-inf`` elsewhere), and ``memenv_prefix[layer]`` holds the prefix's keys and values once,
    ``(1, kv_heads, shared, dim)``. Two passes of torch's CPU flash-attention kernel, which also returns
    each query's log-sum-exp: all rows' queries at once against the one prefix, then each row against
    its own part; the two are merged by their log-sum-exps into the softmax attention over the whole
    row. That equals attention over each row's full cache up to float rounding, with the prefix read
    from memory once per step instead of once per row: that read was what a decode step's time per
    row was on a CPU (eight rows' 2K-token caches do not fit in the CPU's cache, one row's does).

    Without ``memenv_prefix`` (a call that is not the decoding loop's) it is plain ``sdpa``.
    """
    import torch
    from transformers.integrations.sdpa_attention import sdpa_attention_forward

    if memenv_prefix is None:
        return sdpa_attention_forward(module, query, key, value, attention_mask, dropout, scaling, **kwargs)
    flash = torch.ops.aten._scaled_dot_product_flash_attention_for_cpu
    keys, values = memenv_prefix[module.layer_idx]
    batch, heads, length, dim = query.shape
    kv_heads = keys.shape[1]
    group = heads // kv_heads * length  # query rows per key/value head (query head h reads kv head h // group)
    scale = dim**-0.5 if scaling is None else scaling
    query = query.reshape(batch, kv_heads, group, dim)
    everyone = query.transpose(0, 1).reshape(1, kv_heads, batch * group, dim)
    first, first_lse = flash(everyone, keys, values, scale=scale)
    first = first.reshape(kv_heads, batch, group, dim).transpose(0, 1)
    first_lse = first_lse.reshape(kv_heads, batch, group).transpose(0, 1)
    second, second_lse = flash(query, key, value, attn_mask=attention_mask, scale=scale)
    top = torch.maximum(first_lse, second_lse)
    first_weight, second_weight = (first_lse - top).exp(), (second_lse - top).exp()
    output = (first * first_weight[..., None] + second * second_weight[..., None]) / (first_weight + second_weight)[
        ..., None
    ]
    output = output.to(query.dtype)  # the log-sum-exps are float32 whatever the model's dtype
    return output.reshape(batch, heads, length, dim).transpose(1, 2).contiguous(), None


class _GrowingLayer:
    """A ``DynamicLayer`` over preallocated buffers: ``update`` writes into free places instead of
    concatenating, and ``keys`` / ``values`` are views of the filled part. Made on first use as a
    subclass of the installed ``transformers``' ``DynamicLayer`` (see :meth:`make`)."""

    _class: Any = None

    @classmethod
    def make(cls, keys: Any, values: Any, filled: int) -> Any:
        if cls._class is None:
            from transformers.cache_utils import DynamicLayer

            class GrowingLayer(DynamicLayer):
                def __init__(self, keys: Any, values: Any, filled: int) -> None:
                    super().__init__()
                    self.device = keys.device
                    self.is_initialized = True
                    self._buffers = [keys, values]
                    self._filled = filled
                    self._views()

                def _views(self) -> None:
                    self.keys = self._buffers[0][:, :, : self._filled]
                    self.values = self._buffers[1][:, :, : self._filled]

                def update(self, key_states: Any, value_states: Any, *args: Any, **kwargs: Any) -> tuple[Any, Any]:
                    end = self._filled + key_states.shape[-2]
                    if end > self._buffers[0].shape[2]:  # out of room: double it
                        grown = []
                        for buffer in self._buffers:
                            spare = buffer.new_zeros(
                                (*buffer.shape[:2], max(end, 2 * buffer.shape[2]), buffer.shape[3])
                            )
                            spare[:, :, : self._filled] = buffer[:, :, : self._filled]
                            grown.append(spare)
                        self._buffers = grown
                    self._buffers[0][:, :, self._filled : end] = key_states
                    self._buffers[1][:, :, self._filled : end] = value_states
                    self._filled = end
                    self._views()
                    return self.keys, self.values

                def batch_select_indices(self, indices: Any) -> None:
                    self._buffers = [buffer[indices] for buffer in self._buffers]
                    self._views()

                def crop(self, tokens_to_remove: int) -> None:
                    if tokens_to_remove < 0:
                        self._filled = max(self._filled + tokens_to_remove, 0)
                        self._views()
                    else:
                        super().crop(tokens_to_remove)

            cls._class = GrowingLayer
        return cls._class(keys, values, filled)


def _choose(logits: Any, temperature: float, filters: tuple[int, float, float] | None, generators: list | None) -> Any:
    """The next token of each row: argmax when greedy, else a draw from the filtered, tempered softmax."""
    import torch

    if temperature <= 0:
        return logits.argmax(dim=-1)
    scores = logits.float() / temperature
    top_k, top_p, min_p = filters or (0, 1.0, 0.0)
    if 0 < top_k < scores.shape[-1]:
        floor = torch.topk(scores, top_k, dim=-1).values[:, -1:]
        scores = scores.masked_fill(scores < floor, float("-inf"))
    probs = torch.softmax(scores, dim=-1)
    if min_p > 0:
        probs = probs.masked_fill(probs < min_p * probs.max(dim=-1, keepdim=True).values, 0.0)
    if top_p < 1.0:
        ordered, order = torch.sort(probs, dim=-1, descending=True)
        before = ordered.cumsum(dim=-1) - ordered  # mass strictly above each token
        ordered = ordered.masked_fill(before >= top_p, 0.0)
        probs = torch.zeros_like(probs).scatter(-1, order, ordered)
    if generators is None:
        return torch.multinomial(probs, 1).squeeze(1)
    return torch.cat([torch.multinomial(probs[i : i + 1], 1, generator=g) for i, g in enumerate(generators)]).squeeze(1)


def _with_tools_in_system(messages: list[Message], tools: list[dict]) -> list[Message]:
    listing = "\n".join(json.dumps(tool, ensure_ascii=False) for tool in tools)
    note = f"{TOOL_CALL_INSTRUCTIONS}\n{listing}"
    if messages and messages[0].get("role") == "system":
        first = dict(messages[0], content=f"{messages[0].get('content') or ''}\n\n{note}")
        return [first, *messages[1:]]
    return [{"role": "system", "content": note}, *messages]
