"""Playbook rules as pure functions: value tier, early-warning signals, lifecycle stage, risk, caps.

Every threshold comes from the operator policy (`tools/policy.py`, shipped default
`tools/data/policy.yaml`) and every result comes with the reasons that fired, in Chinese and
English, under stable codes. Section numbers refer to ../shared/domain.md.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from tools.errors import InvalidInput
from tools.policy import Policy, load_policy
from tools.schemas import (
    CostCaps,
    Label,
    Reason,
    RuleFactor,
    RuleScore,
    Segmentation,
    Signal,
    SubscriberSnapshot,
)
from tools.wording import singular_after_one

LIFECYCLE_STAGES = {
    "identification": ("识别期", "identification"),
    "growth": ("成长期", "growth"),
    "stable": ("稳定期", "stable"),
    "warning": ("预警期", "warning"),
    "sunk": ("沉没期", "sunk"),
}
VALUE_TIERS = {
    "high": ("高价值", "high value"),
    "medium": ("中价值", "medium value"),
    "low": ("低价值", "low value"),
    "group": ("集团", "group"),
}
RISK_LABELS = {
    "stable": ("稳定", "stable"),
    "low": ("低危", "low risk"),
    "medium": ("中危", "medium risk"),
    "high": ("高危", "high risk"),
    "churned": ("流失", "churned"),
}
# 1.4: when several labels apply keep one, 流失 > 高危 > 中危 > 低危 (stable: none applies).
RISK_PRIORITY = ("churned", "high", "medium", "low", "stable")
MID_HIGH_TIERS = frozenset({"high", "medium", "group"})  # the "mid/high-end" of 6.1 and 6.5
_TIER_ORDER = {"low": 0, "medium": 1, "high": 2}

# Reason texts by code: (zh, en) templates filled with already formatted values.
_TEXT: dict[str, tuple[str, str]] = {
    "group_size_unknown": ("有集团协议但线数未知，不按集团客户计",
                           "group agreement, number of lines unknown: not a group customer"),
    "group_too_small": ("集团线数{n}条，不足{min}条，不按集团客户计",
                        "{n} lines under the agreement, fewer than {min}: not a group customer"),
    "group_arpu_too_low": ("ARPU {arpu}元未高于全网平均{avg}元的{m}倍，不按集团客户计",
                           "ARPU {arpu} is not above {m}× the network average {avg}: "
                           "not a group customer"),
    "group_no_agreement": ("{n}条线但无单位协议担保，不按集团客户计",
                           "{n} lines but no unit agreement: not a group customer"),
    "tier_group": ("集团客户：{n}条线（≥{min}条），有单位协议担保，ARPU {arpu}元为全网平均{avg}元的{r}倍",
                   "group customer: {n} lines (≥ {min}) under a unit agreement, "
                   "ARPU {arpu} = {r}× the network average {avg}"),
    "tier_special": ("特殊客户（党政军、集团联系人等）→ 高价值",
                     "special customer (party, government, military, group contact) → high value"),
    "tier_prepaid_default": ("预付费用户默认{tier_zh}", "prepaid subscriber: {tier_en} by default"),
    "tier_arpu": ("近3月ARPU {arpu}元，为全网平均{avg}元的{r}倍 → {tier_zh}",
                  "3-month ARPU {arpu} = {r}× the network average {avg} → {tier_en}"),
    "tier_spend_rank": ("累计消费排名前{rank}% → {tier_zh}",
                        "cumulative spend in the top {rank}% → {tier_en}"),
    "tier_combined": ("两项标准取{word_zh}者 → {tier_zh}",
                      "the {word_en} tier of the two criteria applies → {tier_en}"),
    "called_ratio_rise": ("被叫/主叫比例上升{v}%（阈值{t}%）",
                          "called/calling ratio up {v}% (threshold {t}%)"),
    "silent": ("连续{v}天零通话（{who_zh}阈值{t}天）", "no calls for {v} days (threshold {t} days{who_en})"),
    "forwarding_share": ("呼转话单占比{v}%（阈值>{t}%）",
                         "forwarded calls are {v}% of call records (threshold > {t}%)"),
    "forwarding_offnet": ("呼叫转移至网外号码{v}次", "{v} calls forwarded to off-net numbers"),
    "competitor_hotline": ("拨打其他运营商客服热线{v}次（阈值{t}次）",
                           "called a competitor's service hotline {v} times (threshold {t})"),
    "complaints": ("近90天投诉{v}次（阈值{t}次）", "{v} complaints in the last 90 days (threshold {t})"),
    "contract_days": ("协议{v}天后到期（阈值{t}天内）", "contract ends in {v} days (threshold {t} days)"),
    "contract_expired": ("协议已于{v}天前到期，尚未续约", "contract expired {v} days ago and is not renewed"),
    "contract_amount": ("协议剩余消费金额{v}%（阈值≤{t}%）",
                        "{v}% of the committed contract amount remains (threshold ≤ {t}%)"),
    "arrears": ("欠费{v}天", "in arrears for {v} days"),
    "points_unredeemed": ("积分{v}分未兑换（阈值{t}分）", "{v} loyalty points unredeemed (threshold {t})"),
    "passive_churn": ("欠费{v}天（≥{t}天）：被动流失，转欠费催缴（DA004），不作优惠挽留",
                      "in arrears for {v} days (≥ {t}): passive churner; route to arrears "
                      "collection (DA004), no retention discount"),
    "lifecycle_identification": ("入网{v}个月（<{t}个月），处于识别期",
                                 "in network {v} months (< {t}): identification"),
    "lifecycle_sunk": ("消费/话务超低或为零 → 沉没期", "spend or traffic ultra-low or zero → sunk"),
    "lifecycle_warning": ("预警指标：{zh}", "warning indicators: {en}"),
    "lifecycle_growth": ("入网{v}个月（<{t}个月），无预警指标 → 成长期",
                         "in network {v} months (< {t}), no warning indicator → growth"),
    "lifecycle_stable": ("入网{v}个月（≥{t}个月{ctx_zh}），无预警指标 → 稳定期",
                         "in network {v} months (≥ {t}{ctx_en}), no warning indicator → stable"),
    "sunk_silent": ("连续{v}天零通话（≥{t}天）", "no calls for {v} days (≥ {t})"),
    "sunk_mou": ("MOU环比{v}%（≤{t}%）", "MOU change {v}% month on month (≤ {t}%)"),
    "sunk_arpu_change": ("ARPU环比{v}%（≤{t}%）", "ARPU change {v}% month on month (≤ {t}%)"),
    "sunk_arpu": ("近3月ARPU {v}元，超低或为零（≤{t}元）", "3-month ARPU {v}, ultra-low or zero (≤ {t})"),
    "risk_churned": ("欠费{v}天（≥{t}天），被动流失 → 流失",
                     "passive churner (arrears {v} days ≥ {t}) → churned"),
    "risk_sunk": ("处于沉没期，属高危流失群体 → 高危", "sunk stage, the high-risk churn group → high risk"),
    "risk_high": ("{src_zh}{v}（≥高危阈值{t}）→ 高危", "{src_en} {v} ≥ high threshold {t} → high risk"),
    "risk_medium": ("{src_zh}{v}（≥中危阈值{t}）→ 中危",
                    "{src_en} {v} ≥ medium threshold {t} → medium risk"),
    "risk_low": ("有预警信号，{src_zh}{v}低于中危阈值{t} → 低危",
                 "warning signals, {src_en} {v} below the medium threshold {t} → low risk"),
    "risk_stable": ("无预警信号 → 稳定", "no early-warning signal → stable"),
}


def _text(key: str, **values: object) -> tuple[str, str]:
    zh, en = _TEXT[key]
    return zh.format(**values), singular_after_one(en.format(**values))


def _reason(code: str, key: str | None = None, **values: object) -> Reason:
    zh, en = _text(key or code, **values)
    return Reason(code=code, zh=zh, en=en)


def _policy(policy: Policy | None) -> Policy:
    return load_policy() if policy is None else policy


def _label(table: dict[str, tuple[str, str]], code: str) -> Label:
    zh, en = table[code]
    return Label(code=code, zh=zh, en=en)


def _n(value: float) -> str:
    """A number for reason texts: at most two decimals, no trailing zeros (32, 12.5)."""
    return f"{float(value):.2f}".rstrip("0").rstrip(".")


def _money(value: float) -> str:
    return f"{value:.2f}"


def worst_risk_label(labels: Iterable[str]) -> str:
    """The label that wins when several apply: churned > high > medium > low > stable (1.4)."""
    found = set(labels)
    if found - set(RISK_PRIORITY):
        raise ValueError(f"unknown risk label(s): {sorted(found - set(RISK_PRIORITY))}")
    return next((label for label in RISK_PRIORITY if label in found), "stable")


def value_tier(
    snapshot: SubscriberSnapshot, policy: Policy | None = None
) -> tuple[Label, list[Reason]]:
    """Value tier (2.1): group, special, ARPU multiple and spend rank, prepaid default."""
    v, snap = _policy(policy).value_tier, snapshot
    ratio = snap.arpu_3m_avg / snap.network_avg_arpu
    money = {"arpu": _money(snap.arpu_3m_avg), "avg": _money(snap.network_avg_arpu)}
    reasons: list[Reason] = []
    n, min_lines = snap.group_size, v.group_min_lines
    # Group first (policy file: the group caps scale with the n lines and cover a special person).
    if snap.is_group and n is None:
        reasons.append(_reason("group_size_unknown"))
    elif snap.is_group and n < min_lines:
        reasons.append(_reason("group_too_small", n=n, min=min_lines))
    elif snap.is_group and ratio <= v.group_min_arpu_multiple:
        reasons.append(_reason("group_arpu_too_low", m=_n(v.group_min_arpu_multiple), **money))
    elif snap.is_group:
        reason = _reason("tier_group", n=n, min=min_lines, r=_n(ratio), **money)
        return _label(VALUE_TIERS, "group"), [reason]
    elif n is not None and n >= min_lines:
        reasons.append(_reason("group_no_agreement", n=n))
    if snap.is_special:
        return _label(VALUE_TIERS, "high"), [*reasons, _reason("tier_special")]
    if snap.payment_type == "prepaid":
        default = _label(VALUE_TIERS, v.prepaid_default_tier)
        reasons.append(_reason("tier_prepaid_default", tier_zh=default.zh, tier_en=default.en))
        return default, reasons
    if ratio > v.high_min_arpu_multiple:
        tier = "high"
    else:
        tier = "medium" if ratio >= v.medium_min_arpu_multiple else "low"
    zh, en = VALUE_TIERS[tier]
    reasons.append(_reason("tier_arpu", r=_n(ratio), tier_zh=zh, tier_en=en, **money))
    rank = snap.cumulative_spend_rank_pct
    if rank is not None and v.spend_rank_combine != "arpu_only":
        if rank <= v.high_max_spend_rank_pct:
            rank_tier = "high"
        else:
            rank_tier = "medium" if rank <= v.medium_max_spend_rank_pct else "low"
        zh, en = VALUE_TIERS[rank_tier]
        reasons.append(_reason("tier_spend_rank", rank=_n(rank), tier_zh=zh, tier_en=en))
        if rank_tier != tier:
            higher = v.spend_rank_combine == "higher"
            tier = (max if higher else min)(tier, rank_tier, key=_TIER_ORDER.__getitem__)
            zh, en = VALUE_TIERS[tier]
            words = ("较高", "higher") if higher else ("较低", "lower")
            reasons.append(_reason("tier_combined", word_zh=words[0], word_en=words[1],
                                   tier_zh=zh, tier_en=en))
    return _label(VALUE_TIERS, tier), reasons


def detect_signals(
    snapshot: SubscriberSnapshot, policy: Policy | None = None, tier: str | None = None
) -> list[Signal]:
    """Early-warning signals that fire (6.1, 1.1), each with its value, threshold and texts."""
    p = _policy(policy)
    s, snap = p.signals, snapshot
    tier = tier or value_tier(snap, p)[0].code
    out: list[Signal] = []

    def add(code: str, value: float, threshold: float, texts: tuple[str, str]) -> None:
        out.append(Signal(code=code, zh=texts[0], en=texts[1], value=value, threshold=threshold))

    for code, change, minimum, zh, en in (
        ("arpu_drop", snap.arpu_change_pct, s.arpu_drop.min_drop_pct, "ARPU", "ARPU"),
        ("mou_drop", snap.mou_change_pct, s.mou_drop.min_drop_pct, "通话分钟数（MOU）",
         "minutes of use (MOU)"),
        ("distinct_called_drop", snap.distinct_called_numbers_change_pct,
         s.distinct_called_drop.min_drop_pct, "呼叫号码数", "distinct numbers called"),
    ):
        if change is not None and -change >= minimum:
            drop, t = _n(-change), _n(minimum)
            add(code, change, -minimum, (f"{zh}环比下降{drop}%（阈值{t}%）",
                                         f"{en} down {drop}% month on month (threshold {t}%)"))
    rise, t = snap.called_calling_ratio_change_pct, s.called_ratio_rise.min_rise_pct
    if rise is not None and rise >= t:
        add("called_ratio_rise", rise, t, _text("called_ratio_rise", v=_n(rise), t=_n(t)))
    mid_high = tier in MID_HIGH_TIERS
    t = s.silent.min_days_mid_high_value if mid_high else s.silent.min_days
    if snap.silent_days is not None and snap.silent_days >= t:
        who = ("中高端客户", " for mid/high-value customers") if mid_high else ("", "")
        add("silent", snap.silent_days, t,
            _text("silent", v=snap.silent_days, t=t, who_zh=who[0], who_en=who[1]))
    share, fwd, f = snap.forward_share_pct, snap.forwards_to_competitor, s.forwarding
    hits = []
    if share is not None and share > f.min_share_pct:
        hits.append((share, f.min_share_pct, _text("forwarding_share", v=_n(share),
                                                   t=_n(f.min_share_pct))))
    if fwd is not None and fwd >= f.min_forwards_to_competitor:
        hits.append((fwd, f.min_forwards_to_competitor, _text("forwarding_offnet", v=fwd)))
    if hits:
        texts = ("；".join(h[2][0] for h in hits), "; ".join(h[2][1] for h in hits))
        add("forwarding", hits[0][0], hits[0][1], texts)
    calls, t = snap.competitor_hotline_calls, s.competitor_hotline.min_calls
    if calls is not None and calls >= t:
        add("competitor_hotline", calls, t, _text("competitor_hotline", v=calls, t=t))
    count, t = snap.complaints_90d, s.complaints.min_count_90d
    if count is not None and count >= t:
        add("complaints", count, t, _text("complaints", v=count, t=t))
    c = s.contract_expiry
    days, left = snap.contract_end_in_days, snap.contract_remaining_amount_pct
    # A contract that ended before the grace window (6.7: 2 months) has nothing left to renew.
    if days is None or days >= -c.expired_grace_days:
        if days is not None and 0 <= days < c.max_days_left:
            add("contract_expiry", days, c.max_days_left,
                _text("contract_days", v=days, t=c.max_days_left))
        elif days is not None and days < 0:
            add("contract_expiry", days, -c.expired_grace_days, _text("contract_expired", v=-days))
        elif left is not None and left <= c.max_remaining_amount_pct:
            t = c.max_remaining_amount_pct
            add("contract_expiry", left, t, _text("contract_amount", v=_n(left), t=_n(t)))
    if snap.arrears_days is not None and snap.arrears_days >= s.arrears.min_days:
        add("arrears", snap.arrears_days, s.arrears.min_days, _text("arrears", v=snap.arrears_days))
    balance, t = snap.points_balance, s.points_unredeemed.min_balance
    if t is not None and balance is not None and balance >= t:
        add("points_unredeemed", balance, t, _text("points_unredeemed", v=_n(balance), t=_n(t)))
    return out


def is_passive_churner(
    snapshot: SubscriberSnapshot, policy: Policy | None = None
) -> tuple[bool, list[Reason]]:
    """Long arrears make a passive churner (5.4): collection (DA004), never a retention discount."""
    t = _policy(policy).signals.arrears.passive_churn_days
    days = snapshot.arrears_days
    if days is None or days < t:
        return False, []
    return True, [_reason("passive_churn", v=days, t=t)]


def lifecycle_stage(
    snapshot: SubscriberSnapshot, policy: Policy | None = None, signals: list[Signal] | None = None
) -> tuple[Label, list[Reason]]:
    """Lifecycle stage (1.1): identification, growth, stable, warning or sunk, with the reasons."""
    p = _policy(policy)
    lc, snap = p.lifecycle, snapshot
    tenure = _n(snap.tenure_months)

    def verdict(code: str, *extra: Reason, **values: object) -> tuple[Label, list[Reason]]:
        first = _reason(f"lifecycle_{code}", **values)
        return _label(LIFECYCLE_STAGES, code), [first, *extra]

    if snap.tenure_months < lc.identification_max_tenure_months:
        return verdict("identification", v=tenure, t=_n(lc.identification_max_tenure_months))
    sunk = _sunk_reasons(snap, p)
    if sunk:
        return verdict("sunk", *sunk)
    signals = detect_signals(snap, p) if signals is None else signals
    warning = [s for s in signals if s.code in lc.warning_signals]
    if warning and snap.tenure_months >= lc.warning_min_tenure_months:
        return verdict("warning", zh="；".join(s.zh for s in warning),
                       en="; ".join(s.en for s in warning))
    g = _n(lc.growth_max_tenure_months)
    if snap.tenure_months < lc.growth_max_tenure_months:
        return verdict("growth", v=tenure, t=g)
    avg = snap.network_avg_tenure_months
    if avg is None:
        ctx = ("", "")
    elif snap.tenure_months > avg:
        ctx = (f"，高于全网平均{_n(avg)}个月", f", above the network average {_n(avg)}")
    else:
        ctx = (f"，不高于全网平均{_n(avg)}个月", f", not above the network average {_n(avg)}")
    return verdict("stable", v=tenure, t=g, ctx_zh=ctx[0], ctx_en=ctx[1])


def _sunk_reasons(snap: SubscriberSnapshot, p: Policy) -> list[Reason]:
    lc, out = p.lifecycle, []
    if snap.silent_days is not None and snap.silent_days >= lc.sunk_min_silent_days:
        out.append(_reason("sunk_silent", v=snap.silent_days, t=lc.sunk_min_silent_days))
    if snap.mou_change_pct is not None and snap.mou_change_pct <= lc.sunk_max_mou_change_pct:
        out.append(_reason("sunk_mou", v=_n(snap.mou_change_pct), t=_n(lc.sunk_max_mou_change_pct)))
    arpu_change, t = snap.arpu_change_pct, lc.sunk_max_arpu_change_pct
    if arpu_change is not None and arpu_change <= t:
        out.append(_reason("sunk_arpu_change", v=_n(arpu_change), t=_n(t)))
    if snap.arpu_3m_avg <= lc.sunk_max_arpu:
        out.append(_reason("sunk_arpu", v=_money(snap.arpu_3m_avg), t=_money(lc.sunk_max_arpu)))
    return out


def rule_churn_score(
    snapshot: SubscriberSnapshot, policy: Policy | None = None, signals: list[Signal] | None = None
) -> RuleScore:
    """Transparent churn score: sigmoid(base + weights of the fired signals), 12 item 35."""
    p = _policy(policy)
    signals = detect_signals(snapshot, p) if signals is None else signals
    factors = [RuleFactor(factor=s.code, contribution=getattr(p.signals, s.code).weight,
                          zh=s.zh, en=s.en) for s in signals]
    passive, reasons = is_passive_churner(snapshot, p)
    if passive:
        factors.append(RuleFactor(factor="passive_churn", zh=reasons[0].zh, en=reasons[0].en,
                                  contribution=p.signals.arrears.passive_churn_weight))
    factors.sort(key=lambda f: f.contribution, reverse=True)
    log_odds = p.risk.base_log_odds + sum(f.contribution for f in factors)
    probability = 1.0 / (1.0 + math.exp(-log_odds))
    return RuleScore(probability=round(probability, 4), base_log_odds=p.risk.base_log_odds,
                     factors=factors)


def risk_label(
    snapshot: SubscriberSnapshot,
    policy: Policy | None = None,
    *,
    signals: list[Signal] | None = None,
    stage: str | None = None,
    probability: float | None = None,
) -> tuple[str, list[Reason]]:
    """Risk label (1.4): churned > high > medium > low > stable; `probability` from a model."""
    p = _policy(policy)
    r, snap = p.risk, snapshot
    signals = detect_signals(snap, p) if signals is None else signals
    stage = stage or lifecycle_stage(snap, p, signals)[0].code
    src = {"src_zh": "流失概率", "src_en": "churn probability"}
    if probability is None:
        probability = rule_churn_score(snap, p, signals).probability
        src = {"src_zh": "规则评分", "src_en": "rule score"}
    found: list[tuple[str, Reason]] = []
    if is_passive_churner(snap, p)[0]:
        t = p.signals.arrears.passive_churn_days
        found.append(("churned", _reason("risk_churned", v=snap.arrears_days, t=t)))
    if stage == "sunk":
        found.append(("high", _reason("risk_high", "risk_sunk")))
    prob = _n(round(probability, 2))
    if probability >= r.high_min_probability:
        found.append(("high", _reason("risk_high", v=prob, t=_n(r.high_min_probability), **src)))
    elif probability >= r.medium_min_probability:
        t = _n(r.medium_min_probability)
        found.append(("medium", _reason("risk_medium", v=prob, t=t, **src)))
    elif signals:
        found.append(("low", _reason("risk_low", v=prob, t=_n(r.medium_min_probability), **src)))
    if not found:
        found.append(("stable", _reason("risk_stable")))
    label = worst_risk_label(code for code, _ in found)
    return label, [reason for code, reason in found if code == label]


def _lines(tier: str, group_size: int | None) -> int:
    if tier != "group":
        return 1
    if not group_size:
        raise InvalidInput("group_size: a group customer's cost caps need the number of lines n")
    return group_size


def monthly_cap(
    tier: str, arpu: float, policy: Policy | None = None, group_size: int | None = None
) -> float:
    """Monthly maintenance-cost cap (3.1): ARPU × 10% (high, medium), n × ARPU × 20% (group)."""
    c = _policy(policy).cost_caps
    ratio = {"high": c.monthly_cap_arpu_ratio, "medium": c.monthly_cap_arpu_ratio,
             "group": c.group_monthly_cap_arpu_ratio, "low": 0.0}[tier]
    return round(_lines(tier, group_size) * arpu * ratio, 2)


def total_cap(tier: str, policy: Policy | None = None, group_size: int | None = None) -> float:
    """Total win-back cap from the policy's ACPU (3.1): ×2 high, ×1.5 medium, n×1.5 group, 0 low."""
    p = _policy(policy)
    c = p.cost_caps
    multiple = {"high": c.high_total_acpu_multiple, "medium": c.medium_total_acpu_multiple,
                "group": c.group_total_acpu_multiple, "low": 0.0}[tier]
    return round(_lines(tier, group_size) * p.acpu * multiple, 2)


def cost_caps(
    snapshot: SubscriberSnapshot, policy: Policy | None = None, tier: str | None = None
) -> tuple[CostCaps, list[Reason]]:
    """Retention-cost caps for the subscriber's value tier (3.1), with the formula filled in."""
    p = _policy(policy)
    c = p.cost_caps
    tier = tier or value_tier(snapshot, p)[0].code
    n, acpu, arpu = snapshot.group_size, _n(p.acpu), _money(snapshot.arpu_3m_avg)
    monthly = _money(monthly_cap(tier, snapshot.arpu_3m_avg, p, n))
    total = _money(total_cap(tier, p, n))
    zh_name, en_name = VALUE_TIERS[tier]
    if tier == "low":  # 3.1 leaves the low-value cells blank: no proactive budget
        en = "low value: no proactive retention budget: monthly = 0.00; total = 0.00"
        zh = "低价值：无主动维系预算，月维系成本上限 0.00元，总挽留成本上限 0.00元"
    elif tier == "group":
        pct, mult = _n(c.group_monthly_cap_arpu_ratio * 100), _n(c.group_total_acpu_multiple)
        en = (f"group (n = {n}): monthly = {n} × ARPU {arpu} × {pct}% = {monthly}; "
              f"total = {n} × ACPU {acpu} × {mult} = {total}")
        zh = (f"集团（n = {n}）：月维系成本上限 = {n} × ARPU {arpu} × {pct}% = {monthly}元；"
              f"总挽留成本上限 = {n} × ACPU {acpu} × {mult} = {total}元")
    else:
        pct = _n(c.monthly_cap_arpu_ratio * 100)
        mult = _n(c.high_total_acpu_multiple if tier == "high" else c.medium_total_acpu_multiple)
        en = (f"{en_name}: monthly = ARPU {arpu} × {pct}% = {monthly}; "
              f"total = ACPU {acpu} × {mult} = {total}")
        zh = (f"{zh_name}：月维系成本上限 = ARPU {arpu} × {pct}% = {monthly}元；"
              f"总挽留成本上限 = ACPU {acpu} × {mult} = {total}元")
    caps = CostCaps(monthly=float(monthly), total=float(total), rule=en)
    return caps, [Reason(code=f"cost_caps_{tier}", zh=zh, en=en)]


def segment(snapshot: SubscriberSnapshot, policy: Policy | None = None) -> Segmentation:
    """Classify a subscriber: lifecycle stage, risk label, value tier, cost caps, with reasons."""
    p = _policy(policy)
    tier, tier_reasons = value_tier(snapshot, p)
    signals = detect_signals(snapshot, p, tier=tier.code)
    stage, stage_reasons = lifecycle_stage(snapshot, p, signals)
    passive, passive_reasons = is_passive_churner(snapshot, p)
    risk, risk_reasons = risk_label(snapshot, p, signals=signals, stage=stage.code)
    caps, caps_reasons = cost_caps(snapshot, p, tier=tier.code)
    signal_reasons = [Reason(code=s.code, zh=s.zh, en=s.en) for s in signals]
    return Segmentation(
        lifecycle_stage=stage,
        risk_label=risk,
        value_tier=tier,
        cost_caps=caps,
        signals=[s.code for s in signals],
        reasons=[*stage_reasons, *tier_reasons, *signal_reasons, *passive_reasons,
                 *risk_reasons, *caps_reasons],
        passive_churn=passive,
        rule_score=rule_churn_score(snapshot, p, signals),
    )
