"""The fast paths of the heuristic writers (issue 19) against the plain algorithms they replaced.

Each reference below is the pre-issue-19 code, kept here verbatim in substance, and compared with the
current implementation on random and generated inputs. ``tests/test_baseline_outputs.py`` pins the
whole systems' outputs; these tests pin the pieces, on inputs built to hit the edge cases.
"""

from __future__ import annotations

import random
import re

import pytest

from baselines import facts
from baselines.facts import (
    FIRST_PERSON,
    SPEAKER,
    STATE_VERBS,
    STOPWORDS,
    Salience,
    UpdateIndex,
    diff_words,
    entities,
    find_time,
    is_update_of,
    salience,
    split_units,
    update_overlap,
    words,
)
from baselines.mem1 import merge_units
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


def reference_update_overlap(old: list[str], new: list[str], max_diff_words: int = 4) -> int | None:
    diff = facts.single_span_diff(old, new)
    if diff is None:
        return None
    shared, old_span, new_span = diff
    if not (1 <= old_span <= max_diff_words and 1 <= new_span <= max_diff_words):
        return None
    return shared if shared >= 3 and shared >= 0.6 * max(len(old), len(new)) else None


def reference_merge_units(kept: list[str], new: list[str]) -> list[str]:
    out = [(unit, diff_words(unit)) for unit in kept]
    for unit in new:
        w = diff_words(unit)
        if not w:
            continue
        out = [(u, old) for u, old in out if old != w and not is_update_of(old, w)]
        out.append((unit, w))
    return [unit for unit, _ in out]


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


@pytest.mark.parametrize("max_diff_words", [0, 1, 2, 4, 6])
def test_update_index_never_misses_an_update_or_a_repeat(max_diff_words: int):
    rng = random.Random(max_diff_words)
    statements = random_statements(rng, 400, max_diff_words)
    index = UpdateIndex(max_diff_words)
    for i, w in enumerate(statements):
        index.add(i, w)
    removed = set(rng.sample(range(len(statements)), 40))
    for i in removed:
        index.discard(i, statements[i])
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
