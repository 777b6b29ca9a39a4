"""Short answers typed to the question, cut from one evidence sentence: the evidence reader's last step.

:func:`question_kind` reads what a question asks for from its wording alone, and
:func:`short_answer` cuts that from a sentence. The rules (in the order they are tried):

* **when** ("when", "what/which year", "what date", "which month", "what day"): a time expression
  of the sentence, relative ones resolved against the date the sentence was said on
  (:func:`memenv.readers.dates.resolve_time`: "yesterday" said on 8 May 2023 is ``7 May 2023``);
  without one, the date the sentence was said on (the event was told that day).
* **how long ago** / **how long**: a duration (``10 years ago``, ``4 years``, ``since 2016``).
* **how many / how much / how old**: the first number not in the question (digits or a number word,
  with a currency sign or a percent kept).
* **who** (who, whom, whose): the nearest run of capitalised words not in the question.
* **where** (where; what/which town, city, country, place, ...): a capitalised run after *in, at,
  to, from, near, around, visited*; else the words after such a preposition.
* **yes/no** (the question opens with an auxiliary verb: is, are, was, did, would, can, ...):
  ``no`` when the sentence holds a negation, else ``yes``.
* **what / which / anything else**: a phrase — a run of words that are neither stop words nor words
  of the question, possibly joined by *of, for, and, with, the, a, to, in, on, about, from*, not
  crossing punctuation. Given the words' rarity in the memory shown (the reader passes their inverse
  document frequency), the phrase with the rarest word wins, less 0.15 per word of distance to the
  nearest word the sentence shares with the question; without it, the nearest phrase after the last
  shared word, else before it.

Words "of the question" are compared by a light stem (``researching`` ~ ``research``), and a caller
can exclude more words (the earlier hops of a multi-hop chain, so a chain answers with what its last
hop adds). When a typed rule finds nothing, the what-rule answers; when that finds nothing either, the
answer is ``""`` and the caller falls back to the sentence.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections.abc import Callable, Iterable

from memenv.metrics import STOP_WORDS
from memenv.readers.dates import format_date, resolve_time, time_spans

__all__ = ["question_kind", "short_answer", "stem"]

Rarity = Callable[[str], float]


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


_AUXILIARIES = _words("is are was were am do does did can could would will should shall has have had may might must")
_WORD = re.compile(r"[$£€]?\w+(?:['’.-]\w+)*%?")
_NUMBER_WORDS = _words(
    "one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
    "sixteen seventeen eighteen nineteen twenty thirty forty fifty sixty seventy eighty ninety "
    "hundred thousand million dozen once twice"
)
_UNITS = r"(?:second|minute|hour|day|night|week|weekend|month|year|decade)s?"
_AMOUNT = (
    r"(?:\d+(?:\.\d+)?|a|an|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|fifteen|twenty"
    r"|thirty|a few|a couple of|several)"
)
_DURATION_AGO = re.compile(rf"\b{_AMOUNT}\s+(?:more\s+)?{_UNITS}\s+ago\b", re.IGNORECASE)
_DURATION = re.compile(rf"\b(?:since\s+(?:\d{{4}}|\w+)|{_AMOUNT}\s+(?:more\s+)?{_UNITS})\b", re.IGNORECASE)
_NEGATION = re.compile(r"\b(?:not|never|no|none|nobody|nothing|neither|nor)\b|n['’]t\b", re.IGNORECASE)
_PLACE_PREPOSITIONS = _words("in at to from near around visited visit inside outside into across")
# Time adverbs: an answer to "when", never to "what", "who" or "where".
_TIME_WORDS = _words(
    "ago yesterday today tonight tomorrow recently lately now later earlier soon week weeks weekend "
    "month months year years day days night morning evening afternoon"
)
# Words that open sentences in speech and are capitalised for that reason only.
_OPENERS = _words("thanks thank sure wow hey hi hello yeah yes no oh okay ok great awesome cool")


@functools.lru_cache(maxsize=65536)  # a pure function of the word; a memory's vocabulary recurs in every question
def stem(word: str) -> str:
    """A light English stem for matching words (not for display): common suffixes off, doubled end undone.

    >>> [stem(w) for w in ("researching", "agencies", "painted", "running", "classes", "guards")]
    ['research', 'agency', 'paint', 'run', 'class', 'guard']
    """
    word = word.lower().replace("’", "'")
    if word.endswith("'s"):
        word = word[:-2]
    for suffix, replacement in (("ies", "y"), ("ied", "y"), ("ing", ""), ("ed", ""), ("es", ""), ("s", ""), ("ly", "")):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            if suffix == "es" and not word.endswith(("sses", "shes", "ches", "xes", "zes", "oes")):
                continue  # "shares" -> "share" via "s" below, not "shar"
            if suffix == "s" and word.endswith("ss"):
                continue
            word = word[: -len(suffix)] + replacement
            if suffix in ("ing", "ed") and len(word) >= 4 and word[-1] == word[-2] and word[-1] not in "lsz":
                word = word[:-1]
            break
    return word


_WH = re.compile(r"\b(what|which|who|whom|whose|where|when|why|how)\b")
_PLACE_NOUNS = r"(?:town|city|country|place|state|village|region|location|street|area)"


def question_kind(question: str) -> str:
    """What ``question`` asks for: ``when``, ``how_long_ago``, ``how_long``, ``number``, ``who``,
    ``where``, ``yes_no`` or ``what`` — read from its first question word and the words after it.

    >>> [question_kind(q) for q in ("When did she move?", "In which year was he born?", "Is it red?")]
    ['when', 'when', 'yes_no']
    >>> question_kind("What does she feel when doing yoga?")
    'what'
    """
    text = question.lower()
    words = re.findall(r"[a-z]+", text)
    wh = _WH.search(text)
    if wh is None:
        return "yes_no" if words and words[0] in _AUXILIARIES else "what"
    word, rest = wh.group(1), text[wh.end() :]
    if word == "how":
        if re.match(r"\s+long\s+ago\b", rest):
            return "how_long_ago"
        if re.match(r"\s+long\b", rest):
            return "how_long"
        if re.match(r"\s+(?:many|much|old|often)\b", rest):
            return "number"
        return "what"
    if word == "when" or (word in ("what", "which") and re.match(r"\s+(?:year|date|month|day|time)\b", rest)):
        return "when"
    if word == "where" or (word in ("what", "which") and re.match(rf"\s+{_PLACE_NOUNS}\b", rest)):
        return "where"
    if word in ("who", "whom", "whose"):
        return "who"
    return "what"


def _tokens(sentence: str) -> list[re.Match[str]]:
    return list(_WORD.finditer(sentence))


def _is_content(token: str, excluded: set[str]) -> bool:
    lower = token.lower().replace("’", "'")
    if "'" in lower and (lower.split("'")[0] in STOP_WORDS or lower.endswith("n't")):
        return False  # "I'm", "that's", "don't": function words too
    return (
        lower not in STOP_WORDS and stem(lower) not in excluded and lower not in _OPENERS and lower not in _TIME_WORDS
    )


_LINKERS = frozenset(("of", "for", "and", "with", "the", "a", "an", "to", "in", "on", "about", "from"))
"""Function words a phrase may hold between two of its content words ("adoption agencies for LGBTQ folks")."""


def _runs(
    sentence: str, excluded: set[str], capitalised: bool = False, linked: bool = False
) -> list[tuple[int, int, str]]:
    """Maximal runs of content tokens not crossing punctuation: ``(first token index, last, text)``.

    With ``linked``, a run also spans :data:`_LINKERS` between two of its content tokens.
    """
    tokens = _tokens(sentence)
    ok = [
        _is_content(t.group(), excluded) and (not capitalised or t.group()[:1].isupper() or t.group()[:1].isdigit())
        for t in tokens
    ]
    joined = [i > 0 and sentence[tokens[i - 1].end() : tokens[i].start()].strip() == "" for i in range(len(tokens))]
    runs: list[tuple[int, int, str]] = []
    i = 0
    while i < len(tokens):
        if not ok[i]:
            i += 1
            continue
        start = end = i
        j = i + 1
        while j < len(tokens) and joined[j]:
            if ok[j]:
                end = j
            elif not (linked and tokens[j].group().lower() in _LINKERS):
                break
            j += 1
        runs.append((start, end, sentence[tokens[start].start() : tokens[end].end()]))
        i = end + 1
    return runs


def _nearest(sentence: str, runs: list[tuple[int, int, str]], anchors: list[int], rarity: Rarity | None = None) -> str:
    """The best run by: its rarest word's ``rarity`` (0 without one), +1 when it is specific (quoted,
    holding a digit, or capitalised inside the sentence), +0.5 when it comes after the last anchor (a
    word shared with the question: answers follow what the question already knows), less 0.15 per
    token of distance to the nearest anchor. Ties go to the earlier run."""
    if not runs:
        return ""
    tokens = _tokens(sentence)
    last = max(anchors) if anchors else -1
    points = anchors or [-1]  # no shared word: distance from the sentence's start

    def score(run: tuple[int, int, str]) -> float:
        words = _tokens(run[2])
        start = tokens[run[0]].start()
        quoted = start > 0 and sentence[start - 1] in "\"'“‘"
        specific = quoted or any(
            any(c.isdigit() for c in w.group()) or (w.group()[:1].isupper() and run[0] + k > 0)
            for k, w in enumerate(words)
        )
        value = max(rarity(w.group()) for w in words) if rarity is not None else 0.0
        distance = min(min(abs(run[0] - a), abs(run[1] - a)) for a in points)
        return value + float(specific) + 0.5 * (run[0] > last) - 0.15 * distance

    return max(runs, key=score)[2]


def _without_times(sentence: str) -> str:
    """``sentence`` with its time expressions blanked out (same length), so no phrase holds one."""
    for start, end in time_spans(sentence):
        sentence = sentence[:start] + "," * (end - start) + sentence[end:]
    return sentence


def short_answer(
    question: str,
    sentence: str,
    said: dt.date | None = None,
    exclude: Iterable[str] = (),
    kind: str | None = None,
    rarity: Rarity | None = None,
) -> str:
    """The short answer to ``question`` that ``sentence`` gives (see the module docstring), or ``""``.

    ``said`` is the date the sentence was said on (from its chunk's header); ``exclude`` holds more
    words that are no answer (compared by :func:`stem`); ``rarity(word)`` (e.g. the word's inverse
    document frequency in the memory shown) lets phrase rules prefer specific words over common ones.

    >>> short_answer("What is the access code of the Copper Gate?", "The access code of the Copper Gate is 4821.")
    '4821'
    >>> short_answer("When did she go to the support group?", "I went to a support group yesterday.",
    ...              said=dt.date(2023, 5, 8))
    '7 May 2023'
    """
    kind = kind or question_kind(question)
    question_words = {stem(t.group()) for t in _tokens(question)}
    excluded = question_words | {stem(w) for w in exclude}
    tokens = _tokens(sentence)
    anchors = [
        i for i, t in enumerate(tokens) if stem(t.group()) in question_words and t.group().lower() not in STOP_WORDS
    ]
    if kind == "when":
        found = resolve_time(sentence, said)
        if found:
            return found
        if said is not None:
            return format_date(said)
    elif kind in ("how_long_ago", "how_long"):
        match = (_DURATION_AGO if kind == "how_long_ago" else _DURATION).search(sentence)
        if match is None and kind == "how_long_ago":
            found = resolve_time(sentence, said)
            if found:
                return found
        if match is not None:
            return match.group()
    elif kind == "number":
        for token in tokens:
            word = token.group()
            if stem(word) in excluded:
                continue
            if any(c.isdigit() for c in word) or word.lower() in _NUMBER_WORDS:
                return word
    plain = _without_times(sentence)
    if kind == "who":
        answer = _nearest(plain, _runs(plain, excluded, capitalised=True), anchors, rarity)
        if answer:
            return answer
    elif kind == "where":
        runs = _runs(plain, excluded)
        after_preposition = [
            r for r in runs if r[0] > 0 and tokens[r[0] - 1].group().lower() in _PLACE_PREPOSITIONS
        ] or [r for r in runs if r[0] > 1 and tokens[r[0] - 2].group().lower() in _PLACE_PREPOSITIONS]
        capitalised = [r for r in after_preposition if r[2][:1].isupper()]
        answer = _nearest(plain, capitalised or after_preposition, anchors, rarity)
        if answer:
            return answer
    elif kind == "yes_no":
        return "no" if _NEGATION.search(sentence) else "yes"
    return _nearest(plain, _runs(plain, excluded, linked=True), anchors, rarity)
