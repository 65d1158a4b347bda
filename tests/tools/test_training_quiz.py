"""Quizzes: every answer is supported by its cited passage; distractors are real, distinct siblings;
grading is tolerant where it should be and strict where it matters; the CLI follows the conventions."""

from __future__ import annotations

import json
import re
import unicodedata

import pytest

from tools.errors import InvalidInput
from tools.training.facts import quiz_topics
from tools.training.quiz import generate_quiz, grade_quiz, parse_answers, short_answer_matches

SEEDS = range(25)


def plain(text: str) -> str:
    """Passage text as the test reads it: no markdown emphasis, no whitespace, case folded."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text).replace("*", "")).casefold()


def nums(text: str) -> set[str]:
    return set(re.findall(r"\d+(?:\.\d+)?", unicodedata.normalize("NFKC", text)))


@pytest.fixture(scope="module")
def quizzes(playbooks_kb):
    """Many quizzes: all topics with many seeds, and every topic alone, in both languages."""
    out = []
    for lang in ("zh", "en"):
        out += [generate_quiz(playbooks_kb, n=10, lang=lang, seed=s) for s in SEEDS]
        out += [generate_quiz(playbooks_kb, topic=t, n=6, lang=lang, seed=s) for t in quiz_topics() for s in (1, 2)]
    return out


def test_every_answer_is_supported_by_its_cited_passage(quizzes, playbooks_kb) -> None:
    checked = 0
    for quiz in quizzes:
        for item in quiz.items:
            passage = plain(item.citation.text)
            assert plain(item.fact) in passage, (item.question, item.fact, item.citation.text)
            # every number of the answer is a number of the passage (30% is not cited from a 20% passage)
            assert nums(item.answer_text) <= nums(item.citation.text), (item.answer_text, item.citation.text)
            if item.topic == "measures":
                assert item.answer_text in item.citation.text  # the code itself
            checked += 1
    assert checked > 400


def test_citations_are_real_passages_of_the_knowledge_base(quizzes, playbooks_kb) -> None:
    cited = {i.citation.id: i.citation for q in quizzes for i in q.items}
    found = {p.id: p for p in playbooks_kb.passages(list(cited))}
    assert set(found) == set(cited)
    for pid, citation in cited.items():
        assert found[pid].text == citation.text and found[pid].source == citation.source


def test_citations_are_in_the_quiz_language(quizzes) -> None:
    for quiz in quizzes:
        for item in quiz.items:
            assert item.citation.source.endswith(f".{quiz.lang}.md"), (quiz.lang, item.citation.source)


def test_choice_items_have_four_distinct_options_with_the_answer_once(quizzes) -> None:
    choice = [i for q in quizzes for i in q.items if i.kind == "choice"]
    assert len(choice) > 200
    for item in choice:
        assert len(item.options) == 4
        assert len({plain(o) for o in item.options}) == 4, item.options
        assert item.options["ABCD".index(item.answer)] == item.answer_text
        assert sum(plain(o) == plain(item.answer_text) for o in item.options) == 1


def test_distractors_come_from_the_same_family(quizzes) -> None:
    for quiz in quizzes:
        for item in quiz.items:
            if item.kind != "choice":
                continue
            wrong = [o for o in item.options if o != item.answer_text]
            if item.topic == "measures":  # sibling codes of the same stage
                assert all(re.fullmatch(r"[PRD][MSA]\d{3}", o) and o[0] == item.answer_text[0] for o in wrong)
            if item.topic == "cost_caps":
                assert all(("ACPU" in o or "ARPU" in o or o.startswith("0")) for o in wrong), wrong
            if item.topic in ("dispatch", "signals"):  # windows among windows, percentages among percentages
                def unit(value: str) -> str:
                    return re.sub(r"[\d.\s–-]|s$", "", value)

                assert all(unit(o) == unit(item.answer_text) for o in wrong), (item.answer_text, wrong)


def test_both_kinds_and_all_topics_appear(quizzes) -> None:
    items = [i for q in quizzes for i in q.items]
    assert {i.kind for i in items} == {"choice", "short"}
    assert {i.topic for i in items} == set(quiz_topics())


def test_same_seed_gives_the_same_quiz_and_other_seeds_differ(playbooks_kb) -> None:
    a = generate_quiz(playbooks_kb, n=8, lang="en", seed=42)
    b = generate_quiz(playbooks_kb, n=8, lang="en", seed=42)
    c = generate_quiz(playbooks_kb, n=8, lang="en", seed=43)
    assert a == b
    assert [i.question for i in a.items] != [i.question for i in c.items]
    shorter = generate_quiz(playbooks_kb, n=3, lang="en", seed=42)  # a prefix: graded the same either way
    assert shorter.items == a.items[:3]


def test_a_topic_quiz_stays_on_its_topic_and_caps_at_the_facts_it_has(playbooks_kb) -> None:
    quiz = generate_quiz(playbooks_kb, topic="value_tiers", n=10, lang="zh", seed=3)
    assert {i.topic for i in quiz.items} == {"value_tiers"}
    assert 1 <= len(quiz.items) < 10
    assert [i.id for i in quiz.items] == [f"q{k}" for k in range(1, len(quiz.items) + 1)]


def test_unknown_topic_names_the_topics(playbooks_kb) -> None:
    with pytest.raises(InvalidInput, match="cost_caps"):
        generate_quiz(playbooks_kb, topic="astrology", n=3, lang="en", seed=1)


def test_grading_scores_right_and_wrong_answers(playbooks_kb) -> None:
    quiz = generate_quiz(playbooks_kb, n=10, lang="en", seed=5)
    perfect = grade_quiz(quiz, [i.answer for i in quiz.items])
    assert (perfect.correct, perfect.total, perfect.score) == (len(quiz.items), len(quiz.items), 100)
    wrong = [("A" if i.answer != "A" else "B") if i.kind == "choice" else "no idea" for i in quiz.items]
    graded = grade_quiz(quiz, wrong)
    assert graded.correct == 0 and graded.score == 0
    assert all(r.citation.id and r.explanation and r.answer_text for r in graded.items)
    half = grade_quiz(quiz, [i.answer for i in quiz.items[:5]])  # unanswered questions count as wrong
    assert half.correct == 5 and half.total == len(quiz.items)
    choice = next(i for i in quiz.items if i.kind == "choice")
    index = quiz.items.index(choice)
    for given in (choice.answer.lower(), f"({choice.answer})", choice.answer_text):
        answers = [None] * index + [given]
        assert grade_quiz(quiz, answers).items[index].correct, given
    with pytest.raises(InvalidInput):
        grade_quiz(quiz, ["A"] * (len(quiz.items) + 1))


@pytest.mark.parametrize(("expected", "given", "ok"), [
    ("24 hours", "24h", True), ("24 hours", "24 小时", True), ("24 小时", "24小时", True),
    ("24 hours", "24 days", False), ("24 hours", "48 hours", False),
    ("20%", "20", True), ("20%", "20 %", True), ("20%", "30%", False),
    ("7–10 days", "7-10 days", True), ("7–10 天", "7到10天", True), ("7–10 days", "7 days", False),
    ("ACPU × 1.5", "acpu*1.5", True), ("ACPU × 1.5", "ACPU x 1.5", True), ("ACPU × 1.5", "ARPU × 1.5", False),
    ("n × ACPU × 1.5", "ACPU × 1.5", False), ("n × ACPU × 1.5", "n*acpu*1.5", True),
    ("DM001", "dm001", True), ("DM001", "DM002", False), ("3 months", "3个月", True), ("3 months", "", False),
])
def test_short_answers_are_matched_tolerantly(expected: str, given: str, ok: bool) -> None:
    assert short_answer_matches(expected, given) is ok


def test_parse_answers_splits_on_commas_of_both_scripts() -> None:
    assert parse_answers("B, a ，24 hours；C") == ["B", "a", "24 hours", "C"]
    assert parse_answers("  ") == []


# --- the CLI --------------------------------------------------------------------------------------


def test_quiz_json_then_answers_grades_the_same_quiz(runner, kb_settings, playbooks_kb) -> None:
    from assistant.cli import app

    result = runner.invoke(app, ["train", "quiz", "--topic", "cost_caps", "--n", "4", "--lang", "en",
                                 "--seed", "9", "--json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["quiz"] == {"topic": "cost_caps", "n": len(doc["items"]), "lang": "en", "seed": 9}
    assert all("answer" not in item and "citation" not in item for item in doc["items"])
    expected = generate_quiz(playbooks_kb, topic="cost_caps", n=4, lang="en", seed=9)
    answers = ",".join(i.answer for i in expected.items)
    graded = runner.invoke(app, ["train", "quiz", "--topic", "cost_caps", "--n", "4", "--lang", "en",
                                 "--seed", "9", "--answers", answers, "--json"])
    assert graded.exit_code == 0, graded.output
    out = json.loads(graded.stdout)
    assert out["score"] == 100 and out["correct"] == out["total"] == len(expected.items)
    assert all(r["citation"]["text"] for r in out["items"])
    text = runner.invoke(app, ["train", "quiz", "--topic", "cost_caps", "--n", "4", "--lang", "en",
                               "--seed", "9", "--answers", "A,A,A,A"])
    assert text.exit_code == 0 and "Score:" in text.stdout
    listed = runner.invoke(app, ["train", "quiz", "--n", "2", "--lang", "en", "--seed", "1"])  # stdin not a TTY
    assert listed.exit_code == 0 and "q1." in listed.stdout and "--seed 1" in listed.stdout
    assert "--answers" in listed.stdout


def test_quiz_bad_input_is_one_error_line(runner, kb_settings) -> None:
    from assistant.cli import app

    for args in (["--topic", "astrology"], ["--n", "0"], ["--lang", "fr"]):
        result = runner.invoke(app, ["train", "quiz", *args, "--json"])
        assert result.exit_code == 1, args
        assert result.stdout == ""
        assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1, result.stderr
