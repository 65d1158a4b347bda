"""Issue 4's property test on generated data: 10,000 subscribers from `retention data generate`,
each through segmentation, the offer engine and a call script over the real knowledge base of the
shipped playbooks. No offer exceeds its tier's caps, low-value and passive-churn subscribers get no
proactive cost, and every offer, script section and objection cites passages that exist."""

from __future__ import annotations

from collections import Counter

import pytest

from tools.catalogue import load_catalogue
from tools.citations import cached_searcher
from tools.drafts import build_facts
from tools.generate import generate
from tools.offers import recommend_offers
from tools.policy import load_policy
from tools.rules import segment
from tools.schemas import SubscriberSnapshot
from tools.scripts import draft_call_script
from tools.segment_frame import snapshots

ROWS = 10_000
EPS = 1e-6


def generated_snapshots(rows: int, seed: int) -> list[SubscriberSnapshot]:
    """Rule snapshots of generated subscribers (last month's usage against the one before)."""
    frames = generate(rows, seed=seed)
    return snapshots(frames["subscribers"], frames["usage"])


@pytest.fixture(scope="module")
def results(playbooks_kb):
    searcher = cached_searcher(playbooks_kb)
    policy, catalogue = load_policy(), load_catalogue()
    out = []
    for i, snapshot in enumerate(generated_snapshots(ROWS, seed=2024)):
        seg = segment(snapshot, policy)
        plan = recommend_offers(snapshot, seg, churn_probability=seg.rule_score.probability,
                                churn_reasons=seg.signals, searcher=searcher, catalogue=catalogue, policy=policy)
        scenario = "routine" if plan.scenario == "collection" else plan.scenario
        script = draft_call_script(build_facts(snapshot, seg), seg, plan.offers, scenario=scenario,
                                   lang="zh" if i % 2 else "en", churn_reasons=seg.signals, searcher=searcher)
        out.append((seg, plan, script))
    return out


def test_the_generated_base_exercises_every_tier_and_scenario(results) -> None:
    tiers = Counter(seg.value_tier.code for seg, _, _ in results)
    scenarios = Counter(plan.scenario for _, plan, _ in results)
    assert set(tiers) >= {"high", "medium", "low"}, tiers
    assert set(scenarios) >= {"renewal", "routine", "silent", "port_out", "collection"}, scenarios
    assert sum(bool(plan.offers) for _, plan, _ in results) > ROWS // 4
    assert sum(seg.passive_churn for seg, _, _ in results) > 10


def test_no_offer_exceeds_its_caps(results) -> None:
    """Each offer is an alternative (the customer takes at most one): each fits the caps on its own."""
    offers = 0
    for seg, plan, _ in results:
        for offer in plan.offers:
            offers += 1
            assert (offer.cap_monthly, offer.cap_total) == (seg.cost_caps.monthly, seg.cost_caps.total)
            assert offer.monthly_cost <= offer.cap_monthly + EPS, offer
            assert offer.total_cost <= offer.cap_total + EPS, offer
            assert offer.total_cost == pytest.approx(offer.one_off_cost + offer.monthly_cost * offer.cost_months)
        assert not plan.offers or not plan.offers[0].base_price_cut
    assert offers > ROWS // 2


def test_low_value_and_passive_churners_get_no_proactive_cost(results) -> None:
    for seg, plan, script in results:
        if seg.value_tier.code == "low" or seg.passive_churn:
            assert all(o.total_cost == 0 for o in plan.offers), (seg.value_tier.code, plan.offers)
            assert all(o.total_cost == 0 for o in script.offers)
        if seg.passive_churn:
            assert plan.scenario == "collection" and all(o.measure_code == "DA004" for o in plan.offers)


def test_every_offer_section_and_objection_cites_real_passages(results, playbooks_kb) -> None:
    cited: dict[str, tuple[str, str]] = {}
    for _, plan, script in results:
        for offer in plan.offers:
            assert offer.citations, offer.measure_code
            cited.update({c.id: (c.source, c.text) for c in offer.citations})
        for section in script.sections:
            assert section.citations, (script.scenario, section.name)
            cited.update({c.id: (c.source, c.text) for c in section.citations})
        for objection in script.objections:
            assert objection.citations, objection.code
            cited.update({c.id: (c.source, c.text) for c in objection.citations})
    stored = {p.id: (p.source, p.text) for p in playbooks_kb.passages(sorted(cited))}
    assert stored == cited
