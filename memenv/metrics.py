"""The one metric module: every score a question can get, and how scores are averaged.

Each metric is a plain function ``score_<name>(prediction, answers) -> float`` in ``[0, 1]``; the name
is what :attr:`memenv.tasks.records.Question.metric` holds, and :func:`score` dispatches on it.

Metrics, by name (and the Mem-α ``data_source`` values that use them):

* ``subem``: a gold alias is a substring of the prediction, case-insensitive (squad, hotpotqa,
  perltqa).
* ``normalized_subem``: the same after SQuAD normalization, also tried on the text after the last
  ``Answer:`` (MemoryAgentBench; ruler_*).
* ``boxed_label_em``: the label in the first ``\\boxed{...}`` equals the gold label (pubmed-rct, icl_*).
* ``keyword_hit``: share of gold keywords found in the prediction (booksum, infbench_sum).
* ``token_f1``: token F1 (SQuAD, as in LoCoMo and Memory-R1).
* ``bleu1``: BLEU-1, clipped unigram precision times a brevity penalty (LoCoMo, Memory-R1).
* ``llm_judge``: a yes/no judge (LongMemEval; lme_*, longmemeval); offline fallback: normalized SubEM.

Conventions shared by every metric:

* ``answers`` is a sequence of aliases (any one counts; the best alias gives the score) or a single
  string, which is one alias. For ``keyword_hit`` the strings are keywords that should all appear.
  Numbers are accepted as aliases and turned into strings (LoCoMo has integer answers).
* Surrounding whitespace of an alias is ignored and blank aliases are dropped; ``answers`` with no
  non-blank alias is a data bug and raises :class:`ValueError`.
* An empty (or whitespace-only) prediction scores 0.0, whatever the gold.
* "Normalized" means SQuAD's ``normalize_answer``, see :func:`normalize_answer`. An alias that
  normalizes to nothing (``"the"``, ``"?"``) cannot be found by a normalized metric: it scores 0
  rather than matching every prediction.

Aggregation (:func:`aggregate`) averages question scores per instance, instance means per dataset,
and takes the simple mean of the dataset means, so every dataset weighs the same whatever its size.
"""

from __future__ import annotations

import math
import numbers
import re
import string
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = [
    "METRICS",
    "STOP_WORDS",
    "Aggregate",
    "Judge",
    "aggregate",
    "answer_recall",
    "answer_tail",
    "boxed_content",
    "content_words",
    "evidence_recall",
    "judge_prompt",
    "normalize_answer",
    "parse_judge_verdict",
    "recall_tokens",
    "score",
    "score_bleu1",
    "score_boxed_label_em",
    "score_keyword_hit",
    "score_llm_judge",
    "score_normalized_subem",
    "score_subem",
    "score_token_f1",
]

Answers = str | Sequence[str]
"""Gold answers: one string, or a sequence of aliases (keywords for ``keyword_hit``)."""

Judge = Callable[[str, tuple[str, ...], str], bool]
"""A judge callable: ``judge(question, answers, prediction) -> bool`` (True = the prediction is correct)."""


# --------------------------------------------------------------------------------------------------
# Shared steps: aliases, normalization
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
_PUNCTUATION = str.maketrans("", "", string.punctuation)


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
    text = text.lower().translate(_PUNCTUATION)
    text = _ARTICLES.sub(" ", text)
    return " ".join(text.split())


_ANSWER_MARKER = re.compile(r"answer\s*:", re.IGNORECASE)


def answer_tail(prediction: str) -> str | None:
    """The text after the last ``Answer:`` (case-insensitive) in ``prediction``, or None without one.

    MemoryAgentBench scores both the whole reply and this tail, so a model that reasons first and
    then writes ``Answer: X`` is judged on ``X`` as well.

    >>> answer_tail("Let me think. Answer: maybe. Final Answer: Paris")
    ' Paris'
    """
    matches = list(_ANSWER_MARKER.finditer(prediction))
    if not matches:
        return None
    return prediction[matches[-1].end() :]


# --------------------------------------------------------------------------------------------------
# Containment metrics
# --------------------------------------------------------------------------------------------------


def score_subem(prediction: str, answers: Answers) -> float:
    """Substring exact match (Mem-α): 1.0 if any alias, lowercased, occurs in the lowercased prediction.

    No other normalization: punctuation and articles must match (``"U.S."`` is not found in ``"US"``).

    >>> score_subem("It was in PARIS, France.", ["paris", "Lutetia"])
    1.0
    """
    aliases = _aliases(answers)
    if _is_empty(prediction):
        return 0.0
    text = prediction.lower()
    return 1.0 if any(alias.lower() in text for alias in aliases) else 0.0


def score_normalized_subem(prediction: str, answers: Answers) -> float:
    """Normalized substring exact match (MemoryAgentBench).

    Score = max over aliases ``g`` and over candidates ``p`` of ``[normalize(g) in normalize(p)]``,
    where the candidates are the whole prediction and, when present, the text after its last
    ``Answer:`` (:func:`answer_tail`). Containment is on the normalized strings, not on word
    boundaries (``"cat"`` is found in ``"concatenate"``), as in MemoryAgentBench. Since the tail is a
    part of the prediction it rarely changes this verdict; it is kept so the candidates are the same
    as MemoryAgentBench's.

    >>> score_normalized_subem("Answer: the U.S.", ["US"])
    1.0
    """
    aliases = _aliases(answers)
    if _is_empty(prediction):
        return 0.0
    candidates = [normalize_answer(prediction)]
    tail = answer_tail(prediction)
    if tail is not None:
        candidates.append(normalize_answer(tail))
    for alias in aliases:
        gold = normalize_answer(alias)
        if gold and any(gold in candidate for candidate in candidates):
            return 1.0
    return 0.0


def score_keyword_hit(prediction: str, answers: Answers) -> float:
    """Share of gold keywords present in the prediction (long-range understanding / summaries).

    Score = (number of keywords ``k`` with ``normalize(k) in normalize(prediction)``) / (number of
    keywords). Duplicated keywords count twice. A keyword that normalizes to nothing is a miss.

    Raises:
        ValueError: no keywords (an empty list, or only blank strings).

    >>> score_keyword_hit("Alice married Bob in Rome.", ["Alice", "Bob", "Paris", "wedding"])
    0.5
    """
    keywords = _aliases(answers, argument="keywords")
    if _is_empty(prediction):
        return 0.0
    text = normalize_answer(prediction)
    hits = 0
    for keyword in keywords:
        gold = normalize_answer(keyword)
        if gold and gold in text:
            hits += 1
    return hits / len(keywords)


# --------------------------------------------------------------------------------------------------
# Label exact match
# --------------------------------------------------------------------------------------------------

_BOXED = re.compile(r"\\boxed\s*\{")
_DIGITS = re.compile(r"\d+")


def boxed_content(prediction: str) -> str | None:
    """The content of the first ``\\boxed{...}`` in ``prediction`` (braces balanced), or None.

    Nested braces are kept inside: ``\\boxed{\\text{3}}`` gives ``\\text{3}``. A ``\\boxed{`` that is
    never closed gives None (nothing after it can be a well-formed first box).

    >>> boxed_content(r"so \\boxed{12} and not \\boxed{3}")
    '12'
    """
    match = _BOXED.search(prediction)
    if match is None:
        return None
    depth = 1
    for position in range(match.end(), len(prediction)):
        char = prediction[position]
        if char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
            if depth == 0:
                return prediction[match.end() : position]
    return None


def _label(text: str) -> str:
    """A label's comparable form: its first run of digits, else the stripped lowercased text."""
    digits = _DIGITS.search(text)
    return digits.group() if digits else text.strip().lower()


def score_boxed_label_em(prediction: str, answers: Answers) -> float:
    """Exact match of the label in the first ``\\boxed{...}`` (test-time learning / classification).

    The predicted label is the first run of digits inside the first box (``\\boxed{12}`` -> ``"12"``,
    ``\\boxed{ 7 }`` -> ``"7"``, ``\\boxed{label: 3}`` -> ``"3"``); the gold label is the first run
    of digits of each alias. They must be equal as strings: ``"12" != "1"`` and ``"07" != "7"``.
    Only the first box counts, so boxing every label does not help. A box, or an alias, without
    digits is compared by its whole stripped lowercased text instead (for word labels).
    No box, or an empty box, scores 0.

    >>> score_boxed_label_em(r"The label is \\boxed{label: 12}.", ["12"])
    1.0
    """
    aliases = _aliases(answers)
    if _is_empty(prediction):
        return 0.0
    content = boxed_content(prediction)
    if content is None or not content.strip():
        return 0.0
    predicted = _label(content)
    return 1.0 if any(_label(alias) == predicted for alias in aliases) else 0.0


# --------------------------------------------------------------------------------------------------
# Token overlap metrics
# --------------------------------------------------------------------------------------------------


def score_token_f1(prediction: str, answers: Answers) -> float:
    """Token F1 (SQuAD, as used by LoCoMo and Memory-R1), max over aliases.

    Tokens are the whitespace-split words of :func:`normalize_answer`. With ``overlap`` = the size of
    the multiset intersection of prediction and gold tokens (``Counter`` ``&``)::

        precision = overlap / len(prediction_tokens)
        recall    = overlap / len(gold_tokens)
        F1        = 2 * precision * recall / (precision + recall)     (0 when overlap == 0)

    LoCoMo's own script also Porter-stems tokens; memenv does not (no NLTK), so inflected forms
    (``"runs"`` vs ``"run"``) do not match here.

    >>> round(score_token_f1("the cat sat down", ["a cat sat on the mat"]), 4)  # P 2/3, R 2/4
    0.5714
    """
    aliases = _aliases(answers)
    if _is_empty(prediction):
        return 0.0
    predicted = normalize_answer(prediction).split()
    if not predicted:
        return 0.0
    best = 0.0
    for alias in aliases:
        gold = normalize_answer(alias).split()
        overlap = sum((Counter(predicted) & Counter(gold)).values())
        if overlap == 0:
            continue
        precision = overlap / len(predicted)
        recall = overlap / len(gold)
        best = max(best, 2 * precision * recall / (precision + recall))
    return best


def score_bleu1(prediction: str, answers: Answers) -> float:
    """BLEU-1 (LoCoMo / Memory-R1), each alias a single reference, max over aliases.

    On the normalized tokens (as in :func:`score_token_f1`), with candidate ``c`` = prediction tokens
    and reference ``r`` = alias tokens::

        clipped   = sum over words w of min(count_c(w), count_r(w))
        p1        = clipped / len(c)
        BP        = 1                          if len(c) > len(r)
                    exp(1 - len(r) / len(c))   otherwise
        BLEU-1    = BP * p1

    No smoothing is needed for a single n-gram order. This is NLTK's ``sentence_bleu(..., weights=(1,))``
    for one reference; with several references NLTK would pool them (clip by the max count, brevity
    against the closest length), whereas memenv scores each alias alone and keeps the best, like the
    other metrics here.

    >>> round(score_bleu1("cat sat", ["the cat sat on the mat"]), 4)  # p1 = 1, BP = exp(1 - 4/2)
    0.3679
    """
    aliases = _aliases(answers)
    if _is_empty(prediction):
        return 0.0
    candidate = normalize_answer(prediction).split()
    if not candidate:
        return 0.0
    candidate_counts = Counter(candidate)
    best = 0.0
    for alias in aliases:
        reference = normalize_answer(alias).split()
        if not reference:
            continue
        clipped = sum((candidate_counts & Counter(reference)).values())
        precision = clipped / len(candidate)
        brevity = 1.0 if len(candidate) > len(reference) else math.exp(1 - len(reference) / len(candidate))
        best = max(best, brevity * precision)
    return best


# --------------------------------------------------------------------------------------------------
# LLM judge (LongMemEval style)
# --------------------------------------------------------------------------------------------------


def judge_prompt(question: str, answer: Answers, prediction: str, abstention: bool = False) -> str:
    """The prompt for a yes/no judge, in the manner of LongMemEval's evaluation (our wording).

    ``answer`` may be one string or several aliases (joined with ``" | "``). With ``abstention=True``
    the gold is an explanation of why the question cannot be answered, and the judge is asked
    whether the response declines to answer instead of inventing one. The prompt ends by asking for
    a single word, ``yes`` or ``no``, which :func:`parse_judge_verdict` reads.
    """
    gold = " | ".join(_aliases(answer, argument="answer"))
    if abstention:
        return (
            "You are grading a chat assistant. The question below cannot be answered from what the "
            "assistant was told; the note explains why.\n\n"
            f"Question: {question}\n"
            f"Why it cannot be answered: {gold}\n"
            f"Assistant's response: {prediction}\n\n"
            "Does the response recognise that the question cannot be answered (it says it does not "
            "know, or that the information is missing) rather than give a made-up answer? "
            "Reply with one word: yes or no."
        )
    return (
        "You are grading a chat assistant's answer against a reference answer.\n\n"
        f"Question: {question}\n"
        f"Reference answer: {gold}\n"
        f"Assistant's response: {prediction}\n\n"
        "Is the response correct? Count it correct if it contains the reference answer or says the "
        "same thing in other words, or if it gives the intermediate steps and then the right final "
        "answer. Count it incorrect if it gives a different answer, misses part of what the "
        "reference requires, or only hedges. For questions about dates or durations, an answer off by "
        "one day or unit is still correct when the reference itself is approximate.\n"
        "Reply with one word: yes or no."
    )


_VERDICT = re.compile(r"\b(yes|no)\b", re.IGNORECASE)


def parse_judge_verdict(text: str) -> bool:
    """Read a judge's reply: True for yes, False for no.

    The first standalone ``yes`` or ``no`` (any case, any punctuation or markup around it) decides:
    ``"Yes."``, ``"**YES**"``, ``"Verdict: yes"`` are True; ``"No, although yes-men..."`` is False.
    A reply with neither word is False: an unclear verdict earns no credit. (LongMemEval checks
    ``'yes' in reply.lower()``, which reads ``"no, not yesterday"`` as yes; this does not.)
    """
    match = _VERDICT.search(text or "")
    return match is not None and match.group(1).lower() == "yes"


def score_llm_judge(prediction: str, answers: Answers, question: str = "", judge: Judge | None = None) -> float:
    """LongMemEval-style judged correctness: 1.0 if ``judge(question, answers, prediction)`` is true.

    ``judge`` receives the aliases as a tuple of stripped strings; build it from any reader backend
    with :func:`judge_prompt` and :func:`parse_judge_verdict`. An empty prediction scores 0 without
    calling the judge.

    Offline fallback: with ``judge=None`` the score is :func:`score_normalized_subem` (no model is
    needed, results are deterministic; it is stricter than an LLM judge on paraphrases).
    """
    aliases = _aliases(answers)
    if _is_empty(prediction):
        return 0.0
    if judge is None:
        return score_normalized_subem(prediction, aliases)
    return 1.0 if judge(question, aliases, prediction) else 0.0


# --------------------------------------------------------------------------------------------------
# Dispatch
# --------------------------------------------------------------------------------------------------

METRICS: dict[str, Callable[..., float]] = {
    "subem": score_subem,
    "normalized_subem": score_normalized_subem,
    "boxed_label_em": score_boxed_label_em,
    "keyword_hit": score_keyword_hit,
    "token_f1": score_token_f1,
    "bleu1": score_bleu1,
    "llm_judge": score_llm_judge,
}
"""Metric name (as in ``Question.metric``) -> scoring function ``(prediction, answers) -> float``."""


def score(metric: str, prediction: str, answers: Answers, *, question: str = "", judge: Judge | None = None) -> float:
    """Score ``prediction`` against ``answers`` with the metric named ``metric``.

    ``question`` and ``judge`` are used by ``llm_judge`` only and ignored by the other metrics, so a
    caller can pass them for every question.

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
        tokens.update(normalize_answer(text).split())
    return frozenset(tokens)


def content_words(text: str) -> list[str]:
    """The distinct normalized tokens of ``text`` that are not :data:`STOP_WORDS`, in order.

    >>> content_words("She went to the LGBTQ support group yesterday.")
    ['went', 'lgbtq', 'support', 'group', 'yesterday']
    """
    return list(dict.fromkeys(t for t in normalize_answer(text).split() if t not in STOP_WORDS))


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
    golds = [normalize_answer(alias).split() for alias in aliases]
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
        words = content_words(item)
        if words:
            shares.append(sum(word in context for word in words) / len(words))
    return math.fsum(shares) / len(shares) if shares else None
