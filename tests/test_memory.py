from __future__ import annotations

import pytest

from memenv import tokenizer
from memenv.memory import (
    CORE_INSERT,
    DUPLICATE,
    MISSING_ARGUMENT,
    TRUNCATION_MARKER,
    UNKNOWN_ID,
    Memory,
    MemoryOpError,
    normalize_id,
    tier_of,
)


def test_insert_assigns_unique_short_hex_ids_deterministic_per_seed():
    ids = []
    for _ in range(2):
        memory = Memory(seed=7)
        ids.append([memory.insert("episodic", f"event {i}").id for i in range(50)])
    assert ids[0] == ids[1]
    assert len(set(ids[0])) == 50
    assert all(len(i) == 4 and int(i, 16) >= 0 for i in ids[0])
    other = Memory(seed=8)
    assert [other.insert("episodic", f"event {i}").id for i in range(50)] != ids[0]


def test_ids_unique_across_tiers_and_never_reused_after_delete():
    memory = Memory(seed=0)
    seen = set()
    for i in range(300):
        entry = memory.insert("semantic" if i % 2 else "episodic", f"fact {i}")
        assert entry.id not in seen
        seen.add(entry.id)
        if i % 3 == 0:
            memory.delete("semantic" if i % 2 else "episodic", entry.id)


def test_token_counts_are_kept_incrementally_and_match_a_full_recount():
    memory = Memory()
    a = memory.insert("semantic", "The north gate code is 4821.")
    memory.insert("episodic", "On Monday Alice met Bob at the harbour.")
    memory.update("semantic", "The north gate code changed to 9917 in May.", a.id)
    memory.set_core("Alice guards the north gate.")
    memory.insert("episodic", "Bob left.")
    memory.delete("episodic", memory.entries("episodic")[0].id)
    texts = [memory.core] + [e.text for t in ("semantic", "episodic") for e in memory.entries(t)]
    assert memory.tokens() == sum(tokenizer.count_tokens(t) for t in texts)
    assert memory.tokens("semantic") == tokenizer.count_tokens("The north gate code changed to 9917 in May.")
    assert memory.tokens("episodic") == tokenizer.count_tokens("Bob left.")


def test_core_is_cut_at_the_cap_with_a_visible_marker():
    memory = Memory(core_token_limit=512)
    cut = memory.set_core("word " * 2000)
    assert cut
    assert memory.tokens("core") <= 512
    assert tokenizer.count_tokens(memory.core) == memory.tokens("core")
    assert memory.core.endswith(TRUNCATION_MARKER)
    assert not memory.set_core("short")
    assert memory.core == "short"
    exact = "word " * 511 + "word"  # exactly at the cap: kept whole, counted once
    assert tokenizer.count_tokens(exact) == 512
    assert not memory.set_core(exact)
    assert memory.core == exact and memory.tokens("core") == 512


def test_duplicate_insert_is_refused_and_changes_nothing():
    memory = Memory()
    memory.insert("semantic", "Paris is in France.")
    before = memory.snapshot()
    with pytest.raises(MemoryOpError) as err:
        memory.insert("semantic", "  Paris is in France.  ")
    assert err.value.kind == DUPLICATE
    assert memory.snapshot() == before
    # the same text in the other tier is not a duplicate
    memory.insert("episodic", "Paris is in France.")


def test_update_keeps_position_and_unknown_id_fails():
    memory = Memory()
    first = memory.insert("semantic", "one")
    memory.insert("semantic", "two")
    memory.update("semantic", "uno", first.id)
    assert [e.text for e in memory.entries("semantic")] == ["uno", "two"]
    with pytest.raises(MemoryOpError) as err:
        memory.update("semantic", "x", "ffff")
    assert err.value.kind == UNKNOWN_ID
    with pytest.raises(MemoryOpError) as err:
        memory.update("semantic", "x")
    assert err.value.kind == MISSING_ARGUMENT


def test_delete_policies_and_core_rules():
    memory = Memory()
    with pytest.raises(MemoryOpError) as err:
        memory.delete("episodic", "abcd")
    assert err.value.kind == UNKNOWN_ID
    assert memory.delete("episodic", "abcd", missing_ok=True) is None
    with pytest.raises(MemoryOpError) as err:
        memory.insert("core", "x")
    assert err.value.kind == CORE_INSERT
    memory.set_core("keep this")
    memory.delete("core")
    assert memory.core == "" and memory.tokens() == 0


def test_render_shows_core_and_most_recent_entries_with_counts():
    memory = Memory()
    memory.set_core("Alice is the main character.")
    entries = [memory.insert("episodic", f"event number {i}") for i in range(8)]
    view = memory.render(visible_k=5)
    assert "Alice is the main character." in view
    assert "(showing 5 most recent of 8)" in view
    assert "(showing 0 most recent of 0)" in view
    for e in entries[3:]:
        assert f"[{e.id}] {e.text}" in view
    for e in entries[:3]:
        assert e.text not in view


def test_related_entries_come_from_an_index_kept_in_sync():
    memory = Memory(indexed=True)
    old = memory.insert("semantic", "The lighthouse keeper is named Ortega.")
    for i in range(10):
        memory.insert("semantic", f"Filler fact number {i} about weather.")
    recent = [e.id for e in memory.recent("semantic", 5)]
    assert [e.id for e in memory.related("semantic", "Who keeps the lighthouse?", 3, exclude=recent)] == [old.id]
    memory.update("semantic", "The lighthouse keeper retired.", old.id)
    assert memory.related("semantic", "Ortega", 3) == []
    memory.delete("semantic", old.id)
    assert memory.related("semantic", "lighthouse", 3) == []
    with pytest.raises(ValueError, match="indexed=True"):
        Memory().related("semantic", "x", 1)


@pytest.mark.parametrize(
    ("given", "tier"),
    [
        ("core_memory", "core"),
        ("semantic", "semantic"),
        (" Episodic_Memory ", "episodic"),
        ("procedural", None),
        (3, None),
    ],
)
def test_tier_of_accepts_both_spellings(given, tier):
    assert tier_of(given) == tier


def test_normalize_id():
    assert normalize_id(" [a3f1] ") == "a3f1"
    assert normalize_id("") is None
    assert normalize_id(12) is None


def test_token_budget_refuses_growth_past_the_cap_and_changes_nothing():
    from memenv.memory import OVER_BUDGET

    memory = Memory(token_budget=12, seed=3)
    kept = memory.insert("semantic", "The north gate code is 4821.")  # 9 tokens
    before = memory.snapshot()
    with pytest.raises(MemoryOpError) as err:
        memory.insert("episodic", "Alice met Bob at the harbour on Monday.")
    assert err.value.kind == OVER_BUDGET
    with pytest.raises(MemoryOpError) as err:
        memory.set_core("A core far too long for what is left of the budget.")
    assert err.value.kind == OVER_BUDGET
    assert memory.snapshot() == before
    # a shrinking update passes, then a fitting insert (5 + 3 tokens) does
    memory.update("semantic", "Code 4821.", kept.id)
    added = memory.insert("episodic", "Bob left.")
    assert memory.tokens() == 8
    # the refused writes drew no id: the second id is the one a fresh memory draws second
    reference = Memory(seed=3)
    reference.insert("semantic", "a")
    assert added.id == reference.insert("semantic", "b").id
    with pytest.raises(ValueError, match="token_budget"):
        Memory(token_budget=0)


# Issue 19: rewrites are counted from cached line counts, and a rewrite to the same text keeps its count.
# After every kind of operation (and every refused one), each count must equal a fresh count.
def _assert_counts_fresh(memory: Memory) -> None:
    assert memory.tokens("core") == tokenizer.count_tokens(memory.core)
    for tier in ("semantic", "episodic"):
        for entry in memory.entries(tier):
            assert entry.tokens == tokenizer.count_tokens(entry.text), entry
        assert memory.tokens(tier) == sum(tokenizer.count_tokens(e.text) for e in memory.entries(tier))
    assert memory.tokens() == sum(memory.tokens(tier) for tier in ("core", "semantic", "episodic"))


def test_token_counts_stay_fresh_through_every_kind_of_operation():
    import random

    rng = random.Random(0)
    lines = [f"[chunk {i}] Mira moved to Calder Heights ({i})." for i in range(30)] + ["", " indented", "/x", "a.\n"]

    def text() -> str:
        return "\n".join(rng.choices(lines, k=rng.randint(1, 8))) + rng.choice(["", "\n", " end", "\n\n"])

    for budget in (None, 400):
        memory = Memory(core_token_limit=64, seed=1, token_budget=budget)
        kinds = set()
        for _ in range(600):
            op = rng.choice(
                ["insert", "insert_copy", "update", "update_same", "core", "core_same", "delete", "delete_core"]
            )
            tier = rng.choice(["semantic", "episodic"])
            entries = memory.entries(tier)
            try:
                if op == "insert" or (not entries and op in ("insert_copy", "update", "update_same", "delete")):
                    memory.insert(tier, text())
                elif op == "insert_copy":  # refused: the tier holds it
                    memory.insert(tier, rng.choice(entries).text)
                elif op == "update":
                    memory.update(tier, text(), rng.choice(entries).id)
                elif op == "update_same":
                    entry = rng.choice(entries)
                    memory.update(tier, entry.text, entry.id)
                elif op == "core":
                    kinds.add(("cut", memory.set_core(text() * rng.choice([1, 1, 6]))))
                elif op == "core_same":
                    core, tokens = memory.core, memory.tokens("core")
                    assert memory.set_core(core) is False  # an unchanged (even a cut) core is not cut again
                    assert (memory.core, memory.tokens("core")) == (core, tokens)
                elif op == "delete":
                    memory.delete(tier, rng.choice(entries).id)
                else:
                    memory.delete("core")
                kinds.add(op)
            except MemoryOpError as exc:
                kinds.add(exc.kind)
            _assert_counts_fresh(memory)
        assert {"insert", "update", "update_same", "core", "core_same", "delete", ("cut", True)} <= kinds
        assert ("over_budget" in kinds) == (budget is not None)
        assert DUPLICATE in kinds


def test_tier_of_reads_every_spelling_as_before():
    def plain(memory_type: object) -> str | None:  # the rule without the lookup of the usual spellings
        if not isinstance(memory_type, str):
            return None
        name = memory_type.strip().lower().removesuffix("_memory")
        return name if name in ("core", "semantic", "episodic") else None

    spellings = ["core", "core_memory", "semantic", "semantic_memory", "episodic", "episodic_memory"]
    spellings += [" Core_Memory ", "SEMANTIC", "episodic_memory\n", "core_memory_memory", "memory", "", "lists"]
    for memory_type in [*spellings, None, 3, ["core"]]:
        assert tier_of(memory_type) == plain(memory_type), memory_type


def test_ids_are_drawn_as_zero_padded_hex_of_the_seeded_generator():
    # The ids are the seeded generator's bits written as 4 hex digits (8 once half of the 4-digit ids
    # are used), skipping used ones: the same ids as the f-string that wrote them before.
    import random

    memory = Memory(seed=7)
    rng, used = random.Random(7), set()
    for digits, count in ((4, 3000), (8, 50)):
        if digits == 8:  # fill the 4-digit ids up to the switch
            filler = {f"x{i}" for i in range(0x8000 - len(used))}
            memory._used_ids |= filler
            used |= filler
        for _ in range(count):
            while (candidate := f"{rng.getrandbits(4 * digits):0{digits}x}") in used:
                pass
            used.add(candidate)
            assert memory._new_id() == candidate
            assert len(candidate) == digits
