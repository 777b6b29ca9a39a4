"""A local Hugging Face causal LM behind the :class:`~memenv.llm.ChatModel` interface.

``torch`` and ``transformers`` are imported only when a model is built, so the rest of memenv works
without them.
"""

from __future__ import annotations

import importlib.util
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from memenv.llm.protocol import ChatModel, Message, ModelUnavailableError

HF_PIP = 'pip install "torch==2.13.0" transformers gguf accelerate'

TOOL_CALL_INSTRUCTIONS = (
    "You may call the tools listed below. To call one, write\n"
    '<tool_call>{"name": "TOOL_NAME", "arguments": {ARGUMENTS AS JSON}}</tool_call>\n'
    "You may write several calls, one after another; they run in order. The tools, as JSON schemas:"
)
"""Put into the system message by :class:`HFChatModel` when tools are given but the model's chat
template has no place for them (e.g. SmolLM2), so the model still sees what it can call."""


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
