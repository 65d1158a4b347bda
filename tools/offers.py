"""Next-best-offer engine: the playbook's offers for one subscriber, within budget, ranked and cited.

`recommend_offers` takes a snapshot, its segmentation and a churn probability (a trained model's,
or the rule score) and returns an `OfferPlan`: ordered alternatives (the customer takes at most
one, presented one at a time, 7.1), the candidates it dropped and why, and the caps it used.

Hard rules (tests/tools/test_offers.py checks them on 10,000 generated subscribers):
- caps (3.1): monthly_cost <= max(0, cap_monthly - spent_this_month), and
  total_cost = one_off_cost + monthly_cost x cost_months <= max(0, cap_total - spent_total).
  One-off costs count against the total cap only; each alternative fits the remaining budget on
  its own (they are alternatives); zero-cost services stay possible when the budget is used up.
- low value: no proactive cost; a walk-in (`customer_initiated`) may get 存费送费 only (3.2).
- passive churners: collection (DA004) only, never a discount (5.4).
- never more than `max_offers` (7.1); a base-price cut never first and never alone (PM002, 7.11).
- no-repeat windows of 6.5 for outbound dispatches.
Ranking: the scenario's playbook order first (e.g. 存费送费 -> 话补续约 -> 机补续约, 7.1), then
expected retained value = churn probability x uplift x ARPU x margin ratio x months - cost.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from tools.catalogue import Catalogue, CostTier, OfferFamily, load_catalogue
from tools.citations import Searcher
from tools.errors import InvalidInput
from tools.offer_explain import explain_offer, fmt, offer_citations, plan_notes
from tools.offer_rules import (
    SCENARIOS,
    OfferContext,
    check_eligibility,
    detect_scenario,
    playbook_order,
    repeat_block,
    usage_pattern,
)
from tools.policy import Policy, load_policy
from tools.schemas import (
    DispatchRecord,
    ExcludedMeasure,
    OfferPlan,
    OfferTerms,
    RecommendedOffer,
    Scenario,
    Segmentation,
    SubscriberProfile,
    SubscriberSnapshot,
)

_EPS = 1e-9


def recommend_offers(
    snapshot: SubscriberSnapshot,
    segmentation: Segmentation,
    *,
    churn_probability: float,
    churn_reasons: Sequence[str] = (),
    spent_total: float = 0.0,
    spent_this_month: float = 0.0,
    recent_dispatches: Sequence[DispatchRecord] = (),
    searcher: Searcher | None,
    catalogue: Catalogue | None = None,
    policy: Policy | None = None,
    horizon_months: int | None = None,
    max_offers: int | None = None,
    as_of: date | None = None,
    profile: SubscriberProfile | None = None,
    customer_initiated: bool = False,
    scenario: Scenario | None = None,
) -> OfferPlan:
    """Next-best retention offers for one subscriber: ordered, within the tier's caps, each cited."""
    pol = policy or load_policy()
    cat = catalogue or load_catalogue()
    op = pol.offers
    horizon = op.horizon_months if horizon_months is None else horizon_months
    limit = op.max_offers if max_offers is None else max_offers
    if not 0.0 <= churn_probability <= 1.0:
        raise InvalidInput(f"churn_probability must be between 0 and 1, not {churn_probability}")
    if spent_total < 0 or spent_this_month < 0:
        raise InvalidInput("spent_total and spent_this_month must not be negative")
    if horizon < 1 or limit < 1:
        raise InvalidInput("horizon_months and max_offers must be at least 1")
    if scenario is not None and scenario not in SCENARIOS:
        raise InvalidInput(f"unknown scenario {scenario!r}; expected one of {', '.join(SCENARIOS)}")
    prof = profile or SubscriberProfile()
    ctx = OfferContext(
        snapshot=snapshot, segmentation=segmentation, profile=prof, policy=pol,
        probability=churn_probability, triggers=frozenset([*segmentation.signals, *churn_reasons]),
        customer_initiated=customer_initiated, as_of=as_of or date.today(),
        usage_pattern=usage_pattern(prof, pol),
    )
    detected, why_zh, why_en = detect_scenario(ctx)
    if scenario is not None and detected != "collection" and scenario != detected:
        why_zh = f"按指定场景处理（自动判断为{SCENARIOS[detected][0]}）"
        why_en = f"scenario given (detected: {detected})"
        detected = scenario
    plan = _Planner(ctx, cat, detected, horizon, spent_total, spent_this_month, list(recent_dispatches))
    return plan.run(limit, searcher, why_zh, why_en)


class _Planner:
    """One run of the engine; keeps the excluded list and the notes while it works."""

    def __init__(self, ctx: OfferContext, cat: Catalogue, scenario: Scenario, horizon: int,
                 spent_total: float, spent_month: float, dispatches: list[DispatchRecord]) -> None:
        self.ctx, self.cat, self.scenario, self.horizon = ctx, cat, scenario, horizon
        self.spent_total, self.spent_month, self.dispatches = spent_total, spent_month, dispatches
        self.excluded: list[ExcludedMeasure] = []
        self.notes_zh: list[str] = []
        self.notes_en: list[str] = []
        caps = ctx.segmentation.cost_caps
        self.cap_monthly, self.cap_total = caps.monthly, caps.total

    def note(self, zh: str, en: str) -> None:
        """Add a plan-level note in both languages."""
        self.notes_zh.append(zh)
        self.notes_en.append(en)

    def drop(self, family: str, rule: str, zh: str, en: str) -> None:
        """Record a dropped candidate."""
        code = self.cat.family_code(family, self.ctx.work_stage)
        self.excluded.append(ExcludedMeasure(measure_code=code, family=family, rule=rule,
                                             reason_zh=zh, reason_en=en))

    def run(self, limit: int, searcher: Searcher | None, why_zh: str, why_en: str) -> OfferPlan:
        """Filter, price, rank, cap, cite; return the plan."""
        ctx = self.ctx
        name_zh, name_en = SCENARIOS[self.scenario]
        self.note(f"场景：{name_zh}。{why_zh}", f"Scenario: {name_en}. {why_en}")
        order = playbook_order(self.scenario, ctx, self.cat)
        if order.zh:
            self.note(order.zh, order.en)
        candidates = [k for k, f in self.cat.families.items() if self.scenario in f.eligibility.scenarios
                      or ctx.segmentation.passive_churn]  # a passive churner hears why no discount
        offers: list[RecommendedOffer] = []
        for key in candidates:
            offer = self._consider(key, order.order, order.gated)
            if offer is not None:
                offers.append(offer)
        rank = {key: i for i, key in enumerate(order.order)}
        offers.sort(key=lambda o: (rank.get(o.family, len(rank)), -o.expected_value, o.family))
        offers = self._base_price_rule(offers)
        for dropped in offers[limit:]:
            self.drop(dropped.family, "max_offers",
                      f"一次最多推{limit}个方案（7.1：切忌一次推销过多优惠）",
                      f"at most {limit} offers at once (7.1: never push too many offers)")
        offers = offers[:limit]
        for position, offer in enumerate(offers, start=1):
            self._finish(offer, position, searcher)
        self._plan_notes(offers, searcher, limit)
        rem_m, rem_t = self._remaining(None)
        return OfferPlan(
            scenario=self.scenario, scenario_zh=name_zh, scenario_en=name_en, offers=offers,
            excluded=self.excluded, notes_zh=self.notes_zh, notes_en=self.notes_en,
            value_tier=ctx.tier, risk_label=ctx.risk, churn_probability=ctx.probability,
            customer_initiated=ctx.customer_initiated, cap_monthly=self.cap_monthly,
            cap_total=self.cap_total, caps_rule=ctx.segmentation.cost_caps.rule,
            spent_this_month=self.spent_month, spent_total=self.spent_total,
            remaining_monthly=rem_m, remaining_total=rem_t, horizon_months=self.horizon,
            citations_available=searcher is not None and all(o.citations for o in offers),
        )

    # --- one candidate ------------------------------------------------------------------

    def _caps_for(self, family: OfferFamily | None) -> tuple[float, float]:
        ctx = self.ctx
        if family is not None and family.walk_in_ok and ctx.tier == "low" and ctx.customer_initiated:
            walk_in = ctx.policy.offers.walk_in_caps_low_value
            return walk_in.monthly, walk_in.total
        return self.cap_monthly, self.cap_total

    def _remaining(self, family: OfferFamily | None) -> tuple[float, float]:
        monthly, total = self._caps_for(family)
        return (round(max(0.0, monthly - self.spent_month), 2), round(max(0.0, total - self.spent_total), 2))

    def _paid_allowed(self, family: OfferFamily) -> tuple[str, str] | None:
        """Why this family may not cost money here, or None when it may."""
        ctx = self.ctx
        if ctx.tier == "low":
            if not ctx.customer_initiated:
                return ("低价值客户无主动维系预算，只做零成本服务（3.1、3.2）",
                        "low value: no proactive retention budget, zero-cost service only (3.1, 3.2)")
            if not family.walk_in_ok:
                return ("低价值客户来办时只提供存费送费（3.2、7.1）",
                        "a low-value walk-in gets store-value-get-credit only (3.2, 7.1)")
            return None
        if not ctx.at_risk and not ctx.customer_initiated:
            return (f"风险{ctx.risk}未达中危：不主动投入维系成本，客户来办时再提供（7.1 有所为有所不为）",
                    f"risk {ctx.risk} is below medium: no proactive spend; offer it when the customer asks "
                    "(7.1 do some things, skip others)")
        return None

    def _consider(self, key: str, order: list[str], gated: dict[str, tuple[str, str]]) -> RecommendedOffer | None:
        ctx, fam = self.ctx, self.cat.families[key]
        code = self.cat.family_code(key, ctx.work_stage)
        measure = self.cat.measures[code]
        if ctx.segmentation.passive_churn and key != "collection_reminder":
            if fam.costs_money:
                self.drop(key, "passive_churn", "长期欠费的被动流失客户只做催缴，不给优惠（5.4）",
                          "a passive churner (long arrears) gets collection, not discounts (5.4)")
            return None
        if key in gated:
            zh, en = gated[key]
            self.drop(key, "not_in_playbook", zh, en)
            return None
        for rule in (measure.eligibility, fam.eligibility):
            failed = check_eligibility(rule, ctx)
            if failed:
                self.drop(key, "eligibility", *failed)
                return None
        blocked = repeat_block(self.scenario, code, ctx, self.dispatches)
        if blocked:
            self.drop(key, "no_repeat", *blocked)
            return None
        tiers = [t for t in fam.tiers if _tenure_fits(t, ctx.snapshot.tenure_months)]
        if not tiers:
            self.drop(key, "eligibility", "网龄不符合任何档位", "tenure fits none of the tiers")
            return None
        no_paid = self._paid_allowed(fam)
        if no_paid:
            tiers = [t for t in tiers if t.total_cost <= 0]
            if not tiers:
                self.drop(key, "no_proactive_cost", *no_paid)
                return None
        rem_m, rem_t = self._remaining(fam)
        fitting = [t for t in tiers if t.monthly <= rem_m + _EPS and t.total_cost <= rem_t + _EPS]
        if not fitting:
            cheapest = min(tiers, key=lambda t: (t.total_cost, t.monthly))
            self.drop(key, "cap",
                      f"最低档成本（每月{fmt(cheapest.monthly)}元，合计{fmt(cheapest.total_cost)}元）超过剩余上限"
                      f"（月{fmt(rem_m)}元，总{fmt(rem_t)}元，3.1）",
                      f"the cheapest tier (monthly {fmt(cheapest.monthly)}, total {fmt(cheapest.total_cost)}) "
                      f"exceeds the remaining caps (monthly {fmt(rem_m)}, total {fmt(rem_t)}, 3.1)")
            return None
        min_ev = ctx.policy.offers.min_expected_value
        best: tuple[CostTier, float] | None = None
        for tier in fitting:
            ev = self._expected_value(fam, tier)
            if tier.total_cost <= 0 or ev >= min_ev:
                best = (tier, ev)
                break
        if best is None:
            ev = max(self._expected_value(fam, t) for t in fitting)
            self.drop(key, "low_value",
                      f"期望保留价值{fmt(ev)}元低于成本门槛{fmt(min_ev)}元：不值得投入",
                      f"expected retained value {fmt(ev)} is below the threshold {fmt(min_ev)}: not worth it")
            return None
        return self._offer(key, code, fam, *best, order)

    def _uplift(self, fam: OfferFamily) -> float:
        op = self.ctx.policy.offers
        factor = op.lost_cause_uplift_factor if self.ctx.probability >= op.lost_cause_min_probability else 1.0
        return round(fam.uplift * factor, 4)

    def _expected_value(self, fam: OfferFamily, tier: CostTier) -> float:
        ctx = self.ctx
        months = max(self.horizon, tier.contract_months)
        margin = ctx.snapshot.arpu_3m_avg * ctx.policy.offers.margin_ratio
        return round(ctx.probability * self._uplift(fam) * margin * months - tier.total_cost, 2)

    def _offer(self, key: str, code: str, fam: OfferFamily, tier: CostTier, ev: float,
               order: list[str]) -> RecommendedOffer:
        cap_m, cap_t = self._caps_for(fam)
        terms = OfferTerms(
            customer_gets_zh=tier.gets_zh, customer_gets_en=tier.gets_en,
            conditions_zh=list(tier.conditions_zh), conditions_en=list(tier.conditions_en),
            validity_days=tier.validity_days, prepay=tier.prepay, contract_months=tier.contract_months,
            placeholder=tier.source == "placeholder",
        )
        return RecommendedOffer(
            measure_code=code, title_zh=fam.title_zh, title_en=fam.title_en,
            monthly_cost=tier.monthly, one_off_cost=tier.one_off, cap_monthly=cap_m, cap_total=cap_t,
            expected_value=ev, family=key, tier=tier.name, total_cost=tier.total_cost,
            cost_months=tier.months, value_months=max(self.horizon, tier.contract_months),
            uplift=self._uplift(fam), base_price_cut=fam.base_price_cut,
            playbook_rank=order.index(key) + 1 if key in order else None, terms=terms,
        )

    # --- ordering rules -----------------------------------------------------------------

    def _base_price_rule(self, offers: list[RecommendedOffer]) -> list[RecommendedOffer]:
        """A base-price cut never leads and never stands alone (PM002, 7.11)."""
        if not any(o.base_price_cut for o in offers):
            return offers
        lead = next((o for o in offers if not o.base_price_cut), None)
        if lead is None:
            for o in offers:
                self.drop(o.family, "base_price_cut", "不以降低基础资费为主打，也不单独推降价（PM002、7.11）",
                          "a base-price cut never leads and never goes alone (PM002, 7.11)")
            return []
        return [lead, *(o for o in offers if o is not lead)]

    # --- explanation and citations ------------------------------------------------------

    def _finish(self, offer: RecommendedOffer, position: int, searcher: Searcher | None) -> None:
        fam = self.cat.families[offer.family]
        remaining = self._remaining(fam)
        offer.why_zh, offer.why_en = explain_offer(
            offer, fam, self.ctx, self.scenario, position, self.horizon,
            spent=(self.spent_month, self.spent_total), remaining=remaining,
        )
        offer.why = [line for pair in zip(offer.why_zh, offer.why_en) for line in pair]
        if searcher is not None:
            k = self.ctx.policy.offers.citations_per_query
            offer.citations = offer_citations(searcher, fam, self.cat.measures[offer.measure_code], k)

    def _plan_notes(self, offers: list[RecommendedOffer], searcher: Searcher | None, limit: int) -> None:
        for zh, en in plan_notes(self.ctx, self.scenario, bool(offers), searcher is not None, limit,
                                 spent=(self.spent_month, self.spent_total)):
            self.note(zh, en)


def _tenure_fits(tier: CostTier, tenure: float) -> bool:
    low_ok = tier.min_tenure_months is None or tenure >= tier.min_tenure_months
    high_ok = tier.max_tenure_months is None or tenure < tier.max_tenure_months
    return low_ok and high_ok
