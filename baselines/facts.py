"""Sentence-level fact analysis shared by the heuristic writers (``mem-alpha``, ``mem1``, ``memory-r1``).

Plain, generic text heuristics — nothing here knows the synthetic generators' templates:

* :func:`salience` / :func:`is_fact`: is a sentence a fact worth keeping (names and numbers, a
  state or definition verb, a specific first-person statement)?
* :func:`diff_words`, :func:`single_span_diff`, :func:`is_update_of`: does a new statement repeat an
  old one except for one short span — i.e. is it a changed value of the same fact?
* :func:`entities`, :func:`find_time`, :func:`clause_with`: names, dates and short clauses.
* :func:`split_units`, :func:`has_labelled_example`: sentences of a chunk, keeping labelled
  examples (``Input: ... Label: 3``) whole.

>>> is_fact("The Copper Gate is located in Calder Heights."), is_fact("The fog lasted for days.")
(True, False)
"""

from __future__ import annotations

import functools
import re
from collections.abc import Hashable, Sequence
from dataclasses import dataclass

from memenv.readers.base import ReaderContext
from memenv.readers.evidence import labelled_examples
from memenv.tasks.chunking import split_sentences


def _vocabulary(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Common English function words: never names, never content.
STOPWORDS = _vocabulary(
    """a an the and or but nor so yet if then than that this these those there here it its it's
    i me my mine we us our ours you your yours he him his she her hers they them their theirs
    is are was were be been being am do does did done have has had having will would shall should
    can could may might must of in on at to for from by with without about above below over under
    into onto out up down off again further once as while when where why how what which who whom
    whose all any both each few more most other some such no not only own same too very just also
    after before during until since because through between among toward towards along across
    around near every long nobody somebody everyone someone anyone none many much one two"""
)
# Verbs that state what something is or has (definitions, attributes, states), in any domain.
STATE_VERBS = _vocabulary(
    """is are was were be been am has have had became become becomes means meant called named known
    born died founded located lives lived live works worked work owns owned own married moved joined
    leads led runs ran holds held contains belongs belonged consists equals costs weighs measures
    started began finished ended"""
)
FIRST_PERSON = _vocabulary("i i'm i've i'd i'll my we we're we've our me")
MONTHS = _vocabulary(
    "january february march april may june july august september october november december "
    "jan feb mar apr jun jul aug sep sept oct nov dec"
)
WEEKDAYS = _vocabulary("monday tuesday wednesday thursday friday saturday sunday")
_TIME_WORDS = MONTHS | WEEKDAYS | _vocabulary("today yesterday tomorrow tonight week month year")
_NEVER_NAMES = _TIME_WORDS | FIRST_PERSON

_WORD = re.compile(r"[A-Za-z0-9][\w'’-]*")
_NUMBER = re.compile(r"^\d[\d,.:/-]*$")
SPEAKER = re.compile(r"^\s*(?:\[[^\]]*\]\s*)?([A-Z][\w'’-]*(?: [A-Z][\w'’-]*)?)\s*:\s+(.*)$")
# Full names before abbreviations, so the regex prefers "March" to "mar".
_MONTH_NAMES = "|".join(sorted(MONTHS, key=lambda m: (-len(m), m)))
# A date: "3 March, 2023", "March 3, 2023", "2023/05/01", "2023-05-01", "05/01/2023"; or "Session 3" / "Day 12".
_DATE = re.compile(
    rf"\b\d{{1,2}}\s+(?:{_MONTH_NAMES})\w*,?\s+\d{{4}}\b|\b(?:{_MONTH_NAMES})\w*\s+\d{{1,2}},?\s+\d{{4}}\b"
    r"|\b\d{4}[/-]\d{1,2}[/-]\d{1,2}\b|\b\d{1,2}/\d{1,2}/\d{4}\b|\b(?:session|day)\s+\d+\b",
    re.IGNORECASE,
)
# What every form of _DATE contains (see _may_hold_date): testing for these first is ~10x cheaper than
# _DATE's case-insensitive month alternation on the many lines that hold no date.
_FOUR_DIGITS = re.compile(r"\d{4}")
_DIGIT = re.compile(r"\d")
_SLASH_DATE = re.compile(r"\d{4}[/-]\d|/\d{4}")
# These two run on the lowercased (ASCII) line; every month name starts with one of the stems.
_NUMBERED_DAY = re.compile(r"(?:session|day)\s+\d")
_MONTH_THEN_NUMBER = re.compile(rf"\b(?:{'|'.join(sorted({m[:3] for m in MONTHS}))})\w*,?\s+\d")
_TIME_OF_DAY = re.compile(r"\b\d{1,2}:\d{2}\s*(?:[ap]\.?m\.?)?", re.IGNORECASE)
LEADING_TAG = re.compile(r"^\s*\[[^\]]*\]\s*")
BARE_LABEL_LINE = re.compile(r"^\W*label\b", re.IGNORECASE)
_CLAUSE_BREAK = re.compile(r"\s*(?:[,;:]|\s-\s|\s—\s)\s*")


# --------------------------------------------------------------------------------------------------
# Reading sentences: pure functions


def words(text: str) -> list[str]:
    """The words of ``text`` (letters/digits with inner apostrophes and hyphens), case kept."""
    return list(_words(text))


def diff_words(text: str) -> list[str]:
    """Lowercased words, the unit of the update diff (punctuation and case never make a difference)."""
    return [w.lower() for w in _words(text)]


def entities(sentence: str) -> list[str]:
    """Named entities of a sentence, as runs of capitalised words, in order (repeats kept).

    A run that opens the sentence loses leading function words ("The Copper Gate" -> "Copper Gate"),
    and a lone capitalised word that opens it is not a name (sentences start capitalised); a speaker
    label (``Nadia: ...``) is. ``I``, month and weekday names are never entities (they are time
    words, or the speaker talking).
    """
    return list(_entities(sentence))


# The writers ask about the same sentence several times (mem-alpha: mentions, then salience; mem1:
# every kept unit at every step), so the pure per-sentence analyses below are memoised.
_CACHE_SIZE = 8192


@functools.lru_cache(maxsize=_CACHE_SIZE)
def _words(text: str) -> tuple[str, ...]:
    return tuple(_WORD.findall(text))


@functools.lru_cache(maxsize=_CACHE_SIZE)
def _entities(sentence: str) -> tuple[str, ...]:
    found: list[str] = []
    speaker = SPEAKER.match(sentence)
    body = sentence
    if speaker:
        found.append(speaker.group(1))
        body = speaker.group(2)
    tokens = _words(body)
    run: list[str] = []
    run_start = 0

    def close(end: int) -> None:
        nonlocal run
        names = list(run)
        if run_start == 0:
            while names and names[0].lower() in STOPWORDS:
                names.pop(0)
            if len(names) == 1 and len(run) == 1:  # a lone capitalised first word
                names = []
        if names:
            found.append(" ".join(names))
        run = []

    for i, token in enumerate(tokens):
        # A word token (_WORD) is capitalised exactly when its first character is A-Z.
        is_name = "A" <= token[0] <= "Z"
        if is_name:
            lowered = token.lower()
            is_name = lowered not in _NEVER_NAMES and not (i > 0 and not run and lowered in STOPWORDS)
        if is_name:
            if not run:
                run_start = i
            run.append(token)
        elif run:
            close(i)
    if run:
        close(len(tokens))
    return tuple(found)


@dataclass(frozen=True)
class Salience:
    """What makes a sentence worth keeping, counted."""

    content_words: int  # words that are not function words
    specific_words: int  # of those, words inside names, and numbers
    entities: tuple[str, ...]
    numbers: int
    state_verb: bool
    first_person: bool
    time_words: int

    @property
    def density(self) -> float:
        return self.specific_words / self.content_words if self.content_words else 0.0

    @property
    def score(self) -> float:
        """One number to rank sentences by: density plus bonuses for names, numbers and times."""
        return self.density + 0.25 * min(len(set(self.entities)), 3) + 0.25 * min(self.numbers + self.time_words, 2)


@functools.lru_cache(maxsize=1 << 16)
def _word_kind(token: str) -> tuple[bool, bool, bool, bool, bool]:
    """(number, time word, state verb, first person, content word) for one word token of :func:`salience`
    (memoised: the vocabulary is small next to the number of words read)."""
    lowered = token.lower()
    # A word token opens with [A-Za-z0-9]: only one opening with a digit can be a number.
    number = "0" <= token[0] <= "9" and _NUMBER.match(token) is not None
    return number, lowered in _TIME_WORDS, lowered in STATE_VERBS, lowered in FIRST_PERSON, lowered not in STOPWORDS


@functools.lru_cache(maxsize=_CACHE_SIZE)
def salience(sentence: str) -> Salience:
    """Count the signals of a sentence that :func:`is_fact` and the episodic log use (memoised)."""
    names = _entities(sentence)
    name_words = {w for name in names for w in name.split()}
    content = specific = numbers = time_words = 0
    state_verb = first_person = False
    for token in _words(sentence):
        number, time_word, state, first, content_word = _word_kind(token)
        numbers += number
        time_words += time_word
        state_verb = state_verb or state
        first_person = first_person or first
        if content_word:
            content += 1
            specific += number or token in name_words
    return Salience(
        content_words=content,
        specific_words=specific,
        entities=names,
        numbers=numbers,
        state_verb=state_verb,
        first_person=first_person,
        time_words=time_words,
    )


def is_fact(sentence: str, max_words: int = 40, signals: Salience | None = None) -> bool:
    """Whether a sentence states a fact worth a semantic entry.

    Kept: sentences of 3 to ``max_words`` words that (a) are dense — names and numbers make up at
    least half of their content words — or (b) link a name or a number to a state/definition verb
    with at most 8 content words, a third of them specific (short statements of an attribute), or (c) are
    first-person statements (dialogue: what people say about themselves) that mention a name, a number
    or a time, or have at least four content words (the speaker's name counts). ``signals`` may pass the
    sentence's :func:`salience` when it is already computed.
    """
    if signals is None:
        return _is_fact(sentence, max_words)
    return _is_fact_with(sentence, max_words, signals)


@functools.lru_cache(maxsize=_CACHE_SIZE)
def _is_fact(sentence: str, max_words: int) -> bool:
    return _is_fact_with(sentence, max_words, salience(sentence))


def _is_fact_with(sentence: str, max_words: int, s: Salience) -> bool:
    n = len(_words(sentence))
    if not 3 <= n <= max_words:
        return False
    # A speaker label alone does not make a line specific.
    named_in_body = len(s.entities) > (1 if SPEAKER.match(sentence) else 0)
    if s.density >= 0.5 and (named_in_body or s.numbers):
        return True
    if s.state_verb and s.density >= 1 / 3 and s.content_words <= 8 and (named_in_body or s.numbers):
        return True
    return s.first_person and (named_in_body or s.numbers > 0 or s.time_words > 0 or s.content_words >= 4)


def clause_with(sentence: str, needle: str, max_words: int = 24) -> str:
    """The clause of ``sentence`` that holds ``needle`` (the sentence if that clause is tiny), cut to ``max_words``."""
    if needle:
        for clause in _CLAUSE_BREAK.split(sentence):
            if needle in clause and len(words(clause)) >= 4:
                sentence = clause
                break
    cut = sentence.split()
    text = " ".join(cut[:max_words]).strip().rstrip(".!?,;:")
    return text + " ..." if len(cut) > max_words else text


def find_time(line: str) -> str | None:
    """The date (with its time of day, when given) that a line carries, as written; None if none."""
    if not _may_hold_date(line):
        return None
    date = _DATE.search(line)
    if not date:
        return None
    clock = _TIME_OF_DAY.search(line)
    value = date.group(0)
    if clock is None:
        return value
    if clock.end() <= date.start():
        return f"{clock.group(0).strip()} on {value}"
    return f"{value} {clock.group(0).strip()}" if clock.start() >= date.end() else value


def _may_hold_date(line: str) -> bool:
    """False only when :data:`_DATE` cannot match ``line`` (necessary conditions, cheap to test)."""
    if not line.isascii():
        return True  # case folding beyond ASCII: let _DATE decide
    lowered = line.lower()  # ASCII: lowercasing is exactly re.IGNORECASE's folding
    if ("session" in lowered or "day" in lowered) and _NUMBERED_DAY.search(lowered):
        return True
    # Every other form has four digits in a row, and a slash/dash date or a month name followed by a
    # number ("3 March, 2023": "march, 2"; "March 3, 2023": "march 3").
    if not _FOUR_DIGITS.search(line):
        return False
    return _SLASH_DATE.search(line) is not None or _MONTH_THEN_NUMBER.search(lowered) is not None


def single_span_diff(old: list[str], new: list[str]) -> tuple[int, int, int] | None:
    """``(shared, old_span, new_span)`` when ``old`` and ``new`` differ in exactly one place.

    The common prefix and suffix are trimmed off; what is left on each side is the differing run. If
    the two runs share a word, the statements differ in two or more places around it ("the Iron Mill
    is 37" vs "the Iron Gate is 79") and the answer is None; so it is when they do not differ at all.
    ``shared`` counts the words of the prefix and suffix.
    """
    limit = min(len(old), len(new))
    prefix = 0
    while prefix < limit and old[prefix] == new[prefix]:
        prefix += 1
    suffix = 0
    while suffix < limit - prefix and old[-1 - suffix] == new[-1 - suffix]:
        suffix += 1
    old_run = old[prefix : len(old) - suffix]
    new_run = new[prefix : len(new) - suffix]
    if not (old_run or new_run) or set(old_run) & set(new_run):
        return None
    return prefix + suffix, len(old_run), len(new_run)


def is_update_of(old: list[str], new: list[str], max_diff_words: int = 4, min_shared: float = 0.6) -> bool:
    """Whether ``new`` restates ``old`` with one short span changed (a changed fact, not a new one).

    They must differ in exactly one place (:func:`single_span_diff`), by a run of 1 to
    ``max_diff_words`` words on each side (a replacement, not an addition), and the shared words must
    be at least 3 and at least
    ``min_shared`` of the longer statement.

    >>> is_update_of("mira lives in calder heights".split(), "mira lives in port senna".split())
    True
    >>> is_update_of("the code of the iron mill is 37".split(), "the code of the iron gate is 79".split())
    False
    """
    return update_overlap(old, new, max_diff_words, min_shared) is not None


def update_overlap(old: list[str], new: list[str], max_diff_words: int = 4, min_shared: float = 0.6) -> int | None:
    """The words ``old`` and ``new`` share when ``new`` is an update of ``old`` (:func:`is_update_of`), else None."""
    # Quick rejections, implied by the tests below: changed runs of 1 to max_diff_words words on each
    # side make the lengths differ by less than max_diff_words, and 3+ shared words around one run
    # mean the first two or the last two words agree.
    if abs(len(old) - len(new)) >= max_diff_words or (old[:2] != new[:2] and old[-2:] != new[-2:]):
        return None
    diff = single_span_diff(old, new)
    if diff is None:
        return None
    shared, old_span, new_span = diff
    if not (1 <= old_span <= max_diff_words and 1 <= new_span <= max_diff_words):
        return None
    return shared if shared >= 3 and shared >= min_shared * max(len(old), len(new)) else None


class UpdateIndex:
    """Stored statements (diff words, under caller-chosen keys) that a new statement may update or repeat.

    :meth:`candidates` returns a superset of the stored statements ``old`` for which
    ``update_overlap(old, new, max_diff_words)`` is not None or ``old == new`` — callers still test
    each — and never misses one. An update keeps at least 3 words around its one changed run, so it
    shares its first two or its last two words with the statement it changes (a repeat shares both),
    and the changed runs of 1 to ``max_diff_words`` words make the lengths differ by less than
    ``max_diff_words``. The index therefore files each statement under its first two and its last two
    words: a lookup costs two hashes and a length test per statement in the two buckets.
    """

    def __init__(self, max_diff_words: int = 4) -> None:
        if max_diff_words < 0:
            raise ValueError(f"need max_diff_words >= 0, got {max_diff_words}")
        self.max_diff_words = max_diff_words
        # Edge words -> {key: length of the statement}; one table for the first words, one for the last.
        self._by_first: dict[tuple[str, ...], dict[Hashable, int]] = {}
        self._by_last: dict[tuple[str, ...], dict[Hashable, int]] = {}

    def add(self, key: Hashable, words: Sequence[str]) -> None:
        if words:  # a statement without words updates and repeats nothing
            self._by_first.setdefault(tuple(words[:2]), {})[key] = len(words)
            self._by_last.setdefault(tuple(words[-2:]), {})[key] = len(words)

    def discard(self, key: Hashable, words: Sequence[str]) -> None:
        if not words:
            return
        for table, edge in ((self._by_first, tuple(words[:2])), (self._by_last, tuple(words[-2:]))):
            bucket = table.get(edge)
            if bucket is not None:
                bucket.pop(key, None)
                if not bucket:
                    del table[edge]

    def candidates(self, words: Sequence[str]) -> set[Hashable]:
        n, w = len(words), max(self.max_diff_words, 1)
        found: set[Hashable] = set()
        if not n:
            return found
        for table, edge in ((self._by_first, tuple(words[:2])), (self._by_last, tuple(words[-2:]))):
            bucket = table.get(edge)
            if bucket:
                found.update(key for key, length in bucket.items() if abs(length - n) < w)
        return found


def split_units(text: str) -> list[str]:
    """Lines of ``text`` split into sentences, except that a line holding a labelled example stays whole
    (so a sample never loses its label); no empty units."""
    units: list[str] = []
    for line in text.splitlines():
        units.extend(_line_units(line))
    return units


@functools.lru_cache(maxsize=_CACHE_SIZE)
def _line_units(line: str) -> tuple[str, ...]:
    line = line.strip()
    if line and has_labelled_example(line):
        return (line,)
    return tuple(split_sentences(line)) if line else ()


@functools.lru_cache(maxsize=_CACHE_SIZE)
def has_labelled_example(unit: str) -> bool:
    """Whether ``unit`` pairs a sample with a label (``Input: ... Label: 3``, ``text -> 3``, ...)."""
    # A label is a number: most sentences hold no digit, and testing for one is far cheaper.
    return _DIGIT.search(unit) is not None and bool(labelled_examples(ReaderContext(unit)))
