"""Tests for the scoring profiles of memenv.metrics: each source scored as its own evaluation code scores it.

Every expected value is computed by hand in the comment beside it, from the rule of the reference script
named in the test (docs/scoring.md lists them).
"""

from __future__ import annotations

import json
import math
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from nltk.stem.porter import PorterStemmer
from nltk.translate.bleu_score import SmoothingFunction, sentence_bleu

from memenv.metrics import (
    PROFILES,
    SCORING_PROFILES,
    Rule,
    answer_line,
    check_profile,
    normalize_locomo,
    porter_stem,
    recommendation_list,
    rule_for,
    score_question,
    score_recall_at_k,
    score_rule,
    strip_reasoning,
    word_tokenize,
)
from memenv.qa import QAReport, rescore
from memenv.tasks.records import Question


def locomo(answer: Any, category: int, metric: str = "token_f1") -> Question:
    return Question("q?", (answer,), metric, metadata={"benchmark": "locomo", "locomo_category": category})


def sourced(benchmark: str, source: str, answers: tuple[str, ...], metric: str, **metadata: Any) -> Question:
    return Question("q?", answers, metric, metadata={"benchmark": benchmark, "data_source": source, **metadata})


def scored(question: Question, prediction: str, profile: str = "default", judge: Any = None) -> float | None:
    return score_question(question, prediction, profile=profile, judge=judge).score


class ScriptedJudge:
    """A JudgeModel returning a fixed reply; records the prompts and reply budgets it was given."""

    def __init__(self, reply: str) -> None:
        self.reply = reply
        self.prompts: list[tuple[str, int | None]] = []

    def complete(self, prompt: str, max_new_tokens: int | None = None) -> str:
        self.prompts.append((prompt, max_new_tokens))
        return self.reply


# --------------------------------------------------------------------------------------------------
# LoCoMo (task_eval/evaluation.py)
# --------------------------------------------------------------------------------------------------


def test_locomo_normalizer_drops_and_and_commas() -> None:
    assert normalize_locomo("Swimming, and camping!") == "swimming camping"
    assert normalize_locomo("The sand and the band") == "sand band"  # "and" only as a whole word


@pytest.mark.parametrize(
    "word",
    ["running", "runs", "swimming", "camping", "hiking", "generously", "dying", "agreed", "classical", "relational",
     "conditional", "happiness", "sky", "news", "caresses", "ponies", "yes", "destress", "marathon", "2022"],
)  # fmt: skip
def test_porter_stem_is_nltks(word: str) -> None:
    assert porter_stem(word) == PorterStemmer().stem(word)


def test_locomo_single_hop_f1_removes_and_and_stems() -> None:
    # Issue 12's pair. pred "swimming and camping" -> [swim, camp]; gold "camping, hiking, swimming" ->
    # [camp, hike, swim]: overlap 2, P = 2/2, R = 2/3, F1 = 2 * (2/3) / (5/3) = 0.8 (SQuAD F1: 0.67).
    assert scored(locomo("camping, hiking, swimming", 4), "swimming and camping") == pytest.approx(0.8)
    # "She runs to de-stress." -> [she, run, to, destress]; "Running" -> [run]: P 1/4, R 1, F1 = 0.4.
    assert scored(locomo("Running", 4), "She runs to de-stress.") == pytest.approx(0.4)
    # "and" removal alone: [salt, pepper] both sides -> 1.0 (SQuAD would count "and": P 1, R 2/3, 0.8).
    assert scored(locomo("salt and pepper", 2), "salt pepper") == 1.0


def test_locomo_multi_hop_splits_on_commas_and_averages_best_parts() -> None:
    # Category 1: gold parts [camping], [hiking], [swimming]; prediction parts by comma.
    # One part "swimming and camping" -> [swim, camp]: camping 2/3, hiking 0, swimming 2/3 -> mean 4/9.
    assert scored(locomo("camping, hiking, swimming", 1), "swimming and camping") == pytest.approx(4 / 9)
    # Parts [hiking], [camping]: camping 1, hiking 1, swimming 0 -> 2/3.
    assert scored(locomo("camping, hiking, swimming", 1), "hiking, camping") == pytest.approx(2 / 3)
    # A gold without commas is one part: plain stemmed F1 ("a vase" vs "vase" -> 1.0).
    assert scored(locomo("a vase", 1), "A vase.") == 1.0


def test_locomo_open_domain_scores_the_gold_before_the_first_semicolon() -> None:
    # Category 3: "Yes; it's classical music" -> "Yes": [ye] vs [ye] -> 1.0.
    assert scored(locomo("Yes; it's classical music", 3), "Yes") == 1.0
    # Category 2 keeps the whole gold: [ye, it, classic, music] -> P 1, R 1/4, F1 = 0.4.
    assert scored(locomo("Yes; it's classical music", 2), "Yes") == pytest.approx(0.4)


def test_locomo_adversarial_is_the_refusal_phrase_check() -> None:
    question = Question(
        "q?",
        ("not mentioned", "no information available"),
        "subem",
        metadata={"benchmark": "locomo", "locomo_category": 5},
    )
    assert scored(question, "That is Not Mentioned in the conversation.") == 1.0
    assert scored(question, "She bought a vase.") == 0.0


def test_locomo_integer_answers_are_text() -> None:
    assert scored(locomo(2022, 4), "In 2022") == pytest.approx(2 / 3)  # [in, 2022] vs [2022]: P 1/2, R 1


# --------------------------------------------------------------------------------------------------
# Mem0 / Memory-R1 (evaluation/metrics/utils.py, llm_judge.py)
# --------------------------------------------------------------------------------------------------


def test_mem0_f1_counts_each_token_once_on_the_simple_tokenizer() -> None:
    # {hiking, camping} vs {camping, hiking, swimming}: P 2/2, R 2/3 -> 0.8 (no stemming, commas split).
    assert scored(locomo("camping, hiking, swimming", 1), "hiking, camping", profile="mem0") == pytest.approx(0.8)
    # Sets: "cat cat cat" vs "cat" -> 1.0, where a multiset F1 gives 0.5.
    assert scored(locomo("cat", 4), "cat cat cat", profile="mem0") == 1.0
    # "She went hiking and camping." -> {she, went, hiking, and, camping}: P 2/5, R 2/3, F1 = 0.5.
    assert scored(locomo("camping, hiking, swimming", 2), "She went hiking and camping.", profile="mem0") == 0.5


def test_mem0_bleu1_is_nltk_sentence_bleu_on_word_tokens() -> None:
    result = score_question(locomo("camping, hiking, swimming", 2), "hiking, camping", profile="mem0")
    # c = [hiking, ",", camping] (3), r = [camping, ",", hiking, ",", swimming] (5): clipped 3, p1 = 1,
    # BP = exp(1 - 5/3).
    assert result.extras["bleu1"] == pytest.approx(math.exp(-2 / 3))
    assert "llm_judge" not in result.extras  # no judge given: no judged number is reported
    for prediction, gold in [("She went hiking and camping.", "camping, hiking, swimming"), ("7 May 2023", "May 7th")]:
        reference = sentence_bleu(
            [word_tokenize(gold.lower())],
            word_tokenize(prediction.lower()),
            weights=(1, 0, 0, 0),
            smoothing_function=SmoothingFunction().method1,
        )
        extras = score_question(locomo(gold, 2), prediction, profile="mem0").extras
        assert extras["bleu1"] == pytest.approx(reference)


def test_word_tokenize_splits_sentences_like_punkt_then_treebank() -> None:
    assert word_tokenize("she went to paris. it's far, isn't it?") == [
        "she", "went", "to", "paris", ".", "it", "'s", "far", ",", "is", "n't", "it", "?",
    ]  # fmt: skip


def test_mem0_skips_adversarial_questions_and_renumbers_categories() -> None:
    adversarial = Question("q?", ("not mentioned",), "subem", metadata={"benchmark": "locomo", "locomo_category": 5})
    result = score_question(adversarial, "not mentioned", profile="mem0")
    assert result.score is None and result.rule == "mem0_skips_category_5"
    # Mem0-derived tables call category 1 single-hop and 3 multi-hop; LoCoMo's code the reverse.
    assert score_question(locomo("x", 1), "x", profile="mem0").category == "single_hop"
    assert score_question(locomo("x", 3), "x", profile="mem0").category == "multi_hop"
    assert score_question(locomo("x", 4), "x", profile="mem0").category == "open_domain"
    assert score_question(locomo("x", 1), "x").category == "multi_hop"
    # Skipped questions are left out of the mean: (1.0 + 0.0) / 2, not over 3.
    questions = [locomo("vase", 4), locomo("Porto", 2), adversarial]
    rows = tuple({"prediction": p, "answer_recall": 1.0} for p in ["vase", "Lisbon", "not mentioned"])
    report = rescore(QAReport(0.0, rows), questions, scoring="mem0")
    assert [row["score"] for row in report.per_question] == [1.0, 0.0, None]
    assert [row["category"] for row in report.per_question] == ["open_domain", "temporal", "adversarial"]
    assert report.accuracy == 0.5
    assert all(row["answer_recall"] == 1.0 for row in report.per_question)  # recall is kept
    # Under LoCoMo's own protocol the adversarial reply is scored (it refuses: 1): (1 + 0 + 1) / 3.
    report = rescore(report, questions, scoring="default")
    assert [row["score"] for row in report.per_question] == [1.0, 0.0, 1.0]
    assert report.accuracy == pytest.approx(2 / 3)
    assert report.per_question[0]["category"] == "single_hop"
    with pytest.raises(ValueError, match="2 questions for a report of 3 rows"):
        rescore(report, questions[:2], scoring="mem0")


def test_mem0_judge_uses_mem0s_prompt_and_json_label() -> None:
    judge = ScriptedJudge('The answer names the same place.\n{"label": "CORRECT"}')
    result = score_question(locomo("Porto", 4), "She ran in Porto.", profile="mem0", judge=judge)
    assert result.extras["llm_judge"] == 1.0
    prompt, budget = judge.prompts[0]
    assert "label an answer to a question as ’CORRECT’ or ’WRONG’" in prompt
    assert "Question: q?\nGold answer: Porto\nGenerated answer: She ran in Porto.\n" in prompt
    assert budget == 256
    wrong = ScriptedJudge('{"label": "WRONG"}')
    assert score_question(locomo("Porto", 4), "Lisbon", profile="mem0", judge=wrong).extras["llm_judge"] == 0.0


# --------------------------------------------------------------------------------------------------
# MemoryAgentBench (utils/eval_other_utils.py)
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("prediction", "expected"),
    [
        ("Reasoning first.\nAnswer: Paris\nBecause...", "Paris"),  # the rest of the first Answer: line
        ("answer: answer: Paris", "Paris"),  # one repeated prefix removed
        ("Paris\nis the answer", "Paris"),  # no marker: the first line
        ("\nParis", ""),  # the first line is empty
        ("Answer: A. Answer: B", "A. Answer: B"),  # the first marker, not the last
    ],
)
def test_answer_line_is_mabs_parse_output(prediction: str, expected: str) -> None:
    assert answer_line(prediction) == expected


def test_eventqa_is_scored_on_the_answer_line_only() -> None:
    question = sourced("memoryagentbench", "eventqa_full", ("Debbie waited at the gate.",), "normalized_subem")
    assert scored(question, "Answer: Debbie waited at the gate.\nThen she left.") == 1.0
    # The gold is in the reply, but not on its answer line: 0 (MAB's default parser would give 1).
    assert scored(question, "I think so.\nAnswer: nothing happened\nDebbie waited at the gate.") == 0.0
    # No marker: only the first line counts.
    assert scored(question, "Debbie waited\nat the gate.") == 0.0


def test_detectiveqa_is_exact_match_on_reply_or_answer_line() -> None:
    question = sourced("memoryagentbench", "detective_qa", ("The butler",), "exact_match")
    assert rule_for(question).name == "mab_exact_match"
    assert scored(question, "the Butler.") == 1.0  # normalized: "butler" == "butler"
    assert scored(question, "It was the butler.") == 0.0  # "it was butler" != "butler" (SubEM would say 1)
    assert scored(question, "Answer: The butler!\nHe had the key.") == 1.0  # the answer line matches


def test_mab_icl_is_exact_match_on_the_parsed_label() -> None:
    question = sourced("memoryagentbench", "icl_banking77_5900shot_balance", ("12",), "boxed_label_em")
    assert scored(question, "12") == 1.0
    assert scored(question, "label: 12") == 0.0  # MAB's parser keeps "label: 12"; "label 12" != "12"
    assert scored(question, "Answer: 12") == 1.0
    assert scored(question, r"\boxed{12}") == 1.0  # memenv's reader format: the box is read (a deviation)


def test_mab_ruler_and_conflict_resolution_take_the_better_of_reply_and_answer_line() -> None:
    question = sourced("memoryagentbench", "factconsolidation_sh_6k", ("Gus Penn",), "normalized_subem")
    assert scored(question, "The mayor is linked to gus penn.") == 1.0
    assert scored(question, "Answer: Ada Lin") == 0.0


def test_mab_longmemeval_judge_shows_the_answer_list() -> None:
    judge = ScriptedJudge("yes")
    question = sourced("memoryagentbench", "longmemeval_s*", ("Lisbon",), "llm_judge", question_type="multi-session")
    assert scored(question, "You moved to Lisbon.", judge=judge) == 1.0
    # MemoryAgentBench formats the answer list into LongMemEval's template.
    assert "\n\nCorrect Answer: ['Lisbon']\n\nModel Response: You moved to Lisbon.\n\n" in judge.prompts[0][0]
    assert judge.prompts[0][1] == 10


def write_catalog(tmp_path: Path) -> Path:
    entities = {"Heat (1995)": 1, "Up": 2, "Jaws_2": 3, "Alien": 4, "Aliens": 5, "Toy-Story": 6, "Cars": 7}
    path = tmp_path / "entity2id.json"
    path.write_text(json.dumps(entities))
    return path


def test_recommendation_list_is_mabs_parser() -> None:
    assert recommendation_list("Sure!\n1. Heat (1995)\n2) Up\n3 - Jaws 2\n") == ["Heat", "Up", "Jaws 2", ""]
    assert recommendation_list("Heat, Up") == ["Heat", "Up"]  # no "1.": commas separate items


def test_recsys_recall_at_5(tmp_path: Path) -> None:
    # Without a catalog: gold names, case-insensitive; [Heat, Up, Jaws] holds "up" of {up, Alien} -> 1/2.
    assert score_recall_at_k("1. Heat\n2. Up\n3. Jaws", ["up", "Alien"]) == 0.5
    # Only the first 5 count: Alien is 6th -> 0.
    assert score_recall_at_k("1. A\n2. B\n3. C\n4. D\n5. E\n6. Alien", ["Alien"]) == 0.0
    catalog = write_catalog(tmp_path)
    # With MAB's entity2id.json: gold ids 5, 4 -> Aliens, Alien. Items Heat, "Aliens!", "Jaws 2" snap to the
    # nearest names Heat, Aliens (distance 1; Alien is 2), Jaws 2 -> Aliens found, Alien not: 1/2.
    assert score_recall_at_k("Sure.\n1. Heat\n2. Aliens!\n3. Jaws 2", ["5", "4"], catalog=catalog) == 0.5
    question = sourced("memoryagentbench", "recsys_redial_full", ("6", "7"), "recall_at_5", catalog=str(catalog))
    # "toy story" -> Toy Story, "Carz" -> Cars: both gold movies in the top 5 -> 1.0.
    assert scored(question, "1. toy story\n2. Carz") == 1.0


# --------------------------------------------------------------------------------------------------
# Mem-α (evaluate_agent_results.py _compute_score, evaluate_wrt_source)
# --------------------------------------------------------------------------------------------------


def test_strip_reasoning_is_mem_alphas_rule() -> None:
    assert strip_reasoning(r"<think>maybe \boxed{3}</think> \boxed{4}") == r"\boxed{4}"
    assert strip_reasoning("<think>never closed") == ""
    assert strip_reasoning("draft</think> answer") == "answer"  # an opening tag the template swallowed
    assert strip_reasoning("plain") == "plain"


def test_memalpha_booksum_keywords_are_one_comma_joined_string() -> None:
    question = sourced("memalpha", "booksum", ("Mara, lighthouse, storm, keeper's log",), "keyword_hit")
    # Keywords [Mara, lighthouse, storm, keeper's log]: "mara" and "lighthouse" found -> 2/4.
    assert scored(question, "Mara climbs the lighthouse.") == 0.5
    # memenv's own keyword hit reads the string as ONE keyword: 0.
    assert scored(question, "Mara climbs the lighthouse.", profile="memenv") == 0.0


def test_memalpha_perltqa_scores_each_semicolon_part() -> None:
    question = sourced("memalpha", "perltqa", ("Basketball; Reading books",), "subem")
    # Parts "basketball", "reading books" (lowercased) searched in the reply as written: both found -> 1.
    assert scored(question, "I like basketball and reading books.") == 1.0
    # "basketball" is not in "Basketball and ..." (Mem-α does not lowercase the reply here): 1/2.
    assert scored(question, "Basketball and reading books.") == 0.5
    single = sourced("memalpha", "perltqa", ("Basketball",), "subem")
    assert scored(single, "BASKETBALL") == 1.0  # without ";" both sides are lowercased


def test_memalpha_reasoning_and_digit_labels() -> None:
    question = sourced("memalpha", "pubmed-rct", ("4",), "boxed_label_em")
    assert scored(question, r"<think>maybe \boxed{3}</think> \boxed{4}") == 1.0
    assert scored(question, r"<think>maybe \boxed{4}") == 0.0  # unclosed reasoning: no answer
    assert scored(question, r"\boxed{label: 4}") == 0.0  # must be digits only (memenv's own rule says 1)
    assert scored(question, r"<answer>4</answer> \boxed{3}") == 1.0  # <answer> tags come first
    assert scored(question, r"\boxed{04}") == 0.0


def test_memalpha_squad_uses_the_first_alias_only() -> None:
    question = sourced("memalpha", "squad", ("Paris", "Lutetia"), "subem")
    assert scored(question, "It was Lutetia.") == 0.0
    assert scored(question, "It was Lutetia.", profile="memenv") == 1.0
    assert scored(question, "in PARIS") == 1.0


def test_memalpha_eventqa_needs_every_gold_element() -> None:
    question = sourced("memalpha", "eventqa_full", ("waited", "gate"), "normalized_subem")
    assert scored(question, "She WAITED at the Gate") == 1.0
    assert scored(question, "She waited at home") == 0.0


def test_memalpha_judge_refuses_replies_with_no_in_them() -> None:
    question = sourced("memalpha", "lme_train", ("Likes hiking",), "llm_judge")
    assert scored(question, "You like hiking.", judge=ScriptedJudge("yes")) == 1.0
    assert scored(question, "You like hiking.", judge=ScriptedJudge("yes, nothing wrong")) == 0.0


# --------------------------------------------------------------------------------------------------
# LongMemEval (src/evaluation/evaluate_qa.py)
# --------------------------------------------------------------------------------------------------


def lme(question_type: str, answer: str, abstention: bool = False) -> Question:
    metadata = {"benchmark": "longmemeval", "question_type": question_type, "abstention": abstention}
    return Question("What is my cat's name?", (answer,), "llm_judge", metadata=metadata)


def test_longmemeval_sends_the_template_of_the_question_type() -> None:
    for question_type, phrase in [
        ("temporal-reasoning", "do not penalize off-by-one errors"),
        ("knowledge-update", "along with an updated answer"),
        ("single-session-preference", "\n\nRubric: Tom\n\n"),
        ("multi-session", "\n\nCorrect Answer: Tom\n\n"),
    ]:
        judge = ScriptedJudge("yes")
        assert scored(lme(question_type, "Tom"), "Tom", judge=judge) == 1.0
        assert phrase in judge.prompts[0][0]
    judge = ScriptedJudge("yes")
    scored(lme("multi-session", "You never mentioned a cat.", abstention=True), "I don't know.", judge=judge)
    assert judge.prompts[0][0].startswith("I will give you an unanswerable question")
    assert "\n\nExplanation: You never mentioned a cat.\n\n" in judge.prompts[0][0]


def test_longmemeval_verdict_is_yes_anywhere_but_memenvs_reads_the_first_word() -> None:
    reply = ScriptedJudge("No, not yesterday.")
    assert scored(lme("multi-session", "Tom"), "Tim", judge=reply) == 1.0  # 'yes' in "not yesterday"
    assert scored(lme("multi-session", "Tom"), "Tim", profile="memenv", judge=reply) == 0.0


def test_longmemeval_offline_fallback_and_abstention() -> None:
    assert scored(lme("multi-session", "Tom"), "Your cat is Tom.") == 1.0  # normalized SubEM
    assert scored(lme("multi-session", "Tom"), "Your cat is Tim.") == 0.0
    abstain = lme("multi-session", "You never mentioned a cat.", abstention=True)
    assert scored(abstain, "I don't know; you never told me.") == 1.0  # it declines
    assert scored(abstain, "Your cat is Tom.") == 0.0


# --------------------------------------------------------------------------------------------------
# Profiles as data
# --------------------------------------------------------------------------------------------------


def test_default_profile_follows_the_questions_benchmark() -> None:
    assert rule_for(locomo("x", 1)).name == "locomo_f1_multi_answer"
    assert rule_for(sourced("memalpha", "booksum", ("a, b",), "keyword_hit")).name == "memalpha_keyword_hit"
    synthetic = Question("q?", ("x",), "subem")
    assert rule_for(synthetic).name == "subem"
    # Another profile scores the same question its way; unmatched questions fall back to memenv's rule.
    assert rule_for(locomo("x", 1), "memoryagentbench").name == "mab_f1"
    assert rule_for(Question("q?", ("3",), "boxed_label_em"), "locomo").name == "boxed_label_em"


def test_every_profile_scores_every_metric() -> None:
    assert SCORING_PROFILES[0] == "default" and set(SCORING_PROFILES[1:]) == set(PROFILES)
    from memenv.metrics import METRICS

    for profile in SCORING_PROFILES:
        for metric in METRICS:
            question = Question("q?", ("12",), metric)
            value = score_question(question, r"1. 12 \boxed{12}", profile=profile).score
            assert value is None or 0.0 <= value <= 1.0


def test_unknown_profile_and_bad_rules_are_named() -> None:
    with pytest.raises(ValueError, match=r"unknown scoring profile 'paper'.*locomo"):
        check_profile("paper")
    with pytest.raises(ValueError, match=r"Rule\.normalizer"):
        Rule("contains", normalizer="fancy")
    with pytest.raises(ValueError, match=r"Rule\.extract"):
        Rule("contains", extract=("tail",))


def test_score_rule_validates_answers_first() -> None:
    with pytest.raises(ValueError, match="non-blank"):
        score_rule(PROFILES["locomo"].cases[0].rule, "x", ["  "])


def test_a_question_marked_unanswerable_is_scored_as_locomo_scores_adversarial_questions() -> None:
    q = Question("What is the code of the Jade Lighthouse?", ("not mentioned", "no information available"), "subem",
                 category="unanswerable", metadata={"unanswerable": True})  # fmt: skip
    for prediction, expected in (("Not mentioned.", 1.0), ("no information available here", 1.0), ("4821", 0.0)):
        result = score_question(q, prediction)
        assert (result.score, result.rule, result.category) == (expected, "locomo_adversarial", "unanswerable")
    # Without the mark, the same gold is plain SubEM.
    assert score_question(replace(q, metadata={}), "not mentioned").rule == "subem"
