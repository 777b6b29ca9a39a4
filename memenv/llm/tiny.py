"""A tiny random chat model for tests and smoke runs, written from a config in under a second."""

from __future__ import annotations

import os
from pathlib import Path

from memenv.llm.hf import _require_transformers

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
