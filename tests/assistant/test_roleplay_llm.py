"""The LLM customer: improvises the state machine's decision in the persona's voice; falls back when it fails.

The model is the scripted OpenAI-compatible fake of tests/fakes.py, over httpx.MockTransport (in
process) or LiveFakeLLM (real HTTP on loopback); nothing in Python is mocked.
"""

from __future__ import annotations

from pathlib import Path

import httpx
import yaml

from assistant.roleplay_llm import practice_for
from tests.fakes import FakeLLM, LiveFakeLLM, text

TRANSCRIPTS = Path(__file__).resolve().parents[1] / "data" / "transcripts"


def _lines(name: str) -> list[str]:
    doc = yaml.safe_load((TRANSCRIPTS / f"{name}.yaml").read_text(encoding="utf-8"))
    return [t["text"] for t in doc["turns"] if t["speaker"] == "trainee"]


def _customer(messages, tools, index):  # type: ignore[no-untyped-def]
    return text(f"(in character) reply {index}")


def _play(practice, name, scenario, seed, lang):  # type: ignore[no-untyped-def]
    sid = practice.start(owner="k", role="trainee", scenario=scenario, seed=seed, lang=lang).session_id
    turns = []
    for line in _lines(name):
        turns.append(practice.turn(sid, "k", line))
        if turns[-1].finished:
            break
    return sid, turns


def test_the_llm_words_the_customer_within_the_persona_and_the_decision(make_services):
    fake = FakeLLM(_customer)
    practice = practice_for(make_services(), http_client=httpx.Client(transport=httpx.MockTransport(fake)))
    sid, turns = _play(practice, "renewal-en-2-good", "renewal", 2, "en")
    assert all(t.engine == "llm" for t in turns) and turns[0].customer == "(in character) reply 0"
    assert turns[-1].outcome == "accepted"  # the state machine decides, the model only speaks
    system = fake.requests[3]["messages"][0]["content"]
    assert "TRAINING role-play" in system and "raise this objection" in system
    assert "Another contract?" in system  # the objection of tools/data/objections.yaml
    history = fake.requests[3]["messages"][1:]
    assert [m["role"] for m in history[-2:]] == ["assistant", "user"] and history[-1]["content"] == _lines("renewal-en-2-good")[3]
    record = practice.finish(sid, "k")
    assert record.engine == "llm" and record.grade.total == 100.0


def test_phone_numbers_never_reach_the_model(make_services):
    fake = FakeLLM(_customer)
    practice = practice_for(make_services(), http_client=httpx.Client(transport=httpx.MockTransport(fake)))
    sid = practice.start(owner="k", role="trainee", scenario="routine", seed=1, lang="zh").session_id
    practice.turn(sid, "k", "您好，我是小李，工号12，您是13812345678的机主本人吗？")
    assert "13812345678" not in fake.sent_text() and "138****5678" in fake.sent_text()


def test_a_failing_model_falls_back_to_the_scripted_customer(make_services):
    fake = FakeLLM(_customer)
    fake.status = 500
    practice = practice_for(make_services(), http_client=httpx.Client(transport=httpx.MockTransport(fake)))
    sid, turns = _play(practice, "renewal-zh-1-good", "renewal", 1, "zh")
    assert fake.requests and all(t.engine == "scripted" for t in turns)
    assert turns[0].customer == "嗯，你说。" and turns[-1].outcome == "accepted"
    assert practice.finish(sid, "k").grade.total == 100.0


def test_a_stalled_live_endpoint_times_out_and_the_call_goes_on(make_services):
    fake = FakeLLM(_customer)
    with LiveFakeLLM(fake) as live:
        practice = practice_for(make_services(llm_base_url=live.base_url, llm_timeout=0.5))
        sid = practice.start(owner="k", role="trainee", scenario="silent", seed=2, lang="en").session_id
        spoken = practice.turn(sid, "k", "Hello, this is Sam, your service manager, work number A7.")
        assert spoken.engine == "llm" and spoken.customer == "(in character) reply 0"
        fake.delay = 3.0
        stalled = practice.turn(sid, "k", "Am I speaking with the account holder?")
    assert stalled.engine == "scripted"
    assert stalled.customer == "Yes, that's me - been with you for years. Go ahead."  # the persona's scripted words


def test_without_an_endpoint_the_scripted_customer_plays(make_services):
    practice = practice_for(make_services(llm_base_url=None))
    assert practice.improviser is None
    started = practice.start(owner="k", role="trainee", scenario="campus", seed=2, lang="zh")
    assert started.engine == "scripted" and started.customer
