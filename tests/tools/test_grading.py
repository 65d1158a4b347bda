"""The role-play grader on a set of written transcripts: good above flawed, planted flaws flagged."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tools.training.grading import CRITERIA, TranscriptTurn, grade_transcript
from tools.training.roleplay import build_persona

TRANSCRIPTS = Path(__file__).resolve().parents[1] / "data" / "transcripts"


def _load() -> dict[str, dict]:
    return {p.stem: yaml.safe_load(p.read_text(encoding="utf-8")) for p in sorted(TRANSCRIPTS.glob("*.yaml"))}


DOCS = _load()
PAIRS = sorted({d["pair"] for d in DOCS.values()})
ABSENCES = {"missing_verification", "no_close", "no_empathy", "no_probing", "no_offer"}  # nothing to quote


def _grade(doc: dict, searcher=None):
    s = doc["setup"]
    persona = build_persona(s["scenario"], s["seed"], s["lang"])
    return grade_transcript(persona, [TranscriptTurn(**t) for t in doc["turns"]], searcher=searcher)


def test_the_set_has_twenty_transcripts_in_pairs_in_both_languages():
    assert len(DOCS) >= 20
    assert {d["setup"]["lang"] for d in DOCS.values()} == {"zh", "en"}
    for pair in PAIRS:
        assert {d["quality"] for d in DOCS.values() if d["pair"] == pair} == {"good", "flawed"}
    planted = {flag for d in DOCS.values() for flag in d["expect"].values()}
    assert {"over_cap", "missing_verification", "base_price_cut", "wrong_scenario"} <= planted


@pytest.mark.parametrize("pair", PAIRS)
def test_good_transcript_ranks_above_its_flawed_twin(pair):
    good = _grade(DOCS[f"{pair}-good"])
    flawed = _grade(DOCS[f"{pair}-flawed"])
    assert good.total > flawed.total, (good.flags, flawed.flags)


@pytest.mark.parametrize("name", [n for n, d in DOCS.items() if d["quality"] == "flawed"])
def test_each_planted_flaw_is_flagged_on_the_right_criterion(name):
    grade = _grade(DOCS[name])
    for criterion, flag in DOCS[name]["expect"].items():
        scored = grade.criterion(criterion)
        assert flag in scored.flags, (criterion, scored)
        assert scored.score < scored.weight
        if flag not in ABSENCES:  # a flaw that was said is quoted from the transcript
            assert scored.evidence and all(e.speaker == "trainee" for e in scored.evidence)


@pytest.mark.parametrize("name", [n for n, d in DOCS.items() if d["quality"] == "good"])
def test_good_transcripts_raise_no_flag(name):
    grade = _grade(DOCS[name])
    assert grade.flags == [] and grade.total == 100.0, [c for c in grade.criteria if c.flags]
    assert grade.plan == []


def test_over_cap_uses_the_personas_real_caps_and_quotes_the_line():
    grade = _grade(DOCS["renewal-zh-1-flawed"])
    offer = grade.criterion("offer")
    assert offer.status == "violated"
    assert "每月送您50元话费" in offer.evidence[0].text
    persona = build_persona("renewal", 1, "zh")
    assert f"{persona.cost_caps.monthly:g}" in offer.note and "450" in offer.note


def test_the_same_offer_within_a_higher_cap_is_not_flagged():
    persona = build_persona("renewal", 1, "zh")
    line = f"理解您。续约的话每月补贴话费{persona.cost_caps.monthly - 1:g}元，协议期12个月。"
    turns = [TranscriptTurn(speaker="trainee", text=line)]
    assert "over_cap" not in grade_transcript(persona, turns).flags
    line = f"理解您。续约的话每月补贴话费{persona.cost_caps.monthly + 5:g}元，协议期12个月。"
    assert "over_cap" in grade_transcript(persona, [TranscriptTurn(speaker="trainee", text=line)]).flags


def test_improvement_plan_speaks_the_transcripts_language():
    zh = _grade(DOCS["renewal-zh-3-flawed"])
    en = _grade(DOCS["renewal-en-2-flawed"])
    assert zh.plan and all(any("\u4e00" <= ch <= "\u9fff" for ch in tip) for tip in zh.plan)
    assert en.plan and "Verify" in en.plan[0]


def test_objection_criterion_is_not_applicable_when_none_was_raised():
    persona = build_persona("routine", 1, "en")
    grade = grade_transcript(persona, [TranscriptTurn(speaker="trainee", text="Hello, this is Sam, work number 12.")])
    assert grade.criterion("objection").status == "not_applicable"
    assert 0 <= grade.total < 40


def test_every_criterion_cites_a_playbook_passage(playbooks_kb):
    grade = _grade(DOCS["renewal-en-2-flawed"], searcher=playbooks_kb)
    assert [c.code for c in grade.criteria] == list(CRITERIA)
    for scored in grade.criteria:
        assert scored.citations, scored.code
        c = scored.citations[0]
        assert c.id and c.source.endswith(".md") and c.text
    assert grade.criterion("verification").citations[0].source.startswith("13-call-structure")


GOOD_OPENING = {
    "zh": ["您好，我是维系经理小张，工号B2048，现在方便吗？", "请问您是这个号码的机主本人吗？"],
    "en": ["Hello, this is Alex, your service manager, work number B2048. Is now a good time?",
           "May I confirm you're the account holder?"],
}


@pytest.mark.parametrize("lang,line,criterion,flag", [
    ("en", "I'll give you 100 yuan of credit each month.", "offer", "over_cap"),
    ("zh", "给您每个月减免30块，连续12个月。", "offer", "over_cap"),
    ("zh", "送您一台价值999元的新手机。", "offer", "over_cap"),
    ("en", "I can lower your monthly fee by 20 yuan if you stay.", "no_forbidden_promise", "base_price_cut"),
    ("zh", "您别走，我把您的月租降到58元。", "no_forbidden_promise", "base_price_cut"),
    ("en", "This discount never expires - it's yours for life.", "no_forbidden_promise", "forever_promise"),
    ("zh", "您要是以后想走，违约金我给您免了。", "no_forbidden_promise", "forbidden_promise"),
    ("en", "I see you haven't used this number for a while - shall we reactivate it with a free trial?",
     "stage_tier", "wrong_scenario"),
])
def test_planted_flaws_in_other_wordings_are_flagged(lang, line, criterion, flag):
    """Held-out phrasings (not in the transcript set) of the planted flaws, in a renewal call."""
    persona = build_persona("renewal", 1, lang)
    turns = [TranscriptTurn(speaker="trainee", text=t) for t in [*GOOD_OPENING[lang], line]]
    assert flag in grade_transcript(persona, turns).criterion(criterion).flags


def test_missing_verification_in_other_wordings():
    persona = build_persona("renewal", 1, "en")
    turns = [TranscriptTurn(speaker="trainee", text=t) for t in [
        GOOD_OPENING["en"][0], "Your contract ends soon. What do you think about renewing?"]]
    assert "missing_verification" in grade_transcript(persona, turns).criterion("verification").flags
