"""The offline engine through the real Assistant: real playbooks, real generated subscribers, no LLM.

The knowledge base holds a subset of the shipped playbooks (renewal, silent, port-out, objections;
zh and en) ingested once per module with the bundled multilingual embedder; 500 subscribers are
generated into the same data dir. Every test checks that the answer's citations are passages of
the knowledge base that this turn retrieved, each written in the answer as its [xxxxxxxx] handle.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

import pytest

from assistant.agent import Assistant
from assistant.toolkit import short_id
from assistant.tool_specs import TOOL_SPECS
from knowledge.normalize import index_form

PLAYBOOKS = Path(__file__).resolve().parents[2] / "knowledge" / "playbooks"
SUBSET = ("08-renewal", "11-silent", "12-port-out", "14-objections")
FULL_PHONE = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)")
HANDLE = re.compile(r"\[([0-9a-f]{8})\]")


@pytest.fixture(scope="module")
def offline_data(tmp_path_factory, bundled_embedder) -> dict[str, Any]:
    """Data dir with the playbook subset ingested and 500 generated subscribers, built once."""
    from knowledge.base import KnowledgeBase
    from tools.generate import write_generated
    from tools.subscribers import SubscriberStore

    root = tmp_path_factory.mktemp("offline-data")
    books = root / "playbooks"
    books.mkdir()
    for stem in SUBSET:
        for lang in ("zh", "en"):
            shutil.copy(PLAYBOOKS / f"{stem}.{lang}.md", books)
    kb = KnowledgeBase(root / "knowledge", bundled_embedder)
    report = kb.ingest([books], progress=False)
    assert not report.errors, report.errors
    store = SubscriberStore(root)
    write_generated(store, rows=500, seed=11, progress=False)
    subs = store.read_table("subscribers")
    known = subs[subs["points_balance"].notna() & subs["contract_end_date"].notna()]
    return {"root": root, "kb": kb, "subs": subs, "row": known.iloc[3].to_dict(), "other": known.iloc[9].to_dict()}


@pytest.fixture()
def make_assistant(offline_data, tmp_path):
    """An Assistant without an LLM over the shared data (conversations in this test's tmp dir)."""
    from assistant.config import Settings
    from assistant.services import Services

    def build(data_dir: Path | None = None) -> Assistant:
        """An Assistant over `data_dir` (default: the module's data) with the module's knowledge base."""
        settings = Settings(data_dir=data_dir or offline_data["root"], _env_file=None, llm_base_url=None,
                            database_url=f"sqlite:///{tmp_path / 'conversations.sqlite'}")
        services = Services(settings)
        services.knowledge = offline_data["kb"]  # the module's knowledge base (a cached_property)
        return Assistant(services)

    return build


@pytest.fixture()
def assistant(make_assistant) -> Assistant:
    """The default Assistant of a test."""
    return make_assistant()


def check_citations(reply, kb) -> list[str]:
    """Every citation is a knowledge-base passage written in the answer, and every handle is cited."""
    handles = [short_id(c.id) for c in reply.citations]
    assert set(HANDLE.findall(reply.answer)) == set(handles)
    assert len(kb.passages([c.id for c in reply.citations])) == len(reply.citations)
    assert not FULL_PHONE.search(reply.answer)
    return handles


def check_extractive(reply) -> None:
    """Each summary line '- sentence [handle]' quotes its cited passage (nothing invented)."""
    texts = {short_id(c.id): re.sub(r"[\s*]+", "", index_form(c.text)) for c in reply.citations}
    lines = [m for m in re.findall(r"^- (.+?) \[([0-9a-f]{8})\]$", reply.answer, flags=re.M)]
    assert lines
    for sentence, handle in lines:
        core = re.sub(r"\s+", "", index_form(sentence.rstrip("…")))
        core = core.replace("|", "")
        assert core[:40] in texts[handle].replace("|", ""), (sentence, handle)


def tools(reply) -> list[tuple[str, bool]]:
    """(tool name, ok) of every tool call of a reply."""
    return [(t.name, t.ok) for t in reply.tool_calls]


# --- customers ---------------------------------------------------------------------------------


def test_offline_zh_customer_then_follow_ups_keep_the_focus(assistant, offline_data):
    row, kb = offline_data["row"], offline_data["kb"]
    sid = row["subscriber_id"]
    first = assistant.ask(f"{sid} 怎么处理?")
    assert first.engine == "offline" and first.subscriber_id == sid
    assert ("get_subscriber", True) in tools(first) and ("churn_risk", True) in tools(first)
    assert sid in first.answer and row["msisdn"][-4:] in first.answer
    for part in ("网龄", "生命周期", "价值层级", "离网概率", "维系成本上限"):
        assert part in first.answer
    assert first.data["intent"] == "handle_customer" and first.data["subscriber_card"]["subscriber_id"] == sid
    check_citations(first, kb)

    points = assistant.ask("他的积分呢?", conversation_id=first.conversation_id)
    assert points.data["intent"] == "follow_up" and points.subscriber_id == sid
    assert f"积分余额：{float(row['points_balance']):.2f}".rstrip("0").rstrip(".") in points.answer
    check_citations(points, kb)

    contract = assistant.ask("他合约什么时候到期", conversation_id=first.conversation_id)
    assert str(row["contract_end_date"])[:10] in contract.answer
    check_citations(contract, kb)


def test_offline_phone_number_is_resolved_and_never_shown(assistant, offline_data):
    row = offline_data["other"]
    reply = assistant.ask(f"{row['msisdn']}要转网，合约下个月到期，推什么?")
    assert reply.subscriber_id == row["subscriber_id"]
    assert reply.data["intent"] == "handle_customer" and reply.data["slots"]["scenario"] == "port_out"
    assert row["msisdn"] not in reply.answer and f"{row['msisdn'][:3]}****{row['msisdn'][-4:]}" in reply.answer
    check_citations(reply, offline_data["kb"])


@pytest.mark.parametrize(("question", "preface", "assumed"), [
    ("高价值客户合约70天后到期，ARPU下降30%，还有呼转到异网，先推什么优惠？", "按你描述的情况分析", "假设："),
    ("138xxxx wants to port out, contract ends next month, what do I offer?", "Based on the situation you described",
     "Assumed:"),
])
def test_offline_described_customer_gets_rules_offers_and_script(assistant, offline_data, question, preface, assumed):
    reply = assistant.ask(question)
    assert reply.answer.startswith(preface) and assumed in reply.answer
    assert reply.data["intent"] in ("handle_customer", "draft_offer") and reply.data["described"]["facts"]
    names = [name for name, ok in tools(reply) if ok]
    assert "segment_snapshot" in names and "recommend_offers" in names and "get_subscriber" not in names
    assert reply.subscriber_id is None
    check_citations(reply, offline_data["kb"])


def test_offline_en_conversation(assistant, offline_data):
    row, kb = offline_data["row"], offline_data["kb"]
    sid = row["subscriber_id"]
    first = assistant.ask(f"how do I handle subscriber {sid}?")
    for part in ("Subscriber", "tenure", "Lifecycle stage", "churn probability", "Retention cost caps"):
        assert part in first.answer
    check_citations(first, kb)
    why = assistant.ask("why is he high risk?", conversation_id=first.conversation_id)
    assert why.data["slots"]["facet"] == "risk" and "churn probability" in why.answer
    check_citations(why, kb)
    points = assistant.ask("what about his points?", conversation_id=first.conversation_id)
    assert "Points balance" in points.answer and points.subscriber_id == sid


def test_offline_offers_and_script_are_cited_or_plainly_missing(assistant, offline_data):
    sid = offline_data["row"]["subscriber_id"]
    reply = assistant.ask(f"{sid} 合约快到期了，怎么维系？")
    check_citations(reply, offline_data["kb"])
    if "recommend_offers" not in TOOL_SPECS:
        assert "这个版本还没有「优惠推荐」功能" in reply.answer
    else:
        assert ("recommend_offers", True) in tools(reply)
        for offer in reply.data.get("offers", []):
            assert offer["measure_code"] in reply.answer and offer["citations"]
    if "draft_call_script" not in TOOL_SPECS:
        assert "这个版本还没有「话术生成」功能" in reply.answer
    else:
        assert ("draft_call_script", True) in tools(reply) and "话术要点" in reply.answer


def test_offline_trainee_is_refused_real_records_but_may_use_a_snapshot(assistant, offline_data):
    from tools.schemas import SubscriberSnapshot

    sid = offline_data["row"]["subscriber_id"]
    refused = assistant.ask(f"{sid} 怎么处理?", role="trainee")
    assert "学员角色不能查询真实客户数据" in refused.answer
    assert tools(refused) == [("get_subscriber", False)] and "may not use" in refused.tool_calls[0].error
    assert offline_data["row"]["msisdn"][-4:] not in refused.answer

    snapshot = SubscriberSnapshot(tenure_months=30, arpu_3m_avg=150, network_avg_arpu=60, payment_type="postpaid",
                                  contract_end_in_days=40, complaints_90d=2, points_balance=800)
    practice = assistant.ask("这个客户怎么维系", role="trainee", subscriber=snapshot)
    assert ("segment_snapshot", True) in tools(practice)
    assert "价值层级" in practice.answer and "维系成本上限" in practice.answer
    assert not any(name in {"get_subscriber", "churn_risk"} for name, _ in tools(practice))
    check_citations(practice, offline_data["kb"])


@pytest.mark.skipif("recommend_offers" not in TOOL_SPECS, reason="recommend_offers is not wired yet")
def test_offline_draft_offer_for_the_subscriber_in_focus(assistant, offline_data):
    sid = offline_data["row"]["subscriber_id"]
    first = assistant.ask(f"{sid} 的积分呢?")
    reply = assistant.ask("给他出个续约优惠", conversation_id=first.conversation_id)
    assert reply.data["intent"] == "draft_offer" and reply.subscriber_id == sid
    assert "成本上限" in reply.answer and reply.data["plan"]["scenario"]
    for offer in reply.data.get("offers", []):
        assert offer["measure_code"] in reply.answer and offer["monthly_cost"] <= offer["cap_monthly"]
    check_citations(reply, offline_data["kb"])


@pytest.mark.skipif("draft_call_script" not in TOOL_SPECS, reason="draft_call_script is not wired yet")
def test_offline_trainee_drafts_a_script_for_a_snapshot_in_english(assistant, offline_data):
    from tools.schemas import SubscriberSnapshot

    snapshot = SubscriberSnapshot(tenure_months=14, arpu_3m_avg=45, network_avg_arpu=60, payment_type="prepaid",
                                  silent_days=20)
    reply = assistant.ask("call script for a silent customer", role="trainee", subscriber=snapshot)
    assert reply.data["intent"] == "draft_script" and ("draft_call_script", True) in tools(reply)
    assert "**Call script**" in reply.answer and reply.data["script"]["sections"]
    check_citations(reply, offline_data["kb"])


def test_offline_trainee_cannot_list_high_risk_subscribers(assistant):
    reply = assistant.ask("本月高危客户有哪些", role="trainee")
    assert "学员角色不能查询真实客户数据" in reply.answer and tools(reply) == [("high_risk_list", False)]


def test_offline_empty_knowledge_base_says_to_ingest(make_assistant, tmp_path, bundled_embedder):
    from knowledge.base import KnowledgeBase

    assistant = make_assistant()
    assistant.services.knowledge = KnowledgeBase(tmp_path / "empty-kb", bundled_embedder)
    reply = assistant.ask("沉默客户多少天派单?")
    assert "retention ingest" in reply.answer and reply.citations == []


@pytest.mark.parametrize(("question", "expected"), [
    ("S999999999 怎么处理?", "没有找到客户 S999999999"),
    ("how do I handle subscriber S999999999?", "No subscriber S999999999 was found"),
])
def test_offline_unknown_subscriber_is_a_plain_message(assistant, question, expected):
    reply = assistant.ask(question)
    assert expected in reply.answer and reply.citations == []


def test_offline_without_subscriber_data_says_how_to_get_some(make_assistant, tmp_path):
    reply = make_assistant(tmp_path / "empty").ask("S000000001 怎么处理?")
    assert "retention data generate" in reply.answer


@pytest.mark.parametrize(("question", "expected"), [
    ("这个客户怎么维系", "请提供客户号码或客户ID"),
    ("draft an offer", "Which subscriber? Give an id or phone number, or attach a snapshot."),
    ("给我一个挽留话术", "请提供客户号码或客户ID"),
])
def test_offline_missing_subscriber_asks_a_short_follow_up(assistant, question, expected):
    reply = assistant.ask(question)
    assert expected in reply.answer and reply.data["missing"] == ["subscriber"]
    assert reply.tool_calls == [] and len(reply.answer) < 120


# --- playbooks, lists, later features ----------------------------------------------------------


@pytest.mark.parametrize("question", ["沉默客户多少天派单?", "what does the playbook say about port-out?",
                                      "For silent customers, how many days of zero activity trigger a dispatch?"])
def test_offline_playbook_answer_quotes_and_cites_retrieved_passages(assistant, offline_data, question):
    reply = assistant.ask(question, role="trainee")
    handles = check_citations(reply, offline_data["kb"])
    assert len(handles) >= 3 and set(reply.data["passages"][:3]) <= set(handles)
    assert ("来源：" if re.search(r"[\u4e00-\u9fff]", question) else "Sources:") in reply.answer
    check_extractive(reply)
    assert tools(reply) == [("search_playbooks", True)]


def test_offline_silent_threshold_answer_has_the_number(assistant):
    reply = assistant.ask("For silent customers, how many days of zero activity trigger a dispatch for diamond cards?")
    summary = reply.answer.split("Sources:")[0]
    assert re.search(r"3 days|3 天", summary), summary


def test_offline_who_is_at_risk_is_a_ranked_table_of_ids(assistant, offline_data):
    reply = assistant.ask("本月高危客户有哪些")
    rows = reply.data["high_risk"]
    assert rows and all(r["risk_label"] == "high" for r in rows)
    assert [r["expected_loss"] for r in rows] == sorted((r["expected_loss"] for r in rows), reverse=True)
    assert "| # | 客户ID |" in reply.answer and all(r["subscriber_id"] in reply.answer for r in rows)
    assert set(r["subscriber_id"] for r in rows) <= set(offline_data["subs"]["subscriber_id"])
    assert not FULL_PHONE.search(reply.answer)


def test_offline_who_is_at_risk_applies_region_and_tier(assistant):
    reply = assistant.ask("who is at risk in Guangdong, high value")
    assert reply.data["slots"]["region"] == "广东"
    assert all(r["value_tier"] == "high" for r in reply.data.get("high_risk", []))
    assert "filters: high value, 广东" in reply.answer


@pytest.mark.parametrize(("question", "label"), [("各价值层级的离网率", "**理解为：**"),
                                               ("churn rate by value tier this quarter", "**Interpreted as:**")])
def test_offline_report_question_answers_with_a_table_for_supervisors(assistant, question, label):
    reply = assistant.ask(question, role="supervisor")
    assert reply.answer.startswith(label) and ("run_report", True) in tools(reply)
    report = reply.data["report"]
    assert report["spec"]["metrics"] == ["churn_rate"] and report["spec"]["dimensions"] == ["value_tier"]
    assert report["columns"] == ["value_tier", "churn_rate"] and report["rows"]
    assert "|---|" in reply.answer.replace(" ", "") or "---:" in reply.answer
    denied = assistant.ask(question, role="agent")
    assert "run_report" not in [name for name, _ in tools(denied)]
    assert "班组长" in denied.answer or "supervisors" in denied.answer


@pytest.mark.parametrize(("role", "present", "absent"), [
    ("agent", "本月高危客户有哪些", "各价值等级的流失率"), ("trainee", "考考我", "本月高危客户有哪些"),
    ("supervisor", "各价值等级的流失率", None),
])
def test_offline_help_lists_what_the_role_may_do(assistant, role, present, absent):
    reply = assistant.ask("你能做什么", role=role)
    assert present in reply.answer and "陪我练习" in reply.answer and "后续版本" not in reply.answer
    if absent:
        assert absent not in reply.answer
