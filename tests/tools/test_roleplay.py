"""The simulated customer: a synthetic persona and a deterministic state machine driven by the trainee."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tools.errors import InvalidInput
from tools.rules import segment
from tools.training.grading import TranscriptTurn
from tools.training.practice import Practice, SessionNotFound
from tools.training.roleplay import SCENARIOS, build_persona, load_personas, objection_text, respond, start
from tools.training.sessions import RoleplayStore

TRANSCRIPTS = Path(__file__).resolve().parents[1] / "data" / "transcripts"


def _play(persona, lines):
    state, _ = start(persona)
    replies = []
    for line in lines:
        reply = respond(persona, state, line)
        state = reply.state
        replies.append(reply)
        if reply.finished:
            break
    return state, replies


def _trainee_lines(name):
    doc = yaml.safe_load((TRANSCRIPTS / f"{name}.yaml").read_text(encoding="utf-8"))
    return [t["text"] for t in doc["turns"] if t["speaker"] == "trainee"]


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_every_scenario_builds_a_synthetic_segmented_persona(scenario):
    zh, en = build_persona(scenario, 11, "zh"), build_persona(scenario, 11, "en")
    assert zh.snapshot == en.snapshot and zh.objections == en.objections
    seg = segment(zh.snapshot)
    assert zh.cost_caps == seg.cost_caps and zh.value_tier == seg.value_tier
    assert zh.objections and all(objection_text(code, "en") for code in zh.objections)
    card = zh.card()
    assert "wants" not in card and "temperament" not in card  # the hidden persona stays hidden
    assert card["cost_caps"]["total"] == zh.cost_caps.total


def test_same_seed_same_customer_other_seed_other_customer():
    assert build_persona("renewal", 5, "zh") == build_persona("renewal", 5, "zh")
    assert build_persona("renewal", 5, "zh").snapshot != build_persona("renewal", 6, "zh").snapshot


def test_unknown_scenario_or_language_is_invalid_input():
    with pytest.raises(InvalidInput, match="unknown scenario"):
        build_persona("karaoke", 1, "zh")
    with pytest.raises(InvalidInput, match="lang"):
        build_persona("renewal", 1, "fr")


def test_a_good_call_walks_through_the_objection_sequence_to_acceptance():
    persona = build_persona("renewal", 1, "zh")
    state, replies = _play(persona, _trainee_lines("renewal-zh-1-good"))
    raised = [r.objection for r in replies if r.objection]
    assert raised == persona.objections == ["contract_trap", "loyal_less_than_new"]
    assert state.outcome == "accepted" and state.closed and state.verified and state.suited_offer
    assert not state.over_cap and state.forbidden == []


def test_the_customer_asks_who_is_calling_without_a_greeting():
    persona = build_persona("routine", 1, "en")
    state, opening = start(persona)
    assert opening
    reply = respond(persona, state, "So, about your plan.")
    assert "asks_who" in reply.events and reply.state.mood < state.mood


def test_account_talk_before_verification_is_challenged():
    persona = build_persona("renewal", 2, "en")
    state, _ = start(persona)
    state = respond(persona, state, "Hello, this is Sam, your service manager, work number A12.").state
    reply = respond(persona, state, "How are you planning to use your plan after the contract ends?")
    assert "no_verification" in reply.events and not reply.state.reason_revealed


def test_probing_reveals_the_reason_and_an_unsuited_offer_is_rejected():
    persona = build_persona("silent", 2, "en")
    state, _ = start(persona)
    for line in ["Hello, this is Sam, work number A12.", "Am I speaking with the account holder?",
                 "How do you use this number these days?"]:
        reply = respond(persona, state, line)
        state = reply.state
    assert "reason" in reply.events
    reply = respond(persona, state, "I can recommend our points redemption catalogue for you.")
    assert "unsuited_offer" in reply.events and not reply.state.suited_offer


def test_an_over_cap_offer_and_a_forbidden_promise_are_noticed():
    persona = build_persona("renewal", 1, "zh")
    state, _ = start(persona)
    for line in _trainee_lines("renewal-zh-1-good")[:3]:
        state = respond(persona, state, line).state
    reply = respond(persona, state, "每月送您50元话费，送24个月。")
    assert "over_cap" in reply.events and reply.state.over_cap
    reply = respond(persona, reply.state, "而且这个优惠永久有效。")
    assert "forever" in reply.state.forbidden and "suspicious" in reply.events


def test_mishandled_objections_escalate_to_a_threat_and_the_customer_leaves():
    persona = build_persona("port_out", 2, "en")
    lines = _trainee_lines("port_out-en-2-good")[:4]
    lines += ["Their network is rubbish, honestly.", "You'll regret it.", "Just stay with us.", "Come on."]
    state, replies = _play(persona, lines)
    events = [e for r in replies for e in r.events]
    assert any(e.startswith("threat") for e in events) or state.threatened
    assert state.outcome == "left" and replies[-1].finished


def test_a_call_that_drags_on_times_out():
    persona = build_persona("routine", 2, "zh")
    state, replies = _play(persona, ["您好，我是小王，工号88。"] + ["嗯。"] * 20)
    assert state.outcome in ("timeout", "left") and len(replies) <= persona.patience


def test_persona_file_objections_exist_in_the_objection_table():
    from tools.scripts import load_objections

    data, table = load_personas(), load_objections().objections
    for sc in data["scenarios"].values():
        assert set(sc["objections"]) <= set(table) and set(sc["personas"]) <= set(data["personas"])
    assert set(data["handling"]) <= set(table)


def test_practice_sessions_are_saved_graded_and_listed(tmp_path):
    store = RoleplayStore(f"sqlite:///{tmp_path / 'rp.sqlite'}")
    practice = Practice(store)
    started = practice.start(owner="k1", role="trainee", scenario="renewal", seed=1, lang="zh")
    assert started.customer and started.card["scenario"] == "renewal"
    for line in _trainee_lines("renewal-zh-1-good"):
        turn = practice.turn(started.session_id, "k1", line)
    assert turn.finished and turn.outcome == "accepted"
    with pytest.raises(InvalidInput, match="over"):
        practice.turn(started.session_id, "k1", "还有一件事")
    with pytest.raises(SessionNotFound):
        practice.turn(started.session_id, "someone-else", "您好")
    record = practice.finish(started.session_id, "k1")
    assert record.status == "finished" and record.grade.total == 100.0
    other = practice.start(owner="k2", role="trainee", scenario="silent", seed=3, lang="en")
    assert [s.id for s in store.list(owner="k1")] == [started.session_id]
    assert {s.id for s in store.list()} == {started.session_id, other.session_id}
    assert store.get(started.session_id).transcript[1] == TranscriptTurn(speaker="trainee", text=_trainee_lines("renewal-zh-1-good")[0])


def test_an_improviser_rewords_and_a_failing_one_falls_back(tmp_path):
    store = RoleplayStore(f"sqlite:///{tmp_path / 'rp.sqlite'}")
    reworded = Practice(store, improviser=lambda persona, state, transcript, reply: f"[{persona.temperament}] ok")
    sid = reworded.start(owner="k", role="agent", scenario="routine", seed=1, lang="en").session_id
    turn = reworded.turn(sid, "k", "Hello, this is Sam, work number 7.")
    assert turn.customer.endswith("ok") and turn.engine == "llm"

    def broken(*_):
        raise RuntimeError("model down")

    failing = Practice(store, improviser=broken)
    turn = failing.turn(sid, "k", "Am I speaking with the account holder?")
    assert turn.engine == "scripted" and turn.customer == "Yes, that's me. What's this about?"
