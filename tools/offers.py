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

import threading
from collections.abc import Sequence
from dataclasses import replace
from datetime import date
from typing import Any

from tools.catalogue import Catalogue, CostTier, OfferFamily, load_catalogue
from tools.citations import Searcher, cite
from tools.errors import InvalidInput
from tools.offer_rules import (
    SCENARIOS,
    OfferContext,
    check_eligibility,
    detect_scenario,
    playbook_order,
    repeat_block,
    trigger_names,
    usage_pattern,
)
from tools.policy import Policy, load_policy
from tools.schemas import (
    Citation,
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


def _n(value: float) -> str:
    return f"{float(value):.2f}".rstrip("0").rstrip(".")


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
    signal_text = {r.code: (r.zh, r.en) for r in segmentation.reasons}
    ctx = OfferContext(
        snapshot=snapshot, segmentation=segmentation, profile=prof, policy=pol,
        probability=churn_probability, triggers=frozenset([*segmentation.signals, *churn_reasons]),
        customer_initiated=customer_initiated, as_of=as_of or date.today(), reasons=signal_text,
    )
    ctx = replace(ctx, usage_pattern=usage_pattern(prof, pol))
    detected, why_zh, why_en = detect_scenario(ctx)
    if scenario is not None and detected != "collection" and scenario != detected:
        why_zh, why_en = f"按指定场景处理（自动判断为{SCENARIOS[detected][0]}）", f"scenario given (detected: {detected})"
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
        ctx, op = self.ctx, self.ctx.policy.offers
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
                      f"最低档成本（每月{_n(cheapest.monthly)}元，合计{_n(cheapest.total_cost)}元）超过剩余上限"
                      f"（月{_n(rem_m)}元，总{_n(rem_t)}元，3.1）",
                      f"the cheapest tier (monthly {_n(cheapest.monthly)}, total {_n(cheapest.total_cost)}) "
                      f"exceeds the remaining caps (monthly {_n(rem_m)}, total {_n(rem_t)}, 3.1)")
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
                      f"期望保留价值{_n(ev)}元低于成本门槛{_n(min_ev)}元：不值得投入",
                      f"expected retained value {_n(ev)} is below the threshold {_n(min_ev)}: not worth it")
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
        ctx, fam = self.ctx, self.cat.families[offer.family]
        zh: list[str] = []
        en: list[str] = []
        rank = f"，按剧本顺序第{offer.playbook_rank}位" if offer.playbook_rank else "，按期望保留价值排序"
        rank_en = f", playbook position {offer.playbook_rank}" if offer.playbook_rank else ", ranked by expected value"
        zh.append(f"第{position}个备选（{SCENARIOS[self.scenario][0]}{rank}）：{fam.description_zh}")
        en.append(f"Option {position} ({SCENARIOS[self.scenario][1]}{rank_en}): {fam.description_en}")
        answered = ctx.triggers & set(fam.eligibility.triggers_any)
        if answered:
            names = trigger_names(set(answered))
            zh.append(f"针对：{names[0]}")
            en.append(f"Answers: {names[1]}")
        t = offer.terms
        validity = f"；办理有效期{t.validity_days}天（运营商设定）" if t.validity_days else ""
        zh.append(f"条款：{t.customer_gets_zh}{validity}" + (f"；条件：{'，'.join(t.conditions_zh)}" if t.conditions_zh else ""))
        en.append(f"Terms: {t.customer_gets_en}" + (f"; open {t.validity_days} days (operator setting)" if t.validity_days else "")
                  + (f"; conditions: {'; '.join(t.conditions_en)}" if t.conditions_en else ""))
        rem_m, rem_t = self._remaining(fam)
        zh.append(f"成本 = 一次性{_n(offer.one_off_cost)} + 每月{_n(offer.monthly_cost)} × {offer.cost_months}个月 = "
                  f"{_n(offer.total_cost)}元；月上限剩余{_n(rem_m)}（{_n(offer.cap_monthly)} − 本月已用{_n(self.spent_month)}），"
                  f"总上限剩余{_n(rem_t)}（{_n(offer.cap_total)} − 已用{_n(self.spent_total)}）（3.1）")
        en.append(f"Cost = one-off {_n(offer.one_off_cost)} + {_n(offer.monthly_cost)}/month × {offer.cost_months} months = "
                  f"{_n(offer.total_cost)}; monthly cap left {_n(rem_m)} ({_n(offer.cap_monthly)} − "
                  f"{_n(self.spent_month)} spent this month), total cap left {_n(rem_t)} ({_n(offer.cap_total)} − "
                  f"{_n(self.spent_total)} spent) (3.1)")
        arpu, ratio = ctx.snapshot.arpu_3m_avg, ctx.policy.offers.margin_ratio
        months = f"{offer.value_months}个月" + ("（协议期）" if offer.value_months > self.horizon else "")
        months_en = f"{offer.value_months} months" + (" (contract term)" if offer.value_months > self.horizon else "")
        zh.append(f"期望保留价值 = ARPU {_n(arpu)} × 毛利率{_n(ratio * 100)}% × {months} × 流失概率{ctx.probability:.2f} × "
                  f"挽留提升{_n(offer.uplift * 100)}% − 成本{_n(offer.total_cost)} = {_n(offer.expected_value)}元")
        en.append(f"Expected retained value = ARPU {_n(arpu)} × margin {_n(ratio * 100)}% × {months_en} × churn probability "
                  f"{ctx.probability:.2f} × uplift {_n(offer.uplift * 100)}% − cost {_n(offer.total_cost)} = "
                  f"{_n(offer.expected_value)}")
        op = ctx.policy.offers
        if ctx.probability >= op.lost_cause_min_probability:
            zh.append(f"流失概率≥{_n(op.lost_cause_min_probability * 100)}%：多数终将离网，挽留提升按×{_n(op.lost_cause_uplift_factor)}计（7.1 有所不为）")
            en.append(f"Churn probability ≥ {_n(op.lost_cause_min_probability * 100)}%: most will leave anyway, "
                      f"uplift counted × {_n(op.lost_cause_uplift_factor)} (7.1)")
        if t.placeholder:
            zh.append("注意：金额为运营商占位值，请在 tools/data/measures.yaml 中按当地政策设定")
            en.append("Note: amounts are operator placeholders; set them in tools/data/measures.yaml")
        offer.why_zh, offer.why_en = zh, en
        offer.why = [line for pair in zip(zh, en) for line in pair]
        if searcher is not None:
            offer.citations = self._citations(searcher, fam, offer.measure_code)

    def _citations(self, searcher: Searcher, fam: OfferFamily, code: str) -> list[Citation]:
        k = self.ctx.policy.offers.citations_per_query
        measure = self.cat.measures[code]
        found: dict[str, Citation] = {}
        for query, topic in ((fam.citation_query, fam.topic), (measure.citation_query, measure.topic)):
            for c in _cached_cite(searcher, query, k, topic):
                found.setdefault(c.id, c)
        return list(found.values())

    def _plan_notes(self, offers: list[RecommendedOffer], searcher: Searcher | None, limit: int) -> None:
        ctx = self.ctx
        if offers:
            self.note(f"以上为备选方案，按顺序一次只推一个，客户拒绝后再拿出下一个；最多{limit}个（7.1）",
                      f"These are alternatives: present one at a time, in order, the next only if refused; "
                      f"at most {limit} (7.1)")
        else:
            self.note("没有符合规则和预算的方案，原因见 excluded", "No offer fits the rules and the budget; see excluded")
        caps = ctx.segmentation.cost_caps
        caps_zh = next((r.zh for r in ctx.segmentation.reasons if r.code.startswith("cost_caps_")), caps.rule)
        self.note(f"成本上限：{caps_zh}；已用：本月{_n(self.spent_month)}元，累计{_n(self.spent_total)}元",
                  f"Caps: {caps.rule}; spent: {_n(self.spent_month)} this month, {_n(self.spent_total)} in total")
        if ctx.customer_initiated:
            self.note("客户主动来办：不适用外呼派单的不重复窗口（6.5），来办客户必须有现成方案（7.1）",
                      "The customer came in: outbound no-repeat windows (6.5) do not apply; walk-ins are always served (7.1)")
        if self.scenario == "renewal" and ctx.profile.handset_gen is None:
            self.note("终端类型未知：未按终端区分调整顺序（7.1）", "Handset unknown: the handset distinction was not applied (7.1)")
        if searcher is None:
            self.note("未接入知识库：本方案没有引用。CLI 会自动接入手册知识库",
                      "No knowledge base given: these offers carry no citations. The CLI always uses the playbooks")


# Catalogue queries are fixed strings, so their passages only change when the playbooks do: cache
# them per knowledge-base version (searchers without a manifest version are not cached).
_CITE_CACHE: dict[tuple[Any, ...], list[Citation]] = {}
_CITE_LOCK = threading.Lock()
_CITE_CACHE_MAX = 1024


def _cached_cite(searcher: Searcher, query: str, k: int, topic: str) -> list[Citation]:
    manifest = getattr(searcher, "manifest", None)
    version = getattr(manifest, "version", None)
    if version is None:
        return cite(searcher, query, k=k, topics=[topic])
    key = (id(searcher), str(getattr(searcher, "directory", "")), version(), query, k, topic)
    with _CITE_LOCK:
        hit = _CITE_CACHE.get(key)
    if hit is not None:
        return [c.model_copy() for c in hit]
    found = cite(searcher, query, k=k, topics=[topic])
    with _CITE_LOCK:
        if len(_CITE_CACHE) >= _CITE_CACHE_MAX:
            _CITE_CACHE.clear()
        _CITE_CACHE[key] = found
    return [c.model_copy() for c in found]


def _tenure_fits(tier: CostTier, tenure: float) -> bool:
    low_ok = tier.min_tenure_months is None or tenure >= tier.min_tenure_months
    high_ok = tier.max_tenure_months is None or tenure < tier.max_tenure_months
    return low_ok and high_ok
