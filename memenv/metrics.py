"""The one metric module: every score a question can get, the papers' scoring profiles, and averaging.

Two layers, one implementation of each comparison:

* **Metrics**: plain functions ``score_<name>(prediction, answers) -> float`` in ``[0, 1]``; the name is
  what :attr:`memenv.tasks.records.Question.metric` holds and :func:`score` dispatches on it. These
  are memenv's own definitions, used for the synthetic tasks and wherever no paper rule applies.
* **Scoring profiles**: each published source scored exactly as its own evaluation code scores it.
  A profile is data: an ordered table of :class:`Case` lines, each handing a :class:`Rule` (which
  comparison, which normalizer, which split of the gold, which part of the reply is the answer) to
  the questions it matches. :func:`score_question` scores one question under a profile. The
  ``"default"`` profile uses each question's own benchmark (``question.metadata["benchmark"]``, set
  by the loaders): ``locomo``, ``memoryagentbench``, ``memalpha``, ``longmemeval``; questions without
  one (synthetic tasks) get ``memenv``. ``mem0`` is the protocol of Mem0's evaluation, which
  Memory-R1 reports. ``docs/scoring.md`` is the fidelity table: source, metric, the reference file
  each rule follows, and every deliberate deviation with its reason.

Metrics by name (memenv's definitions; the ``memenv`` profile):

* ``subem``: a gold alias, lowercased, is a substring of the lowercased prediction.
* ``normalized_subem``: the same after SQuAD normalization, on the whole reply and on its answer line
  (:func:`answer_line`), as MemoryAgentBench's ``substring_exact_match``.
* ``exact_match``: normalized prediction equals a normalized alias (whole reply or answer line).
* ``boxed_label_em``: the first run of digits in the first ``\\boxed{...}`` equals the gold label's.
* ``keyword_hit``: share of gold keywords found in the normalized prediction.
* ``token_f1``: SQuAD token F1, max over aliases.
* ``bleu1``: BLEU-1 (clipped unigram precision times brevity penalty), max over aliases.
* ``llm_judge``: a yes/no judge on LongMemEval's prompt templates; offline fallback below.
* ``recall_at_5``: share of gold items among the first 5 recommendations (MemoryAgentBench recsys).

Conventions shared by every metric and rule:

* ``answers`` is a sequence of aliases (any one counts; the best alias gives the score) or a single
  string, which is one alias. Rules that split gold into parts (keywords, LoCoMo multi-hop answers)
  score the parts instead; see :class:`Rule`. Numbers are accepted and turned into text.
* Surrounding whitespace of an alias is ignored and blank aliases are dropped; ``answers`` with no
  non-blank alias is a data bug and raises :class:`ValueError`.
* An empty (or whitespace-only) prediction scores 0.0, whatever the gold.
* A gold string that normalizes to nothing (``"the"``, ``"?"``) is never found (the reference
  scripts would find ``""`` in every prediction).
* memenv's own metrics score the text after a reasoning block (:func:`strip_reasoning`), so a draft
  inside ``<think>...</think>`` never counts.

Aggregation (:func:`aggregate`) averages question scores per instance, instance means per dataset,
and takes the simple mean of the dataset means, so every dataset weighs the same whatever its size.
"""

from __future__ import annotations

import functools
import itertools
import json
import math
import numbers
import re
import string
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

__all__ = [
    "METRICS",
    "PROFILES",
    "SCORING_PROFILES",
    "STOP_WORDS",
    "Aggregate",
    "Case",
    "Judge",
    "JudgeModel",
    "JudgeTemplate",
    "Profile",
    "QuestionScore",
    "Rule",
    "aggregate",
    "answer_line",
    "answer_recall",
    "answer_tail",
    "boxed_content",
    "check_profile",
    "content_words",
    "evidence_recall",
    "judge_prompt",
    "load_recsys_catalog",
    "normalize_answer",
    "normalize_locomo",
    "parse_judge_verdict",
    "porter_stem",
    "recall_tokens",
    "recommendation_list",
    "rule_for",
    "score",
    "score_bleu1",
    "score_boxed_label_em",
    "score_exact_match",
    "score_keyword_hit",
    "score_llm_judge",
    "score_normalized_subem",
    "score_question",
    "score_recall_at_k",
    "score_rule",
    "score_subem",
    "score_token_f1",
    "strip_reasoning",
    "word_tokenize",
]

Answers = str | Sequence[str]
"""Gold answers: one string, or a sequence of aliases (keywords for ``keyword_hit``)."""

Judge = Callable[[str, tuple[str, ...], str], bool]
"""A judge callable: ``judge(question, answers, prediction) -> bool`` (True = the prediction is correct)."""


@runtime_checkable
class JudgeModel(Protocol):
    """A judge that answers a prompt (:class:`memenv.readers.llm.LLMJudge` is one).

    With a judge model, each profile sends its own reference prompt (:data:`JUDGE_TEMPLATES`) and
    reads the reply with its own verdict rule. A plain :data:`Judge` callable is called as
    ``judge(question, answers, prediction)`` instead and decides by itself.
    """

    def complete(self, prompt: str, max_new_tokens: int | None = None) -> str: ...


# --------------------------------------------------------------------------------------------------
# Shared steps: aliases, normalization, reasoning, answer extraction, tokens
# --------------------------------------------------------------------------------------------------


def _aliases(answers: Answers, argument: str = "answers") -> tuple[str, ...]:
    """Validate gold answers and return the non-blank aliases, stripped."""
    if isinstance(answers, str):
        answers = (answers,)
    elif not isinstance(answers, Iterable):
        raise TypeError(f"{argument} must be a string or a sequence of strings, got {type(answers).__name__}")
    aliases = []
    for alias in answers:
        # JSON datasets (LoCoMo) store some answers as numbers; bool is an int subclass but never an answer.
        if isinstance(alias, (int, float)) and not isinstance(alias, bool):
            alias = str(alias)
        if not isinstance(alias, str):
            raise TypeError(f"{argument} must contain strings, got {alias!r} ({type(alias).__name__})")
        if alias.strip():
            aliases.append(alias.strip())
    if not aliases:
        raise ValueError(f"{argument} must hold at least one non-blank string, got {answers!r}")
    return tuple(aliases)


def _is_empty(prediction: str | None) -> bool:
    return prediction is None or not prediction.strip()


_ARTICLES = re.compile(r"\b(a|an|the)\b")
_ARTICLES_AND = re.compile(r"\b(a|an|the|and)\b")
_PUNCTUATION = str.maketrans("", "", string.punctuation)
_PUNCTUATION_BYTES = string.punctuation.encode("ascii")
_ARTICLE_WORDS = frozenset(("a", "an", "the"))
# The ASCII characters that are neither a word character (``\w``: letters, digits, "_"), nor whitespace
# (what ``str.split`` splits on), nor punctuation (deleted first): control characters such as "\x00".
# In ASCII text without them, the words ``split`` finds are whole runs of ``\w``, so ``_ARTICLES``
# matches exactly the words "a", "an" and "the".
_ASCII_NON_WORD_CHARS = "".join(
    c for c in map(chr, range(128)) if not (c.isalnum() or c == "_" or c.isspace() or c in string.punctuation)
)
_ASCII_NON_WORD = re.compile(f"[{re.escape(_ASCII_NON_WORD_CHARS)}]")


def normalize_answer(text: str) -> str:
    """SQuAD's answer normalization, in its order of steps.

    1. lowercase;
    2. delete ASCII punctuation (``string.punctuation``; deleted, not replaced by a space, so
       ``"U.S."`` becomes ``"us"`` and ``"Answer:cat"`` becomes ``"answercat"``);
    3. delete the whole words ``a``, ``an``, ``the``;
    4. collapse runs of whitespace to one space and strip the ends.

    >>> normalize_answer("The  Eiffel-Tower, in Paris!")
    'eiffeltower in paris'
    """
    return " ".join(_normalized_words(text, _ARTICLE_WORDS))


def _normalized_words(text: str, drop: frozenset[str]) -> list[str]:
    """``normalize_answer(text).split()`` without the words in ``drop``, which holds the articles.

    The split words of :func:`normalize_answer` are what :func:`content_words` and the recall metrics
    read: taken here without joining and splitting them again.
    """
    text = text.lower()
    if text.isascii():
        # bytes.translate deletes at C speed: ~6x faster than str.translate's per-character lookups on a
        # short answer, ~1.2-1.5x on a long passage.
        text = text.encode("ascii").translate(None, _PUNCTUATION_BYTES).decode("ascii")
        if not _ASCII_NON_WORD.search(text):
            # Every split word is a run of \w here (see _ASCII_NON_WORD), so the articles _ARTICLES would
            # delete are exactly the words "a", "an" and "the", which ``drop`` holds: ~3x faster than the
            # substitution (the regex tries a match at every character).
            return list(itertools.filterfalse(drop.__contains__, text.split()))
    else:
        text = text.translate(_PUNCTUATION)
    return [word for word in _ARTICLES.sub(" ", text).split() if word not in drop]


def normalize_locomo(text: str) -> str:
    """LoCoMo's normalization (``task_eval/evaluation.py``): SQuAD's, and the word ``and`` goes too.

    >>> normalize_locomo("Swimming, and camping!")
    'swimming camping'
    """
    text = text.replace(",", "").lower().translate(_PUNCTUATION)
    return " ".join(_ARTICLES_AND.sub(" ", text).split())


NORMALIZERS: dict[str, Callable[[str], str]] = {
    "none": lambda text: text,
    "lower": str.lower,
    "squad": normalize_answer,
    "locomo": normalize_locomo,
}
"""Normalizer name (as in :attr:`Rule.normalizer`) -> function."""

THINK_OPEN = "<think>"
THINK_CLOSE = "</think>"


def strip_reasoning(text: str) -> str:
    """The answer part of a reply that may hold a reasoning block, as Mem-α's evaluation reads it.

    With a ``</think>``, the answer is the text after the first one (up to a second one, if any),
    stripped. An answer that still contains ``<think>`` (a reasoning block never closed) is ``""``:
    the reply never got to its answer. A reply without either tag is returned unchanged.

    >>> strip_reasoning("<think>maybe 3</think> 4")
    '4'
    >>> strip_reasoning("<think>still thinking")
    ''
    """
    if THINK_CLOSE in text:
        text = text.split(THINK_CLOSE)[1].strip()
    # Mem-α writes the placeholder word "Empty" here; an empty answer cannot match a gold by accident.
    return "" if THINK_OPEN in text else text


_ANSWER_MARKER = re.compile(r"answer\s*:", re.IGNORECASE)


def answer_tail(prediction: str) -> str | None:
    """The text after the last ``Answer:`` (case-insensitive) in ``prediction``, or None without one.

    Used by the Memory-R1-style LLM reader to drop the memory-selection step from its reply.

    >>> answer_tail("Let me think. Answer: maybe. Final Answer: Paris")
    ' Paris'
    """
    matches = list(_ANSWER_MARKER.finditer(prediction))
    if not matches:
        return None
    return prediction[matches[-1].end() :]


_ANSWER_PREFIX_LINE = re.compile(r"Answer:(.*)(?:\n|$)", re.IGNORECASE)
_FIRST_LINE = re.compile(r"(.*)(?:\n|$)")
_LEADING_PREFIX = re.compile(r"^Answer:", re.IGNORECASE)


def answer_line(prediction: str) -> str:
    """The answer line of a reply, as MemoryAgentBench's ``parse_output`` reads it.

    The rest of the line after the first ``Answer:`` (any case), or else the first line; stripped,
    with one more leading ``Answer:`` removed (chat models sometimes repeat it).

    >>> answer_line("Reasoning first.\\nAnswer: Paris\\nBecause...")
    'Paris'
    >>> answer_line("Paris\\nis the answer")
    'Paris'
    """
    match = _ANSWER_PREFIX_LINE.search(prediction) or _FIRST_LINE.match(prediction)
    assert match is not None  # the first-line pattern matches any string
    return _LEADING_PREFIX.sub("", match.group(1).strip()).strip()


_BOXED = re.compile(r"\\boxed\s*\{")
_BOXED_TIGHT = re.compile(r"\\boxed\{")
_BOX_TIGHT = re.compile(r"\\box\{")
_ANSWER_TAGS = re.compile(r"<answer>(.*?)</answer>", re.IGNORECASE | re.DOTALL)


def _balanced(text: str, opener: re.Pattern[str]) -> str | None:
    """The text inside the braces opened by the first ``opener`` match (balanced), or None."""
    match = opener.search(text)
    if match is None:
        return None
    depth = 1
    for position in range(match.end(), len(text)):
        char = text[position]
        if char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
            if depth == 0:
                return text[match.end() : position]
    return None


def boxed_content(prediction: str) -> str | None:
    """The content of the first ``\\boxed{...}`` in ``prediction`` (braces balanced), or None.

    Nested braces are kept inside: ``\\boxed{\\text{3}}`` gives ``\\text{3}``. A ``\\boxed{`` that is
    never closed gives None (nothing after it can be a well-formed first box).

    >>> boxed_content(r"so \\boxed{12} and not \\boxed{3}")
    '12'
    """
    return _balanced(prediction, _BOXED)


def _memalpha_answer(prediction: str) -> str:
    """Mem-α's answer extraction: ``<answer>..</answer>``, else ``\\boxed{..}``, else ``\\box{..}``."""
    tagged = _ANSWER_TAGS.search(prediction)
    if tagged is not None:
        return tagged.group(1).strip()
    for opener in (_BOXED_TIGHT, _BOX_TIGHT):
        content = _balanced(prediction, opener)
        if content is not None:
            return content.strip()
    return prediction.strip()


def _label_line(prediction: str) -> str:
    # memenv's readers write a class label as \boxed{label} (Mem-α's reader format); MemoryAgentBench's
    # parser expects a bare label. Reading the box first lets the two meet; otherwise the answer line.
    content = boxed_content(prediction)
    return content.strip() if content is not None else answer_line(prediction)


EXTRACTORS: dict[str, Callable[[str], str]] = {
    "whole": lambda text: text,
    "answer_line": answer_line,
    "memalpha_answer": _memalpha_answer,
    "label_line": _label_line,
}
"""Extraction name (as in :attr:`Rule.extract`) -> the part of a reply taken as the answer."""


@functools.cache
def _stemmer() -> Any:
    # NLTK's Porter stemmer in its default (NLTK_EXTENSIONS) mode is the one LoCoMo and rouge_score
    # use; it needs no downloaded data. Imported on first use: importing nltk takes about a second.
    from nltk.stem.porter import PorterStemmer

    return PorterStemmer()


@functools.lru_cache(maxsize=65536)
def porter_stem(word: str) -> str:
    """NLTK's Porter stem of ``word`` (``PorterStemmer().stem``), cached.

    >>> porter_stem("running"), porter_stem("runs")
    ('run', 'run')
    """
    return _stemmer().stem(word)


@functools.cache
def _word_tokenizers() -> tuple[Any, Any]:
    from nltk.tokenize.destructive import NLTKWordTokenizer
    from nltk.tokenize.punkt import PunktSentenceTokenizer

    # word_tokenize's sentence splitter is Punkt with NLTK's trained English parameters, which are a
    # download (punkt_tab) and cannot be fetched offline. Punkt's algorithm with no trained
    # parameters gives the same sentences except after abbreviations (it splits after "dr.").
    return PunktSentenceTokenizer(), NLTKWordTokenizer()


def word_tokenize(text: str) -> list[str]:
    """NLTK's ``word_tokenize`` without downloaded data: Punkt sentences, then NLTK's Treebank words.

    Equal to ``nltk.word_tokenize`` except where the trained English sentence model would know an
    abbreviation (``"dr."``, ``"e.g."``), which it does not end a sentence at; see docs/scoring.md.

    >>> word_tokenize("she went to paris. it's far, isn't it?")
    ['she', 'went', 'to', 'paris', '.', 'it', "'s", 'far', ',', 'is', "n't", 'it', '?']
    """
    sentences, words = _word_tokenizers()
    return [token for sentence in sentences.tokenize(text) for token in words.tokenize(sentence)]


def _mem0_tokens(text: str) -> list[str]:
    # Mem0's simple_tokenize (evaluation/metrics/utils.py): lowercase, . , ! ? become spaces, split.
    for mark in ".,!?":
        text = text.replace(mark, " ")
    return text.lower().split()


_ROUGE_NON_ALNUM = re.compile(r"[^a-z0-9]+")


def _rouge_tokens(text: str) -> list[str]:
    # rouge_score's tokenize: lowercase, non-alphanumerics become spaces, split (stemming: see _tokens).
    return [token for token in _ROUGE_NON_ALNUM.sub(" ", text.lower()).split() if token]


TOKENIZERS: dict[str, Callable[[str], list[str]]] = {
    "words": str.split,
    "mem0": _mem0_tokens,
    "treebank": word_tokenize,
    "rouge": _rouge_tokens,
}
"""Tokenizer name (as in :attr:`Rule.tokenizer`) -> function on the normalized text."""


# --------------------------------------------------------------------------------------------------
# Rules: one comparison each, parametrized by data
# --------------------------------------------------------------------------------------------------

RULE_METRICS = (
    "contains",
    "exact",
    "token_f1",
    "bleu1",
    "rouge_l",
    "boxed_label",
    "digit_label",
    "llm_judge",
    "recall_at_k",
    "skip",
)


@dataclass(frozen=True)
class Rule:
    """How one question is scored: every choice a reference evaluation script makes, as data.

    The score is ``combine`` over the gold items of the best candidate's comparison::

        items      = parts of the gold string (gold_split, one gold string) or else the aliases
        candidates = the extractions of the reply (extract), each split on pred_split if set
        score      = combine over items g of ( max over candidates c of metric(c, g) )

    Attributes:
        metric: the comparison, one of :data:`RULE_METRICS`: ``contains`` (normalized gold is a
            substring of the normalized candidate), ``exact`` (equal after normalization),
            ``token_f1``, ``bleu1``, ``rouge_l`` (on tokens), ``boxed_label`` (memenv's first-box
            label), ``digit_label`` (Mem-α: the extracted answer must be digits only and equal the
            gold), ``llm_judge``, ``recall_at_k`` (recommendation lists), ``skip`` (not scored).
        normalizer: :data:`NORMALIZERS` key applied to candidate and gold.
        gold_normalizer: a different normalizer for the gold (``None``: the same one).
        tokenizer: :data:`TOKENIZERS` key, for the token metrics.
        stem: Porter-stem tokens (NLTK; for ``rouge`` tokens only those longer than 3 characters).
        unique_tokens: token F1 over token sets, each token counted once (Mem0).
        yes_no: token F1 is 0 when either side is ``yes``/``no``/``noanswer`` and they differ
            (MemoryAgentBench / HELMET).
        reasoning: ``"strip"`` scores :func:`strip_reasoning` of the reply; ``"keep"`` the reply as is.
        extract: :data:`EXTRACTORS` keys; each gives one candidate answer, the best one counts.
        aliases: ``"any"`` (every alias) or ``"first"`` (only the first, as Mem-α's SQuAD scoring).
        strip_gold: strip surrounding whitespace from gold strings and their parts; ``False`` keeps
            it, as Mem-α's plain containment tests do (blank golds are dropped either way).
        gold_cut: keep each gold's text before the first occurrence of this string (LoCoMo ``;``).
        gold_split: a single gold string is a list of parts joined by this string.
        pred_split: the candidate is a list of parts joined by this string (LoCoMo multi-hop).
        combine: over gold items: ``"max"`` (aliases: one is enough), ``"mean"`` (parts or keywords:
            the share found), ``"all"`` (1 only if every item scores 1).
        k: the cut-off of ``recall_at_k``.
        judge: :data:`JUDGE_TEMPLATES` key: the prompt and verdict rule of ``llm_judge``.
        name: a short label, reported with each scored question.
        extras: further ``(name, Rule)`` scores reported beside the main one (Mem0's BLEU-1, judge).
    """

    metric: str
    normalizer: str = "squad"
    gold_normalizer: str | None = None
    tokenizer: str = "words"
    stem: bool = False
    unique_tokens: bool = False
    yes_no: bool = False
    reasoning: str = "keep"
    extract: tuple[str, ...] = ("whole",)
    aliases: str = "any"
    strip_gold: bool = True
    gold_cut: str = ""
    gold_split: str = ""
    pred_split: str = ""
    combine: str = "max"
    k: int = 5
    judge: str = "memenv"
    name: str = ""
    extras: tuple[tuple[str, Rule], ...] = ()

    def __post_init__(self) -> None:
        checks = (
            ("metric", self.metric, RULE_METRICS),
            ("normalizer", self.normalizer, NORMALIZERS),
            ("gold_normalizer", self.gold_normalizer or self.normalizer, NORMALIZERS),
            ("tokenizer", self.tokenizer, TOKENIZERS),
            ("reasoning", self.reasoning, ("keep", "strip")),
            ("aliases", self.aliases, ("any", "first")),
            ("combine", self.combine, ("max", "mean", "all")),
        )
        for argument, value, valid in checks:
            if value not in valid:
                raise ValueError(f"Rule.{argument} must be one of {', '.join(valid)}, got {value!r}")
        for name in self.extract:
            if name not in EXTRACTORS:
                raise ValueError(f"Rule.extract names {name!r}; valid extractions: {', '.join(EXTRACTORS)}")
        if not self.extract:
            raise ValueError("Rule.extract must name at least one extraction")


def _tokens(text: str, rule: Rule) -> list[str]:
    tokens = TOKENIZERS[rule.tokenizer](NORMALIZERS[rule.normalizer](text))
    if rule.stem:
        if rule.tokenizer == "rouge":
            tokens = [porter_stem(t) if len(t) > 3 else t for t in tokens]
        else:
            tokens = [porter_stem(t) for t in tokens]
    return tokens


_SPECIAL_ANSWERS = frozenset({"yes", "no", "noanswer"})


def _token_f1(predicted: list[str], gold: list[str], rule: Rule) -> float:
    if rule.yes_no:
        joined_p, joined_g = " ".join(predicted), " ".join(gold)
        if (joined_p in _SPECIAL_ANSWERS or joined_g in _SPECIAL_ANSWERS) and joined_p != joined_g:
            return 0.0
    if not predicted or not gold:
        return 0.0
    if rule.unique_tokens:
        overlap, n_pred, n_gold = len(set(predicted) & set(gold)), len(set(predicted)), len(set(gold))
    else:
        overlap, n_pred, n_gold = sum((Counter(predicted) & Counter(gold)).values()), len(predicted), len(gold)
    if overlap == 0:
        return 0.0
    precision, recall = overlap / n_pred, overlap / n_gold
    return 2 * precision * recall / (precision + recall)


def _bleu1(candidate: list[str], reference: list[str]) -> float:
    if not candidate or not reference:
        return 0.0
    clipped = sum((Counter(candidate) & Counter(reference)).values())
    if clipped == 0:
        return 0.0
    brevity = 1.0 if len(candidate) > len(reference) else math.exp(1 - len(reference) / len(candidate))
    return brevity * clipped / len(candidate)


def _lcs_length(a: list[str], b: list[str]) -> int:
    previous = [0] * (len(b) + 1)
    for token in a:
        current = [0]
        for j, other in enumerate(b):
            current.append(previous[j] + 1 if token == other else max(previous[j + 1], current[j]))
        previous = current
    return previous[-1]


def _rouge_l(candidate: list[str], reference: list[str]) -> float:
    if not candidate or not reference:
        return 0.0
    lcs = _lcs_length(reference, candidate)
    precision, recall = lcs / len(candidate), lcs / len(reference)
    return 2 * precision * recall / (precision + recall) if precision + recall > 0 else 0.0


_DIGITS = re.compile(r"\d+")
_ONLY_DIGITS = re.compile(r"^\d+$")


def _label(text: str) -> str:
    """A label's comparable form: its first run of digits, else the stripped lowercased text."""
    digits = _DIGITS.search(text)
    return digits.group() if digits else text.strip().lower()


def _compare(rule: Rule, candidate: str, gold: str) -> float:
    """``rule.metric`` on one candidate answer and one gold item."""
    metric = rule.metric
    if metric in ("contains", "exact"):
        normalized_gold = NORMALIZERS[rule.gold_normalizer or rule.normalizer](gold)
        if not normalized_gold.strip():
            return 0.0
        normalized = NORMALIZERS[rule.normalizer](candidate)
        found = normalized_gold in normalized if metric == "contains" else normalized_gold == normalized
        return 1.0 if found else 0.0
    if metric == "token_f1":
        return _token_f1(_tokens(candidate, rule), _tokens(gold, rule), rule)
    if metric == "bleu1":
        return _bleu1(_tokens(candidate, rule), _tokens(gold, rule))
    if metric == "rouge_l":
        return _rouge_l(_tokens(candidate, rule), _tokens(gold, rule))
    if metric == "boxed_label":
        content = boxed_content(candidate)
        if content is None or not content.strip():
            return 0.0
        return 1.0 if _label(content) == _label(gold) else 0.0
    if metric == "digit_label":
        extracted = _memalpha_answer(candidate).strip("\"'").strip()
        if not _ONLY_DIGITS.match(extracted):
            return 0.0
        return 1.0 if extracted == gold.strip("\"'").strip() else 0.0
    raise ValueError(f"rule metric {metric!r} does not compare text pairs")


def _gold_items(rule: Rule, aliases: tuple[str, ...]) -> list[str]:
    golds = list(aliases[:1] if rule.aliases == "first" else aliases)
    if rule.gold_cut:
        golds = [gold.split(rule.gold_cut)[0] for gold in golds]
    if rule.gold_split and len(golds) == 1:
        golds = golds[0].split(rule.gold_split)
    return [gold.strip() for gold in golds] if rule.strip_gold else golds


def _candidates(rule: Rule, prediction: str) -> list[str]:
    candidates = [EXTRACTORS[name](prediction) for name in rule.extract]
    if rule.pred_split:
        candidates = [part.strip() for candidate in candidates for part in candidate.split(rule.pred_split)]
    return candidates


def _combine(rule: Rule, values: list[float]) -> float:
    if rule.combine == "max":
        return max(values)
    if rule.combine == "mean":
        return math.fsum(values) / len(values)
    return 1.0 if all(value == 1.0 for value in values) else 0.0


def score_rule(
    rule: Rule,
    prediction: str,
    answers: Answers,
    *,
    question: str = "",
    metadata: Mapping[str, Any] | None = None,
    judge: Judge | JudgeModel | None = None,
    argument: str = "answers",
) -> float | None:
    """Score ``prediction`` against ``answers`` under ``rule`` (see :class:`Rule`); None for ``skip``.

    ``question`` and ``metadata`` (the question's text and metadata) are used by ``llm_judge``
    (question type, abstention) and ``recall_at_k`` (``metadata["catalog"]``). ``judge`` is used by
    ``llm_judge`` only.

    Raises:
        ValueError: ``answers`` holds no non-blank string (``argument`` names it in the message).
    """
    aliases = _aliases(answers, argument=argument)
    if not rule.strip_gold:
        raw = (answers,) if isinstance(answers, str) else answers
        aliases = tuple(str(alias) for alias in raw if str(alias).strip())
    if rule.metric == "skip":
        return None
    prediction = "" if prediction is None else prediction
    if rule.reasoning == "strip":
        prediction = strip_reasoning(prediction)
    if _is_empty(prediction):
        return 0.0
    metadata = metadata or {}
    if rule.metric == "llm_judge":
        return _judged(rule, prediction, aliases, question, metadata, judge)
    if rule.metric == "recall_at_k":
        return score_recall_at_k(prediction, aliases, k=rule.k, catalog=metadata.get("catalog"))
    candidates = _candidates(rule, prediction)
    values = [max(_compare(rule, candidate, gold) for candidate in candidates) for gold in _gold_items(rule, aliases)]
    return _combine(rule, values)


# --------------------------------------------------------------------------------------------------
# memenv's metrics (the ``memenv`` profile)
# --------------------------------------------------------------------------------------------------

_SUBEM = Rule("contains", normalizer="lower", reasoning="strip", name="subem")
_NORMALIZED_SUBEM = Rule("contains", reasoning="strip", extract=("whole", "answer_line"), name="normalized_subem")
_EXACT_MATCH = Rule("exact", reasoning="strip", extract=("whole", "answer_line"), name="exact_match")
_BOXED_LABEL_EM = Rule("boxed_label", reasoning="strip", name="boxed_label_em")
_KEYWORD_HIT = Rule("contains", reasoning="strip", combine="mean", name="keyword_hit")
_TOKEN_F1 = Rule("token_f1", reasoning="strip", name="token_f1")
_BLEU1 = Rule("bleu1", reasoning="strip", name="bleu1")
_LLM_JUDGE = Rule("llm_judge", reasoning="strip", judge="memenv", name="llm_judge")
_RECALL_AT_5 = Rule("recall_at_k", reasoning="strip", k=5, name="recall_at_5")


def _score(rule: Rule, prediction: str, answers: Answers, argument: str = "answers") -> float:
    value = score_rule(rule, prediction, answers, argument=argument)
    assert value is not None  # only "skip" rules give None
    return value


def score_subem(prediction: str, answers: Answers) -> float:
    """Substring exact match: 1.0 if any alias, lowercased, occurs in the lowercased prediction.

    No other normalization: punctuation and articles must match (``"U.S."`` is not found in ``"US"``).

    >>> score_subem("It was in PARIS, France.", ["paris", "Lutetia"])
    1.0
    """
    return _score(_SUBEM, prediction, answers)


def score_normalized_subem(prediction: str, answers: Answers) -> float:
    """Normalized substring exact match, MemoryAgentBench's ``substring_exact_match``.

    Score = max over aliases ``g`` and candidates ``p`` of ``[normalize(g) in normalize(p)]``; the
    candidates are the whole reply and its answer line (:func:`answer_line`), as MemoryAgentBench's
    ``default_post_process`` takes the better of the two. Containment is on the normalized strings,
    not on word boundaries (``"cat"`` is found in ``"concatenate"``).

    >>> score_normalized_subem("Answer: the U.S.", ["US"])
    1.0
    """
    return _score(_NORMALIZED_SUBEM, prediction, answers)


def score_exact_match(prediction: str, answers: Answers) -> float:
    """Normalized exact match (MemoryAgentBench's ``exact_match``): whole reply or its answer line.

    >>> score_exact_match("Answer: The Butler.\\nHe had the key.", ["butler"])
    1.0
    """
    return _score(_EXACT_MATCH, prediction, answers)


def score_keyword_hit(prediction: str, answers: Answers) -> float:
    """Share of gold keywords present in the prediction (long-range understanding / summaries).

    Score = (number of keywords ``k`` with ``normalize(k) in normalize(prediction)``) / (number of
    keywords). Duplicated keywords count twice. A keyword that normalizes to nothing is a miss.

    Raises:
        ValueError: no keywords (an empty list, or only blank strings).

    >>> score_keyword_hit("Alice married Bob in Rome.", ["Alice", "Bob", "Paris", "wedding"])
    0.5
    """
    return _score(_KEYWORD_HIT, prediction, answers, argument="keywords")


def score_boxed_label_em(prediction: str, answers: Answers) -> float:
    """Exact match of the label in the first ``\\boxed{...}`` (test-time learning / classification).

    The predicted label is the first run of digits inside the first box (``\\boxed{12}`` -> ``"12"``,
    ``\\boxed{ 7 }`` -> ``"7"``, ``\\boxed{label: 3}`` -> ``"3"``); the gold label is the first run
    of digits of each alias. They must be equal as strings: ``"12" != "1"`` and ``"07" != "7"``.
    Only the first box after any reasoning block counts, so boxing every label does not help and a
    draft inside ``<think>`` is never read. A box, or an alias, without digits is compared by its
    whole stripped lowercased text instead (for word labels). No box, or an empty box, scores 0.

    >>> score_boxed_label_em(r"<think>maybe \\boxed{3}</think> The label is \\boxed{label: 12}.", ["12"])
    1.0
    """
    return _score(_BOXED_LABEL_EM, prediction, answers)


def score_token_f1(prediction: str, answers: Answers) -> float:
    """SQuAD token F1, max over aliases.

    Tokens are the whitespace-split words of :func:`normalize_answer`. With ``overlap`` = the size of
    the multiset intersection of prediction and gold tokens (``Counter`` ``&``)::

        precision = overlap / len(prediction_tokens)
        recall    = overlap / len(gold_tokens)
        F1        = 2 * precision * recall / (precision + recall)     (0 when overlap == 0)

    This is SQuAD's F1, not LoCoMo's (which also drops "and", Porter-stems and has per-category
    rules) nor Mem0's (token sets): those are the ``locomo`` and ``mem0`` profiles.

    >>> round(score_token_f1("the cat sat down", ["a cat sat on the mat"]), 4)  # P 2/3, R 2/4
    0.5714
    """
    return _score(_TOKEN_F1, prediction, answers)


def score_bleu1(prediction: str, answers: Answers) -> float:
    """BLEU-1 on SQuAD-normalized words, each alias a single reference, max over aliases.

    With candidate ``c`` = prediction tokens and reference ``r`` = alias tokens::

        clipped   = sum over words w of min(count_c(w), count_r(w))
        p1        = clipped / len(c)
        BP        = 1                          if len(c) > len(r)
                    exp(1 - len(r) / len(c))   otherwise
        BLEU-1    = BP * p1

    This equals NLTK's ``sentence_bleu([r], c, weights=(1, 0, 0, 0))`` with any smoothing (the
    zero-weight orders add nothing). Mem0's BLEU-1 (the ``mem0`` profile) uses the same formula on
    NLTK word tokens of the lowercased text instead of normalized words.

    >>> round(score_bleu1("cat sat", ["the cat sat on the mat"]), 4)  # p1 = 1, BP = exp(1 - 4/2)
    0.3679
    """
    return _score(_BLEU1, prediction, answers)


# --------------------------------------------------------------------------------------------------
# LLM judge: the reference prompts and verdict rules
# --------------------------------------------------------------------------------------------------

# The five prompt templates below follow LongMemEval's evaluation script
# (xiaowu0162/LongMemEval, src/evaluation/evaluate_qa.py, get_anscheck_prompt) word for word: they
# are the evaluation protocol. MemoryAgentBench's llm_based_eval/longmem_qa_evaluate.py uses the same.
_LME_DEFAULT = (
    "I will give you a question, a correct answer, and a response from a model. Please answer yes if the "
    "response contains the correct answer. Otherwise, answer no. If the response is equivalent to the correct "
    "answer or contains all the intermediate steps to get the correct answer, you should also answer yes. If "
    "the response only contains a subset of the information required by the answer, answer no. \n\n"
    "Question: {}\n\nCorrect Answer: {}\n\nModel Response: {}\n\n"
    "Is the model response correct? Answer yes or no only."
)
_LME_TEMPORAL = (
    "I will give you a question, a correct answer, and a response from a model. Please answer yes if the "
    "response contains the correct answer. Otherwise, answer no. If the response is equivalent to the correct "
    "answer or contains all the intermediate steps to get the correct answer, you should also answer yes. If "
    "the response only contains a subset of the information required by the answer, answer no. In addition, "
    "do not penalize off-by-one errors for the number of days. If the question asks for the number of "
    "days/weeks/months, etc., and the model makes off-by-one errors (e.g., predicting 19 days when the answer "
    "is 18), the model's response is still correct. \n\n"
    "Question: {}\n\nCorrect Answer: {}\n\nModel Response: {}\n\n"
    "Is the model response correct? Answer yes or no only."
)
_LME_KNOWLEDGE_UPDATE = (
    "I will give you a question, a correct answer, and a response from a model. Please answer yes if the "
    "response contains the correct answer. Otherwise, answer no. If the response contains some previous "
    "information along with an updated answer, the response should be considered as correct as long as the "
    "updated answer is the required answer.\n\n"
    "Question: {}\n\nCorrect Answer: {}\n\nModel Response: {}\n\n"
    "Is the model response correct? Answer yes or no only."
)
_LME_PREFERENCE = (
    "I will give you a question, a rubric for desired personalized response, and a response from a model. "
    "Please answer yes if the response satisfies the desired response. Otherwise, answer no. The model does "
    "not need to reflect all the points in the rubric. The response is correct as long as it recalls and "
    "utilizes the user's personal information correctly.\n\n"
    "Question: {}\n\nRubric: {}\n\nModel Response: {}\n\n"
    "Is the model response correct? Answer yes or no only."
)
_LME_ABSTENTION = (
    "I will give you an unanswerable question, an explanation, and a response from a model. Please answer "
    "yes if the model correctly identifies the question as unanswerable. The model could say that the "
    "information is incomplete, or some other information is given but the asked information is not.\n\n"
    "Question: {}\n\nExplanation: {}\n\nModel Response: {}\n\n"
    "Does the model correctly identify the question as unanswerable? Answer yes or no only."
)
LONGMEMEVAL_TEMPLATES: dict[str, str] = {
    "single-session-user": _LME_DEFAULT,
    "single-session-assistant": _LME_DEFAULT,
    "multi-session": _LME_DEFAULT,
    "temporal-reasoning": _LME_TEMPORAL,
    "knowledge-update": _LME_KNOWLEDGE_UPDATE,
    "single-session-preference": _LME_PREFERENCE,
    "abstention": _LME_ABSTENTION,
}
"""LongMemEval question type (and ``"abstention"``) -> judge prompt template (three ``{}`` slots)."""

# Mem0's judge prompt, word for word from mem0ai/mem0 evaluation/metrics/llm_judge.py (ACCURACY_PROMPT),
# the protocol behind the LLM-judge numbers of Mem0 and Memory-R1.
MEM0_JUDGE_TEMPLATE = (
    "\nYour task is to label an answer to a question as ’CORRECT’ or ’WRONG’. You will be given the following "
    "data:\n    (1) a question (posed by one user to another user), \n    (2) a ’gold’ (ground truth) answer, "
    "\n    (3) a generated answer\nwhich you will score as CORRECT/WRONG.\n\nThe point of the question is to ask "
    "about something one user should know about the other user based on their prior conversations.\nThe gold "
    "answer will usually be a concise and short answer that includes the referenced topic, for example:\n"
    "Question: Do you remember what I got the last time I went to Hawaii?\nGold answer: A shell necklace\nThe "
    "generated answer might be much longer, but you should be generous with your grading - as long as it "
    "touches on the same topic as the gold answer, it should be counted as CORRECT. \n\nFor time related "
    "questions, the gold answer will be a specific date, month, year, etc. The generated answer might be much "
    'longer or use relative time references (like "last Tuesday" or "next month"), but you should be generous '
    "with your grading - as long as it refers to the same date or time period as the gold answer, it should be "
    'counted as CORRECT. Even if the format differs (e.g., "May 7th" vs "7 May"), consider it CORRECT if it\'s '
    "the same date.\n\nNow it's time for the real question:\nQuestion: {question}\nGold answer: {gold_answer}\n"
    "Generated answer: {generated_answer}\n\nFirst, provide a short (one sentence) explanation of your "
    "reasoning, then finish with CORRECT or WRONG. \nDo NOT include both CORRECT and WRONG in your response, or "
    "it will break the evaluation script.\n\nJust return the label CORRECT or WRONG in a json format with the key "
    'as "label".\n'
)


def judge_prompt(
    question: str, answer: Answers, prediction: str, *, question_type: str = "", abstention: bool = False
) -> str:
    """LongMemEval's judge prompt for one question (its evaluation script's templates, verbatim).

    ``question_type`` picks the template (``single-session-user``, ``single-session-assistant``,
    ``multi-session``, ``temporal-reasoning``, ``knowledge-update``, ``single-session-preference``);
    an unknown or empty type gets the first three's template (LongMemEval itself stops with an error).
    With ``abstention=True`` (a question id containing ``_abs``) the gold is an explanation of why the
    question cannot be answered and the judge is asked whether the response says so. Several aliases
    are joined with ``" | "``. The prompt asks for ``yes`` or ``no`` only.
    """
    gold = " | ".join(_aliases(answer, argument="answer"))
    key = "abstention" if abstention else question_type
    return LONGMEMEVAL_TEMPLATES.get(key, _LME_DEFAULT).format(question, gold, prediction)


_VERDICT = re.compile(r"\b(yes|no)\b", re.IGNORECASE)


def parse_judge_verdict(text: str) -> bool:
    """Read a judge's reply the memenv way: True for yes, False for no.

    The first standalone ``yes`` or ``no`` (any case, any punctuation or markup around it) decides:
    ``"Yes."``, ``"**YES**"``, ``"Verdict: yes"`` are True; ``"No, although yes-men..."`` is False.
    A reply with neither word is False: an unclear verdict earns no credit. (LongMemEval checks
    ``'yes' in reply.lower()``, which reads ``"no, not yesterday"`` as yes; its profile does that.)
    """
    match = _VERDICT.search(text or "")
    return match is not None and match.group(1).lower() == "yes"


def _mem0_label(reply: str) -> bool:
    """Mem0's verdict: the reply's JSON object has ``"label": "CORRECT"``; unreadable counts as wrong."""
    start, end = reply.find("{"), reply.rfind("}")
    if start < 0 or end < start:
        return False
    try:
        value = json.loads(reply[start : end + 1])
    except json.JSONDecodeError:
        return False
    return isinstance(value, dict) and value.get("label") == "CORRECT"


def _gold_text(aliases: tuple[str, ...]) -> str:
    return " | ".join(aliases)


def _lme_prompt(question: str, aliases: tuple[str, ...], prediction: str, metadata: Mapping[str, Any]) -> str:
    key = "abstention" if metadata.get("abstention") else str(metadata.get("question_type") or "")
    return LONGMEMEVAL_TEMPLATES.get(key, _LME_DEFAULT).format(question, _gold_text(aliases), prediction)


def _mab_prompt(question: str, aliases: tuple[str, ...], prediction: str, metadata: Mapping[str, Any]) -> str:
    # MemoryAgentBench formats the whole answer list into the template (it prints as "['3 days']").
    key = "abstention" if metadata.get("abstention") else str(metadata.get("question_type") or "")
    return LONGMEMEVAL_TEMPLATES.get(key, _LME_DEFAULT).format(question, repr(list(aliases)), prediction)


def _memalpha_prompt(question: str, aliases: tuple[str, ...], prediction: str, metadata: Mapping[str, Any]) -> str:
    # Mem-α judges lme_train / longmemeval_s* with this one template (its evaluate_agent_results.py).
    return _LME_PREFERENCE.format(question, _gold_text(aliases), prediction)


def _mem0_prompt(question: str, aliases: tuple[str, ...], prediction: str, metadata: Mapping[str, Any]) -> str:
    return MEM0_JUDGE_TEMPLATE.format(question=question, gold_answer=_gold_text(aliases), generated_answer=prediction)


@dataclass(frozen=True)
class JudgeTemplate:
    """A judge protocol: how the prompt is built, how the reply is read, how long the reply may be."""

    prompt: Callable[[str, tuple[str, ...], str, Mapping[str, Any]], str]
    verdict: Callable[[str], bool]
    max_new_tokens: int


JUDGE_TEMPLATES: dict[str, JudgeTemplate] = {
    # LongMemEval: its templates, verdict 'yes' in reply.lower(), max_tokens 10.
    "longmemeval": JudgeTemplate(_lme_prompt, lambda reply: "yes" in reply.strip().lower(), 10),
    "memoryagentbench": JudgeTemplate(_mab_prompt, lambda reply: "yes" in reply.strip().lower(), 10),
    # Mem-α: yes only when the reply has "yes" and no "no" anywhere.
    "memalpha": JudgeTemplate(
        _memalpha_prompt, lambda reply: "yes" in reply.strip().lower() and "no" not in reply.strip().lower(), 10
    ),
    # Mem0: a one-sentence reason, then {"label": "CORRECT" | "WRONG"}.
    "mem0": JudgeTemplate(_mem0_prompt, _mem0_label, 256),
    # memenv: LongMemEval's templates, read by the first standalone yes/no.
    "memenv": JudgeTemplate(_lme_prompt, parse_judge_verdict, 10),
}
"""Judge protocol name (as in :attr:`Rule.judge`) -> :class:`JudgeTemplate`."""

# Offline stand-in for an abstention verdict: the reply says the information is missing.
_ABSTAINS = (
    "not mentioned",
    "no information",
    "not available",
    "not specified",
    "not provided",
    "don't know",
    "do not know",
    "cannot be answered",
    "can't be answered",
    "unanswerable",
    "no record",
)


def _judged(
    rule: Rule,
    prediction: str,
    aliases: tuple[str, ...],
    question: str,
    metadata: Mapping[str, Any],
    judge: Judge | JudgeModel | None,
) -> float:
    if judge is None:
        if metadata.get("abstention"):
            text = prediction.lower()
            return 1.0 if any(phrase in text for phrase in _ABSTAINS) else 0.0
        return _score(_NORMALIZED_SUBEM, prediction, aliases)
    if isinstance(judge, JudgeModel):
        template = JUDGE_TEMPLATES[rule.judge]
        reply = judge.complete(template.prompt(question, aliases, prediction, metadata), template.max_new_tokens)
        return 1.0 if template.verdict(reply) else 0.0
    return 1.0 if judge(question, aliases, prediction) else 0.0


def score_llm_judge(
    prediction: str, answers: Answers, question: str = "", judge: Judge | JudgeModel | None = None
) -> float:
    """Judged correctness: 1.0 if the judge accepts the prediction.

    ``judge`` is a :class:`JudgeModel` (sent LongMemEval's default template, read with
    :func:`parse_judge_verdict`) or a plain :data:`Judge` callable ``judge(question, answers,
    prediction) -> bool`` (the aliases arrive as a tuple of stripped strings). An empty prediction
    scores 0 without calling the judge.

    Offline fallback: with ``judge=None`` the score is :func:`score_normalized_subem` (no model is
    needed, results are deterministic; it is stricter than an LLM judge on paraphrases). Through a
    profile, an abstention question's fallback is 1 when the reply says the information is missing.
    """
    value = score_rule(_LLM_JUDGE, prediction, answers, question=question, judge=judge)
    assert value is not None
    return value


# --------------------------------------------------------------------------------------------------
# Recommendation lists (MemoryAgentBench recsys)
# --------------------------------------------------------------------------------------------------

_PARENTHESES = re.compile(r"\([^()]*\)")
_NUMBERING = re.compile(r"^(?:\d+[\.\)、]?\s*[-\u2014\u2013]?\s*)?")
_SPACES = re.compile(r"\s+")


def recommendation_list(prediction: str) -> list[str]:
    """The recommended items of a reply, as MemoryAgentBench's ``extract_recommendation_list`` reads it.

    The list starts after the first ``"1."`` (else commas separate items); one item per line, each
    with parentheses, a leading number (``3.``, ``3)``, ``3 -``) and extra whitespace removed. Blank
    lines stay as empty items, so they take a rank.

    >>> recommendation_list("Sure!\\n1. Heat (1995)\\n2. Up\\n")
    ['Heat', 'Up', '']
    """
    listed = prediction.split("1.", 1)[1] if "1." in prediction else prediction.replace(",", "\n")
    return [_clean_item(line.strip()) for line in listed.split("\n")]


def _clean_item(text: str) -> str:
    text = _NUMBERING.sub("", _PARENTHESES.sub("", text))
    return _SPACES.sub(" ", text).strip()


def _movie_name(entity: str) -> str:
    # MemoryAgentBench's extract_movie_name: last path part, _ - > become spaces, no parentheses.
    name = entity.split("/")[-1].replace("_", " ").replace("-", " ").replace(">", " ")
    return _SPACES.sub(" ", _PARENTHESES.sub("", name)).strip()


@functools.lru_cache(maxsize=8)
def load_recsys_catalog(path: str | Path) -> dict[str, str]:
    """MemoryAgentBench's ``entity2id.json`` (entity -> id) as ``{id: movie name}`` (names cleaned).

    Raises:
        ValueError: the file is not a JSON object of names to integer ids.
    """
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ValueError(f"recsys catalog {path}: cannot read it as JSON ({exc})") from None
    if not isinstance(data, dict):
        raise ValueError(f"recsys catalog {path}: expected a JSON object of entity -> id")
    catalog = {}
    for entity, entity_id in data.items():
        if isinstance(entity_id, bool) or not isinstance(entity_id, int):
            raise ValueError(f"recsys catalog {path}: id of {entity!r} must be an integer, got {entity_id!r}")
        catalog[str(entity_id)] = _movie_name(entity)
    return catalog


def _nearest(item: str, candidates: Sequence[str]) -> str:
    try:
        import editdistance
    except ImportError as exc:  # pragma: no cover - depends on the installation
        raise ImportError(
            "matching recommendations to a catalog needs editdistance: pip install 'memenv[data]'"
        ) from exc
    target = item.lower()
    return min(candidates, key=lambda name: editdistance.eval(target, name.lower()))


def score_recall_at_k(
    prediction: str, answers: Answers, k: int = 5, catalog: Mapping[str, str] | str | Path | None = None
) -> float:
    """Recall@k of a recommendation list (MemoryAgentBench ``recsys``, reported at k = 5).

    The reply is read with :func:`recommendation_list`; score = (gold items among the first ``k``
    recommendations) / (gold items). With a ``catalog`` (``{id: name}``, or the path of
    MemoryAgentBench's ``entity2id.json``), gold answers are ids, turned into names, and every
    recommended item becomes its nearest catalog name by edit distance (lowercase; ties go to the
    name first in sorted order, where MemoryAgentBench's set order is arbitrary). Without one,
    gold answers are names, compared case-insensitively.

    >>> score_recall_at_k("1. Heat\\n2. Up\\n3. Jaws", ["up", "Alien"], k=5)
    0.5
    """
    gold = _aliases(answers)
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    if _is_empty(prediction):
        return 0.0
    items = recommendation_list(prediction)
    if catalog is None:
        top = [item.lower() for item in items[:k]]
        return sum(name.lower() in top for name in gold) / len(gold)
    names = load_recsys_catalog(str(catalog)) if isinstance(catalog, (str, Path)) else catalog
    candidates = sorted(set(names.values()))
    top = [_nearest(item, candidates) for item in items[:k]]
    gold_names = [names.get(str(int(g)) if g.isdigit() else g, g) for g in gold]
    return sum(name in top for name in gold_names) / len(gold_names)


# --------------------------------------------------------------------------------------------------
# Dispatch by metric name
# --------------------------------------------------------------------------------------------------

METRICS: dict[str, Callable[..., float]] = {
    "subem": score_subem,
    "normalized_subem": score_normalized_subem,
    "exact_match": score_exact_match,
    "boxed_label_em": score_boxed_label_em,
    "keyword_hit": score_keyword_hit,
    "token_f1": score_token_f1,
    "bleu1": score_bleu1,
    "llm_judge": score_llm_judge,
    "recall_at_5": score_recall_at_k,
}
"""Metric name (as in ``Question.metric``) -> scoring function ``(prediction, answers) -> float``."""


def score(
    metric: str, prediction: str, answers: Answers, *, question: str = "", judge: Judge | JudgeModel | None = None
) -> float:
    """Score ``prediction`` against ``answers`` with memenv's metric named ``metric``.

    ``question`` and ``judge`` are used by ``llm_judge`` only and ignored by the other metrics, so a
    caller can pass them for every question. To score a loaded question the way its paper does, use
    :func:`score_question`.

    Raises:
        ValueError: ``metric`` is not a key of :data:`METRICS` (the message lists the valid names),
            or ``answers`` holds no non-blank string.

    >>> score("subem", "The code is 4821.", ("4821",))
    1.0
    """
    function = METRICS.get(metric)
    if function is None:
        raise ValueError(f"unknown metric {metric!r}; valid metrics: {', '.join(sorted(METRICS))}")
    if function is score_llm_judge:
        return score_llm_judge(prediction, answers, question=question, judge=judge)
    return function(prediction, answers)


# --------------------------------------------------------------------------------------------------
# Scoring profiles: each source as its own evaluation code scores it
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    """One line of a profile's table: which questions it matches and the :class:`Rule` they get.

    Every non-empty field must match; an empty field matches anything. Questions are read through
    their metadata as the loaders write it: ``benchmark``, ``data_source``, ``locomo_category``.

    Attributes:
        rule: the rule for matching questions.
        benchmark: ``question.metadata["benchmark"]`` equals this.
        sources: ``question.metadata["data_source"]`` matches one of these ``fnmatch`` patterns
            (case-sensitive; ``"*icl*"`` is a substring test, ``[*]`` a literal star).
        categories: ``question.metadata["locomo_category"]`` is one of these numbers.
        metrics: ``question.metric`` is one of these names.
        gold_contains: the question's first gold answer contains this string.
        unanswerable: ``question.metadata["unanswerable"]`` is True (a question the source marks as
            having no answer in the stream, such as the v1 generators' ``unanswerable`` category).
    """

    rule: Rule
    benchmark: str = ""
    sources: tuple[str, ...] = ()
    categories: tuple[int, ...] = ()
    metrics: tuple[str, ...] = ()
    gold_contains: str = ""
    unanswerable: bool = False

    def matches(self, question: Any) -> bool:
        metadata = question.metadata or {}
        if self.unanswerable and metadata.get("unanswerable") is not True:
            return False
        if self.benchmark and metadata.get("benchmark") != self.benchmark:
            return False
        if self.sources:
            source = str(metadata.get("data_source") or "")
            if not any(fnmatchcase(source, pattern) for pattern in self.sources):
                return False
        if self.categories and metadata.get("locomo_category") not in self.categories:
            return False
        if self.metrics and question.metric not in self.metrics:
            return False
        if self.gold_contains:
            answers = question.answers
            first = answers if isinstance(answers, str) else (answers[0] if answers else "")
            if self.gold_contains not in str(first):
                return False
        return True


LOCOMO_CATEGORIES = {1: "multi_hop", 2: "temporal", 3: "open_domain", 4: "single_hop", 5: "adversarial"}
"""LoCoMo category number -> name, as LoCoMo's own evaluation code numbers them."""

MEM0_CATEGORIES = {1: "single_hop", 2: "temporal", 3: "multi_hop", 4: "open_domain", 5: "adversarial"}
"""The same numbers as Mem0-derived tables (Mem0, Memory-R1) name them."""


@dataclass(frozen=True)
class Profile:
    """A scoring protocol: an ordered table of :class:`Case` lines; the first match gives the rule.

    Questions no line matches get memenv's rule for their metric. ``categories`` names LoCoMo's
    category numbers in the reports of this profile.
    """

    name: str
    summary: str
    cases: tuple[Case, ...]
    categories: Mapping[int, str] = field(default_factory=lambda: dict(LOCOMO_CATEGORIES))


QA_METRICS = ("subem", "normalized_subem", "exact_match", "token_f1", "bleu1", "llm_judge")
"""memenv metric names of free-text QA questions (the ones a QA-only protocol such as Mem0's scores)."""

_MAB_SUBEM = Rule("contains", extract=("whole", "answer_line"), name="mab_substring_exact_match")
_MAB_EXACT = Rule("exact", extract=("whole", "answer_line"), name="mab_exact_match")
_MAB_F1 = Rule("token_f1", yes_no=True, extract=("whole", "answer_line"), name="mab_f1")
_MAB_ICL = Rule("exact", extract=("label_line",), name="mab_icl_exact_match")
_MAB_JUDGE = Rule("llm_judge", judge="memoryagentbench", name="mab_longmemeval_judge")
_MAB_RECALL = Rule("recall_at_k", k=5, name="mab_recsys_recall@5")

_MEMALPHA_SUBEM = Rule("contains", reasoning="strip", extract=("whole", "answer_line"), name="memalpha_mab_subem")
_MEMALPHA_KEYWORDS = Rule(
    "contains",
    normalizer="lower",
    reasoning="strip",
    strip_gold=False,
    gold_split=", ",
    combine="mean",
    name="memalpha_keyword_hit",
)
_MEMALPHA_LABEL = Rule("digit_label", reasoning="strip", aliases="first", name="memalpha_digit_label")
_MEMALPHA_CONTAINS = Rule(
    "contains", normalizer="lower", reasoning="strip", aliases="first", strip_gold=False, name="memalpha_subem"
)
_MEMALPHA_JUDGE = Rule("llm_judge", reasoning="strip", judge="memalpha", name="memalpha_judge")

_LOCOMO_F1 = Rule("token_f1", normalizer="locomo", stem=True, name="locomo_f1")
_MEM0_F1 = Rule(
    "token_f1",
    normalizer="none",
    tokenizer="mem0",
    unique_tokens=True,
    name="mem0_f1",
    extras=(
        ("bleu1", Rule("bleu1", normalizer="lower", tokenizer="treebank", name="mem0_bleu1")),
        ("llm_judge", Rule("llm_judge", judge="mem0", name="mem0_judge")),
    ),
)

LOCOMO_ADVERSARIAL = Rule("contains", normalizer="lower", name="locomo_adversarial")
"""LoCoMo's rule for its adversarial category: 1 when the reply contains one of the gold phrases ("not
mentioned", "no information available"), case-insensitively. memenv scores every question marked
unanswerable by it."""

PROFILES: dict[str, Profile] = {
    "memenv": Profile(
        "memenv",
        "memenv's own metrics, by the question's metric name (synthetic tasks; fallback of every profile)",
        (
            Case(LOCOMO_ADVERSARIAL, unanswerable=True),
            Case(_SUBEM, metrics=("subem",)),
            Case(_NORMALIZED_SUBEM, metrics=("normalized_subem",)),
            Case(_EXACT_MATCH, metrics=("exact_match",)),
            Case(_BOXED_LABEL_EM, metrics=("boxed_label_em",)),
            Case(_KEYWORD_HIT, metrics=("keyword_hit",)),
            Case(_TOKEN_F1, metrics=("token_f1",)),
            Case(_BLEU1, metrics=("bleu1",)),
            Case(_LLM_JUDGE, metrics=("llm_judge",)),
            Case(_RECALL_AT_5, metrics=("recall_at_5",)),
        ),
    ),
    "locomo": Profile(
        "locomo",
        "LoCoMo task_eval/evaluation.py: stemmed token F1 with per-category rules",
        (
            Case(
                Rule(
                    "token_f1",
                    normalizer="locomo",
                    stem=True,
                    gold_split=",",
                    pred_split=",",
                    combine="mean",
                    name="locomo_f1_multi_answer",
                ),
                benchmark="locomo",
                categories=(1,),
            ),
            Case(
                Rule("token_f1", normalizer="locomo", stem=True, gold_cut=";", name="locomo_f1_before_semicolon"),
                benchmark="locomo",
                categories=(3,),
            ),
            Case(_LOCOMO_F1, benchmark="locomo", categories=(2, 4)),
            Case(LOCOMO_ADVERSARIAL, benchmark="locomo", categories=(5,)),
            Case(_LOCOMO_F1, metrics=QA_METRICS),
        ),
    ),
    "mem0": Profile(
        "mem0",
        "Mem0's evaluation (evaluation/metrics), as Memory-R1 reports: set token F1, BLEU-1, LLM judge",
        (
            Case(Rule("skip", name="mem0_skips_category_5"), benchmark="locomo", categories=(5,)),
            Case(_MEM0_F1, metrics=QA_METRICS),
        ),
        categories=dict(MEM0_CATEGORIES),
    ),
    "memoryagentbench": Profile(
        "memoryagentbench",
        "MemoryAgentBench utils/eval_other_utils.py post_process, reporting each sub-dataset's metric",
        (
            Case(_MAB_ICL, sources=("*icl*",)),
            Case(Rule("contains", extract=("answer_line",), name="mab_eventqa_subem"), sources=("*eventqa*",)),
            Case(_MAB_JUDGE, sources=("*longmemeval*",)),
            Case(_MAB_F1, sources=("*infbench*",), metrics=("token_f1",)),
            Case(
                Rule("contains", normalizer="lower", combine="mean", name="mab_ruler_recall"), sources=("*ruler_niah*",)
            ),
            Case(_MAB_SUBEM, sources=("*ruler*", "*mermory_merging*")),
            Case(_MAB_RECALL, sources=("*recsys*",)),
            Case(_MAB_EXACT, sources=("*detective*",)),
            Case(_MAB_SUBEM, metrics=("subem", "normalized_subem")),
            Case(_MAB_EXACT, metrics=("exact_match",)),
            Case(_MAB_F1, metrics=("token_f1",)),
            Case(_MAB_ICL, metrics=("boxed_label_em",)),
            Case(_MAB_JUDGE, metrics=("llm_judge",)),
            Case(_MAB_RECALL, metrics=("recall_at_5",)),
        ),
    ),
    "memalpha": Profile(
        "memalpha",
        "Mem-α evaluate_agent_results.py (_compute_score, evaluate_wrt_source), by data_source",
        (
            Case(_MEMALPHA_KEYWORDS, sources=("booksum", "infbench_sum_eng_shots2")),
            Case(_MEMALPHA_LABEL, sources=("pubmed-rct", "*icl*", "*ttl_train*")),
            Case(_MEMALPHA_CONTAINS, sources=("squad", "hotpotqa")),
            Case(
                Rule(
                    "contains",
                    normalizer="none",
                    gold_normalizer="lower",
                    reasoning="strip",
                    gold_split=";",
                    combine="mean",
                    name="memalpha_perltqa_parts",
                ),
                sources=("perltqa",),
                gold_contains=";",
            ),
            Case(
                Rule("contains", normalizer="lower", reasoning="strip", strip_gold=False, name="memalpha_perltqa"),
                sources=("perltqa",),
            ),
            Case(_MEMALPHA_JUDGE, sources=("lme_train", "longmemeval_s[*]")),
            Case(
                Rule(
                    "contains",
                    normalizer="lower",
                    reasoning="strip",
                    strip_gold=False,
                    combine="all",
                    name="memalpha_eventqa_recall",
                ),
                sources=("*eventqa*",),
            ),
            Case(
                Rule(
                    "rouge_l",
                    normalizer="none",
                    tokenizer="rouge",
                    stem=True,
                    reasoning="strip",
                    extract=("whole", "answer_line"),
                    name="memalpha_rouge_l",
                ),
                sources=("*infbench*",),
            ),
            Case(_MEMALPHA_SUBEM, sources=("*ruler*", "*mermory_merging*")),
            Case(Rule("recall_at_k", reasoning="strip", k=5, name="memalpha_recall@5"), sources=("*recsys*",)),
            Case(
                Rule(
                    "exact", normalizer="none", reasoning="strip", extract=("memalpha_answer",), name="memalpha_exact"
                ),
                sources=("*detectiveqa*",),
            ),
            # Questions without a known data_source (synthetic ones): Mem-α's rule for the same task.
            Case(_MEMALPHA_LABEL, metrics=("boxed_label_em",)),
            Case(_MEMALPHA_KEYWORDS, metrics=("keyword_hit",)),
            Case(_MEMALPHA_CONTAINS, metrics=("subem",)),
            Case(_MEMALPHA_JUDGE, metrics=("llm_judge",)),
            Case(_MEMALPHA_SUBEM),
        ),
    ),
    "longmemeval": Profile(
        "longmemeval",
        "LongMemEval src/evaluation/evaluate_qa.py: judge template per question type, abstention by _abs",
        (Case(Rule("llm_judge", judge="longmemeval", name="longmemeval_judge"), metrics=("llm_judge",)),),
    ),
}
"""Profile name -> :class:`Profile`. ``"default"`` (not a key) picks each question's benchmark profile."""

SCORING_PROFILES = ("default", *PROFILES)
"""Every name the ``scoring=`` option accepts."""


def check_profile(name: str) -> str:
    """``name`` if it is a scoring profile, else a ValueError listing the valid names."""
    if name not in SCORING_PROFILES:
        raise ValueError(f"unknown scoring profile {name!r}; valid profiles: {', '.join(SCORING_PROFILES)}")
    return name


def _profile_of(question: Any, profile: str) -> Profile:
    check_profile(profile)
    if profile == "default":
        benchmark = (question.metadata or {}).get("benchmark")
        return PROFILES.get(benchmark, PROFILES["memenv"]) if isinstance(benchmark, str) else PROFILES["memenv"]
    return PROFILES[profile]


def rule_for(question: Any, profile: str = "default") -> Rule:
    """The :class:`Rule` that scores ``question`` under ``profile`` (first matching case, else memenv's).

    Raises:
        ValueError: unknown profile, or a question whose metric no rule covers.
    """
    chosen = _profile_of(question, profile)
    for table in (chosen.cases, PROFILES["memenv"].cases):
        for case in table:
            if case.matches(question):
                return case.rule
    raise ValueError(f"no scoring rule for metric {question.metric!r}; valid metrics: {', '.join(sorted(METRICS))}")


@dataclass(frozen=True)
class QuestionScore:
    """One question scored under a profile.

    Attributes:
        score: in ``[0, 1]``, or None when the profile does not score this question (Mem0 leaves
            out LoCoMo's adversarial category); such questions are left out of averages.
        rule: the name of the rule that scored it.
        category: the question's category as the profile names it (LoCoMo numbers differ by protocol).
        extras: further scores the protocol reports (Mem0: ``bleu1``, and ``llm_judge`` with a judge).
    """

    score: float | None
    rule: str
    category: str
    extras: dict[str, float] = field(default_factory=dict)


def score_question(
    question: Any, prediction: str, *, profile: str = "default", judge: Judge | JudgeModel | None = None
) -> QuestionScore:
    """Score a :class:`~memenv.tasks.records.Question` (anything with ``question``, ``answers``,
    ``metric``, ``category``, ``metadata``) under a scoring profile (:data:`SCORING_PROFILES`).

    ``judge`` serves ``llm_judge`` rules; without it they use the offline fallback (see
    :func:`score_llm_judge`), and judge extras are not reported.

    >>> from memenv.tasks.records import Question
    >>> q = Question("Hobbies?", ("camping, hiking, swimming",), "token_f1", category="single_hop",
    ...              metadata={"benchmark": "locomo", "locomo_category": 4})
    >>> round(score_question(q, "swimming and camping").score, 4)   # stems and "and" removal: P 1, R 2/3
    0.8
    """
    chosen = _profile_of(question, profile)
    rule = rule_for(question, profile)
    metadata = question.metadata or {}
    value = score_rule(rule, prediction, question.answers, question=question.question, metadata=metadata, judge=judge)
    extras = {}
    if value is not None:
        for name, extra in rule.extras:
            if extra.metric == "llm_judge" and judge is None:
                continue
            extra_value = score_rule(
                extra, prediction, question.answers, question=question.question, metadata=metadata, judge=judge
            )
            if extra_value is not None:
                extras[name] = extra_value
    number = metadata.get("locomo_category")
    category = question.category
    if metadata.get("benchmark") == "locomo" and number in chosen.categories:
        category = chosen.categories[number]
    return QuestionScore(value, rule.name or rule.metric, category, extras)


# --------------------------------------------------------------------------------------------------
# Aggregation
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Aggregate:
    """Averages of question scores at three levels.

    Attributes:
        per_instance: ``(dataset, instance)`` -> mean score of that instance's questions.
        per_dataset: dataset -> mean of its instances' means (each instance weighs the same).
        mean: simple mean of the dataset means (each dataset weighs the same); 0.0 with no records.

    Keys are sorted (dicts keep insertion order), so printing or serialising is deterministic.
    """

    per_instance: dict[tuple[str, str], float]
    per_dataset: dict[str, float]
    mean: float


def _field(record: Any, name: str, index: int) -> Any:
    if isinstance(record, Mapping):
        if name not in record:
            raise ValueError(f"record {index} has no field {name!r}: {record!r}")
        return record[name]
    if not hasattr(record, name):
        raise ValueError(f"record {index} has no field {name!r}: {record!r}")
    return getattr(record, name)


def _mean(values: Iterable[float]) -> float:
    values = list(values)
    return math.fsum(values) / len(values)


def aggregate(records: Iterable[Mapping[str, Any] | Any]) -> Aggregate:
    """Average question scores per instance, then per dataset, then a simple mean over datasets.

    Each record is a mapping or an object with ``dataset``, ``instance`` and ``score`` (one record
    per question; dataset and instance are turned into strings). Mem-α's printed averages were not
    simple means over datasets (their issue #4); this one is: a dataset with 1 instance counts as
    much as one with 100, unlike the pooled mean over all instances.

    Empty ``records`` gives ``Aggregate({}, {}, 0.0)`` (nothing was scored, so nothing was earned).

    Raises:
        ValueError: a record lacks a field, or its score is not a finite number.

    >>> aggregate([{"dataset": "a", "instance": "1", "score": 1.0},
    ...            {"dataset": "b", "instance": "1", "score": 0.0},
    ...            {"dataset": "b", "instance": "2", "score": 0.0}]).mean
    0.5
    """
    scores: dict[tuple[str, str], list[float]] = defaultdict(list)
    for index, record in enumerate(records):
        dataset = str(_field(record, "dataset", index))
        instance = str(_field(record, "instance", index))
        value = _field(record, "score", index)
        if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
            raise ValueError(f"record {index} field 'score' must be a finite number, got {value!r}")
        scores[(dataset, instance)].append(float(value))

    per_instance = {key: _mean(scores[key]) for key in sorted(scores)}
    by_dataset: dict[str, list[float]] = defaultdict(list)
    for (dataset, _instance), value in per_instance.items():
        by_dataset[dataset].append(value)
    per_dataset = {dataset: _mean(by_dataset[dataset]) for dataset in sorted(by_dataset)}
    mean = _mean(per_dataset.values()) if per_dataset else 0.0
    return Aggregate(per_instance=per_instance, per_dataset=per_dataset, mean=mean)


# --------------------------------------------------------------------------------------------------
# Reader-free memory metrics: how much of the answer and its evidence the reader was shown
# --------------------------------------------------------------------------------------------------

STOP_WORDS = frozenset(
    " ".join(
        (
            "a about above after again against all also am an and any are as at be because been before being",
            "below between both but by can could did do does doing down during each else ever few for from",
            "further had has have having he her here hers herself him himself his how i if in into is it its",
            "itself just let me more most much must my myself no nor not now of off on once only or other our",
            "ours ourselves out over own same shall she should so some such than that the their theirs them",
            "themselves then there these they this those through to too under until up upon us very was we",
            "were what when where which while who whom whose why will with would yet you your yours yourself",
            "yourselves oh ok okay yeah yes hey hi wow really well got get gets going gonna thing things lot",
        )
    ).split()
)
"""English function words (and a few filler words of chat) left out of :func:`content_words`."""


def recall_tokens(texts: str | Iterable[str]) -> frozenset[str]:
    """The set of normalized tokens (:func:`normalize_answer`, split on whitespace) in ``texts``.

    This is the form of a reader's context that :func:`answer_recall` and :func:`evidence_recall`
    look tokens up in; build it once per context and reuse it for every question that sees it.
    """
    if isinstance(texts, str):
        texts = (texts,)
    tokens: set[str] = set()
    for text in texts:
        tokens.update(_normalized_words(text, _ARTICLE_WORDS))
    return frozenset(tokens)


def content_words(text: str) -> list[str]:
    """The distinct normalized tokens of ``text`` that are not :data:`STOP_WORDS`, in order.

    >>> content_words("She went to the LGBTQ support group yesterday.")
    ['went', 'lgbtq', 'support', 'group', 'yesterday']
    """
    return list(dict.fromkeys(_normalized_words(text, STOP_WORDS)))


def answer_recall(answers: Answers, context: frozenset[str], *, pooled: bool = False) -> float:
    """Share of the gold answer's normalized tokens present in the context (reader-free).

    With ``g`` the tokens of an alias (:func:`normalize_answer`, whitespace split, repeats kept) and
    ``C`` the token set of the context (:func:`recall_tokens`)::

        answer_recall = max over aliases of  |{i : g_i in C}| / |g|

    1.0 when the context holds every gold token, 0.0 for an empty context. Aliases that normalize to
    nothing are skipped (0.0 when none is left). With ``pooled=True`` the strings are not aliases but
    parts that all belong to the answer (``keyword_hit``'s keywords): their tokens are pooled into one
    ``g``. It bounds any reader from above in the sense that a reader cannot write a gold token it was
    never shown (except by guessing).

    >>> answer_recall(["7 May 2023"], recall_tokens("[Dialogue at 8 May, 2023] ... May 7 ..."))
    1.0
    >>> round(answer_recall(["adoption agencies"], recall_tokens("she called two agencies")), 2)
    0.5
    """
    aliases = _aliases(answers)
    golds = [_normalized_words(alias, _ARTICLE_WORDS) for alias in aliases]
    if pooled:
        golds = [[token for gold in golds for token in gold]]
    best = 0.0
    for gold in golds:
        if gold:
            best = max(best, sum(token in context for token in gold) / len(gold))
    return best


def evidence_recall(evidence: Sequence[str], context: frozenset[str]) -> float | None:
    """Mean over evidence items of the share of the item's content words present in the context.

    Each item is one statement the answer rests on (a dialogue turn, a fact sentence); its content
    words are :func:`content_words` (normalized tokens minus :data:`STOP_WORDS`, each counted once).
    ``C`` is the token set of the context (:func:`recall_tokens`)::

        evidence_recall = mean over items e with content words of  |{w in e : w in C}| / |e|

    ``None`` when there is no item with a content word (the source names no evidence): such
    questions are left out of means rather than counted as 0 or 1.

    >>> evidence_recall(["Mira guards the Copper Gate.", "The code of the Copper Gate is 4821."],
    ...                 recall_tokens("The code of the Copper Gate is 4821."))
    0.75
    """
    shares = []
    for item in evidence:
        words = _content_words(item)
        if words:
            # The words are distinct, so the ones in the context are counted by one set intersection.
            shares.append(len(context.intersection(words)) / len(words))
    return math.fsum(shares) / len(shares) if shares else None


@functools.lru_cache(maxsize=16384)
def _content_words(text: str) -> tuple[str, ...]:
    """:func:`content_words` as a tuple, memoised: evidence items recur across questions (a
    classification question's evidence is every labelled example) and across the systems evaluated."""
    return tuple(content_words(text))
