"""Role-play in the chat (offline engine): start on "陪我练习", talk to the customer, get graded.

Assistant._run hands every turn to assistant/offline_roleplay.py first (an open practice call is
continued whatever the engine); the offline engine's roleplay intent starts one.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from assistant.agent import Assistant

TRANSCRIPTS = Path(__file__).resolve().parents[1] / "data" / "transcripts"


@pytest.fixture()
def assistant(make_services):
    """The Assistant as shipped: no LLM, role-play wired in Assistant._run and the offline engine."""
    return Assistant(make_services(llm_base_url=None))


def _lines(name: str) -> list[str]:
    doc = yaml.safe_load((TRANSCRIPTS / f"{name}.yaml").read_text(encoding="utf-8"))
    return [t["text"] for t in doc["turns"] if t["speaker"] == "trainee"]


def test_a_practice_call_in_the_chat_is_played_and_graded(assistant):
    first = assistant.ask("陪我练习一个合约快到期的客户", role="trainee", owner="k-trainee")
    assert "角色扮演练习 · 到期续约" in first.answer and "> 客户：" in first.answer
    assert first.data["roleplay"]["open"] and first.data["roleplay"]["card"]["scenario"] == "renewal"
    cid = first.conversation_id
    reply = None
    for line in _lines("renewal-zh-1-good"):
        reply = assistant.ask(line, role="trainee", conversation_id=cid, owner="k-trainee")
        if not reply.data["roleplay"]["open"]:
            break
    assert "练习结束 · 总分 100/100" in reply.answer and "结果：accepted" in reply.answer
    assert reply.citations  # the rubric's passages, checked like any other citation
    after = assistant.ask("续约有哪些优惠？", role="trainee", conversation_id=cid, owner="k-trainee")
    assert "roleplay" not in after.data and "> 客户" not in after.answer


def test_end_practice_grades_an_unfinished_call_with_an_improvement_plan(assistant):
    first = assistant.ask("role-play a customer who wants to port out", role="agent", owner="k-agent")
    assert "Role-play practice · port-out retention" in first.answer
    cid = first.conversation_id
    turn = assistant.ask("Hi, can I offer you a discount?", role="agent", conversation_id=cid, owner="k-agent")
    assert turn.answer.startswith("> Customer:") and turn.data["roleplay"]["open"]
    graded = assistant.ask("end practice", role="agent", conversation_id=cid, owner="k-agent")
    assert "Practice over · score" in graded.answer and "How to improve" in graded.answer
    assert graded.data["roleplay"]["open"] is False and graded.data["roleplay"]["grade"]["total"] < 50


def test_sessions_started_in_chat_are_saved_for_the_supervisor(assistant):
    from assistant.roleplay_llm import roleplay_store

    first = assistant.ask("陪我练习", role="trainee", owner="k-trainee")
    sid = first.data["roleplay"]["session_id"]
    stored = roleplay_store(assistant.services.settings).get(sid)
    assert stored is not None and stored.role == "trainee" and stored.status == "open"
    assert f"rp-{sid}" in first.answer


def test_without_an_open_practice_nothing_changes(assistant):
    reply = assistant.ask("What should I offer a silent customer?", role="agent", owner="k")
    assert "roleplay" not in reply.data


def test_the_supervisor_tool_summarises_scores_and_common_flaws(assistant):
    from assistant.roleplay_llm import practice_for
    from assistant.tool_specs_roleplay import ROLEPLAY_TOOL_SPECS
    from assistant.toolkit import Toolkit, Turn

    services = assistant.services
    practice = practice_for(services)
    for name, scenario, seed in (("renewal-zh-1-flawed", "renewal", 1), ("renewal-zh-1-good", "renewal", 1)):
        sid = practice.start(owner="k-t1", role="trainee", scenario=scenario, seed=seed, lang="zh").session_id
        for line in _lines(name):
            if practice.turn(sid, "k-t1", line).finished:
                break
        practice.finish(sid, "k-t1")
    kit = Toolkit(services, Turn(role="admin"), specs={s.name: s for s in ROLEPLAY_TOOL_SPECS})
    result = kit.execute("roleplay_sessions", {"trainee": "k-t1"})
    assert result.ok, result.content
    assert result.value["graded"] == 2 and result.value["mean_total"] == 92.5
    assert result.value["common_flags"] == [{"flag": "over_cap", "sessions": 1}]
    assert not kit.execute("roleplay_sessions", {"limit": 0}).ok


def test_the_single_entry_point_starts_continues_and_leaves_other_questions_alone(make_services):
    assistant = Assistant(make_services(llm_base_url=None))
    first = assistant.ask("扮演一个要转网的客户", role="trainee", owner="k")
    assert first.data["roleplay"]["card"]["scenario"] == "port_out"
    turn = assistant.ask("您好，我是小李，工号A1023，请问现在方便吗？", role="trainee",
                         conversation_id=first.conversation_id, owner="k")
    assert turn.answer.startswith("> 客户：") and turn.data["roleplay"]["turn"] == 1
    other = assistant.ask("What is the monthly cost cap for a medium-value customer?", role="trainee", owner="k")
    assert "roleplay" not in other.data
