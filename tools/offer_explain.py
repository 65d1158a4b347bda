"""Plain zh/en explanations of the offer engine's choices, and the playbook citations behind them."""

from __future__ import annotations


from tools.catalogue import Measure, OfferFamily
from tools.citations import Searcher, cached_searcher, cite
from tools.offer_rules import SCENARIOS, OfferContext, trigger_names
from tools.schemas import Citation, RecommendedOffer


def fmt(value: float) -> str:
    """A number for explanations: at most two decimals, no trailing zeros (32, 12.5)."""
    return f"{float(value):.2f}".rstrip("0").rstrip(".")


def explain_offer(
    offer: RecommendedOffer, fam: OfferFamily, ctx: OfferContext, scenario: str, position: int,
    horizon: int, *, spent: tuple[float, float], remaining: tuple[float, float],
) -> tuple[list[str], list[str]]:
    """Why this offer, in zh and en: its place, the signals it answers, terms, cost vs caps, value."""
    spent_month, spent_total = spent
    rem_m, rem_t = remaining
    zh: list[str] = []
    en: list[str] = []
    rank = f"，按剧本顺序第{offer.playbook_rank}位" if offer.playbook_rank else "，按期望保留价值排序"
    rank_en = f", playbook position {offer.playbook_rank}" if offer.playbook_rank else ", ranked by expected value"
    zh.append(f"第{position}个备选（{SCENARIOS[scenario][0]}{rank}）：{fam.description_zh}")
    en.append(f"Option {position} ({SCENARIOS[scenario][1]}{rank_en}): {fam.description_en}")
    answered = ctx.triggers & set(fam.eligibility.triggers_any)
    if answered:
        names = trigger_names(set(answered))
        zh.append(f"针对：{names[0]}")
        en.append(f"Answers: {names[1]}")
    t = offer.terms
    validity = f"；办理有效期{t.validity_days}天（运营商设定）" if t.validity_days else ""
    zh.append(f"条款：{t.customer_gets_zh}{validity}" + (f"；条件：{'，'.join(t.conditions_zh)}" if t.conditions_zh else ""))
    validity_en = f"; open {t.validity_days} days (operator setting)" if t.validity_days else ""
    en.append(f"Terms: {t.customer_gets_en}{validity_en}"
              + (f"; conditions: {'; '.join(t.conditions_en)}" if t.conditions_en else ""))
    zh.append(f"成本 = 一次性{fmt(offer.one_off_cost)} + 每月{fmt(offer.monthly_cost)} × {offer.cost_months}个月 = "
              f"{fmt(offer.total_cost)}元；月上限剩余{fmt(rem_m)}（{fmt(offer.cap_monthly)} − 本月已用{fmt(spent_month)}），"
              f"总上限剩余{fmt(rem_t)}（{fmt(offer.cap_total)} − 已用{fmt(spent_total)}）（3.1）")
    en.append(f"Cost = one-off {fmt(offer.one_off_cost)} + {fmt(offer.monthly_cost)}/month × "
              f"{offer.cost_months} months = {fmt(offer.total_cost)}; monthly cap left {fmt(rem_m)} ({fmt(offer.cap_monthly)} − "
              f"{fmt(spent_month)} spent this month), total cap left {fmt(rem_t)} ({fmt(offer.cap_total)} − "
              f"{fmt(spent_total)} spent) (3.1)")
    arpu, ratio = ctx.snapshot.arpu_3m_avg, ctx.policy.offers.margin_ratio
    months = f"{offer.value_months}个月" + ("（协议期）" if offer.value_months > horizon else "")
    months_en = f"{offer.value_months} months" + (" (contract term)" if offer.value_months > horizon else "")
    zh.append(f"期望保留价值 = ARPU {fmt(arpu)} × 毛利率{fmt(ratio * 100)}% × {months} × 流失概率{ctx.probability:.2f} × "
              f"挽留提升{fmt(offer.uplift * 100)}% − 成本{fmt(offer.total_cost)} = {fmt(offer.expected_value)}元")
    en.append(f"Expected retained value = ARPU {fmt(arpu)} × margin {fmt(ratio * 100)}% × {months_en} × "
              f"churn probability {ctx.probability:.2f} × uplift {fmt(offer.uplift * 100)}% − cost {fmt(offer.total_cost)} = "
              f"{fmt(offer.expected_value)}")
    op = ctx.policy.offers
    if ctx.probability >= op.lost_cause_min_probability:
        zh.append(f"流失概率≥{fmt(op.lost_cause_min_probability * 100)}%：多数终将离网，"
                  f"挽留提升按×{fmt(op.lost_cause_uplift_factor)}计（7.1 有所不为）")
        en.append(f"Churn probability ≥ {fmt(op.lost_cause_min_probability * 100)}%: most will leave anyway, "
                  f"uplift counted × {fmt(op.lost_cause_uplift_factor)} (7.1)")
    if t.placeholder:
        zh.append("注意：金额为运营商占位值，请在 tools/data/measures.yaml 中按当地政策设定")
        en.append("Note: amounts are operator placeholders; set them in tools/data/measures.yaml")
    return zh, en


def plan_notes(
    ctx: OfferContext, scenario: str, any_offer: bool, cited: bool, limit: int, *, spent: tuple[float, float],
) -> list[tuple[str, str]]:
    """Plan-level notes in zh and en: alternatives, caps and spend, walk-in, unknown facts, citations."""
    spent_month, spent_total = spent
    notes: list[tuple[str, str]] = []
    if any_offer:
        notes.append((f"以上为备选方案，按顺序一次只推一个，客户拒绝后再拿出下一个；最多{limit}个（7.1）",
                      f"These are alternatives: present one at a time, in order, the next only if refused; "
                      f"at most {limit} (7.1)"))
    else:
        notes.append(("没有符合规则和预算的方案，原因见 excluded", "No offer fits the rules and the budget; see excluded"))
    caps = ctx.segmentation.cost_caps
    caps_zh = next((r.zh for r in ctx.segmentation.reasons if r.code.startswith("cost_caps_")), caps.rule)
    notes.append((f"成本上限：{caps_zh}；已用：本月{fmt(spent_month)}元，累计{fmt(spent_total)}元",
                  f"Caps: {caps.rule}; spent: {fmt(spent_month)} this month, {fmt(spent_total)} in total"))
    if ctx.customer_initiated:
        notes.append(("客户主动来办：不适用外呼派单的不重复窗口（6.5），来办客户必须有现成方案（7.1）",
                      "The customer came in: outbound no-repeat windows (6.5) do not apply; "
                      "walk-ins are always served (7.1)"))
    if scenario == "renewal" and ctx.profile.handset_gen is None:
        notes.append(("终端类型未知：未按终端区分调整顺序（7.1）", "Handset unknown: the handset distinction was not applied (7.1)"))
    if not cited:
        notes.append(("未接入知识库：本方案没有引用。CLI 会自动接入手册知识库",
                      "No knowledge base given: these offers carry no citations. The CLI always uses the playbooks"))
    return notes


def offer_citations(searcher: Searcher, fam: OfferFamily, measure: Measure, k: int) -> list[Citation]:
    """Passages behind an offer: the family's playbook rule and the measure's definition, deduplicated."""
    found: dict[str, Citation] = {}
    search = cached_searcher(searcher)  # catalogue queries are fixed strings: remembered per index version
    for query, topic in ((fam.citation_query, fam.topic), (measure.citation_query, measure.topic)):
        for c in cite(search, query, k=k, topics=[topic]):
            found.setdefault(c.id, c)
    return list(found.values())
