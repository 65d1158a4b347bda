"""A customer described in words becomes a rules snapshot (assistant/situation.py) and a customer intent."""

from __future__ import annotations

import pytest

from assistant.intents import recognise
from assistant.situation import describe
from tools.schemas import SubscriberSnapshot


def test_a_described_customer_is_read_into_a_valid_snapshot_with_stated_assumptions():
    found = describe("高价值客户合约70天后到期，ARPU下降30%，还有呼转到异网，先推什么优惠？",
                     network_avg_arpu=80.0, network_avg_tenure=30.0)
    assert found is not None
    snap = SubscriberSnapshot(**found.snapshot)
    assert snap.contract_end_in_days == 70 and snap.arpu_change_pct == -30 and snap.forwards_to_competitor == 3
    assert snap.arpu_3m_avg > 3 * 80  # the high tier is placed above the policy multiple
    assert snap.payment_type == "postpaid" and snap.tenure_months == 30
    assumed = " ".join(en for _, en in found.assumptions)
    assert "post-paid" in assumed and "tenure taken as 30 months" in assumed and "forwarding counted as 3" in assumed


@pytest.mark.parametrize(("text", "field", "value"), [
    ("A high-value customer's contract ends next month and he called a competitor's hotline twice",
     "competitor_hotline_calls", 2),
    ("contract expires in 2 months, minutes dropped by 40%", "mou_change_pct", -40.0),
    ("客户网龄5年，已经沉默45天", "silent_days", 45),
    ("在网5年的客户，投诉了3次", "complaints_90d", 3),
    ("prepaid student, in arrears for 20 days", "arrears_days", 20),
    ("月消费180元，合约已到期", "arpu_3m_avg", 180.0),
])
def test_facts_in_zh_and_en(text, field, value):
    found = describe(text, network_avg_arpu=None, network_avg_tenure=None)
    assert found is not None and found.snapshot[field] == value
    SubscriberSnapshot(**found.snapshot)


@pytest.mark.parametrize("text", ["高价值客户怎么维系？", "学生客户怎么维系", "欠费90天的客户还要挽留吗？",
                                  "How do I retain a customer who wants to port out?", "合约到期前多久联系客户？"])
def test_one_category_is_a_playbook_question_not_a_customer(text):
    assert describe(text, network_avg_arpu=None, network_avg_tenure=None) is None
    assert recognise(text).name == "playbook_question"


@pytest.mark.parametrize(("text", "intent"), [
    ("高价值客户合约70天后到期，ARPU下降30%，还有呼转到异网，先推什么优惠？", "handle_customer"),
    ("138xxxx wants to port out, contract ends next month, what do I offer?", "handle_customer"),
    ("What offer for a high-value customer whose ARPU dropped 40%?", "draft_offer"),
])
def test_a_described_customer_is_a_customer_request(text, intent):
    found = recognise(text)
    assert found.name == intent and found.slots.described and not found.needs_subscriber
