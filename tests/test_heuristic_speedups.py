"""The fast paths of the heuristic writers (issue 19) against the plain algorithms they replaced.

Each reference below is the pre-issue-19 code, kept here verbatim in substance, and compared with the
current implementation on random and generated inputs. ``tests/test_baseline_outputs.py`` pins the
whole systems' outputs; these tests pin the pieces, on inputs built to hit the edge cases.
"""

from __future__ import annotations

import heapq
import json
import math
import random
import re
from collections import Counter
from typing import Any

import pytest

from baselines import facts
from baselines.facts import (
    FIRST_PERSON,
    LEADING_TAG,
    SPEAKER,
    STATE_VERBS,
    STOPWORDS,
    Salience,
    UpdateIndex,
    diff_words,
    entities,
    find_time,
    has_labelled_example,
    is_fact,
    is_update_of,
    salience,
    split_units,
    states_something,
    update_overlap,
    words,
)
from baselines.mem1 import merge_units, min_tokens, read_unit, select_units, unit_scores
from baselines.mem_alpha import MemAlphaHeuristic, _line_tokens
from baselines.memory_r1 import MemoryR1Manager, shown_entries
from memenv import tokenizer
from memenv.parsing import dump_json
from memenv.readers.base import ReaderContext
from memenv.readers.evidence import labelled_examples
from memenv.tasks import COMPETENCIES, generate

# -- references (the code before the speed-ups) ----------------------------------------------------

_CAPITALISED = re.compile(r"^[A-Z][\w'’-]*$")
_NUMBER = re.compile(r"^\d[\d,.:/-]*$")
_TIME_WORDS = facts._TIME_WORDS


def reference_entities(sentence: str) -> list[str]:
    found: list[str] = []
    speaker = SPEAKER.match(sentence)
    body = sentence
    if speaker:
        found.append(speaker.group(1))
        body = speaker.group(2)
    tokens = words(body)
    run: list[str] = []
    run_start = 0

    def close() -> None:
        nonlocal run
        names = list(run)
        if run_start == 0:
            while names and names[0].lower() in STOPWORDS:
                names.pop(0)
            if len(names) == 1 and len(run) == 1:
                names = []
        if names:
            found.append(" ".join(names))
        run = []

    for i, token in enumerate(tokens):
        lowered = token.lower()
        is_name = (
            bool(_CAPITALISED.match(token)) and lowered not in _TIME_WORDS and lowered not in FIRST_PERSON
        ) and not (i > 0 and lowered in STOPWORDS and not run)
        if is_name:
            if not run:
                run_start = i
            run.append(token)
        elif run:
            close()
    if run:
        close()
    return found


def reference_salience(sentence: str) -> Salience:
    tokens = words(sentence)
    names = reference_entities(sentence)
    name_words = {w for name in names for w in name.split()}
    content = [t for t in tokens if t.lower() not in STOPWORDS]
    return Salience(
        content_words=len(content),
        specific_words=sum(1 for t in content if t in name_words or _NUMBER.match(t)),
        entities=tuple(names),
        numbers=sum(1 for t in tokens if _NUMBER.match(t)),
        state_verb=any(t.lower() in STATE_VERBS for t in tokens),
        first_person=any(t.lower() in FIRST_PERSON for t in tokens),
        time_words=sum(1 for t in tokens if t.lower() in _TIME_WORDS),
    )


def reference_find_time(line: str) -> str | None:
    date = facts._DATE.search(line)
    if not date:
        return None
    clock = facts._TIME_OF_DAY.search(line)
    value = date.group(0)
    if clock is None:
        return value
    if clock.end() <= date.start():
        return f"{clock.group(0).strip()} on {value}"
    return f"{value} {clock.group(0).strip()}" if clock.start() >= date.end() else value


def reference_update_overlap(
    old: list[str], new: list[str], max_diff_words: int = 4, min_shared: float = 0.6
) -> int | None:
    diff = facts.single_span_diff(old, new)
    if diff is None:
        return None
    shared, old_span, new_span = diff
    if not (1 <= old_span <= max_diff_words and 1 <= new_span <= max_diff_words):
        return None
    return shared if shared >= 3 and shared >= min_shared * max(len(old), len(new)) else None


def reference_merge_units(kept: list[str], new: list[str]) -> list[str]:
    out = [(unit, diff_words(unit)) for unit in kept]
    for unit in new:
        w = diff_words(unit)
        if not w:
            continue
        out = [(u, old) for u, old in out if old != w and not is_update_of(old, w)]
        out.append((unit, w))
    return [unit for unit, _ in out]


def reference_unit_signals(unit: str) -> tuple[float, frozenset[str], bool]:
    info = salience(unit)
    return info.score, frozenset(info.entities), is_fact(unit) or has_labelled_example(unit)


def reference_unit_scores(units: list[str], recency: float) -> list[float]:
    signals = [reference_unit_signals(unit) for unit in units]
    mentions = Counter(name for _, names, _ in signals for name in names)
    n = len(units)
    scores = []
    for rank, (salience_score, names, fact) in enumerate(signals, start=1):
        score = salience_score + 0.25 * sum(1 for name in names if mentions[name] == 1)
        if fact:
            score += 1.0
        scores.append(score * ((1.0 - recency) + recency * rank / n))
    return scores


def reference_select_units(units: list[str], scores: list[float], budget_tokens: int) -> list[str]:
    counts = [tokenizer.count_tokens(unit) for unit in units]
    chosen: set[int] = set()
    used = 0
    for i in sorted(range(len(units)), key=lambda i: (-scores[i], -i)):
        cost = counts[i] + (1 if chosen else 0)
        if used + cost <= budget_tokens:
            chosen.add(i)
            used += cost
    return [units[i] for i in sorted(chosen)]


def reference_memory_r1(obs: dict[str, str], add_only: bool = False) -> str:
    """The manager before issue 19: every shown or added fact scanned for each candidate unit."""

    def candidate(unit: str) -> bool:
        if bool(labelled_examples(ReaderContext(unit))):
            return True
        if not is_fact(unit):
            return False
        s = salience(unit)
        return s.state_verb or s.numbers > 0 or s.time_words > 0 or s.first_person

    chunk = obs.get("chunk", "")
    if not chunk:
        return ""
    known: list[dict[str, Any]] = [
        {"id": i, "text": text, "words": diff_words(text), "op": None} for i, text in shown_entries(obs["memory"])
    ]
    ops: list[dict[str, Any]] = []
    for unit in split_units(chunk):
        if not candidate(unit):
            continue
        w = diff_words(unit)
        if any(k["words"] == w for k in known):
            repeat = next(k for k in known if k["words"] == w)
            if repeat["id"] is not None and repeat["op"] is None and not add_only:
                repeat["op"] = {"id": repeat["id"], "text": repeat["text"], "event": "NONE"}
                ops.append(repeat["op"])
            continue
        changed = None if add_only else next((k for k in known if is_update_of(k["words"], w)), None)
        if changed is None:
            op = {"id": "", "text": unit, "event": "ADD"}
            ops.append(op)
            known.append({"id": None, "text": unit, "words": w, "op": op})
            continue
        if changed["op"] is not None and changed["op"]["event"] in ("ADD", "UPDATE"):
            changed["op"]["text"] = unit
        else:
            if changed["op"] is not None:
                ops.remove(changed["op"])
            changed["op"] = {"id": changed["id"], "text": unit, "event": "UPDATE", "old_memory": changed["text"]}
            ops.append(changed["op"])
        changed["text"], changed["words"] = unit, w
    return dump_json({"memory": ops}) if ops else ""


# -- inputs ----------------------------------------------------------------------------------------


def stream_sentences() -> list[str]:
    """Sentences and lines of every generated competency plus hand-written edge cases."""
    out: list[str] = [
        "Nadia: I moved to Port Senna on 3 March, 2023.",
        "The Copper Gate is located in Calder Heights.",
        "I met Bob on Monday. He said hello.",
        "[D1:3] Caroline: my dog Rex is 3 years old!",
        "Session 12 began at 4:05 pm. Day 3 of the trip.",
        "ſession 7 and the Kelvin sign K are case-folded by re.IGNORECASE.",
        "",
        "    ",
        "2023/05/01 at 10:30 am the Iron Mill opened; 05/01/2023 again.",
        "It was 9:15 a.m. on March 3, 2024 when Mira Okafor called.",
        "Today is my day off; 1234 people came.",
        "The code is 4821 and nothing else.",
        "DEC 5 2020 and dec 5, 2020, 1999-12-31, 12/31/1999, 2021/1/2.",
        "Due 5 Sept, 2021. Maybe in May 2021, or on day2 of 1234.",
        "Ünïcode line with 3 March, 2023 in it.",
    ]
    for task in COMPETENCIES:
        episode = generate(task, seed=3, context_tokens=6000, chunk_tokens=256)
        for chunk in episode.chunks:
            out.extend(line for line in chunk.splitlines())
            out.extend(split_units(chunk))
    return out


SENTENCES = stream_sentences()

# Words that exercise every rule of entities() and salience(): capitalised function words, time words
# and "I" (never names), numbers, speaker labels, apostrophes and hyphens, words beyond ASCII.
_EDGE_TEXT = """The Copper Gate Mira Okafor Port Senna Of And In I I'm May March Monday Today the of and is was
    lives moved born my we 4821 3 12:30 2023-05-01 1,200 Session Day O'Neil Jean-Luc Ünïcode café Zoë ſtate
    K1 _x 7th Nadia Bo It It's A An"""
EDGE_WORDS = _EDGE_TEXT.split()


def random_sentences(rng: random.Random, n: int) -> list[str]:
    """Random sentences over EDGE_WORDS, some with a speaker label, a turn tag or stray punctuation."""
    out = []
    for _ in range(n):
        body = " ".join(rng.choices(EDGE_WORDS, k=rng.randint(0, 16)))
        body = rng.choice(["", ", ", ". ", "; ", " - "]).join([body, *rng.choices(EDGE_WORDS, k=rng.randint(0, 2))])
        prefix = rng.choice(["", "", "Nadia: ", "[D1:3] Caroline: ", "Mira Okafor: ", "May: ", "x: "])
        out.append(prefix + body + rng.choice(["", ".", "!", "?", " ..."]))
    return out


def random_statements(rng: random.Random, n: int, span: int) -> list[list[str]]:
    """Random word lists and, for each, a variant with one run of up to ``span + 1`` words replaced."""
    vocab = [f"w{i}" for i in range(40)]
    base = [rng.choices(vocab, k=rng.randint(0, 14)) for _ in range(n // 2)]
    out = list(base)
    for words_ in base:  # mutations of the same statements: repeats, one-span changes, insertions
        w = list(words_)
        if w and rng.random() < 0.9:
            i = rng.randrange(len(w))
            j = min(len(w), i + rng.randint(0, span + 1))
            w[i:j] = rng.choices(vocab, k=rng.randint(0, span + 1))
        out.append(w)
    rng.shuffle(out)
    return out


# -- tests -----------------------------------------------------------------------------------------


def test_entities_and_salience_equal_the_reference_on_real_and_edge_sentences():
    for sentence in SENTENCES:
        assert entities(sentence) == reference_entities(sentence), sentence
        assert salience(sentence) == reference_salience(sentence), sentence


def test_find_time_equals_the_reference_on_every_line():
    dated = 0
    for line in SENTENCES:
        assert find_time(line) == reference_find_time(line), line
        dated += find_time(line) is not None
    assert dated >= 4  # the edge cases above do carry dates, so the fast path is really exercised


def filled_index(
    index: UpdateIndex, statements: list[list[str]], rng: random.Random, removals: int
) -> tuple[UpdateIndex, set[int]]:
    """``index`` holding every statement (keyed by position) but ``removals`` random ones, added then discarded."""
    for i, w in enumerate(statements):
        index.add(i, w)
    removed = set(rng.sample(range(len(statements)), removals))
    for i in removed:
        index.discard(i, statements[i])
    return index, removed


@pytest.mark.parametrize("max_diff_words", [0, 1, 2, 4, 6])
def test_update_index_never_misses_an_update_or_a_repeat(max_diff_words: int):
    rng = random.Random(max_diff_words)
    statements = random_statements(rng, 400, max_diff_words)
    index, removed = filled_index(UpdateIndex(max_diff_words), statements, rng, 40)
    updates = 0
    for new in statements:
        expected = {i for i, old in enumerate(statements) if i not in removed and new and old == new}
        for i, old in enumerate(statements):
            if i not in removed and reference_update_overlap(old, new, max_diff_words) is not None:
                expected.add(i)
                updates += 1
        found = index.candidates(new)
        assert expected <= found, (new, expected - found)
    assert max_diff_words == 0 or updates >= 20  # the mutations produce updates: the index is tested on them


@pytest.mark.parametrize("max_diff_words", [0, 1, 2, 4, 6])
def test_update_overlap_quick_rejections_change_no_answer(max_diff_words: int):
    rng = random.Random(100 + max_diff_words)
    statements = random_statements(rng, 400, max_diff_words)
    answers = []
    for old in statements[:200]:
        for new in statements:
            answer = update_overlap(old, new, max_diff_words)
            assert answer == reference_update_overlap(old, new, max_diff_words), (old, new)
            answers.append(answer)
    assert max_diff_words == 0 or sum(a is not None for a in answers) >= 10


def test_merge_units_equals_the_pairwise_reference():
    rng = random.Random(0)
    templates = [
        "Mira Okafor lives in {}.",
        "The access code of the Iron Vault is {}.",
        "Caroline: I moved to {} in 2021.",
        "the weather was {}",
        "Nothing to see here {}",
    ]
    values = ["Calder Heights", "Port Senna", "4821", "7700", "mild", "very very cold today", ""]
    for _ in range(300):
        kept = [rng.choice(templates).format(rng.choice(values)) for _ in range(rng.randint(0, 12))]
        kept += rng.sample(SENTENCES, 3)
        new = [rng.choice(templates).format(rng.choice(values)) for _ in range(rng.randint(0, 8))]
        new += [*rng.sample(SENTENCES, 3), "", "!!!"]
        assert merge_units(kept, new) == reference_merge_units(kept, new)
    units = SENTENCES[:400]
    assert merge_units(units[:200], units[200:]) == reference_merge_units(units[:200], units[200:])


@pytest.mark.parametrize("min_shared", [0.0, 0.3, 0.6, 0.75, 1.0])
def test_update_overlap_equals_the_reference_for_any_min_shared(min_shared: float):
    rng = random.Random(7)
    statements = random_statements(rng, 300, 4)
    answers = []
    for old in statements[:150]:
        for new in statements:
            answer = update_overlap(old, new, 4, min_shared)
            assert answer == reference_update_overlap(old, new, 4, min_shared), (old, new)
            answers.append(answer)
    assert min_shared >= 1 or sum(a is not None for a in answers) >= 10  # at 1, no word may change


@pytest.mark.parametrize(("max_diff_words", "min_shared"), [(1, 0.6), (4, 0.0), (4, 0.6), (4, 1.0), (6, 0.9)])
def test_update_index_misses_nothing_looked_up_from_either_side(max_diff_words: int, min_shared: float):
    rng = random.Random(max_diff_words * 10 + int(min_shared * 10))
    statements = random_statements(rng, 300, max_diff_words)
    statements += [["w1"], ["w1", "w2"], ["w1", "w2", "w3"], ["w1"]]  # short statements and a repeat
    index = UpdateIndex(max_diff_words, min_shared)
    for i, w in enumerate(statements):
        index.add(i, w)
    hits = 0
    for j, w in enumerate(statements):
        for i, other in enumerate(statements):
            if not w or not other:
                continue
            # `other` updates or repeats `w`, and `w` updates or repeats `other`: both found by a lookup of w.
            if other == w or reference_update_overlap(other, w, max_diff_words, min_shared) is not None:
                assert i in index.candidates(w), (other, w)
                hits += i != j
            if reference_update_overlap(w, other, max_diff_words, min_shared) is not None:
                assert i in index.candidates(w), (w, other)
        assert index.candidates(w, index.probe(w)) == index.candidates(w)
    assert hits >= 20


def test_entities_and_salience_equal_the_reference_on_random_edge_sentences():
    for sentence in random_sentences(random.Random(1), 3000):
        assert entities(sentence) == reference_entities(sentence), sentence
        assert salience(sentence) == reference_salience(sentence), sentence
        s = reference_salience(sentence)
        assert states_something(sentence) == bool(s.state_verb or s.numbers or s.time_words or s.first_person)


def test_a_full_kind_table_is_emptied_without_changing_an_answer(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(facts, "_KINDS_LIMIT", 5)
    facts.salience.cache_clear()
    try:
        for sentence in random_sentences(random.Random(2), 300):
            assert salience(sentence) == reference_salience(sentence), sentence
        assert len(facts._KINDS) <= 5
    finally:
        facts.salience.cache_clear()


def test_the_digit_precheck_never_hides_a_labelled_example():
    rng = random.Random(3)
    markers = ["Label: 3", "label=4", "-> 5", "=> 6", "→ 7", "LABEL is 8", "lAbEl 9", "class: 3", ": 3", "= 3"]
    markers += ["label:", "->", "3", "Label: ٣", "label ３"]  # no digit, and Unicode digits
    texts = list(SENTENCES)
    for _ in range(3000):
        pieces = rng.choices([*markers, *EDGE_WORDS, "Input:", "Text:", "\n"], k=rng.randint(1, 10))
        texts.append(" ".join(pieces).replace("\\n", "\n"))
    found = 0
    for text in texts:
        expected = labelled_examples(ReaderContext(text))
        found += bool(expected)
        assert facts.labelled_pairs(text) == expected, text
        assert has_labelled_example.__wrapped__(text) == bool(expected), text
    assert found >= 500


def test_mem1_scores_and_selection_equal_the_reference():
    rng = random.Random(4)
    for _ in range(200):
        units = rng.sample(SENTENCES, rng.randint(1, 40))
        units += rng.choices(units, k=rng.randint(0, 3))  # repeated units: equal scores
        recency = rng.choice([0.0, 0.5, 1.0])
        scores = unit_scores(units, recency)
        assert scores == reference_unit_scores(units, recency)
        ties = [round(x) for x in scores]  # many equal scores: ties go to the newer unit
        budget = rng.choice([1, 5, 50, 400])
        assert select_units(units, scores, budget) == reference_select_units(units, scores, budget)
        assert select_units(units, ties, budget) == reference_select_units(units, ties, budget)


def test_merge_units_equals_the_reference_with_repeats_and_empty_units():
    rng = random.Random(5)
    pool = [
        "Mira lives in Oslo.",
        "mira lives in oslo",
        "Mira lives in Port Senna.",
        "Mira lives in Bergen now.",
        "The code of the Iron Mill is 37.",
        "The code of the Iron Gate is 79.",
        "The code of the Iron Mill is 41.",
        "",
        "...",
        "Mira",
        "Mira Okafor",
    ]
    for _ in range(500):
        kept = rng.choices(pool, k=rng.randint(0, 8))  # kept may hold repeats (a paragraph written elsewhere)
        new = rng.choices(pool, k=rng.randint(0, 8))
        assert merge_units(kept, new) == reference_merge_units(kept, new), (kept, new)


@pytest.mark.parametrize("add_only", [False, True])
def test_memory_r1_manager_equals_the_scanning_reference(add_only: bool):
    rng = random.Random(6)
    templates = [
        "Mira Okafor lives in {}.",
        "The access code of the Iron Vault is {}.",
        "Caroline: I moved to {} in 2021.",
        "Input: the oven was {}. Label: 3",
    ]
    values = ["Calder Heights", "Port Senna", "4821", "7700", "hot", "very very cold today"]
    manager = MemoryR1Manager(add_only=add_only)
    changed = 0
    for _ in range(300):
        entries = [(str(i), rng.choice(templates).format(rng.choice(values))) for i in range(rng.randint(0, 8))]
        entries += [(str(100 + i), s) for i, s in enumerate(rng.sample(SENTENCES, 2))]
        memory = "Fact bank: ...:\n" + json.dumps([{"id": i, "text": t} for i, t in entries])
        chunk = " ".join(
            [rng.choice(templates).format(rng.choice(values)) for _ in range(rng.randint(0, 6))]
            + rng.sample(SENTENCES, 3)
        )
        obs = {"chunk": chunk, "memory": memory}
        reply = manager(obs)
        assert reply == reference_memory_r1(obs, add_only)
        changed += '"UPDATE"' in reply or '"NONE"' in reply
    assert add_only or changed >= 20  # updates and repeats do happen: that path is compared too


def reference_count_mentions(mentions: dict[str, dict[str, Any]], chunk: int, sentence: str, names: list[str]) -> None:
    """mem-alpha's mention counting before it counted a chunk at once: one sentence's names, one by one."""
    for name in names:
        mention = mentions.setdefault(name, {"first": len(mentions), "chunk": chunk, "count": 0, "recurring": False})
        if mention["chunk"] != chunk:
            mention["recurring"] = True
        mention["count"] += 1
        mention["chunk"] = chunk
        mention["sentence"] = sentence


@pytest.mark.parametrize("core_entities", [0, 1, 3, 12])
def test_mem_alpha_top_names_and_recurring_names_equal_a_full_ranking(core_entities: int):
    rng = random.Random(core_entities)
    writer = MemAlphaHeuristic(core_entities=core_entities)
    names = [f"Name{i}" for i in range(40)]
    reference: dict[str, dict[str, Any]] = {}
    for chunk in range(60):
        writer._chunk = chunk
        in_chunk: list[str] = []
        latest: dict[str, str] = {}
        for i in range(rng.randint(0, 6)):
            mentioned = rng.choices(names, k=rng.randint(0, 4))  # repeats within a sentence count twice
            reference_count_mentions(reference, chunk, f"sentence {chunk}.{i}", mentioned)
            in_chunk += mentioned
            latest.update((name, f"sentence {chunk}.{i}") for name in mentioned)
        writer._count_mentions(in_chunk, latest)  # the whole chunk at once
        got = {
            name: {
                "first": m.first,
                "chunk": m.latest_chunk,
                "count": m.count,
                "recurring": m.recurring,
                "sentence": m.latest_sentence,
            }
            for name, m in writer._mentions.items()
        }
        assert got == reference
        full = sorted((-m.count, m.first, name) for name, m in writer._mentions.items())
        assert writer._top == full[:core_entities]
        assert all(m.rank == (-m.count, m.first, name) for name, m in writer._mentions.items())
        assert writer._recurring == [rank for rank in full if reference[rank[2]]["recurring"]]


def test_find_time_equals_the_reference_on_random_date_pieces():
    rng = random.Random(8)
    pieces = ["3", "March", "mar", "2023", "/", "-", "05", "12:30", "pm", "a.m.", "Session", "day", "7", ",", "Dec"]
    pieces += ["1999", "31", "Ünï", "the", "code", "4821", "at", "on"]
    dated = 0
    for _ in range(3000):
        line = "".join(
            rng.choice(pieces) + rng.choice([" ", "", "  ", ", ", "/", "-"]) for _ in range(rng.randint(1, 9))
        )
        assert find_time(line) == reference_find_time(line), line
        dated += find_time(line) is not None
    assert dated >= 100


@pytest.mark.parametrize("min_shared", [float("inf"), float("-inf"), float("nan"), -1.0, 5.0])
def test_update_overlap_takes_any_min_shared_as_before(min_shared: float):
    statements = random_statements(random.Random(9), 60, 4)
    for old in statements:
        for new in statements:
            assert update_overlap(old, new, 4, min_shared) == reference_update_overlap(old, new, 4, min_shared)
    if not math.isfinite(min_shared):
        with pytest.raises(ValueError, match="min_shared"):
            UpdateIndex(4, min_shared)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_mem_alpha_distinctive_words_equal_the_float_weight_ranking(seed: int):
    rng = random.Random(seed)
    vocab = [f"w{i}" for i in range(30)]
    writer = MemAlphaHeuristic()
    for _ in range(rng.randint(1, 60)):  # few words and small counts: many equal weights (ties by word)
        sample = " ".join(rng.choices(vocab, k=rng.randint(1, 8)))
        writer._example(sample, str(rng.randint(0, 6)))
    labels, spread = len(writer._label_words), writer._spread
    # The running tallies equal what _render_core once recomputed from _label_words at every step.
    assert spread == Counter(word for counts in writer._label_words.values() for word in counts)
    assert writer._label_sizes == {label: sum(c.values()) for label, c in writer._label_words.items()}

    def weight(counts: Counter[str], word: str) -> float:  # the weight as mem-alpha defines it
        return counts[word] * (1.0 + labels - spread[word]) / labels

    for label, counts in writer._label_words.items():
        for k in (0, 1, 3, 8, 40):
            expected = heapq.nsmallest(k, counts, key=lambda w, c=counts: (-weight(c, w), w))
            assert writer._distinctive(label, k, spread) == expected


def test_mem_alpha_line_tokens_equal_count_tokens():
    rng = random.Random(5)
    pieces = ["Most mentioned:", " ", "  ", "/", "\t", "Mira Okafor (3)", "[chunk 12]", "->", "label", "é", "42"]
    lines = ["", " ", "/x", " lead", "x" * 3000, " " * 5000 + "y"]
    lines += ["".join(rng.choices(pieces, k=rng.randint(1, 12))) for _ in range(400)]
    for line in lines:
        assert _line_tokens(line) == tokenizer.count_tokens(line + "\n"), repr(line)


def test_mem_alpha_line_prechecks_skip_only_lines_the_patterns_cannot_change():
    # _write skips LEADING_TAG without a "[" in the line and SPEAKER without a ":".
    for line in [*SENTENCES, *random_sentences(random.Random(6), 2000)]:
        if "[" not in line:
            assert LEADING_TAG.sub("", line) == line
        if ":" not in line:
            assert SPEAKER.match(line) is None


# -- round four (issue 19): mem-alpha's writer ------------------------------------------------------


def look_alike_statements(rng: random.Random, n: int) -> list[list[str]]:
    """Template sentences that differ in one or two places (the generated streams' look-alikes)."""
    places = ["tarn vale", "port umber", "juniper reach", "kestrel", "senna crossing"]
    templates = [
        "few visitors stayed in {} for more than {} nights",
        "the access code of the {} is {}",
        "the road between {} and {} was muddy again",
        "{} lives in {}",
    ]
    return [
        rng.choice(templates).format(rng.choice(places), rng.choice([*places, "3", "17", "2212"])).split()
        for _ in range(n)
    ]


def shares_enough_edge_words(old: list[str], new: list[str], max_diff_words: int, min_shared: float) -> bool:
    """What UpdateIndex.candidates keeps, written plainly: a repeat, or a statement of a near length whose
    common first words plus common last words (not overlapping them) reach the fewest an update shares."""
    if abs(len(old) - len(new)) >= max(max_diff_words, 1):
        return False
    if old == new:
        return True
    limit = min(len(old), len(new))
    prefix = 0
    while prefix < limit and old[prefix] == new[prefix]:
        prefix += 1
    suffix = 0
    while suffix < limit - prefix and old[-1 - suffix] == new[-1 - suffix]:
        suffix += 1
    share = min_shared * len(new)
    need = max(3, len(new) - max_diff_words, math.ceil(share) if share > 0 else 0)
    return prefix + suffix >= need


@pytest.mark.parametrize(("max_diff_words", "min_shared"), [(0, 0.6), (1, 0.6), (4, 0.0), (4, 0.6), (6, 0.9)])
def test_update_index_returns_exactly_the_statements_sharing_enough_edge_words(max_diff_words: int, min_shared: float):
    # The index tests what it finds: it drops the template look-alikes that share an edge but differ in
    # two places, and keeps every statement that may still be an update (or a repeat).
    rng = random.Random(40 + max_diff_words)
    statements = random_statements(rng, 200, max_diff_words) + look_alike_statements(rng, 200)
    statements += [["w1"], ["w1", "w2"], ["w1"], ["w1", "w2"]]  # repeats shorter than any update
    index, removed = filled_index(UpdateIndex(max_diff_words, min_shared), statements, rng, 30)
    dropped = 0
    for new in statements:
        if not new:
            assert index.candidates(new) == set()
            continue
        expected = {
            i
            for i, old in enumerate(statements)
            if i not in removed and old and shares_enough_edge_words(old, new, max_diff_words, min_shared)
        }
        assert index.candidates(new) == expected, new
        dropped += sum(old[:2] == new[:2] for old in statements) - len(expected)
    assert dropped > 1000  # many look-alikes share the first words: the test drops them


def reference_update_target(writer: MemAlphaHeuristic, key: list[str]) -> Any:
    """mem-alpha's update search before round four: every stored fact by memory id, then every pending
    insert in order; the first that shares the most words wins."""
    candidates = [writer._facts[memory_id] for memory_id in sorted(writer._facts)]
    candidates += list(writer._pending.values())
    best = None
    for old in candidates:
        shared = reference_update_overlap(old.key, key, writer.max_diff_words)
        if shared is not None and (best is None or shared > best[0]):
            best = (shared, old)
    return best[1] if best else None


@pytest.mark.parametrize("seed", range(4))
def test_mem_alpha_update_target_equals_a_scan_of_every_fact(seed: int):
    from baselines.mem_alpha import _Fact

    rng = random.Random(seed)
    writer = MemAlphaHeuristic()
    statements = random_statements(rng, 200, 4) + look_alike_statements(rng, 100)
    # Variants of one statement at one place: each updates the others, sharing as many words (ties).
    for _ in range(20):
        base = rng.choices([f"w{i}" for i in range(40)], k=rng.randint(4, 12))
        at = rng.randrange(len(base))
        statements += [[*base[:at], f"v{v}", *base[at + 1 :]] for v in range(rng.randint(2, 5))]
    rng.shuffle(statements)
    for i, words_ in enumerate(statements[:300]):
        fact = _Fact(f"text {i}", words_)
        if rng.random() < 0.7:
            fact.memory_id = f"{rng.randrange(16**4):04x}{i}"
            writer._facts[fact.memory_id] = fact
        else:
            writer._pending[fact.text] = fact
        writer._updatable.add(fact, words_)
    found = ties = 0
    for key in statements:
        target = writer._update_target(key)
        assert target is reference_update_target(writer, key), key
        found += target is not None
        shared = [
            reference_update_overlap(old.key, key) for old in [*writer._facts.values(), *writer._pending.values()]
        ]
        ties += shared.count(max((s for s in shared if s is not None), default=-1)) > 1
    assert found > 50 and ties > 5


def test_render_tool_calls_writes_the_json_that_dump_json_writes():
    from memenv.parsing import _dump_object, render_tool_calls

    rng = random.Random(3)
    pieces = ["a", "Ünïcödé", "<tool_call>", "✿", '"', "\\", "\n", "\t", "\x00", "\ud800", "😀", " ", "{}", "[1]", "é"]
    values: list[Any] = [1, 2.5, None, True, [1, "x"], {"k": "v"}, {"k": 1}, {"a": {"b": "c"}}, {}, ""]
    for _ in range(2000):
        text = "".join(rng.choices(pieces, k=rng.randint(0, 6)))
        arguments: dict[Any, Any] = {
            "".join(rng.choices(pieces, k=rng.randint(0, 2))): text for _ in range(rng.randint(0, 3))
        }
        if rng.random() < 0.3:
            arguments[rng.choice(["memory_id", "n", 3])] = rng.choice(values)
        value = {"name": "new_memory_insert", "arguments": arguments}
        try:
            expected = dump_json(value)
        except (TypeError, ValueError):
            continue
        assert _dump_object(value) == expected, value
        assert _dump_object(arguments) == dump_json(arguments), arguments
    calls = [{"name": "memory_update", "arguments": {"memory_type": "core_memory", "new_content": 'a <b> ✿ "c"'}}]
    body = '{"memory_type": "core_memory", "new_content": "a \\u003cb> \\u273f \\"c\\""}'
    assert render_tool_calls(calls) == f'<tool_call>\n{{"name": "memory_update", "arguments": {body}}}\n</tool_call>'
    with pytest.raises(ValueError, match="call 0"):
        render_tool_calls([{"name": "x", "arguments": {"a": object()}}])


def test_render_tool_calls_writes_each_call_as_dump_json_of_it():
    # The plain writer: each call is dump_json({"name": ..., "arguments": ...}) between the markers (hermes),
    # or its name and dump_json(arguments) (qwen). render_tool_calls writes the name and the arguments apart.
    from memenv.parsing import render_tool_calls
    from memenv.tools import ToolCall

    rng = random.Random(4)
    pieces = ["a", "Ünïcödé", "<b>", "✿", '"', "\\", "\n", "\t", "\x00", "😀", " ", "{}", "é", "/"]
    values: list[Any] = [1, 2.5, None, True, [1, "x<"], {"k": "v✿"}, {"k": 1}, {"a": {"b": "<c"}}, {}, ""]
    names = ["new_memory_insert", "memory_update", "x", "naïve", "a b", 'q"uote', "back\\slash", "tab\tname"]
    for _ in range(1500):
        calls: list[Any] = []
        for _ in range(rng.randint(0, 4)):
            arguments: dict[str, Any] = {
                "".join(rng.choices(pieces, k=rng.randint(0, 2))): "".join(rng.choices(pieces, k=rng.randint(0, 6)))
                for _ in range(rng.randint(0, 3))
            }
            if rng.random() < 0.3:
                arguments[rng.choice(["memory_id", "n"])] = rng.choice(values)
            name = rng.choice(names)
            calls.append(ToolCall(name, arguments) if rng.random() < 0.2 else {"name": name, "arguments": arguments})
        plain = [(c.name, c.arguments) if isinstance(c, ToolCall) else (c["name"], c["arguments"]) for c in calls]
        hermes = [f"<tool_call>\n{dump_json({'name': n, 'arguments': a})}\n</tool_call>" for n, a in plain]
        assert render_tool_calls(calls) == "\n".join(hermes), calls
        qwen = [f"✿FUNCTION✿: {n}\n✿ARGS✿: {dump_json(a)}" for n, a in plain]
        assert render_tool_calls(calls, style="qwen") == "\n".join(qwen), calls


def test_diff_words_equals_lowercasing_each_word():
    rng = random.Random(5)
    pieces = ["Mira", "O'Neil", "x-ray", "_id", "Ünal", "İstanbul", "café", "’s", "42", "3.5", " ", ",", "-", "'", "ǅ"]
    texts = ["".join(rng.choices(pieces, k=rng.randint(0, 12))) for _ in range(3000)] + SENTENCES
    for text in texts:
        assert diff_words(text) == [w.lower() for w in words(text)], text


def reference_render_core(writer: MemAlphaHeuristic) -> str:
    """mem-alpha's core before round four: recurring names ranked afresh, every line built and counted anew."""
    from baselines.facts import clause_with

    lines: list[str] = []
    budget = writer.core_tokens

    def fits(line: str) -> bool:
        nonlocal budget
        cost = tokenizer.count_tokens(line + "\n")
        if cost > budget:
            return False
        budget -= cost
        return True

    if writer._label_words:
        lines.append("Label prototypes (most distinctive words -> label):")
        fits(lines[-1])
        for label in sorted(writer._label_words, key=lambda lab: -writer._label_sizes[lab]):
            line = f"{' '.join(writer._distinctive(label, 8, writer._spread))} -> label {label}"
            if fits(line):
                lines.append(line)
    ranked = sorted(writer._mentions.items(), key=lambda item: (-item[1].count, item[1].first))
    top = [(name, m) for name, m in ranked[: writer.core_entities] if m.count >= 2]
    if top:
        line = "Most mentioned: " + ", ".join(f"{name} ({m.count})" for name, m in top)
        if fits(line):
            lines.append(line)
    chosen: dict[str, int] = {}
    for name, m in ranked:
        if not m.recurring:
            continue
        line = f"[chunk {m.latest_chunk + 1}] {clause_with(m.latest_sentence, name)}"
        if line in chosen:
            continue
        if not fits(line):
            break
        chosen[line] = m.latest_chunk
    if chosen:
        lines.append("Latest about recurring names, in order:")
        lines.extend(sorted(chosen, key=lambda line: chosen[line]))
    return "\n".join(lines)


@pytest.mark.parametrize("task", ["long_range_understanding", "test_time_learning", "conflict_resolution"])
def test_mem_alpha_core_equals_a_fresh_render_after_every_chunk(task: str):
    episode = generate(task, seed=3, context_tokens=12_000, chunk_tokens=512)
    writer = MemAlphaHeuristic(core_tokens=300)  # a tight budget: the core is cut, and lines compete
    recurring = 0
    for step, chunk in enumerate(episode.chunks):
        writer({"chunk": chunk}, {"step": step})
        assert writer._render_core() == reference_render_core(writer), step
        recurring = max(recurring, writer._core.count("\n[chunk "))
    assert task == "test_time_learning" or recurring >= 3  # names recur: their cached lines are compared


def test_split_sentences_equals_stripping_each_piece_twice():
    from memenv.tasks.chunking import _SENTENCE_END, split_sentences

    rng = random.Random(9)
    pieces = ["Mira left", ".", "!", "?", " ", "  ", "\n", "\n\n", "\t", '"', ")", "]", "'", "x", "\u00a0", "\u2003"]
    texts = ["".join(rng.choices(pieces, k=rng.randint(0, 14))) for _ in range(5000)] + SENTENCES
    for text in texts:
        plain = [piece.strip() for piece in _SENTENCE_END.split(text) if piece and piece.strip()]
        assert split_sentences(text) == plain, text


def test_sentence_end_splits_as_the_written_out_pattern():
    # _SENTENCE_END takes a separator's first whitespace character first. The plain pattern below is the
    # separator written out; the form before round five had a redundant lookbehind in front of it.
    from memenv.tasks.chunking import _SENTENCE_END

    plain = re.compile(r"(?:(?<=[.!?])|(?<=[.!?][\"')\]]))\s+|\n\s*\n")
    before = re.compile(r"(?<=[.!?\"')\]])(?:(?<=[.!?])|(?<=[.!?][\"')\]]))\s+|\n\s*\n")
    rng = random.Random(10)
    pieces = ["Mira left", ".", "!", "?", " ", "  ", "\n", "\n\n", "\r\n", "\t", '"', ")", "]", "'", "x", "\u00a0"]
    pieces += ["\u2003", "\x0b", "\x1c", "\u2028", "é", "..."]
    texts = ["".join(rng.choices(pieces, k=rng.randint(0, 16))) for _ in range(20000)] + SENTENCES
    for episode in (generate(task, seed=1, context_tokens=4000) for task in COMPETENCIES):
        texts += episode.chunks
    splits = 0
    for text in texts:
        assert _SENTENCE_END.split(text) == plain.split(text) == before.split(text), text
        splits += len(plain.split(text)) > 1
    assert splits > 5000


def test_word_pattern_for_ascii_text_finds_the_words_of_the_unicode_one():
    rng = random.Random(12)
    pieces = ["Mira", "O'Neil", "x-ray", "_id", "__", "'", "-", "’", "’s", "42", "3.5", " ", ",", "\t", "\n", "a_b"]
    pieces += ["Ünal", "café", "٣", "ǅ", "\x7f", "\x00", "~", "@", "`"]
    texts = ["".join(rng.choices(pieces, k=rng.randint(0, 12))) for _ in range(5000)] + SENTENCES
    texts += ["".join(map(chr, range(128))), "".join(map(chr, range(128)))[::-1]]
    ascii_texts = 0
    for text in texts:
        assert facts._find_words(text) == facts._WORD.findall(text), text
        if text.isascii():
            ascii_texts += 1
            assert facts._ASCII_WORD.findall(text) == facts._WORD.findall(text), text
    assert ascii_texts > 1000


def test_clause_break_splits_as_the_written_out_pattern():
    plain = re.compile(r"\s*(?:[,;:]|\s-\s|\s—\s)\s*")  # facts._CLAUSE_BREAK written out (and before round five)
    rng = random.Random(13)
    pieces = ["a", "Mira", " ", "  ", ",", ";", ":", "-", "—", "\t", "\n", " - ", " — ", "\u00a0", "\u2003"]
    pieces += [",,", "x-y"]
    texts = ["".join(rng.choices(pieces, k=rng.randint(0, 14))) for _ in range(30000)] + SENTENCES
    splits = 0
    for text in texts:
        assert facts._CLAUSE_BREAK.split(text) == plain.split(text), text
        splits += len(plain.split(text)) > 1
    assert splits > 10000


def test_read_unit_equals_the_separate_readings():
    # mem1 reads each unit once (one word pass, one cache): the same as the plain per-property readings.
    rng = random.Random(11)
    units = [*SENTENCES, *random_sentences(rng, 2000), "Input: great film -> 1", "Ünïcode Zoë: I'm in Köln", "!!!"]
    probes = UpdateIndex()
    labelled = facts_found = 0
    for unit in units:
        info = salience(unit)
        words_ = tuple(diff_words(unit))
        fact = is_fact(unit) or has_labelled_example(unit)
        assert facts.read_statement(unit) == (info, is_fact(unit), words_), unit
        assert read_unit.__wrapped__(unit) == (
            words_,
            probes.probe(words_),
            info.score,
            frozenset(info.entities),
            fact,
            min_tokens(unit),
        ), unit
        labelled += has_labelled_example(unit)
        facts_found += fact
    assert labelled >= 10 and facts_found >= 500


def test_update_indexes_with_other_parameters_share_no_widths():
    # Indexes with the same parameters share their width tables; others must not see them. Built and
    # looked up interleaved, each still finds exactly what a plain scan keeps, and may_find is False only
    # when it finds nothing.
    rng = random.Random(12)
    statements = random_statements(rng, 200, 4) + look_alike_statements(rng, 100)
    params = [(0, 0.6), (1, 0.6), (4, 0.0), (4, 0.6), (6, 0.9), (4, 0.6)]
    indexes = [UpdateIndex(d, s) for d, s in params]
    stored = statements[: len(statements) // 2]  # the others are looked up without being stored
    for i, w in enumerate(stored):
        for index in indexes:
            index.add(i, w)
    nothing = 0
    for new in statements[::2]:
        for index, (d, s) in zip(indexes, params, strict=True):
            expected = {i for i, old in enumerate(stored) if old and new and shares_enough_edge_words(old, new, d, s)}
            assert index.candidates(new) == expected, (d, s, new)
            if new and not index.may_find(index.probe(new)):
                assert not expected
                nothing += 1
    assert nothing >= 10


@pytest.mark.parametrize("bad", [4.0, True, -1, "4", None])
def test_update_index_refuses_a_max_diff_words_that_is_not_a_count(bad):
    # Widths are sliced with it and shared by every index with equal parameters: a float accepted here
    # would write float widths into the default index's tables.
    with pytest.raises(ValueError, match="max_diff_words"):
        UpdateIndex(bad)
    with pytest.raises(ValueError, match="max_diff_words"):
        MemAlphaHeuristic(max_diff_words=bad)
    index = UpdateIndex()  # unaffected
    index.add(0, ("a", "b", "c", "d", "e", "f"))
    assert index.candidates(("a", "b", "c", "d", "e", "x")) == {0}


def test_update_indexes_share_width_tables_only_with_equal_typed_parameters():
    # 1 == 1.0 (and hash alike): the shared tables are keyed by type too.
    assert UpdateIndex(4, 1)._width is UpdateIndex(4, 1)._width
    assert UpdateIndex(4, 1)._width is not UpdateIndex(4, 1.0)._width


def test_min_tokens_never_exceeds_the_token_count():
    # select_units passes over a unit whose lower bound cannot fit: the bound must hold for any text,
    # and be reached (it is the count for plain words), or it would skip nothing.
    rng = random.Random(13)
    pieces = [*EDGE_WORDS, " ", "  ", "\t", "\n", "\x1c", "\u00a0", "\u3000", "'s", "’", "-", ".", ",", "3", "12345"]
    pieces += ["don't", "e\u0301x", "Ω", "日本語", "=>", "->", "!!!", "a" * 60, " " * 5000, "x y z"]
    texts = [*SENTENCES, *("".join(rng.choices(pieces, k=rng.randint(0, 30))) for _ in range(3000))]
    texts += [" ".join(rng.choices(pieces, k=rng.randint(0, 30))) for _ in range(3000)]
    reached = 0
    for text in texts:
        bound, count = min_tokens(text), tokenizer.count_tokens(text)
        assert bound <= count, text
        reached += bound == count > 0
    assert reached >= 100


def test_salience_of_speaker_lines_equals_the_reference():
    # A labelled line's body words are read as the words after the label's: any spacing after the colon,
    # tags, a two-word label, an empty body, a trailing line break.
    rng = random.Random(14)
    labels = ["Nadia:", "Mira Okafor:", "[D1:3] Caroline:", "  [x] Bo:", "May:", "I:", "Zoë:", "A B:"]
    gaps = [" ", "  ", "\t", " \t ", "\u3000", " \u00a0"]
    lines = []
    for _ in range(2000):
        body = " ".join(rng.choices(EDGE_WORDS, k=rng.randint(0, 10)))
        lines.append(rng.choice(labels) + rng.choice(gaps) + body + rng.choice(["", ".", "\n", " 3:4"]))
    spoken = 0
    for line in lines:
        assert salience.__wrapped__(line) == reference_salience(line), line
        assert facts.read_statement(line)[0] == reference_salience(line), line
        spoken += SPEAKER.match(line) is not None
    assert spoken >= 1000
