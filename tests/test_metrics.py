"""Tests for memenv.metrics: every expected value is computed by hand in the comment beside it."""

from __future__ import annotations

import dataclasses
import math

import pytest

from memenv import metrics
from memenv.metrics import (
    METRICS,
    Aggregate,
    aggregate,
    answer_tail,
    boxed_content,
    judge_prompt,
    normalize_answer,
    parse_judge_verdict,
    score,
    score_bleu1,
    score_boxed_label_em,
    score_keyword_hit,
    score_llm_judge,
    score_normalized_subem,
    score_subem,
    score_token_f1,
)

# --------------------------------------------------------------------------------------------------
# Shared conventions
# --------------------------------------------------------------------------------------------------


def test_metric_names_are_the_agreed_ones() -> None:
    assert set(METRICS) == {
        "subem",
        "normalized_subem",
        "exact_match",
        "boxed_label_em",
        "keyword_hit",
        "token_f1",
        "bleu1",
        "llm_judge",
        "recall_at_5",
    }


@pytest.mark.parametrize("metric", sorted(METRICS))
@pytest.mark.parametrize("prediction", ["", "   \n\t"])
def test_empty_prediction_scores_zero_for_every_metric(metric: str, prediction: str) -> None:
    # "12" would be found by every metric if the prediction were "\boxed{12}"; empty text finds nothing.
    assert score(metric, prediction, ["12"]) == 0.0


@pytest.mark.parametrize("metric", sorted(METRICS))
@pytest.mark.parametrize("answers", [[], ["", "   "], ""])
def test_answers_without_a_non_blank_string_are_rejected(metric: str, answers: list[str] | str) -> None:
    with pytest.raises(ValueError, match="non-blank"):
        score(metric, "anything", answers)


@pytest.mark.parametrize("answers", [None, [None], [b"bytes"]])
def test_answers_of_the_wrong_type_are_rejected(answers: object) -> None:
    with pytest.raises(TypeError):
        score_subem("anything", answers)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("metric", "expected"),
    [
        # Iterated as characters, "Paris" would give the aliases p, a, r, i, s and "is" would match.
        ("subem", 0.0),
        ("normalized_subem", 0.0),
        ("llm_judge", 0.0),
        # As characters: "i" and "s" found -> 2/5; as one keyword: 0/1.
        ("keyword_hit", 0.0),
    ],
)
def test_a_single_string_answer_is_one_alias(metric: str, expected: float) -> None:
    assert score(metric, "it is", "Paris") == expected
    assert score(metric, "Paris", "Paris") == 1.0


def test_numeric_aliases_are_compared_as_text() -> None:
    # LoCoMo stores some answers as JSON numbers.
    assert score_subem("It happened in 2022.", [2022]) == 1.0  # type: ignore[list-item]
    assert score_token_f1("2022", [2022]) == 1.0  # type: ignore[list-item]


def test_unknown_metric_names_itself_and_the_valid_ones() -> None:
    with pytest.raises(ValueError) as excinfo:
        score("rouge_l", "a", ["a"])
    message = str(excinfo.value)
    assert "'rouge_l'" in message
    for name in METRICS:
        assert name in message


# --------------------------------------------------------------------------------------------------
# Normalization
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("The  Eiffel-Tower, in Paris!", "eiffeltower in paris"),  # punctuation deleted, not spaced
        ("An apple a day", "apple day"),  # all three articles go
        ("Theater and anthem", "theater and anthem"),  # articles only as whole words
        ("U.S.", "us"),
        ("  A.  ", ""),  # only an article: nothing left
        ("Tab\tand\nnewline", "tab and newline"),
    ],
)
def test_normalize_answer(text: str, expected: str) -> None:
    assert normalize_answer(text) == expected


@pytest.mark.parametrize(
    ("prediction", "expected"),
    [
        ("Reasoning. Answer: maybe. Final answer: Paris", " Paris"),  # the last marker, any case
        ("ANSWER:42", "42"),
        ("Answer : 7", " 7"),  # space before the colon
        ("No marker here", None),
        ("Answer:", ""),
    ],
)
def test_answer_tail(prediction: str, expected: str | None) -> None:
    assert answer_tail(prediction) == expected


# --------------------------------------------------------------------------------------------------
# SubEM and normalized SubEM
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("prediction", "answers", "expected"),
    [
        ("It was in PARIS, France.", ["paris"], 1.0),  # case-insensitive containment
        ("Lyon", ["Paris", "lyon"], 1.0),  # second alias matches
        ("Lyon", ["Paris", "Rome"], 0.0),
        ("The U.S. army", ["US"], 0.0),  # no punctuation normalization in plain SubEM
        ("in paris.", ["  Paris  "], 1.0),  # alias whitespace ignored
        ("Lyon", ["", "Paris"], 0.0),  # a blank alias would be "contained" in everything: dropped
        ("concatenate", ["cat"], 1.0),  # substring, not word, containment
    ],
)
def test_subem(prediction: str, answers: list[str], expected: float) -> None:
    assert score_subem(prediction, answers) == expected


@pytest.mark.parametrize(
    ("prediction", "answers", "expected"),
    [
        ("Answer: the U.S.", ["US"], 1.0),  # "answer us" contains "us"
        ("We think it's the Big Apple!", ["big-apple"], 0.0),  # "bigapple" vs "big apple"
        ("We think it's the Big Apple!", ["The Big Apple."], 1.0),  # "big apple" in "we think its big apple"
        ("Paris, France", ["Rome", "france."], 1.0),  # max over aliases
        ("Lyon", ["the"], 0.0),  # alias normalizes to "": never found
        ("Thought: maybe Rome? Answer: Paris", ["paris"], 1.0),
        ("Answer: Lyon", ["Paris"], 0.0),
    ],
)
def test_normalized_subem(prediction: str, answers: list[str], expected: float) -> None:
    assert score_normalized_subem(prediction, answers) == expected


# --------------------------------------------------------------------------------------------------
# Boxed label EM
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("prediction", "answers", "expected"),
    [
        (r"\boxed{12}", ["12"], 1.0),
        (r"\boxed{12}", ["1"], 0.0),  # "12" != "1": whole digit strings
        (r"\boxed{1}", ["12"], 0.0),
        (r"The label is \boxed{ 7 }.", ["7"], 1.0),
        (r"\boxed{label: 3}", ["3"], 1.0),
        (r"\boxed{3}", ["label: 3"], 1.0),  # gold digits extracted too
        (r"first \boxed{4} then \boxed{5}", ["5"], 0.0),  # the first box wins
        (r"first \boxed{4} then \boxed{5}", ["4"], 1.0),
        ("The label is 5", ["5"], 0.0),  # no box
        (r"\boxed{}", ["5"], 0.0),  # empty box
        (r"\boxed{3", ["3"], 0.0),  # never closed
        (r"\boxed{\text{3}}", ["3"], 1.0),  # nested braces
        (r"\boxed{07}", ["7"], 0.0),  # exact string: leading zero differs
        (r"\boxed{2}", ["1", "2"], 1.0),  # aliases
        (r"\boxed{Positive}", ["positive"], 1.0),  # word labels: whole text, case-insensitive
        (r"<think>maybe \boxed{3}</think> \boxed{4}", ["4"], 1.0),  # the draft inside the reasoning is not read
        (r"<think>maybe \boxed{3}</think> \boxed{4}", ["3"], 0.0),
        (r"<think>maybe \boxed{4}", ["4"], 0.0),  # reasoning never closed: no answer
    ],
)
def test_boxed_label_em(prediction: str, answers: list[str], expected: float) -> None:
    assert score_boxed_label_em(prediction, answers) == expected


@pytest.mark.parametrize(
    ("prediction", "expected"),
    [
        (r"a \boxed{x} b \boxed{y}", "x"),
        (r"\boxed {a{b}c}", "a{b}c"),
        (r"\boxed{open", None),
        ("plain", None),
    ],
)
def test_boxed_content(prediction: str, expected: str | None) -> None:
    assert boxed_content(prediction) == expected


# --------------------------------------------------------------------------------------------------
# Keyword hit
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("prediction", "keywords", "expected"),
    [
        ("Alice married Bob in Rome.", ["Alice", "Bob", "Paris", "wedding"], 2 / 4),
        ("The Treaty was signed.", ["treaty", "signed", "war"], 2 / 3),
        ("the U.S. treaty", ["U.S."], 1.0),  # "us" in "us treaty" after normalization
        ("nothing relevant", ["alpha", "beta"], 0.0),
        ("Alice", ["Alice", "Alice", "Bob"], 2 / 3),  # duplicates count twice
        ("Alice", ["the", "Alice"], 1 / 2),  # a keyword that normalizes to "" is a miss
    ],
)
def test_keyword_hit(prediction: str, keywords: list[str], expected: float) -> None:
    assert score_keyword_hit(prediction, keywords) == pytest.approx(expected)


def test_keyword_hit_requires_keywords() -> None:
    with pytest.raises(ValueError, match="keywords"):
        score_keyword_hit("Alice", [])


# --------------------------------------------------------------------------------------------------
# Token F1 and BLEU-1
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("prediction", "answers", "expected"),
    [
        # pred [cat, sat, down], gold [cat, sat, on, mat]: overlap 2, P = 2/3, R = 2/4 = 1/2,
        # F1 = 2 * (2/3)(1/2) / (2/3 + 1/2) = (2/3) / (7/6) = 4/7.
        ("the cat sat down", ["a cat sat on the mat"], 4 / 7),
        ("Paris", ["paris."], 1.0),
        ("Lyon", ["Paris"], 0.0),
        # "new york" vs [new, york, city]: P = 2/2, R = 2/3, F1 = 2 * (2/3) / (5/3) = 4/5; vs "nyc": 0.
        ("New York", ["new york city", "NYC"], 4 / 5),
        # Counter overlap clips repeats: min(3, 1) = 1, P = 1/3, R = 1, F1 = (2/3) / (4/3) = 1/2.
        ("cat cat cat", ["cat"], 1 / 2),
        ("the", ["the"], 0.0),  # both normalize to no tokens
    ],
)
def test_token_f1(prediction: str, answers: list[str], expected: float) -> None:
    assert score_token_f1(prediction, answers) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("prediction", "answers", "expected"),
    [
        # c = [cat, sat] (2), r = [cat, sat, on, mat] (4): p1 = 2/2, BP = exp(1 - 4/2) = e^-1.
        ("cat sat", ["the cat sat on the mat"], math.exp(-1)),
        # c = [cat, sat, on, red, mat, today] (6) > r (4): BP = 1, p1 = 4/6.
        ("the cat sat on a red mat today", ["the cat sat on the mat"], 4 / 6),
        # equal lengths: BP = exp(1 - 4/4) = 1, p1 = 4/4.
        ("cat sat on mat", ["the cat sat on the mat"], 1.0),
        # clipping: count_c(cat) = 4, count_r(cat) = 1 -> clipped 1, p1 = 1/4, BP = exp(0) = 1.
        ("cat cat cat cat", ["cat sat on mat"], 1 / 4),
        # max over aliases: e^-1 against the long alias, 1.0 against "cat sat".
        ("cat sat", ["cat sat on mat", "cat sat"], 1.0),
        # c = [cat] (1), r = [cat, sat] (2): p1 = 1, BP = exp(1 - 2) = e^-1; the other alias gives 0.
        ("cat", ["dog", "cat sat"], math.exp(-1)),
        ("Lyon", ["Paris"], 0.0),
    ],
)
def test_bleu1(prediction: str, answers: list[str], expected: float) -> None:
    assert score_bleu1(prediction, answers) == pytest.approx(expected)


def test_bleu1_brevity_penalty_separates_it_from_precision() -> None:
    # Same clipped precision (1.0) for both, but the short one is penalized: exp(1 - 4/1) = e^-3.
    assert score_bleu1("cat", ["cat sat on mat"]) == pytest.approx(math.exp(-3))
    assert score_bleu1("cat sat on mat", ["cat sat on mat"]) == 1.0


# --------------------------------------------------------------------------------------------------
# LLM judge
# --------------------------------------------------------------------------------------------------


class FakeJudge:
    """Says yes when the prediction contains "right"; records every call."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, tuple[str, ...], str]] = []

    def __call__(self, question: str, answers: tuple[str, ...], prediction: str) -> bool:
        self.calls.append((question, answers, prediction))
        return "right" in prediction


def test_llm_judge_uses_the_judge_verdict() -> None:
    judge = FakeJudge()
    # The fake judge accepts a prediction no containment metric would (gold "Paris" is absent).
    assert score_llm_judge("the right city", [" Paris ", "Lutetia"], question="Where?", judge=judge) == 1.0
    assert score_llm_judge("Paris", ["Paris"], question="Where?", judge=judge) == 0.0
    assert judge.calls == [
        ("Where?", ("Paris", "Lutetia"), "the right city"),
        ("Where?", ("Paris",), "Paris"),
    ]


def test_llm_judge_does_not_call_the_judge_on_an_empty_prediction() -> None:
    judge = FakeJudge()
    assert score_llm_judge("  ", ["Paris"], judge=judge) == 0.0
    assert judge.calls == []


@pytest.mark.parametrize(
    ("prediction", "answers", "expected"),
    [
        ("Answer: the U.S.", ["US"], 1.0),  # normalized SubEM finds "us"; plain SubEM would not
        ("the right city", ["Paris"], 0.0),
    ],
)
def test_llm_judge_offline_fallback_is_normalized_subem(prediction: str, answers: list[str], expected: float) -> None:
    assert score_llm_judge(prediction, answers) == expected
    assert score_normalized_subem(prediction, answers) == expected


def test_score_passes_question_and_judge_to_llm_judge_only() -> None:
    judge = FakeJudge()
    assert score("llm_judge", "the right city", ["Paris"], question="Q?", judge=judge) == 1.0
    assert judge.calls == [("Q?", ("Paris",), "the right city")]
    # Other metrics ignore the judge: SubEM of "the right city" against "Paris" is 0.
    assert score("subem", "the right city", ["Paris"], question="Q?", judge=judge) == 0.0
    assert len(judge.calls) == 1


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        ("yes", True),
        ("Yes.", True),
        ("**YES**", True),
        ("'yes'", True),
        ("Verdict: yes", True),
        ("\n  Yes, the response matches.", True),
        ("no", False),
        ("NO.", False),
        ("No, not yesterday.", False),  # "yes" inside "yesterday" is not a verdict
        ("No. A yes-man would say yes.", False),  # the first verdict word decides
        ("yesterday", False),
        ("nope", False),
        ("I cannot tell.", False),  # unclear: no credit
        ("", False),
    ],
)
def test_parse_judge_verdict(reply: str, expected: bool) -> None:
    assert parse_judge_verdict(reply) is expected


def test_judge_prompt_is_longmemevals_default_template_word_for_word() -> None:
    # The template of LongMemEval's evaluate_qa.py for single-session-user, -assistant and multi-session.
    expected = (
        "I will give you a question, a correct answer, and a response from a model. Please answer yes if the "
        "response contains the correct answer. Otherwise, answer no. If the response is equivalent to the "
        "correct answer or contains all the intermediate steps to get the correct answer, you should also "
        "answer yes. If the response only contains a subset of the information required by the answer, answer "
        "no. \n\nQuestion: Where is the tower?\n\nCorrect Answer: Paris | Lutetia\n\nModel Response: In Paris."
        "\n\nIs the model response correct? Answer yes or no only."
    )
    assert judge_prompt("Where is the tower?", ["Paris", "Lutetia"], "In Paris.") == expected
    for kind in ("single-session-user", "single-session-assistant", "multi-session", "", "unknown-type"):
        assert judge_prompt("Where is the tower?", ["Paris", "Lutetia"], "In Paris.", question_type=kind) == expected


@pytest.mark.parametrize(
    ("question_type", "phrase", "gold_label"),
    [
        ("temporal-reasoning", "do not penalize off-by-one errors for the number of days", "Correct Answer:"),
        ("knowledge-update", "as long as the updated answer is the required answer.\n\n", "Correct Answer:"),
        ("single-session-preference", "recalls and utilizes the user's personal information correctly", "Rubric:"),
    ],
)
def test_judge_prompt_per_question_type(question_type: str, phrase: str, gold_label: str) -> None:
    prompt = judge_prompt("Q?", "gold", "resp", question_type=question_type)
    assert phrase in prompt
    assert f"\n\n{gold_label} gold\n\nModel Response: resp\n\n" in prompt
    assert prompt.endswith("Is the model response correct? Answer yes or no only.")


def test_judge_prompt_abstention_asks_whether_the_response_declines() -> None:
    normal = judge_prompt("What is my cat's name?", "never mentioned", "Tom")
    abstain = judge_prompt("What is my cat's name?", "never mentioned", "Tom", abstention=True)
    assert abstain != normal
    assert abstain.startswith("I will give you an unanswerable question, an explanation, and a response")
    assert "\n\nExplanation: never mentioned\n\nModel Response: Tom\n\n" in abstain
    assert abstain.endswith("Does the model correctly identify the question as unanswerable? Answer yes or no only.")
    # The abstention template wins over the question type.
    assert judge_prompt("Q", "x", "y", question_type="temporal-reasoning", abstention=True).startswith(
        "I will give you an unanswerable question"
    )


# --------------------------------------------------------------------------------------------------
# Aggregation
# --------------------------------------------------------------------------------------------------


@dataclasses.dataclass
class Row:
    dataset: str
    instance: str
    score: float


def test_aggregate_is_a_simple_mean_over_datasets() -> None:
    records = [
        {"dataset": "b", "instance": "j1", "score": 0.0},
        Row("a", "i2", 1.0),
        {"dataset": "a", "instance": "i1", "score": 1.0},
        {"dataset": "a", "instance": "i1", "score": 0.0},
        Row("a", "i3", 1.0),
    ]
    result = aggregate(records)
    # Instances: a/i1 = (1 + 0)/2 = 0.5, a/i2 = 1, a/i3 = 1, b/j1 = 0.
    assert result.per_instance == {("a", "i1"): 0.5, ("a", "i2"): 1.0, ("a", "i3"): 1.0, ("b", "j1"): 0.0}
    # Datasets: a = (0.5 + 1 + 1)/3 = 5/6, b = 0.
    assert result.per_dataset == pytest.approx({"a": 5 / 6, "b": 0.0})
    # Simple mean = (5/6 + 0)/2 = 5/12; pooled over instances would be 2.5/4 = 0.625 and pooled
    # over questions 3/5 = 0.6.
    assert result.mean == pytest.approx(5 / 12)
    assert result.mean != pytest.approx(0.625)
    assert result.mean != pytest.approx(0.6)
    # Keys sorted whatever the input order.
    assert list(result.per_dataset) == ["a", "b"]
    assert list(result.per_instance) == [("a", "i1"), ("a", "i2"), ("a", "i3"), ("b", "j1")]


def test_aggregate_of_nothing_is_zero() -> None:
    assert aggregate([]) == Aggregate(per_instance={}, per_dataset={}, mean=0.0)


def test_aggregate_turns_ids_into_strings() -> None:
    result = aggregate([{"dataset": "squad", "instance": 7, "score": 1}])
    assert result.per_instance == {("squad", "7"): 1.0}
    assert result.mean == 1.0


def test_aggregate_is_frozen() -> None:
    result = aggregate([Row("a", "1", 1.0)])
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.mean = 0.0  # type: ignore[misc]


@pytest.mark.parametrize(
    ("record", "message"),
    [
        ({"dataset": "a", "instance": "1"}, "record 0 has no field 'score'"),
        ({"instance": "1", "score": 1.0}, "record 0 has no field 'dataset'"),
        ({"dataset": "a", "instance": "1", "score": float("nan")}, "finite number"),
        ({"dataset": "a", "instance": "1", "score": "1.0"}, "finite number"),
        ({"dataset": "a", "instance": "1", "score": True}, "finite number"),
    ],
)
def test_aggregate_rejects_bad_records(record: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        aggregate([record])


# --------------------------------------------------------------------------------------------------
# Reader-free memory metrics
# --------------------------------------------------------------------------------------------------


def test_recall_tokens_normalize_like_the_metrics() -> None:
    assert metrics.recall_tokens(["The Eiffel-Tower,", "in PARIS!"]) == {"eiffeltower", "in", "paris"}
    assert metrics.recall_tokens("") == frozenset()


def test_answer_recall_by_hand() -> None:
    context = metrics.recall_tokens("[Dialogue at 1:56 pm on 8 May, 2023] Caroline: I went to a support group.")
    # "7 May 2023": may and 2023 are there, 7 is not -> 2/3
    assert metrics.answer_recall(["7 May 2023"], context) == pytest.approx(2 / 3)
    # max over aliases: the second alias is fully present
    assert metrics.answer_recall(["adoption agencies", "support group"], context) == 1.0
    # articles and punctuation are normalized away on both sides ("the", "!")
    assert metrics.answer_recall(["The support group!"], context) == 1.0
    # an empty context holds nothing
    assert metrics.answer_recall(["support group"], frozenset()) == 0.0
    # an alias that normalizes to nothing is skipped; none left -> 0
    assert metrics.answer_recall(["the", "support"], context) == 1.0
    assert metrics.answer_recall(["?"], context) == 0.0


def test_answer_recall_counts_repeated_gold_tokens_and_pools_keywords() -> None:
    context = metrics.recall_tokens("alice married bob")
    assert metrics.answer_recall(["alice and alice"], context) == pytest.approx(2 / 3)
    # keyword_hit answers are parts of one answer, not aliases: pooled -> 2 of 4 keyword tokens
    keywords = ["Alice", "Bob", "Paris", "wedding"]
    assert metrics.answer_recall(keywords, context) == 1.0  # as aliases, "Alice" alone is complete
    assert metrics.answer_recall(keywords, context, pooled=True) == 0.5


def test_content_words_drop_stop_words_and_repeats() -> None:
    assert metrics.content_words("Yeah, I went to the LGBTQ support group and the group was great!") == [
        "went",
        "lgbtq",
        "support",
        "group",
        "great",
    ]


def test_evidence_recall_by_hand() -> None:
    context = metrics.recall_tokens("Caroline went to a support group.")
    items = ["Caroline: I went to a LGBTQ support group yesterday.", "Melanie painted a sunrise."]
    # item 1: caroline, went, lgbtq, support, group, yesterday -> 4/6; item 2: melanie, painted, sunrise -> 0/3
    assert metrics.evidence_recall(items, context) == pytest.approx((4 / 6 + 0) / 2)
    # stop words never count: an item of stop words only is skipped
    assert metrics.evidence_recall(["It was so.", "Caroline went"], context) == 1.0
    # no evidence, or none with a content word: undefined, not 0
    assert metrics.evidence_recall([], context) is None
    assert metrics.evidence_recall(["and the of"], context) is None
    assert metrics.evidence_recall(items, frozenset()) == 0.0


def test_evidence_recall_equals_the_plain_sum_on_random_items() -> None:
    # evidence_recall memoises each item's content words and counts the ones in the context by a set
    # intersection; the mean must be the plain formula's, to the bit.
    import random

    rng = random.Random(0)
    words = ["Caroline", "went", "the", "support", "group", "LGBTQ", "a", "4821", "Gate", "gate,", "of", "and"]
    for _ in range(500):
        items = [" ".join(rng.choices(words, k=rng.randint(0, 6))) for _ in range(rng.randint(0, 6))]
        items += rng.sample(items, k=len(items) // 2)  # items recur, as in classification questions
        context = metrics.recall_tokens(" ".join(rng.choices(words, k=rng.randint(0, 8))))
        shares = []
        for item in items:
            item_words = metrics.content_words(item)
            if item_words:
                shares.append(sum(word in context for word in item_words) / len(item_words))
        expected = math.fsum(shares) / len(shares) if shares else None
        assert metrics.evidence_recall(items, context) == expected


def test_normalize_answer_deletes_punctuation_as_squad_does_on_random_text() -> None:
    # ASCII text has its punctuation deleted with bytes.translate; the result must be str.translate's
    # (SQuAD's), on ASCII and non-ASCII text alike (lowercasing "K", the Kelvin sign, gives ASCII).
    import random
    import re
    import string

    def squad(text: str) -> str:
        text = text.lower().translate(str.maketrans("", "", string.punctuation))
        return " ".join(re.sub(r"\b(a|an|the)\b", " ", text).split())

    rng = random.Random(0)
    alphabet = [*map(chr, range(128)), "é", "\u212a", "İ", "’", "“", "\u00a0", "ẞ", "\u2126"]  # Kelvin, Ohm signs
    for _ in range(5000):
        text = "".join(rng.choices(alphabet, k=rng.randint(0, 30)))
        if rng.random() < 0.3:
            text = text.encode("ascii", "ignore").decode()
        assert metrics.normalize_answer(text) == squad(text), repr(text)
    assert metrics.normalize_answer("The U.S., a K-9!") == "us k9"
    assert metrics.normalize_answer("The \u212a-9!") == "k9"  # the Kelvin sign lowercases to ASCII


def test_normalized_words_drop_articles_as_the_regex_does_on_random_word_text() -> None:
    # ASCII text without control characters drops the articles word by word instead of by SQuAD's
    # regex; content_words, recall_tokens and answer_recall read the same words without joining them.
    # Texts are built from articles glued to punctuation, digits, control characters, odd whitespace
    # and non-ASCII word and non-word characters, so that both paths and their boundary are hit.
    import random
    import re
    import string

    def squad(text: str) -> str:
        text = text.lower().translate(str.maketrans("", "", string.punctuation))
        return " ".join(re.sub(r"\b(a|an|the)\b", " ", text).split())

    def plain_content_words(text: str) -> list[str]:
        return list(dict.fromkeys(t for t in squad(text).split() if t not in metrics.STOP_WORDS))

    rng = random.Random(1)
    pieces = ["a", "an", "the", "A", "An", "THE", "then", "and", "anna", "cat", "9", "a9", "_", "'s", "-", "."]
    glue = [" ", "  ", "\n", "\t", "\x0b", "\x1c", "\x00", "\x07", "\x7f", "", "é", "’", "\u00a0", ",", "_"]
    for _ in range(5000):
        text = "".join(rng.choice(pieces) + rng.choice(glue) for _ in range(rng.randint(0, 8)))
        expected = squad(text)
        assert metrics.normalize_answer(text) == expected, repr(text)
        assert metrics.content_words(text) == plain_content_words(text), repr(text)
        assert metrics.recall_tokens(text) == frozenset(expected.split()), repr(text)
        gold = rng.choice(pieces) + " " + rng.choice(pieces)
        context = frozenset(expected.split())
        tokens = squad(gold).split()
        plain_recall = sum(t in context for t in tokens) / len(tokens) if tokens else 0.0
        assert metrics.answer_recall([gold], context) == plain_recall, (gold, text)
    # The control characters are the regex's word boundaries (the slow path), whitespace is split on.
    assert metrics.normalize_answer("the\x00cat a\x1cdog") == "\x00cat dog"
    assert metrics.content_words("The\x07end of the\x0bstory") == ["\x07end", "story"]


def test_every_drop_set_of_normalized_words_holds_the_articles():
    # _normalized_words' ASCII fast path drops the articles only through its drop set (the regex path
    # deletes them regardless): every set it is given must hold them, or the two paths would disagree.
    from memenv.metrics import _ARTICLE_WORDS, STOP_WORDS, content_words

    assert {"a", "an", "the"} <= _ARTICLE_WORDS <= STOP_WORDS
    assert content_words("The cat and a dog, an owl!") == content_words("The cat and a dog, an owl! é")[:-1]
