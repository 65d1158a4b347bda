"""Recognition for the offline engine: intents and slots of zh and en utterances (table-driven).

Test names carry "offline" so that `pytest tests/assistant -k offline` selects them.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from assistant.intents import INTENTS, extract_slots, recognise

EVAL = Path(__file__).resolve().parents[2] / "bench" / "data" / "retrieval_eval.jsonl"

# (utterance, has_focus, intent, expected slots (subset), needs_subscriber)
CASES = [
    # supervisor reports: a metric with a grouping or a period; a definition question stays a playbook one
    ("各价值等级的平均流失概率", False, "report_question", {"metric": "mean_predicted_risk", "group_by": "value_tier"}, False),
    ("What is the average churn probability by tier?", False, "report_question",
     {"metric": "mean_predicted_risk", "group_by": "value_tier"}, False),
    ("high-risk count by region", False, "report_question", {"metric": "high_risk_count", "group_by": "region"}, False),
    ("各学员的平均训练得分", False, "report_question", {"metric": "training_score", "group_by": "trainee"}, False),
    ("retention cost by agent last month", False, "report_question", {"metric": "retention_cost", "group_by": "agent"},
     False),
    ("平均风险是怎么计算的", False, "playbook_question", {"metric": "mean_predicted_risk"}, False),
    ("客户流失的原因有哪些", False, "playbook_question", {}, False),
    # handle this customer
    ("138****5678 (subscriber S000000042)要转网，合约下个月到期，推什么?", False, "handle_customer",
     {"subscriber": "S000000042", "scenario": "port_out", "expiring_within_days": 60}, False),
    ("how do I handle subscriber S000123?", False, "handle_customer", {"subscriber": "S000123"}, False),
    ("这个客户怎么维系", False, "handle_customer", {}, True),
    ("这个客户怎么维系", True, "handle_customer", {}, False),
    ("S000000007", False, "handle_customer", {"subscriber": "S000000007"}, False),
    ("s000000007 这个学生客户怎么挽留？", False, "handle_customer", {"subscriber": "S000000007", "scenario": "campus"}, False),
    ("How should I approach this customer? He came in to the store to cancel.", True, "handle_customer",
     {"customer_initiated": True, "scenario": "port_out"}, False),
    ("what should I do?", True, "handle_customer", {}, False),
    ("subscriber 7590-VHVEG 怎么处理", False, "handle_customer", {"subscriber": "7590-VHVEG"}, False),
    ("138****5678 想销户", False, "handle_customer", {"masked_phone": "138****5678", "scenario": "port_out"}, True),
    # playbook questions
    ("沉默客户多少天派单?", False, "playbook_question", {"scenario": "silent"}, False),
    ("what does the playbook say about port-out?", False, "playbook_question", {"scenario": "port_out"}, False),
    ("续约率怎么算？", False, "playbook_question", {"metric": "renewal_rate"}, False),
    ("客户说资费太贵要转网，我该怎么回他？", True, "playbook_question", {"scenario": "port_out"}, False),
    ("拆机挽留到最后一道环节，成功率能有多少？", True, "playbook_question", {"scenario": "port_out"}, False),
    ("A customer keeps using emergency reactivation. How should I handle them?", True, "playbook_question", {}, False),
    ("高端客戶跟中端客戶比起來，哪一種的離網率比較高？", False, "playbook_question", {"metric": "churn_rate"}, False),
    ("What thresholds tell us our subscriber base is in poor health?", False, "playbook_question", {}, False),
    # offers
    ("给他出个续约优惠", True, "draft_offer", {"scenario": "renewal"}, False),
    ("给他出个续约优惠", False, "draft_offer", {"scenario": "renewal"}, True),
    ("draft an offer", True, "draft_offer", {}, False),
    ("recommend an offer for S000000011, he walked in", False, "draft_offer",
     {"subscriber": "S000000011", "customer_initiated": True}, False),
    # scripts
    ("给我一个挽留话术", True, "draft_script", {}, False),
    ("给我一个挽留话术", False, "draft_script", {}, True),
    ("call script for renewal", True, "draft_script", {"scenario": "renewal"}, False),
    ("S000000003 沉默激活的话术", False, "draft_script", {"subscriber": "S000000003", "scenario": "silent"}, False),
    # who is at risk
    ("本月高危客户有哪些", False, "who_at_risk", {"risk_label": "high"}, False),
    ("who is at risk in Guangdong, high value", False, "who_at_risk", {"region": "广东", "value_tier": "high"}, False),
    ("前20个高危客户", False, "who_at_risk", {"top_n": 20, "risk_label": "high"}, False),
    ("top 5 high-risk subscribers in Zhejiang", False, "who_at_risk", {"top_n": 5, "region": "浙江"}, False),
    ("列出30天内合约到期的中危客户", False, "who_at_risk", {"expiring_within_days": 30, "risk_label": "medium"}, False),
    ("给我世界风品牌的高危名单", False, "who_at_risk", {"brand": "世界风", "risk_label": "high"}, False),
    # reports
    ("各价值层级的离网率", False, "report_question", {"metric": "churn_rate", "group_by": "value_tier"}, False),
    ("churn rate by value tier this quarter", False, "report_question",
     {"metric": "churn_rate", "group_by": "value_tier"}, False),
    ("这个月广东的续约率是多少", False, "report_question", {"metric": "renewal_rate", "region": "广东"}, False),
    # later features
    ("考考我", False, "quiz", {}, False),
    ("quiz me on renewals", False, "quiz", {"scenario": "renewal"}, False),
    ("陪我练习", False, "roleplay", {}, False),
    ("role-play a churning customer", False, "roleplay", {}, False),
    ("扮演一个要转网的客户", False, "roleplay", {"scenario": "port_out"}, False),
    # help
    ("你能做什么", False, "help", {}, False),
    ("help", False, "help", {}, False),
    ("你好！", False, "help", {}, False),
    ("What can you do for me?", False, "help", {}, False),
    # follow-ups about the subscriber in focus
    ("他的积分呢?", True, "follow_up", {"facet": "points"}, False),
    ("他的积分呢?", False, "follow_up", {"facet": "points"}, True),
    ("what about his points?", True, "follow_up", {"facet": "points"}, False),
    ("他合约什么时候到期", True, "follow_up", {"facet": "contract"}, False),
    ("why is he high risk?", True, "follow_up", {"facet": "risk"}, False),
    ("她欠费多少", True, "follow_up", {"facet": "arrears"}, False),
    ("S000000009 的网龄多长", False, "follow_up", {"facet": "tenure", "subscriber": "S000000009"}, False),
    ("积分呢？", True, "follow_up", {"facet": "points"}, False),
]


@pytest.mark.parametrize(("text", "focus", "intent", "slots", "missing"), CASES, ids=[c[0][:30] for c in CASES])
def test_offline_recognises_intent_and_slots(text, focus, intent, slots, missing):
    found = recognise(text, has_focus=focus)
    assert found.name == intent, (text, found)
    for key, value in slots.items():
        assert getattr(found.slots, key) == value, (text, key, found.slots)
    assert found.needs_subscriber is missing


def test_offline_recognition_covers_every_intent():
    assert {c[2] for c in CASES} == set(INTENTS)
    assert len(CASES) >= 40
    assert {"zh", "en"} <= {("zh" if any("\u4e00" <= ch <= "\u9fff" for ch in c[0]) else "en") for c in CASES}


def test_offline_snapshot_counts_as_the_customer():
    found = recognise("给我一个挽留话术", has_snapshot=True)
    assert (found.name, found.needs_subscriber) == ("draft_script", False)
    assert recognise("call script for a silent customer", has_snapshot=True).name == "draft_script"
    assert recognise("call script for a silent customer", has_focus=True).name == "playbook_question"


def test_offline_slots_are_never_guessed():
    slots = extract_slots("沉默客户多少天派单?")
    assert (slots.subscriber, slots.masked_phone, slots.region, slots.value_tier, slots.top_n) == (None,) * 5
    assert extract_slots("客户180天没通话").subscriber is None  # a number of days is not an id


def test_offline_traditional_and_full_width_text_is_recognised():
    assert recognise("本月高危客戶有哪些").name == "who_at_risk"
    assert recognise("Ｓ０００００００４２怎么处理").slots.subscriber == "S000000042"


def test_offline_recognition_is_deterministic():
    text = "who is at risk in Guangdong, high value"
    assert recognise(text) == recognise(text)


def test_offline_eval_questions_are_playbook_questions():
    """The retrieval eval set (bench/ask.py) must reach the playbook path, focus or not."""
    items = [json.loads(line) for line in EVAL.read_text(encoding="utf-8").splitlines() if line.strip()]
    for focus in (False, True):
        wrong = [i["id"] for i in items if recognise(i["query"], has_focus=focus).name != "playbook_question"]
        assert not wrong, wrong
