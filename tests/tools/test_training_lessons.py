"""Lessons: every scenario, both languages, five cited sections built from the shipped playbooks."""

from __future__ import annotations

import json

import pytest

from tools.errors import InvalidInput
from tools.training.lessons import LESSON_SCENARIOS, build_lesson, first_sentence, list_lessons

SECTIONS = ["goal", "call_structure", "key_lines", "objections", "do_not"]


@pytest.fixture(scope="module")
def lessons(playbooks_kb):
    """Every scenario's lesson in both languages."""
    return {(s, lang): build_lesson(s, lang, playbooks_kb) for s in LESSON_SCENARIOS for lang in ("zh", "en")}


def test_every_lesson_has_five_cited_sections(lessons) -> None:
    for (scenario, lang), lesson in lessons.items():
        assert (lesson.scenario, lesson.lang) == (scenario, lang)
        assert [s.name for s in lesson.sections] == SECTIONS
        for section in lesson.sections:
            assert section.points, (scenario, lang, section.name)
            assert section.citations, (scenario, lang, section.name)
        structure = lesson.sections[1]
        assert len(structure.points) == 8  # greeting ... follow-up and logging (domain 7.10)


def test_citations_are_real_passages_in_the_lesson_language(lessons, playbooks_kb) -> None:
    for (scenario, lang), lesson in lessons.items():
        cited = lesson.citations()
        found = {p.id: p for p in playbooks_kb.passages([c.id for c in cited])}
        assert set(found) == {c.id for c in cited}
        for c in cited:
            assert found[c.id].text == c.text and c.source and c.section
        same = sum(c.source.endswith(f".{lang}.md") for c in cited)
        assert same >= 0.8 * len(cited), (scenario, lang, [c.source for c in cited])


def test_sections_cite_the_right_playbooks(lessons) -> None:
    topic_file = {"renewal": "08-renewal", "routine": "09-routine", "campus": "10-campus", "silent": "11-silent",
                  "port_out": "12-port-out"}
    for (scenario, lang), lesson in lessons.items():
        by_name = {s.name: s for s in lesson.sections}
        if scenario in topic_file:
            assert any(c.source.startswith(topic_file[scenario]) for c in by_name["goal"].citations)
        assert any(c.source.startswith("13-call-structure") for c in by_name["call_structure"].citations)
        assert any(c.source.startswith("14-objections") for c in by_name["do_not"].citations)


def test_objections_come_with_responses_and_citations(lessons) -> None:
    for (scenario, lang), lesson in lessons.items():
        assert len(lesson.objections) >= 2, scenario
        for o in lesson.objections:
            assert o.objection and o.response and o.citations
            assert "{" not in o.response  # no unfilled placeholder
    port_out = [o.code for o in lessons[("port_out", "en")].objections]
    assert "rival_offer" in port_out and "hesitant_counter" in port_out


def test_do_nots_are_the_playbook_promises_we_never_make(lessons) -> None:
    zh = lessons[("renewal", "zh")].sections[4].points
    en = lessons[("renewal", "en")].sections[4].points
    assert any("成本上限" in p for p in zh) and any("降低基础资费" in p for p in zh)
    assert any("cost cap" in p for p in en) and any("base-price cut" in p for p in en)
    silent = lessons[("silent", "en")].sections[4].points
    assert any("probe gently" in p for p in silent)  # the indirect-probing rule applies to silent customers
    assert not any("probe gently" in p for p in en)
    assert all("{" not in p for lesson in lessons.values() for s in lesson.sections for p in s.points)


def test_key_lines_are_the_scenario_lines_of_the_scripts(lessons) -> None:
    lines = lessons[("renewal", "en")].sections[2].points
    assert any("agreement" in line for line in lines)
    assert all("{" not in line for line in lines)


def test_unknown_scenario_or_language_is_a_clear_error(playbooks_kb) -> None:
    with pytest.raises(InvalidInput, match="renewal"):
        build_lesson("collection", "en", playbooks_kb)
    with pytest.raises(InvalidInput, match="zh or en"):
        build_lesson("renewal", "fr", playbooks_kb)  # type: ignore[arg-type]


def test_list_names_every_scenario_in_both_languages() -> None:
    listed = list_lessons()
    assert [s.scenario for s in listed] == list(LESSON_SCENARIOS)
    assert all(s.title_zh and s.title_en for s in listed)


def test_first_sentence_skips_tables_and_markdown() -> None:
    assert first_sentence("| a | b |\n|---|---|\n**Threshold**: more than two. Next.") == "Threshold: more than two."
    assert first_sentence("| only | a table |") is None


# --- the CLI --------------------------------------------------------------------------------------


def test_lesson_json_is_one_document(runner, kb_settings) -> None:
    from assistant.cli import app

    result = runner.invoke(app, ["train", "lesson", "silent", "--lang", "en", "--json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["scenario"] == "silent" and [s["name"] for s in doc["sections"]] == SECTIONS
    assert all(c["id"] and c["text"] for s in doc["sections"] for c in s["citations"])
    text = runner.invoke(app, ["train", "lesson", "renewal"])
    assert text.exit_code == 0 and "目标" in text.stdout and "↳" in text.stdout


def test_lesson_bad_input_is_one_error_line(runner, kb_settings) -> None:
    from assistant.cli import app

    for args in (["nowhere"], ["renewal", "--lang", "fr"]):
        result = runner.invoke(app, ["train", "lesson", *args, "--json"])
        assert result.exit_code == 1
        assert result.stdout == ""
        assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1
