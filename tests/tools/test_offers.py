"""The next-best-offer engine: scenarios written from domain.md, hard rules on 10,000 subscribers, citations."""

from __future__ import annotations

import random
from datetime import date, timedelta
from typing import Any

import pytest

from knowledge.retrieve import Passage
from tools.catalogue import load_catalogue
from tools.errors import InvalidInput
from tools.offers import recommend_offers
from tools.policy import load_policy
from tools.rules import segment
from tools.schemas import DispatchRecord, OfferPlan, SubscriberProfile, SubscriberSnapshot

AS_OF = date(2025, 12, 31)
EPS = 1e-6


class FakeSearcher:
    """Returns one made-up passage per query: only for the cap properties, never for citation checks."""

    def search(self, query: str, k: int = 5, *, sources: Any = None, topics: Any = None) -> list[Passage]:
        return [Passage(id=f"fake-{abs(hash((query, tuple(topics or ())))) % 10**8}", text=query,
                        source="fake.md", section=str(topics), score=1.0)]


FAKE = FakeSearcher()


def snap(**values: Any) -> SubscriberSnapshot:
    base = {"tenure_months": 36, "arpu_3m_avg": 180, "network_avg_arpu": 50, "payment_type": "postpaid"}
    return SubscriberSnapshot(**{**base, **values})


def plan_for(snapshot: SubscriberSnapshot, probability: float | None = None, **kwargs: Any) -> OfferPlan:
    seg = segment(snapshot)
    p = seg.rule_score.probability if probability is None else probability
    kwargs.setdefault("searcher", FAKE)
    return recommend_offers(snapshot, seg, churn_probability=p, as_of=AS_OF, **kwargs)


def families(plan: OfferPlan) -> list[str]:
    return [o.family for o in plan.offers]


def excluded(plan: OfferPlan, family: str) -> list[str]:
    return [e.rule for e in plan.excluded if e.family == family]


# --- scenarios from domain.md --------------------------------------------------------------

HIGH_VALUE_RENEWAL = dict(contract_end_in_days=70, arpu_change_pct=-30, forwards_to_competitor=2)


@pytest.mark.parametrize("probability", [0.6, None])  # a model's probability, or the rule score (0.92)
def test_high_value_renewal_orders_store_value_then_credit_then_handset(probability: float | None) -> None:
    # domain.md 7.1: high-end, high-risk, 3-6 months before expiry:
    # 存费送费 -> 话补续约 -> 机补续约; the cap of the high tier (3.1) is stated on every offer.
    plan = plan_for(snap(**HIGH_VALUE_RENEWAL), probability)
    assert plan.scenario == "renewal"
    assert families(plan) == ["store_value_get_credit", "credit_subsidy_renewal", "handset_subsidy_renewal"]
    assert [o.measure_code for o in plan.offers] == ["RM004", "DM002", "DM002"]
    assert [o.playbook_rank for o in plan.offers] == [1, 2, 3]
    for offer in plan.offers:
        assert (offer.cap_monthly, offer.cap_total) == (18.0, 600.0)
        assert any("600" in line and "3.1" in line for line in offer.why_zh)
        assert any("Expected retained value = ARPU 180" in line for line in offer.why_en)
        assert offer.citations
    assert (plan.cap_monthly, plan.cap_total) == (18.0, 600.0)
    assert any("存费送费 → 话补续约 → 机补续约" in note for note in plan.notes_zh)


def test_expected_value_is_spelled_out_and_adds_up() -> None:
    plan = plan_for(snap(**HIGH_VALUE_RENEWAL), 0.6)
    offer = plan.offers[0]
    margin = 180 * load_policy().offers.margin_ratio
    expected = 0.6 * offer.uplift * margin * offer.value_months - offer.total_cost
    assert offer.expected_value == pytest.approx(expected, abs=0.01)
    assert offer.total_cost == pytest.approx(offer.one_off_cost + offer.monthly_cost * offer.cost_months)
    line = next(line for line in offer.why_en if line.startswith("Expected retained value"))
    assert "churn probability 0.60" in line and line.endswith(f"= {offer.expected_value:g}")


def test_above_ninety_percent_churn_counts_less_uplift() -> None:
    # 7.1 "有所不为": > 90% of 高危 customers will leave anyway; still allowed, valued lower.
    sure, likely = (plan_for(snap(**HIGH_VALUE_RENEWAL), p) for p in (0.95, 0.85))
    assert sure.offers and sure.offers[0].uplift == pytest.approx(likely.offers[0].uplift / 2)
    assert any("90%" in line for line in sure.offers[0].why_zh)
    assert not any("90%" in line for line in likely.offers[0].why_zh)


def test_low_value_subscriber_gets_no_proactive_cost() -> None:
    # 3.1 blank low-value caps; 3.2 "low-end: no proactive reminder".
    low = snap(arpu_3m_avg=30, contract_end_in_days=40, complaints_90d=3, arpu_change_pct=-40)
    plan = plan_for(low, 0.7)
    assert plan.value_tier == "low"
    assert all(o.monthly_cost == 0 and o.one_off_cost == 0 for o in plan.offers)
    assert "not_in_playbook" in excluded(plan, "store_value_get_credit")


def test_low_value_walk_in_gets_store_value_get_credit_only() -> None:
    # 3.2: "Offer 存费送费 only if the customer comes in."
    low = snap(arpu_3m_avg=30, contract_end_in_days=40)
    plan = plan_for(low, 0.5, customer_initiated=True)
    paid = [o for o in plan.offers if o.total_cost > 0]
    assert [o.family for o in paid] == ["store_value_get_credit"]
    walk_in = load_policy().offers.walk_in_caps_low_value
    assert paid[0].total_cost <= walk_in.total and paid[0].cap_total == walk_in.total
    assert paid[0].tier == "one_off_no_contract"
    assert "not_in_playbook" in excluded(plan, "credit_subsidy_renewal")


def test_passive_churner_gets_collection_only() -> None:
    # 5.4 / 4.1 DA004: arrears 60 days -> collection, never a discount.
    plan = plan_for(snap(arrears_days=60, contract_end_in_days=50, forwards_to_competitor=3), 0.8)
    assert plan.scenario == "collection"
    assert [o.measure_code for o in plan.offers] == ["DA004"]
    assert plan.offers[0].total_cost == 0
    assert "passive_churn" in excluded(plan, "store_value_get_credit")
    # even when the caller asks for another scenario or the customer walks in
    forced = plan_for(snap(arrears_days=60), 0.8, scenario="renewal", customer_initiated=True)
    assert forced.scenario == "collection" and [o.measure_code for o in forced.offers] == ["DA004"]


def test_silent_mid_value_subscriber_gets_a_reactivation_offer() -> None:
    # 7.4 PWV: silent 40 days, mid value -> silent reactivation (DM004).
    plan = plan_for(snap(arpu_3m_avg=80, silent_days=40), None)
    assert plan.value_tier == "medium" and plan.scenario == "silent"
    assert plan.offers[0].measure_code == "DM004"
    assert plan.offers[0].family.startswith("silent_")
    assert not plan.offers[0].base_price_cut


def test_silent_customer_with_an_old_handset_is_offered_a_handset_first() -> None:
    old = plan_for(snap(arpu_3m_avg=200, silent_days=40), 0.7, profile=SubscriberProfile(handset_gen="2g"))
    smart = plan_for(snap(arpu_3m_avg=200, silent_days=40), 0.7, profile=SubscriberProfile(handset_gen="smart"))
    assert old.offers[0].family == "silent_prepay_get_handset"
    assert smart.offers[0].family == "silent_service_get_credit"


def test_heavy_voice_light_data_gets_data_for_voice() -> None:
    # 7.1 behaviour distinction: 语音多、流量少 -> 用流量送话费 (DM003).
    profile = SubscriberProfile(mou_month=800, data_mb_month=100, handset_gen="smart")
    plan = plan_for(snap(arpu_3m_avg=100, arpu_change_pct=-25), 0.55, profile=profile)
    assert plan.scenario == "routine"
    offer = plan.offers[0]  # the offer matched to this customer's behaviour leads
    assert offer.family == "data_for_voice"
    assert offer.measure_code == "DM003" and offer.title_zh == "用流量送话费"
    assert "eligibility" in excluded(plan, "voice_for_data")
    reverse = plan_for(snap(arpu_3m_avg=100, arpu_change_pct=-25), 0.55,
                       profile=SubscriberProfile(mou_month=50, data_mb_month=5000))
    assert "voice_for_data" in families(reverse) and "data_for_voice" not in families(reverse)


def test_recent_renewal_dispatch_blocks_a_repeat_within_three_months() -> None:
    # 6.5: renewal dispatch 2 months before expiry; same customer not again within 3 months.
    last_month = DispatchRecord(date=AS_OF - timedelta(days=30), scenario="renewal", measure_codes=["RM004"])
    plan = plan_for(snap(**HIGH_VALUE_RENEWAL), 0.6, recent_dispatches=[last_month])
    assert plan.scenario == "renewal"
    assert not plan.offers
    blocked = [e for e in plan.excluded if e.rule == "no_repeat"]
    assert {e.family for e in blocked} >= {"store_value_get_credit", "credit_subsidy_renewal"}
    assert all("3个月内不重复" in e.reason_zh and "3 months" in e.reason_en for e in blocked)
    # four months ago is outside the window; a walk-in is always served (7.1 step 3)
    old = DispatchRecord(date=AS_OF - timedelta(days=125), scenario="renewal")
    assert len(plan_for(snap(**HIGH_VALUE_RENEWAL), 0.6, recent_dispatches=[old]).offers) == 3
    walk_in = plan_for(snap(**HIGH_VALUE_RENEWAL), 0.6, recent_dispatches=[last_month], customer_initiated=True)
    assert walk_in.offers


def test_high_risk_window_is_two_months_and_applies_to_the_same_measure() -> None:
    poached = snap(forwards_to_competitor=3, competitor_hotline_calls=2, complaints_90d=2)
    seven_weeks = DispatchRecord(date=AS_OF - timedelta(days=50), scenario="port_out", measure_codes=["DS001"])
    nine_weeks = DispatchRecord(date=AS_OF - timedelta(days=65), scenario="port_out", measure_codes=["DS001"])
    assert plan_for(poached, 0.8).risk_label == "high"
    assert not plan_for(poached, 0.8, recent_dispatches=[seven_weeks]).offers
    assert plan_for(poached, 0.8, recent_dispatches=[nine_weeks]).offers
    other_kind = DispatchRecord(date=AS_OF - timedelta(days=20), scenario="renewal", measure_codes=["DM001"])
    plan = plan_for(poached, 0.8, recent_dispatches=[other_kind])
    assert "no_repeat" in excluded(plan, "competitive_offer") and "one_to_one_callback" in families(plan)


def test_spend_so_far_shrinks_the_budget() -> None:
    # 600 total cap, 590 already spent: only zero-cost or <= 10 yuan offers remain.
    plan = plan_for(snap(**HIGH_VALUE_RENEWAL), 0.6, spent_total=590)
    assert plan.remaining_total == 10
    assert all(o.total_cost <= 10 for o in plan.offers)
    assert "cap" in excluded(plan, "handset_subsidy_renewal")
    month = plan_for(snap(**HIGH_VALUE_RENEWAL), 0.6, spent_this_month=15)
    svc = next(o for o in month.offers if o.family == "store_value_get_credit")
    assert svc.monthly_cost <= 3 and svc.tier == "one_off_no_contract"


def test_stable_high_value_renewal_gets_no_proactive_push() -> None:
    # 7.1: other high-end customers (not high risk): no proactive reminder in principle.
    plan = plan_for(snap(contract_end_in_days=50), 0.1)
    assert plan.scenario == "renewal" and plan.risk_label in ("low", "stable")
    assert all(o.total_cost == 0 for o in plan.offers)
    assert "not_in_playbook" in excluded(plan, "store_value_get_credit")
    # when they come in they are served, but a subsidy is not worth it for a 10% churner
    walk_in = plan_for(snap(contract_end_in_days=50), 0.1, customer_initiated=True)
    assert families(walk_in)[0] == "store_value_get_credit"
    assert "low_value" in excluded(walk_in, "credit_subsidy_renewal")
    assert families(plan_for(snap(contract_end_in_days=50), 0.5, customer_initiated=True))[:2] == [
        "store_value_get_credit", "credit_subsidy_renewal"]


def test_mid_end_renewal_gives_a_handset_only_on_request() -> None:
    mid = snap(arpu_3m_avg=120, contract_end_in_days=60, arpu_change_pct=-30)
    plan = plan_for(mid, 0.6)
    assert plan.value_tier == "medium"
    assert "handset_subsidy_renewal" not in families(plan)
    assert "not_in_playbook" in excluded(plan, "handset_subsidy_renewal")
    asked = plan_for(mid, 0.6, profile=SubscriberProfile(handset_requested=True))
    assert "handset_subsidy_renewal" in families(asked)


def test_renewal_five_distinctions_reorder_for_handset_and_tenure() -> None:
    old_phone = plan_for(snap(**HIGH_VALUE_RENEWAL), 0.6, profile=SubscriberProfile(handset_gen="3g_basic"))
    assert families(old_phone)[0] == "handset_subsidy_renewal"
    loyal = plan_for(snap(**{**HIGH_VALUE_RENEWAL, "tenure_months": 80}), 0.6)
    assert families(loyal)[0] == "tenure_reward" and loyal.offers[0].one_off_cost == 160
    young = plan_for(snap(**{**HIGH_VALUE_RENEWAL, "tenure_months": 14}), 0.6)
    assert "handset_subsidy_renewal" not in families(young)


def test_port_out_calls_first_then_counters_the_rival() -> None:
    plan = plan_for(snap(forwards_to_competitor=2, forward_share_pct=25), 0.7)
    assert plan.scenario == "port_out"
    assert families(plan)[:2] == ["one_to_one_callback", "competitive_offer"]
    counter = plan_for(snap(forwards_to_competitor=2), 0.7, customer_initiated=True, scenario="port_out")
    assert families(counter)[0] == "counter_save" and counter.offers[0].measure_code == "DS002"


def test_max_offers_is_respected() -> None:
    plan = plan_for(snap(**HIGH_VALUE_RENEWAL), 0.6, max_offers=1)
    assert families(plan) == ["store_value_get_credit"]
    assert "max_offers" in excluded(plan, "credit_subsidy_renewal")


def test_a_base_price_cut_never_leads_and_never_goes_alone() -> None:
    catalogue = load_catalogue()
    only_cut = catalogue.model_copy(update={"families": {
        "silent_plan_fee_discount": catalogue.families["silent_plan_fee_discount"]}})
    silent = snap(arpu_3m_avg=200, silent_days=40)
    alone = plan_for(silent, None, catalogue=only_cut)
    assert not alone.offers and "base_price_cut" in excluded(alone, "silent_plan_fee_discount")
    with_care = catalogue.model_copy(update={"families": {
        "silent_plan_fee_discount": catalogue.families["silent_plan_fee_discount"],
        "care": catalogue.families["care"]}})
    plan = plan_for(silent, None, catalogue=with_care)
    assert families(plan) == ["care", "silent_plan_fee_discount"]


def test_without_a_searcher_the_plan_says_it_has_no_citations() -> None:
    plan = plan_for(snap(**HIGH_VALUE_RENEWAL), 0.6, searcher=None)
    assert plan.offers and all(not o.citations for o in plan.offers)
    assert not plan.citations_available
    assert any("no citations" in note for note in plan.notes_en)


def test_bad_arguments_are_refused() -> None:
    seg = segment(snap())
    for kwargs in ({"churn_probability": 1.5}, {"churn_probability": 0.5, "spent_total": -1},
                   {"churn_probability": 0.5, "max_offers": 0}, {"churn_probability": 0.5, "scenario": "nope"}):
        with pytest.raises(InvalidInput):
            recommend_offers(snap(), seg, searcher=None, **kwargs)


# --- hard rules on 10,000 generated subscribers --------------------------------------------


def random_case(rng: random.Random) -> dict[str, Any]:
    """A random snapshot, profile, history and call options, covering every tier and scenario."""
    def maybe(value: Any, p: float = 0.5) -> Any:
        return value if rng.random() < p else None

    avg = rng.choice([40.0, 50.0, 80.0])
    values = {
        "tenure_months": rng.choice([0, 0.5, 2, 6, 14, 30, 50, 70, 150]) + rng.random(),
        "arpu_3m_avg": round(avg * rng.choice([0, 0.3, 0.8, 1.2, 2.5, 4, 8]) * rng.uniform(0.8, 1.2), 2),
        "network_avg_arpu": avg,
        "payment_type": rng.choice(["postpaid", "postpaid", "quasi_prepaid", "prepaid"]),
        "contract_end_in_days": maybe(rng.randint(-120, 400)),
        "contract_remaining_amount_pct": maybe(rng.uniform(0, 100), 0.3),
        "arpu_change_pct": maybe(rng.uniform(-100, 40)),
        "mou_change_pct": maybe(rng.uniform(-100, 40)),
        "forwards_to_competitor": maybe(rng.choice([0, 0, 1, 4]), 0.4),
        "forward_share_pct": maybe(rng.uniform(0, 40), 0.3),
        "complaints_90d": maybe(rng.choice([0, 1, 2, 5]), 0.4),
        "competitor_hotline_calls": maybe(rng.choice([0, 0, 1, 3]), 0.4),
        "silent_days": maybe(rng.choice([0, 5, 12, 40, 90]), 0.4),
        "arrears_days": maybe(rng.choice([0, 0, 5, 20, 45, 120]), 0.4),
        "is_group": maybe(rng.random() < 0.3, 0.3),
        "group_size": maybe(rng.choice([3, 12, 60]), 0.3),
        "is_special": maybe(rng.random() < 0.1, 0.3),
        "cumulative_spend_rank_pct": maybe(rng.uniform(0, 100), 0.4),
        "is_student": maybe(rng.random() < 0.3, 0.4),
        "points_balance": maybe(rng.choice([0, 500, 5000]), 0.4),
    }
    snapshot = SubscriberSnapshot(**values)
    if snapshot.is_group and snapshot.group_size is None:
        snapshot = snapshot.model_copy(update={"group_size": 12})
    profile = SubscriberProfile(
        handset_gen=maybe(rng.choice(["2g", "3g_basic", "smart"])),
        plan_type=maybe(rng.choice(["single", "converged"])),
        mou_month=maybe(rng.choice([10, 80, 300, 900])),
        data_mb_month=maybe(rng.choice([0, 200, 1500, 6000])),
        handset_requested=maybe(rng.random() < 0.3),
    )
    dispatches = [DispatchRecord(date=AS_OF - timedelta(days=rng.randint(0, 200)),
                                 scenario=rng.choice(["renewal", "port_out", "silent", "routine", "campus"]),
                                 measure_codes=rng.sample(["RM004", "DM002", "DS001", "DM004", "RS001"], 2))
                  for _ in range(rng.choice([0, 0, 1, 2]))]
    return dict(
        snapshot=snapshot, profile=profile, recent_dispatches=dispatches,
        churn_probability=rng.choice([rng.random(), rng.uniform(0.88, 1.0)]),
        spent_total=rng.choice([0.0, 0.0, rng.uniform(0, 900)]),
        spent_this_month=rng.choice([0.0, 0.0, rng.uniform(0, 40)]),
        customer_initiated=rng.random() < 0.25,
        max_offers=rng.choice([None, 1, 2, 3, 5]),
        scenario=rng.choice([None] * 6 + ["renewal", "port_out", "silent", "campus"]),
    )


def check_hard_rules(plan: OfferPlan, case: dict[str, Any], seg: Any) -> None:
    policy, catalogue = load_policy(), load_catalogue()
    limit = case["max_offers"] or policy.offers.max_offers
    assert len(plan.offers) <= limit
    if plan.offers:
        assert not plan.offers[0].base_price_cut
    low, walk_in = seg.value_tier.code == "low", case["customer_initiated"]
    for offer in plan.offers:
        family = catalogue.families[offer.family]
        # caps, given what was already spent (3.1): cost <= max(0, cap - spent), so only zero-cost
        # services remain once the budget is used up; one-offs count against the total cap
        assert offer.monthly_cost <= max(0.0, offer.cap_monthly - case["spent_this_month"]) + EPS
        assert offer.total_cost == pytest.approx(offer.one_off_cost + offer.monthly_cost * offer.cost_months)
        assert offer.total_cost <= max(0.0, offer.cap_total - case["spent_total"]) + EPS
        walk_in_caps = low and walk_in and family.walk_in_ok
        caps = policy.offers.walk_in_caps_low_value if walk_in_caps else seg.cost_caps
        assert (offer.cap_monthly, offer.cap_total) == (caps.monthly, caps.total)
        paid = offer.total_cost > 0
        if low and paid:  # low value: no proactive cost; a walk-in gets 存费送费 only
            assert walk_in and offer.family == "store_value_get_credit"
        assert not (seg.passive_churn and (paid or offer.measure_code != "DA004"))
        assert offer.measure_code in catalogue.measures and catalogue.measures[offer.measure_code].customer_offer
        assert offer.citations
        assert len(offer.why) == len(offer.why_zh) + len(offer.why_en) >= 8
    if seg.passive_churn:
        assert plan.scenario == "collection"


def test_hard_rules_hold_for_ten_thousand_generated_subscribers() -> None:
    rng = random.Random(20251231)
    policy, catalogue = load_policy(), load_catalogue()
    seen = {"scenarios": set(), "tiers": set(), "paid": 0, "walk_in_paid": 0, "passive": 0}
    for _ in range(10_000):
        case = random_case(rng)
        seg = segment(case["snapshot"], policy)
        plan = recommend_offers(case["snapshot"], seg, searcher=FAKE, catalogue=catalogue, policy=policy,
                                as_of=AS_OF, **{k: v for k, v in case.items() if k != "snapshot"})
        check_hard_rules(plan, case, seg)
        seen["scenarios"].add(plan.scenario)
        seen["tiers"].add(seg.value_tier.code)
        seen["paid"] += any(o.total_cost > 0 for o in plan.offers)
        seen["walk_in_paid"] += seg.value_tier.code == "low" and any(o.total_cost > 0 for o in plan.offers)
        seen["passive"] += seg.passive_churn
    # the generator really exercised the rules
    assert seen["scenarios"] >= {"renewal", "routine", "campus", "silent", "port_out", "collection"}
    assert seen["tiers"] == {"high", "medium", "low", "group"}
    assert seen["paid"] > 1000 and seen["walk_in_paid"] > 10 and seen["passive"] > 500


# --- citations with the real playbooks -------------------------------------------------------


def test_citations_are_real_passages_of_the_playbooks(playbooks_kb) -> None:
    rng = random.Random(7)
    cited = 0
    for _ in range(50):
        case = random_case(rng)
        seg = segment(case["snapshot"])
        plan = recommend_offers(case["snapshot"], seg, searcher=playbooks_kb, as_of=AS_OF,
                                **{k: v for k, v in case.items() if k != "snapshot"})
        assert plan.citations_available or not plan.offers
        for offer in plan.offers:
            assert offer.citations, offer.family
            ids = [c.id for c in offer.citations]
            stored = playbooks_kb.passages(ids)
            assert [p.id for p in stored] == ids
            assert all(c.text == p.text and c.source == p.source for c, p in zip(offer.citations, stored))
            cited += 1
    assert cited > 20


def test_renewal_offers_cite_the_renewal_and_measure_playbooks(playbooks_kb) -> None:
    plan = plan_for(snap(**HIGH_VALUE_RENEWAL), 0.6, searcher=playbooks_kb)
    first = plan.offers[0]
    sources = {c.source for c in first.citations}
    assert "08-renewal.zh.md" in sources and "04-measures.zh.md" in sources
    assert any("存费送费" in c.text for c in first.citations)
    collection = plan_for(snap(arrears_days=60), 0.8, searcher=playbooks_kb)
    assert any("DA004" in c.text or "欠费" in c.text for c in collection.offers[0].citations)
