"""Sentence-level fact analysis shared by the heuristic writers (``mem-alpha``, ``mem1``, ``memory-r1``).

Plain, generic text heuristics — nothing here knows the synthetic generators' templates:

* :func:`salience` / :func:`is_fact`: is a sentence a fact worth keeping (names and numbers, a
  state or definition verb, a specific first-person statement)?
* :func:`diff_words` (:func:`diff_key`), :func:`single_span_diff`, :func:`is_update_of`: does a new statement repeat an
  old one except for one short span — i.e. is it a changed value of the same fact?
* :func:`entities`, :func:`find_time`, :func:`clause_with`: names, dates and short clauses.
* :func:`split_units`, :func:`has_labelled_example`: sentences of a chunk, keeping labelled
  examples (``Input: ... Label: 3``) whole.

>>> is_fact("The Copper Gate is located in Calder Heights."), is_fact("The fog lasted for days.")
(True, False)
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Hashable, Sequence
from typing import NamedTuple

from memenv.readers.base import ReaderContext
from memenv.readers.evidence import _may_hold_a_label, labelled_examples
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
# _WORD for ASCII text, where \w is [A-Za-z0-9_] and "’" cannot occur: the same words, ~20% faster (a class of
# plain characters is one table lookup per character; \w asks the character's Unicode category).
_ASCII_WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9_'-]*")
_NUMBER_TOKEN = re.compile(r"^\d[\d,.:/-]*$")
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
# _DATE's case-insensitive month alternation on the many lines that hold no date. _FOUR_DIGITS runs on
# ASCII lines only, where \d is [0-9]; spelled out, the pattern opens with a character set that the
# engine jumps between occurrences of, ~3x faster than \d{4} on a long line.
_FOUR_DIGITS = re.compile(r"[0-9][0-9][0-9][0-9]")
_DIGIT = re.compile(r"\d")
_SLASH_DATE = re.compile(r"\d{4}[/-]\d|/\d{4}")
# These run on the lowercased (ASCII) line; every month name starts with one of the stems. "session N"
# and "day N" are two patterns, not one alternation: a pattern that opens with a literal is searched
# for that literal first (the engine jumps between its occurrences), ~5x faster on a long line.
_SESSION_NUMBER = re.compile(r"session\s+\d")
_DAY_NUMBER = re.compile(r"day\s+\d")
_MONTH_THEN_NUMBER = re.compile(rf"\b(?:{'|'.join(sorted({m[:3] for m in MONTHS}))})\w*,?\s+\d")
_TIME_OF_DAY = re.compile(r"\b\d{1,2}:\d{2}\s*(?:[ap]\.?m\.?)?", re.IGNORECASE)
LEADING_TAG = re.compile(r"^\s*\[[^\]]*\]\s*")
BARE_LABEL_LINE = re.compile(r"^\W*label\b", re.IGNORECASE)
# A clause break: ``\s*(?:[,;:]|\s-\s|\s—\s)\s*`` written out. Each match opens with a mark or a whitespace
# character; the pattern below takes that character first (the engine then jumps between such characters
# instead of trying every position, ~2x faster) and goes on by what it was: after a mark, the whitespace
# that follows; after whitespace, the rest of the run, a mark or a dash, and the whitespace after it.
_CLAUSE_BREAK = re.compile(r"[\s,;:](?:(?<=[,;:])\s*|\s*(?:[,;:]|-\s|—\s)\s*)")


# --------------------------------------------------------------------------------------------------
# Reading sentences: pure functions


def words(text: str) -> list[str]:
    """The words of ``text`` (letters/digits with inner apostrophes and hyphens), case kept."""
    return list(_words(text))


def diff_words(text: str) -> list[str]:
    """Lowercased words, the unit of the update diff (punctuation and case never make a difference)."""
    if text.isascii():
        # Lowercasing ASCII text changes no character's class (A-Z -> a-z, both letters and word
        # characters), so its words are the lowercased words: one C-level pass instead of a loop.
        return _ASCII_WORD.findall(text.lower())
    return [w.lower() for w in _words(text)]


@functools.lru_cache(maxsize=8192)
def diff_key(text: str) -> tuple[str, ...]:
    """:func:`diff_words` as a tuple, memoised: the writers compare the same kept statements (mem1's
    paragraph, memory-r1's shown facts) again at every step."""
    return tuple(diff_words(text))


def entities(sentence: str) -> list[str]:
    """Named entities of a sentence, as runs of capitalised words, in order (repeats kept).

    A run that opens the sentence loses leading function words ("The Copper Gate" -> "Copper Gate"),
    and a lone capitalised word that opens it is not a name (sentences start capitalised); a speaker
    label (``Nadia: ...``) is. ``I``, month and weekday names are never entities (they are time
    words, or the speaker talking).
    """
    return list(salience(sentence).entities)


# The writers ask about the same sentence several times (mem-alpha: mentions, then salience; mem1:
# every kept unit at every step), so the pure per-sentence analyses below are memoised.
_CACHE_SIZE = 8192


@functools.lru_cache(maxsize=_CACHE_SIZE)
def _words(text: str) -> tuple[str, ...]:
    return tuple(_find_words(text))


def _find_words(text: str) -> list[str]:
    """The words of ``text``, as ``_WORD.findall(text)`` finds them (through ``_ASCII_WORD`` when it is ASCII)."""
    return (_ASCII_WORD if text.isascii() else _WORD).findall(text)


def _name_runs(tokens: Sequence[str], kinds: Sequence[int]) -> list[str]:
    """The names among ``tokens`` (the body of a sentence, speaker label removed): see :func:`entities`."""
    found: list[str] = []
    start = -1  # where the current run of capitalised words began; -1: no run
    for i, kind in enumerate(kinds):
        # A function word does not open a run, except as the sentence's first word (stripped below).
        if kind >> _NAMEABLE & 1 and (start >= 0 or i == 0 or not kind >> _STOPWORD & 1):
            if start < 0:
                start = i
        elif start >= 0:
            _close_run(found, tokens, kinds, start, i)
            start = -1
    if start >= 0:
        _close_run(found, tokens, kinds, start, len(tokens))
    return found


def _close_run(found: list[str], tokens: Sequence[str], kinds: Sequence[int], start: int, end: int) -> None:
    first = start
    if start == 0:  # the run opens the sentence: drop its leading function words
        while first < end and kinds[first] >> _STOPWORD & 1:
            first += 1
        if end - first == 1 and end - start == 1:  # a lone capitalised first word
            return
    if first < end:
        found.append(" ".join(tokens[first:end]))


class Salience(NamedTuple):
    """What makes a sentence worth keeping, counted (immutable: :func:`salience` shares it from a cache).

    A named tuple rather than a frozen dataclass: one is made per new sentence the writers read, and a
    tuple is built several times faster than a frozen dataclass sets its fields.
    """

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


# What one word token is, for salience() and entities(): 0/1 flags packed in one int, one flag per
# _FIELD-bit field, so that the kinds of a sentence's words add up (one C-level sum()) to the count of
# each flag, read back with (total >> shift) & _MASK. A field overflows only past 2**32 words in one
# sentence (gigabytes of text).
_FIELD = 32
_MASK = (1 << _FIELD) - 1
_NUMBER, _TIME_WORD, _STATE_VERB, _FIRST_PERSON, _CONTENT, _CONTENT_NUMBER, _NAMEABLE, _STOPWORD = (
    _FIELD * i for i in range(8)
)  # the fields' shifts

# Word token -> its kind. The vocabulary is small next to the number of words read; the table is
# emptied when it gets large, which costs only recomputation (a kind depends on the token alone).
_KINDS: dict[str, int] = {}
_KINDS_LIMIT = 1 << 16


def _kinds(tokens: Sequence[str]) -> list[int]:
    kinds = list(map(_KINDS.get, tokens))  # one C-level pass; a kind is never 0, so None means unknown
    if None in kinds:
        kinds = [kind or _new_kind(token) for kind, token in zip(kinds, tokens, strict=True)]
    return kinds  # type: ignore[return-value]


def _new_kind(token: str) -> int:
    lowered = token.lower()
    # A word token opens with [A-Za-z0-9]: only one opening with a digit can be a number, and it is
    # capitalised exactly when it opens with A-Z.
    number = "0" <= token[0] <= "9" and _NUMBER_TOKEN.match(token) is not None
    content = lowered not in STOPWORDS
    flags = {
        _NUMBER: number,
        _TIME_WORD: lowered in _TIME_WORDS,
        _STATE_VERB: lowered in STATE_VERBS,
        _FIRST_PERSON: lowered in FIRST_PERSON,
        _CONTENT: content,
        _CONTENT_NUMBER: content and number,
        # Can be (part of) a name: capitalised, and not a time word or the speaker ("I", "May", "Monday").
        _NAMEABLE: "A" <= token[0] <= "Z" and lowered not in _NEVER_NAMES,
        _STOPWORD: not content,
    }
    kind = sum(1 << shift for shift, on in flags.items() if on)
    if len(_KINDS) >= _KINDS_LIMIT:
        _KINDS.clear()
    _KINDS[token] = kind
    return kind


@functools.lru_cache(maxsize=_CACHE_SIZE)
def salience(sentence: str) -> Salience:
    """Count the signals of a sentence that :func:`is_fact` and the episodic log use (memoised).

    Its names are :func:`entities`; both come from one table lookup per word (see ``_kinds``).
    """
    return _analyse(sentence, _words(sentence))[0]


def read_statement(sentence: str, max_words: int = 40) -> tuple[Salience, bool, tuple[str, ...]]:
    """``(salience(sentence), is_fact(sentence, max_words), diff_key(sentence))`` from one pass of the word
    regex, not memoised: for a writer that memoises what it derives from them (one cache, not four).
    ``len(diff_key(sentence)) == len(words(sentence))``."""
    tokens = _find_words(sentence)
    signals, n, speaker = _analyse(sentence, tokens)
    # As in diff_words: lowercasing ASCII changes no character's class, so the diff words are the words
    # lowercased, for ASCII in one pass over them joined (a word holds no whitespace).
    ascii_text = sentence.isascii()
    lowered = tuple(" ".join(tokens).lower().split()) if ascii_text else tuple(w.lower() for w in tokens)
    return signals, _is_fact_counted(signals, n, speaker, max_words), lowered


def _analyse(sentence: str, tokens: Sequence[str]) -> tuple[Salience, int, bool]:
    """The sentence's :func:`salience`, its number of words, and whether it opens with a speaker label
    (``tokens``: its :func:`words`)."""
    kinds = _kinds(tokens)
    speaker = _speaker(sentence)
    if speaker is None:
        names = _name_runs(tokens, kinds)
    else:
        # The body follows the label's colon and whitespace, so no word spans the two: its words and
        # kinds are those after the label's.
        label = len(_WORD.findall(sentence, 0, speaker.start(2)))
        names = [speaker.group(1), *_name_runs(tokens[label:], kinds[label:])]
    total = sum(kinds)
    # Specific words: the content words that are numbers or occur in a name. Name words open with A-Z,
    # so they are never numbers: count each one's occurrences once.
    specific = (total >> _CONTENT_NUMBER) & _MASK
    if names:
        for word in set(" ".join(names).split()):
            occurrences = tokens.count(word)
            if occurrences and (_KINDS.get(word) or _new_kind(word)) >> _CONTENT & 1:
                specific += occurrences
    signals = Salience(
        content_words=(total >> _CONTENT) & _MASK,
        specific_words=specific,
        entities=tuple(names),
        numbers=(total >> _NUMBER) & _MASK,
        state_verb=(total >> _STATE_VERB) & _MASK > 0,
        first_person=(total >> _FIRST_PERSON) & _MASK > 0,
        time_words=(total >> _TIME_WORD) & _MASK,
    )
    return signals, len(tokens), speaker is not None


def states_something(sentence: str) -> bool:
    """Whether ``sentence`` has a state/definition verb, a number, a time word or a first-person word:
    ``s.state_verb or s.numbers or s.time_words or s.first_person`` for ``s = salience(sentence)``, read
    from its words alone (no name analysis)."""
    total = sum(_kinds(_words(sentence)))
    return any((total >> shift) & _MASK for shift in (_STATE_VERB, _NUMBER, _TIME_WORD, _FIRST_PERSON))


def _speaker(sentence: str) -> re.Match[str] | None:
    # SPEAKER needs a colon: testing for one first skips the regex on most sentences.
    return SPEAKER.match(sentence) if ":" in sentence else None


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
    return _is_fact_counted(s, len(_words(sentence)), _speaker(sentence) is not None, max_words)


def _is_fact_counted(s: Salience, n: int, speaker: bool, max_words: int) -> bool:
    """:func:`is_fact` of a sentence of ``n`` words with signals ``s`` (``speaker``: it opens with a label)."""
    if not 3 <= n <= max_words:
        return False
    # A speaker label alone does not make a line specific.
    named_in_body = len(s.entities) > (1 if speaker else 0)
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
    if _DAY_NUMBER.search(lowered) or _SESSION_NUMBER.search(lowered):
        return True
    # Every other form has four digits in a row, and a slash/dash date or a month name followed by a
    # number ("3 March, 2023": "march, 2"; "March 3, 2023": "march 3").
    if not _FOUR_DIGITS.search(line):
        return False
    slash_date = ("/" in line or "-" in line) and _SLASH_DATE.search(line) is not None  # it needs one of them
    return slash_date or _MONTH_THEN_NUMBER.search(lowered) is not None


def single_span_diff(old: Sequence[str], new: Sequence[str]) -> tuple[int, int, int] | None:
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


def is_update_of(old: Sequence[str], new: Sequence[str], max_diff_words: int = 4, min_shared: float = 0.6) -> bool:
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


def update_overlap(
    old: Sequence[str], new: Sequence[str], max_diff_words: int = 4, min_shared: float = 0.6
) -> int | None:
    """The words ``old`` and ``new`` share when ``new`` is an update of ``old`` (:func:`is_update_of`), else None."""
    n_old, n_new = len(old), len(new)
    # Quick rejections, implied by the tests below: changed runs of 1 to max_diff_words words on each
    # side make the lengths differ by less than max_diff_words, and 3+ shared words around one run
    # mean the first two or the last two words agree.
    if abs(n_old - n_new) >= max_diff_words or (old[:2] != new[:2] and old[-2:] != new[-2:]):
        return None
    # Most pairs that get here share a word or two at one edge and nothing else. An update shares
    # prefix + suffix words: at least 3, at least min_shared of the longer side (an int >= x exactly when
    # it is >= ceil(x)), and enough that each side's changed run (its length minus prefix and suffix)
    # is at most max_diff_words. So once the prefix is known, the last ``need - prefix`` words must agree;
    # one slice comparison tests that before the full diff (which the few survivors still get).
    if not min_shared * max(n_old, n_new) <= min(n_old, n_new):  # more than can be shared (or NaN)
        return None
    if not _shares_ends(old, new, _words_to_share(max(n_old, n_new), max_diff_words, min_shared), 0):
        return None
    diff = single_span_diff(old, new)
    if diff is None:
        return None
    shared, old_span, new_span = diff
    if not (1 <= old_span <= max_diff_words and 1 <= new_span <= max_diff_words):
        return None
    return shared if shared >= 3 and shared >= min_shared * max(n_old, n_new) else None


def _words_to_share(n: int, max_diff_words: int, min_shared: float) -> int:
    """The fewest words an update shares with the statement it changes, ``n`` being the longer one's
    length (see :func:`update_overlap`): at least 3, at least ``min_shared`` of ``n`` (an int is >= x
    exactly when it is >= ceil(x); a share <= 0 asks nothing, and -inf must not reach ceil), and all
    but a changed run of at most ``max_diff_words``."""
    share = min_shared * n
    return max(3, n - max_diff_words, math.ceil(share) if share > 0 else 0)


Probe = tuple[int, tuple[str, ...], tuple[str, ...], int]  # see UpdateIndex.probe


class UpdateIndex:
    """Stored statements (diff words, under caller-chosen keys) that a new statement may update or repeat.

    :meth:`candidates` returns a superset of the stored statements ``old`` for which
    ``update_overlap(old, new, max_diff_words, min_shared)`` is not None or ``old == new`` — callers
    still test each — and never misses one.

    Why it misses none: an update shares ``prefix + suffix >= need(n)`` words with the statement it
    changes (:meth:`edge_width`: at least 3, at least ``min_shared`` of the new statement's ``n``
    words, and all but its changed run of at most ``max_diff_words``), so the two agree on their first
    ``k`` or on their last ``k`` words for ``k = ceil(need(n) / 2)``; a repeat agrees on both. The
    changed runs of 1 to ``max_diff_words`` words make the lengths differ by less than
    ``max_diff_words``. So a lookup of an ``n``-word statement reads two buckets, its first and its
    last ``edge_width(n)`` words, and tests the lengths; a stored statement is filed under its edges
    of every width a lookup of a length near its own can use (a few widths). Long statements
    have long edges, which keeps look-alike sentences ("the access code of the X is N") out of each
    other's buckets.

    Template look-alikes still share an edge ("few visitors stayed in Tarn Vale for more than 20
    nights" / "... in Port Umber for more than 34 nights"), so each statement found is tested before it
    is returned: it must share ``need(n)`` words at its two ends, ``p`` first words and ``need(n) - p``
    last ones (or repeat the lookup), which :func:`update_overlap` checks first too. That drops nine in
    ten of them, cheaper than the callers' full test.
    """

    def __init__(self, max_diff_words: int = 4, min_shared: float = 0.6) -> None:
        if isinstance(max_diff_words, bool) or not isinstance(max_diff_words, int) or max_diff_words < 0:
            # An int: word counts and slice widths are computed from it (and shared, see _width_tables).
            raise ValueError(f"need an int max_diff_words >= 0, got {max_diff_words!r}")
        if not math.isfinite(min_shared):
            raise ValueError(f"need a finite min_shared, got {min_shared}")
        self.max_diff_words = max_diff_words
        self.min_shared = min_shared
        self._near = max(max_diff_words, 1)  # lengths of a statement and its update differ by less
        # Edge words -> {key: the statement's words}; one table for the first words, one for the last.
        # An edge's width is its length, except that a 1-word statement's edges are the statement.
        self._by_first: dict[tuple[str, ...], dict[Hashable, tuple[str, ...]]] = {}
        self._by_last: dict[tuple[str, ...], dict[Hashable, tuple[str, ...]]] = {}
        # Statement length -> the edge width of its lookups, and -> the edge widths it is filed under:
        # functions of the length and the parameters alone, shared by every index with these parameters
        # (a writer makes an index per chunk, which would work them out again).
        self._width, self._widths = _width_tables(max_diff_words, min_shared)

    def edge_width(self, n: int) -> int:
        """How many first (and last) words a lookup of an ``n``-word statement compares."""
        width = self._width.get(n)
        if width is None:
            width = self._width[n] = (_words_to_share(n, self.max_diff_words, self.min_shared) + 1) // 2
        return width

    def _filed_widths(self, m: int) -> tuple[int, ...]:
        widths = self._widths.get(m)
        if widths is None:
            lengths = range(max(1, m - self._near + 1), m + self._near)  # the lookups that may read it
            widths = self._widths[m] = tuple(sorted({self.edge_width(n) for n in lengths}))
        return widths

    def add(self, key: Hashable, words: Sequence[str]) -> None:
        words = tuple(words)
        m = len(words)
        if not m:  # a statement without words updates and repeats nothing
            return
        for k in self._filed_widths(m):
            self._by_first.setdefault(words[:k], {})[key] = words
            self._by_last.setdefault(words[-k:], {})[key] = words

    def discard(self, key: Hashable, words: Sequence[str]) -> None:
        for k in self._filed_widths(len(words)) if words else ():
            for table, edge in ((self._by_first, tuple(words[:k])), (self._by_last, tuple(words[-k:]))):
                bucket = table.get(edge)
                if bucket is not None:
                    bucket.pop(key, None)
                    if not bucket:
                        del table[edge]

    def probe(self, words: Sequence[str]) -> Probe:
        """What :meth:`candidates` looks up for ``words``: its length, its first and last
        :meth:`edge_width` words, and ``need(n)``, the fewest words an update of it shares at its ends.
        It depends on ``words`` and the index's parameters alone, so a caller that looks up the same
        statement often may keep it."""
        n = len(words)
        if not n:
            return 0, (), (), 0
        k = self.edge_width(n)
        return n, tuple(words[:k]), tuple(words[-k:]), _words_to_share(n, self.max_diff_words, self.min_shared)

    def may_find(self, probe: Probe) -> bool:
        """False only when :meth:`candidates` finds nothing for ``probe`` (no stored statement shares
        its first or its last edge): two lookups, for callers that mostly look up what is not there."""
        return probe[1] in self._by_first or probe[2] in self._by_last

    def candidates(self, words: Sequence[str], probe: Probe | None = None) -> set[Hashable]:
        """A superset of the stored statements that ``words`` updates or repeats (see the class), found
        through ``probe`` (``self.probe(words)`` when not given).

        The test is symmetric — the edge width grows with either statement's length, and the length
        test is one of their difference — so it is also a superset of those that update or repeat
        ``words``."""
        n, first_edge, last_edge, need = probe or self.probe(words)
        if not n:
            return set()
        first = self._by_first.get(first_edge)
        last = self._by_last.get(last_edge)
        if not (first or last):
            return set()
        near = self._near
        words = tuple(words)
        found: set[Hashable] = set()
        # The first bucket's statements open with first_edge, so their shared first words are counted on
        # from there; the last bucket's are counted from the start. A statement whose next word differs
        # shares exactly those, and then only its last words are left to compare (one slice each).
        for bucket, start in ((first, len(first_edge)), (last, 0)):
            if not bucket:
                continue
            after, t = words[start : start + 1], need - start
            tail = words[n - t :] if t <= n - start else None  # (t >= 1: start <= ceil(need / 2), need >= 3)
            for key, old in bucket.items():
                m = len(old)
                if not -near < m - n < near:
                    continue
                if old[start : start + 1] != after:
                    if tail is not None and t <= m - start and old[m - t :] == tail:
                        found.add(key)
                elif old == words or _shares_ends(old, words, need, start):  # (a repeat, common: writers
                    found.add(key)  # look up what they keep)
        return found


@functools.lru_cache(maxsize=64, typed=True)  # typed: 0.6 and 1 are not 1.0's tables
def _width_tables(max_diff_words: int, min_shared: float) -> tuple[dict[int, int], dict[int, tuple[int, ...]]]:
    """The (initially empty) width tables of :class:`UpdateIndex` for these parameters."""
    return {}, {}


def _shares_ends(old: Sequence[str], new: Sequence[str], need: int, start: int) -> bool:
    """Whether ``old`` and ``new`` share ``need`` words at their two ends: their common first words (at
    least ``start`` of them, known to agree), and enough common last words that do not overlap those
    (:func:`update_overlap`'s first test)."""
    m, n = len(old), len(new)
    limit = min(m, n)
    shared = start
    while shared < limit and old[shared] == new[shared]:
        shared += 1
    tail = need - shared
    return tail <= 0 or (tail <= limit - shared and old[m - tail :] == new[n - tail :])


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
    return bool(labelled_pairs(unit))


def labelled_pairs(text: str) -> list[tuple[str, str]]:
    """``(sample, label)`` pairs of ``text``: :func:`memenv.readers.evidence.labelled_examples` of it as a
    core memory. A label is a number: most sentences hold no digit, and testing for one is far cheaper;
    and it follows a marker (a label word or an arrow), which the reader's own test looks for before it
    reads further — asked here first, it spares building a context for the many lines with a number only."""
    # The reader's own (private) marker test, so this precheck cannot drift from labelled_examples.
    if _DIGIT.search(text) is None or not _may_hold_a_label(text):
        return []
    return labelled_examples(ReaderContext(text))
