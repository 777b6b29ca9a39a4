from __future__ import annotations

import json
import random

import gymnasium as gym
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import memenv  # noqa: F401  (registers the environments)
from memenv.envs.memory_r1 import _operation_id, parse_operations
from memenv.qa import memory_context
from memenv.readers import Reader, ReaderContext
from memenv.retrieval import tokenize
from memenv.tasks.chunking import split_sentences
from memenv.tasks.records import Episode, Question
from memenv.testing import check_memory_env

SMALL = {"context_tokens": 2048, "chunk_tokens": 512, "num_questions": 4}
EPISODE = Episode(
    "r1-test",
    ("Mira Okafor lives in Port Senna.", "The weather was mild.", "The Copper Gate is old.", "End."),
    (Question("Where does Mira Okafor live?", ("Port Senna",), "subem"),),
    "conflict_resolution",
)


def ops(*items: dict) -> str:
    return json.dumps({"memory": list(items)})


def fresh(**kwargs) -> gym.Env:
    env = gym.make("MemoryR1-v0", **{**SMALL, **kwargs})
    env.reset(seed=0, options={"episode": EPISODE})
    return env


def bank(env: gym.Env) -> list[str]:
    return [e.text for e in env.unwrapped.memory.entries("semantic")]


def test_add_assigns_ids_and_ignores_the_models_id():
    env = fresh()
    obs, reward, _, _, info = env.step(
        ops({"id": "0", "text": "Mira Okafor lives in Calder Heights.", "event": "ADD"}, {"text": "b", "event": "add"})
    )
    assert bank(env) == ["Mira Okafor lives in Calder Heights.", "b"]
    ids = [r["memory_id"] for r in info["tool_results"]]
    assert ids == [e.id for e in env.unwrapped.memory.entries("semantic")] and "0" not in ids
    assert [r["name"] for r in info["tool_results"]] == ["ADD", "add"]
    # r4: the first write is grounded in the chunk (4 of 6 words), "b" is not
    assert info["reward_components"] == {"r1_qa": 0.0, "r2_tool_call": 1.0, "r3_compression": 0.0, "r4_content": 0.5}
    assert reward == pytest.approx(1.05)
    assert obs["memory"].startswith("Fact bank: 2 facts;")


def test_update_delete_none_and_noop_give_exact_memories():
    env = fresh()
    _, _, _, _, info = env.step(
        ops({"text": "Mira Okafor lives in Calder Heights.", "event": "ADD"}, {"text": "x", "event": "ADD"})
    )
    mira, x = (r["memory_id"] for r in info["tool_results"])
    _, _, _, _, info = env.step(
        ops(
            {"id": mira, "text": "Mira Okafor lives in Port Senna.", "event": "UPDATE", "old_memory": "stale"},
            {"id": x, "text": "x", "event": "NONE"},
            {"event": "NOOP"},
            {"id": f"[{x}]", "event": "DELETE"},
        )
    )
    assert [r["ok"] for r in info["tool_results"]] == [True, True, True, True]
    assert env.unwrapped.memory.snapshot()["semantic"] == [{"id": mira, "text": "Mira Okafor lives in Port Senna."}]
    # the update is judged against the text it replaced; NONE/NOOP are not judged; deletes score 0
    assert info["reward_components"]["r4_content"] == pytest.approx(0.5)
    assert info["reward_components"]["r2_tool_call"] == 1.0


def test_failures_are_classified_and_change_nothing():
    env = fresh()
    _, _, _, _, info = env.step(ops({"text": "kept", "event": "ADD"}))
    kept = info["tool_results"][0]["memory_id"]
    before = env.unwrapped.memory.snapshot()
    _, _, _, _, info = env.step(
        ops(
            {"id": "zzzz", "text": "new", "event": "UPDATE"},
            {"id": "zzzz", "event": "DELETE"},
            {"text": "a", "event": "MERGE"},
            {"text": "a"},
            {"event": "ADD"},
            {"id": kept, "event": "UPDATE"},
            {"event": "DELETE"},
            {"id": 3.5, "event": "DELETE"},
            {"text": "kept", "event": "ADD"},
            {"text": "  ", "event": "ADD"},
            "not an object",
        )
    )
    assert [r["error"] for r in info["tool_results"]] == [
        "unknown_id",
        "unknown_id",
        "invalid_argument",
        "missing_argument",
        "missing_argument",
        "missing_argument",
        "missing_argument",
        "invalid_argument",
        "duplicate",
        "invalid_argument",
        "parse_error",
    ]
    assert env.unwrapped.memory.snapshot() == before
    assert info["reward_components"]["r2_tool_call"] == 0.0


def test_ids_as_models_write_them():
    assert _operation_id({"id": 12, "event": "DELETE"}) == "12"  # Memory-R1 numbers memories
    assert _operation_id({"id": " [a3f1] ", "event": "DELETE"}) == "a3f1"
    env = fresh()
    _, _, _, _, info = env.step(ops({"text": "a", "event": "ADD"}))
    _, _, _, _, info = env.step(ops({"id": f"[{info['tool_results'][0]['memory_id']}]", "event": "delete"}))
    assert info["tool_results"][0]["ok"] and bank(env) == []


@pytest.mark.parametrize(
    "reply",
    [
        '{"memory": [{"text": "f", "event": "ADD"}]}',
        '[{"text": "f", "event": "ADD"}]',
        '{"text": "f", "event": "ADD"}',
        '<tool_call>{"memory": [{"text": "f", "event": "ADD"}]}</tool_call>',
        '<tool_call>{"name": "memory_operations", "arguments": {"memory": [{"text": "f", "event": "ADD"}]}}'
        "</tool_call>",
        '<tool_call>{"name": "memory_operations", '
        '"arguments": "{\\"memory\\": [{\\"text\\": \\"f\\", \\"event\\": \\"ADD\\"}]}"}</tool_call>',
        'Here you go:\n```json\n{"memory": [{"text": "f", "event": "ADD"}]}\n```',
        '<think>{"memory": []}</think>\n{"memory": [{"text": "f", "event": "ADD",}]}',  # trailing comma repaired
        '✿FUNCTION✿: memory_operations\n✿ARGS✿: {"memory": [{"text": "f", "event": "ADD"}]}',
    ],
)
def test_every_reply_form_reads_the_same_operation(reply):
    env = fresh()
    _, _, _, _, info = env.step(reply)
    assert bank(env) == ["f"] and info["tool_results"][0]["ok"]


@pytest.mark.parametrize(
    ("reply", "kinds"),
    [
        ("I think nothing here is worth keeping.", []),
        ('{"memory": []}', []),
        ('{"facts": ["a"]}', ["parse_error"]),
        ('{"memory": "add a"}', ["parse_error"]),
        ("{{{", ["parse_error"]),
        ("<tool_call>add a</tool_call>", ["parse_error"]),
        ("[1, 2]", ["parse_error", "parse_error"]),
    ],
)
def test_prose_is_no_operation_and_malformed_json_is_a_parse_error(reply, kinds):
    env = fresh()
    _, _, _, _, info = env.step(reply)
    assert [r["error"] for r in info["tool_results"]] == kinds
    assert bank(env) == []
    assert (info["parse_error"] is not None) == bool(kinds)


def test_view_shows_the_entries_most_similar_to_the_chunk():
    env = fresh(similar_k=2)
    facts = ["Mira Okafor lives in Calder Heights.", "The weather was cold.", "Hugo Novak owns a boat.", "Tea is hot."]
    _, _, _, _, info = env.step(ops(*({"text": f, "event": "ADD"} for f in facts)))
    ids = [r["memory_id"] for r in info["tool_results"]]
    # each sentence of the chunk finds its closest fact; "Tea is hot." matches one exactly, so it ranks first
    header, listing = env.unwrapped._memory_view("Mira Okafor lives in Port Senna. Tea is hot.").split("\n")
    assert header == "Fact bank: 4 facts; the 2 most similar to this chunk:"
    assert json.loads(listing) == [{"id": ids[3], "text": "Tea is hot."}, {"id": ids[0], "text": facts[0]}]
    assert env.unwrapped._memory_view("zzz") == "Fact bank: 4 facts; the 0 most similar to this chunk:\n[]"


class RecordingReader(Reader):
    name = "recording"

    def __init__(self) -> None:
        self.contexts: list[ReaderContext] = []

    def answer(self, question: Question, context: ReaderContext) -> str:
        self.contexts.append(context)
        return context.passages[0].text if context.passages else ""


def reference_similar_entries(env: gym.Env, chunk: str) -> list[str]:
    """The view's ranking as first written: one BM25 search per sentence, entry words re-tokenized,
    age from the bank's order (the env now batches the searches and caches the rest)."""
    base = env.unwrapped
    best: dict[str, tuple[float, float]] = {}
    for line in chunk.splitlines():
        for sentence in split_sentences(line):
            words = set(tokenize(sentence))
            for key, score in base._index.search(sentence, base.similar_k):
                entry_words = set(tokenize(base.memory.get("semantic", key).text))
                overlap = len(words & entry_words) / len(words | entry_words)
                best[key] = max((overlap, score), best.get(key, (0.0, 0.0)))
    order = {entry.id: i for i, entry in enumerate(base.memory.entries("semantic"))}
    return sorted(best, key=lambda key: (-best[key][0], -best[key][1], order[key]))[: base.similar_k]


@pytest.mark.parametrize("task", ["conflict_resolution", "accurate_retrieval"])
def test_view_ranking_equals_the_per_sentence_reference_through_an_episode(task):
    env = gym.make("MemoryR1-v0", task=task, context_tokens=6000, chunk_tokens=256, similar_k=6)
    obs, info = env.reset(seed=1)
    rng = random.Random(0)
    compared = 0
    terminated = False
    while not terminated:
        chunk = obs["chunk"]
        got = [e.id for e in env.unwrapped.similar_entries(chunk)]
        assert got == reference_similar_entries(env, chunk)
        compared += len(got)
        # ADD the chunk's sentences, UPDATE and DELETE some shown entries: the index changes every way.
        operations = [{"event": "ADD", "text": s} for s in split_sentences(chunk)[:6]]
        for entry_id in got[:2]:
            operations.append(
                {"event": rng.choice(["UPDATE", "DELETE"]), "id": entry_id, "text": f"{chunk[:40]} v{rng.random()}"}
            )
        obs, _, terminated, _, info = env.step(ops(*operations))
    assert compared > 50


@pytest.mark.parametrize("similar_k", [1, 3, 8])
def test_view_ranking_equals_the_reference_on_random_banks_with_ties(similar_k: int):
    # Facts over a 12-word vocabulary (many equal overlaps and equal BM25 scores, so age decides),
    # changed by ADD / UPDATE / DELETE between views; chunks that repeat sentences and lines.
    rng = random.Random(similar_k)
    words = [f"w{i}" for i in range(12)]
    env = fresh(similar_k=similar_k)

    def sentence() -> str:
        return " ".join(rng.choices(words, k=rng.randint(1, 6))) + "."

    compared = 0
    for _ in range(12):
        shown = [e.id for e in env.unwrapped.memory.entries("semantic")]
        operations = [{"event": "ADD", "text": sentence()} for _ in range(rng.randint(3, 10))]
        for entry_id in rng.sample(shown, min(len(shown), 3)):
            operations.append({"event": rng.choice(["UPDATE", "DELETE"]), "id": entry_id, "text": sentence()})
        env.unwrapped.step(ops(*operations))
        if env.unwrapped._step >= len(env.unwrapped.episode.chunks):
            env.reset(seed=0)
        for _ in range(5):
            lines = [" ".join(sentence() for _ in range(rng.randint(1, 4))) for _ in range(rng.randint(1, 3))]
            chunk = "\n".join(lines + rng.sample(lines, 1))  # a repeated line
            got = [e.id for e in env.unwrapped.similar_entries(chunk)]
            assert got == reference_similar_entries(env, chunk)
            compared += len(got)
    assert compared > 30 * similar_k


@pytest.mark.parametrize("top_k", [1, 5, 60])
def test_reader_context_equals_indexing_the_final_bank_again(top_k: int, monkeypatch: pytest.MonkeyPatch):
    # The answer agent searches the env's own index of the bank (kept through ADD / UPDATE / DELETE);
    # it must give what memory_context (a fresh index of the final bank) gives: passages, order, ties.
    rng = random.Random(top_k)
    words = [f"w{i}" for i in range(10)]
    env = fresh(reader_top_k=top_k)
    base = env.unwrapped
    for _ in range(6):
        shown = [e.id for e in base.memory.entries("semantic")]
        texts = [" ".join(rng.choices(words, k=rng.randint(1, 6))) for _ in range(rng.randint(5, 15))]
        operations = [{"event": "ADD", "text": text} for text in texts]
        for entry_id in rng.sample(shown, min(len(shown), 4)):
            text = " ".join(rng.choices(words, k=rng.randint(1, 6)))
            operations.append({"event": rng.choice(["UPDATE", "DELETE"]), "id": entry_id, "text": text})
        base._step = 0  # keep the episode going
        env.step(ops(*operations))
        with monkeypatch.context() as patch:  # the env's own index is searched, no other index is built
            patch.setattr("memenv.envs.base.memory_context", None)
            got = base._reader_context()
        expected = memory_context(base.memory, top_k)
        for _ in range(20):
            question = Question(" ".join(rng.choices([*words, "unseen"], k=rng.randint(1, 5))), ("x",), "subem")
            assert got(question) == expected(question)
    # A bank changed outside the env's operations, or next to another written list tier: the base's
    # context, unchanged.
    base.memory.insert("semantic", "w3 w4 w5 direct")
    assert base._reader_context()(Question("w3", ("x",), "subem")) == memory_context(base.memory, top_k)(
        Question("w3", ("x",), "subem")
    )
    base.memory.insert("episodic", "w1 w2")
    assert base._reader_context()(Question("w1", ("x",), "subem")) == memory_context(base.memory, top_k)(
        Question("w1", ("x",), "subem")
    )


def test_answer_agent_gets_the_top_60_facts():
    reader = RecordingReader()
    env = fresh(reader=reader)
    facts = [f"Fact {i} about Mira Okafor." for i in range(70)] + ["Mira Okafor lives in Port Senna now, Mira Okafor."]
    env.step(ops(*({"text": f, "event": "ADD"} for f in facts)))
    for _ in range(3):
        _, _, terminated, _, info = env.step("")
    assert terminated
    (context,) = reader.contexts
    assert context.core == "" and len(context.passages) == 60
    assert context.passages[0].text == facts[-1] and {p.source for p in context.passages} == {"semantic"}
    assert info["qa"]["accuracy"] == 1.0


def test_messages_and_tools():
    env = gym.make("MemoryR1-v0", **SMALL)
    obs, info = env.reset(seed=0)
    system, user = info["messages"]
    assert "ADD" in system["content"] and "UPDATE" in system["content"] and '{"memory": [' in system["content"]
    assert obs["memory"] in user["content"] and obs["chunk"] in user["content"]
    assert [t["function"]["name"] for t in info["tools"]] == ["memory_operations"]


def test_busy_manager_keeps_ids_unique_and_refuses_duplicates():
    env = gym.make("MemoryR1-v0", **SMALL)
    busy = ops({"text": "same", "event": "ADD"}, {"text": "same", "event": "ADD"}, {"event": "NONE"})
    steps = check_memory_env(env, [busy, "", "{bad"], seed=1)
    assert steps == len(env.unwrapped.episode.chunks)
    assert bank(env) == ["same"]


def test_bad_similar_k_raises():
    with pytest.raises(ValueError, match="similar_k"):
        gym.make("MemoryR1-v0", similar_k=-1)


# --- format-specific fuzzing: operation lists with random events, ids and texts ---------------------

EVENT_NAMES = ["ADD", "UPDATE", "DELETE", "NONE", "NOOP", "add", " Update ", "MERGE", "", None, 3]
operation = st.dictionaries(
    st.sampled_from(["id", "text", "event", "old_memory", "extra"]),
    st.one_of(st.sampled_from(EVENT_NAMES), st.text(max_size=40), st.integers(), st.sampled_from(["0000", "[ab]"])),
    max_size=4,
)


@st.composite
def operation_replies(draw) -> str:
    items = draw(st.lists(st.one_of(operation, st.integers(), st.text(max_size=5)), max_size=5))
    body = json.dumps(draw(st.sampled_from([{"memory": items}, items, {"memory": items[0] if items else None}])))
    wrap = draw(st.sampled_from(["{}", "<tool_call>{}</tool_call>", "```json\n{}\n```", "x {}", "<think>{}</think>{}"]))
    text = wrap.replace("{}", body)
    if draw(st.booleans()):
        cut = draw(st.integers(0, len(text)))
        text = text[:cut] + draw(st.sampled_from(["{", "]", '"', ",", "<tool_call>", "```"])) + text[cut:]
    return text


@pytest.fixture(scope="module")
def fuzz_env():
    env = gym.make("MemoryR1-v0", context_tokens=2048, chunk_tokens=256, num_questions=3)
    yield env
    env.close()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(actions=st.lists(operation_replies(), min_size=1, max_size=6), seed=st.integers(0, 3))
def test_random_operation_lists_keep_every_invariant(fuzz_env, actions, seed):
    check_memory_env(fuzz_env, actions, seed=seed)


@settings(max_examples=150, deadline=None)
@given(text=st.text(max_size=1000))
def test_operation_parser_never_raises(text):
    parse_operations(text)
