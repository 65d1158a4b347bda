"""Playbook rules of the offer engine: the scenario, eligibility, the playbook order, no-repeat windows.

Pure functions over an `OfferContext`; `tools/offers.py` ranks, caps and explains. Section numbers
refer to ../shared/domain.md.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from tools.catalogue import Catalogue, Eligibility, Stage
from tools.policy import Policy
from tools.rules import worst_risk_label
from tools.schemas import DispatchRecord, Scenario, Segmentation, SubscriberProfile, SubscriberSnapshot

SCENARIOS: dict[str, tuple[str, str]] = {
    "renewal": ("到期续约", "contract-expiry renewal"),
    "routine": ("常规维系", "routine retention"),
    "campus": ("校园维系", "campus retention"),
    "silent": ("沉默激活", "silent reactivation"),
    "port_out": ("拆机转网挽留", "port-out retention"),
    "collection": ("欠费催缴", "arrears collection"),
    "new_customer": ("新客户回访", "new-customer care"),
    "complaint_recovery": ("投诉修复", "complaint recovery"),
}
_WORK_STAGE: dict[str, Stage] = {
    "identification": "prevention", "growth": "prevention", "stable": "maintenance",
    "warning": "win_back", "sunk": "win_back",
}
_SIGNAL_NAMES = {
    "arpu_drop": ("ARPU下降", "ARPU drop"), "mou_drop": ("通话分钟下降", "fewer minutes"),
    "distinct_called_drop": ("呼叫号码数下降", "fewer numbers called"),
    "called_ratio_rise": ("被叫比例上升", "more incoming than outgoing"),
    "silent": ("零通话", "no calls"), "forwarding": ("呼叫转移", "call forwarding"),
    "competitor_hotline": ("拨打他网客服", "calls to a rival's hotline"),
    "complaints": ("投诉", "complaints"), "contract_expiry": ("协议到期", "contract expiry"),
    "arrears": ("欠费", "arrears"), "points_unredeemed": ("积分未兑换", "unredeemed points"),
}
# 6.5 windows apply per kind of dispatch; warning-type scenarios share one kind.
_DISPATCH_KIND = {
    "renewal": "renewal", "contract_expiry": "renewal", "silent": "silent", "collection": "collection",
    "new_customer": "care", "port_out": "warning", "complaint_recovery": "warning",
    "routine": "warning", "campus": "warning", "warning": "warning",
}
SVC, CREDIT, HANDSET, TENURE = (
    "store_value_get_credit", "credit_subsidy_renewal", "handset_subsidy_renewal", "tenure_reward",
)
OLD_HANDSETS = ("2g", "3g_basic")
_SWAPS = {"heavy_voice_light_data": "data_for_voice", "light_voice_heavy_data": "voice_for_data"}


@dataclass(frozen=True)
class OfferContext:
    """Everything the rules look at for one subscriber, resolved once."""

    snapshot: SubscriberSnapshot
    segmentation: Segmentation
    profile: SubscriberProfile
    policy: Policy
    probability: float
    triggers: frozenset[str]
    customer_initiated: bool
    as_of: date
    usage_pattern: str | None = None

    @property
    def tier(self) -> str:
        """Value tier code."""
        return self.segmentation.value_tier.code

    @property
    def stage(self) -> str:
        """Lifecycle stage code."""
        return self.segmentation.lifecycle_stage.code

    @property
    def work_stage(self) -> Stage:
        """Prevention / maintenance / win-back, the 4.1 stage of the measure codes."""
        return _WORK_STAGE.get(self.stage, "maintenance")

    @property
    def risk(self) -> str:
        """The worse of the segmentation's label and the probability's band (1.4: the worst wins)."""
        r = self.policy.risk
        band = ("high" if self.probability >= r.high_min_probability
                else "medium" if self.probability >= r.medium_min_probability else "stable")
        return worst_risk_label([self.segmentation.risk_label, band])

    @property
    def at_risk(self) -> bool:
        """Medium or high risk: the "high-risk" targets of the 7.1 renewal distinctions (see notes)."""
        return self.risk in ("medium", "high")


def usage_pattern(profile: SubscriberProfile, policy: Policy) -> str | None:
    """heavy_voice_light_data, light_voice_heavy_data, or None (7.1 behaviour distinction)."""
    mou, data, u = profile.mou_month, profile.data_mb_month, policy.offers.usage
    if mou is None or data is None:
        return None
    if mou >= u.heavy_voice_min_mou and data <= u.light_data_max_mb:
        return "heavy_voice_light_data"
    if mou <= u.light_voice_max_mou and data >= u.heavy_data_min_mb:
        return "light_voice_heavy_data"
    return None


def trigger_names(codes: frozenset[str] | set[str]) -> tuple[str, str]:
    """Readable zh/en names of signal codes."""
    known = [_SIGNAL_NAMES[c] for c in sorted(codes) if c in _SIGNAL_NAMES]
    return "、".join(z for z, _ in known), ", ".join(e for _, e in known)


# --- scenario -------------------------------------------------------------------------------


def renewal_lead_days(ctx: OfferContext) -> int:
    """Days before contract end from which renewal applies to this segment (7.1)."""
    lead = ctx.policy.offers.renewal_lead_days
    if ctx.customer_initiated:
        return lead.customer_initiated
    if ctx.at_risk and ctx.tier in ("high", "group"):
        return lead.high_at_risk
    if ctx.at_risk and ctx.tier == "medium":
        return lead.medium_at_risk
    return lead.other


def in_renewal_window(ctx: OfferContext) -> tuple[str, str] | None:
    """Why the contract is in its renewal window, or None."""
    snap, c = ctx.snapshot, ctx.policy.signals.contract_expiry
    days, lead = snap.contract_end_in_days, renewal_lead_days(ctx)
    if days is not None and 0 <= days <= lead:
        return (f"协议{days}天后到期（该客群到期前{lead}天内启动续约，7.1）",
                f"contract ends in {days} days (this segment starts renewal {lead} days before, 7.1)")
    if days is not None and -c.expired_grace_days <= days < 0:
        return (f"协议已到期{-days}天，到期后{c.expired_grace_days}天内继续跟进（6.7）",
                f"contract expired {-days} days ago; follow up for {c.expired_grace_days} days (6.7)")
    left = snap.contract_remaining_amount_pct
    if (days is None or days >= 0) and left is not None and left <= c.max_remaining_amount_pct:
        return (f"协议剩余承诺金额{left:g}%（≤{c.max_remaining_amount_pct:g}%，1.1）",
                f"{left:g}% of the committed amount remains (≤ {c.max_remaining_amount_pct:g}%, 1.1)")
    return None


def detect_scenario(ctx: OfferContext) -> tuple[Scenario, str, str]:
    """The retention scenario for this subscriber, with the reason in zh and en."""
    snap, seg = ctx.snapshot, ctx.segmentation
    if seg.passive_churn:
        return ("collection", f"欠费{snap.arrears_days}天，被动流失：只做欠费催缴（DA004，5.4）",
                f"in arrears {snap.arrears_days} days, a passive churner: collection only (DA004, 5.4)")
    if "silent" in ctx.triggers or (ctx.stage == "sunk" and (snap.silent_days or 0) > 0):
        return ("silent", f"连续{snap.silent_days}天零通话：沉默激活（PWV，7.4）",
                f"no calls for {snap.silent_days} days: silent reactivation (PWV, 7.4)")
    if snap.is_student:
        return "campus", "在校学生：按校园维系规则（7.3）", "a student: campus retention rules (7.3)"
    window = in_renewal_window(ctx)
    if window:
        return "renewal", window[0], window[1]
    poached = ctx.triggers & {"forwarding", "competitor_hotline"}
    if poached:
        zh, en = trigger_names(set(poached))
        return ("port_out", f"转网迹象：{zh}（6.3、7.5）", f"signs of porting out: {en} (6.3, 7.5)")
    if "complaints" in ctx.triggers:
        return ("complaint_recovery", "近期多次投诉：先修复关系（7.11）",
                "repeated recent complaints: repair the relationship first (7.11)")
    if ctx.stage in ("identification", "growth"):
        return ("new_customer", f"入网{snap.tenure_months:g}个月：新客户回访（4.1 PS002）",
                f"{snap.tenure_months:g} months in network: new-customer care (4.1 PS002)")
    return "routine", "无特定场景：常规维系十二招（7.2）", "no specific scenario: routine retention (7.2)"


# --- eligibility ----------------------------------------------------------------------------


def check_eligibility(rule: Eligibility, ctx: OfferContext) -> tuple[str, str] | None:
    """The first condition `ctx` fails, as (zh, en), or None when eligible."""
    snap, prof = ctx.snapshot, ctx.profile
    if rule.value_tiers and ctx.tier not in rule.value_tiers:
        return (f"价值等级{ctx.segmentation.value_tier.zh}不在适用范围（{'/'.join(rule.value_tiers)}）",
                f"value tier {ctx.tier} not among {'/'.join(rule.value_tiers)}")
    if rule.lifecycle_stages and ctx.stage not in rule.lifecycle_stages:
        return (f"生命周期{ctx.segmentation.lifecycle_stage.zh}不适用",
                f"lifecycle stage {ctx.stage} not among {'/'.join(rule.lifecycle_stages)}")
    if rule.risk_labels and ctx.risk not in rule.risk_labels:
        return (f"风险标签{ctx.risk}不在适用范围（{'/'.join(rule.risk_labels)}）",
                f"risk label {ctx.risk} not among {'/'.join(rule.risk_labels)}")
    if rule.triggers_any and not ctx.triggers & set(rule.triggers_any):
        zh, en = trigger_names(set(rule.triggers_any))
        return f"未出现所针对的信号（{zh}）", f"none of the signals it answers fired ({en})"
    t = snap.tenure_months
    if rule.min_tenure_months is not None and t < rule.min_tenure_months:
        return (f"网龄{t:g}个月，不足{rule.min_tenure_months:g}个月",
                f"{t:g} months in network, under {rule.min_tenure_months:g}")
    if rule.max_tenure_months is not None and t > rule.max_tenure_months:
        return (f"网龄{t:g}个月，超过{rule.max_tenure_months:g}个月",
                f"{t:g} months in network, over {rule.max_tenure_months:g}")
    if rule.handset_gens and prof.handset_gen not in rule.handset_gens and not prof.handset_requested:
        have = prof.handset_gen or "未知"
        return (f"终端为{have}，不是{'/'.join(rule.handset_gens)}，客户也未要求换机",
                f"handset is {prof.handset_gen or 'unknown'}, not {'/'.join(rule.handset_gens)}, "
                "and no handset was asked for")
    if rule.not_handset_gens and prof.handset_gen in rule.not_handset_gens:
        return f"终端为{prof.handset_gen}，不适用", f"handset {prof.handset_gen} does not fit"
    if rule.plan_types and prof.plan_type not in rule.plan_types:
        return (f"套餐类型{prof.plan_type or '未知'}不适用（需{'/'.join(rule.plan_types)}）",
                f"plan type {prof.plan_type or 'unknown'} does not fit (needs {'/'.join(rule.plan_types)})")
    if rule.payment_types and snap.payment_type not in rule.payment_types:
        return (f"付费方式{snap.payment_type}不适用", f"payment type {snap.payment_type} does not fit")
    if rule.usage_pattern and ctx.usage_pattern != rule.usage_pattern:
        want = {"heavy_voice_light_data": ("语音多、流量少", "heavy voice, light data"),
                "light_voice_heavy_data": ("语音少、流量多", "light voice, heavy data")}[rule.usage_pattern]
        known = prof.mou_month is not None and prof.data_mb_month is not None
        return (f"用量不是{want[0]}" + ("" if known else "（通话和流量用量未知）"),
                f"usage is not {want[1]}" + ("" if known else " (minutes and data unknown)"))
    if rule.student is not None and bool(snap.is_student) != rule.student:
        return ("不是在校学生", "not a student") if rule.student else ("在校学生不适用", "not for students")
    if rule.requires_points and not (snap.points_balance or 0) > 0:
        return "没有可兑换的积分", "no points to redeem"
    if rule.requires_arrears and not (snap.arrears_days or 0) > 0:
        return "没有欠费", "no arrears"
    if rule.customer_initiated_only and not ctx.customer_initiated:
        return "仅在客户主动来办（如到柜台拆机）时使用", "only when the customer comes in (e.g. asks to disconnect)"
    return None


# --- playbook order -------------------------------------------------------------------------


@dataclass
class PlaybookOrder:
    """The order a scenario's playbook gives, families it rules out, and the explanation."""

    order: list[str] = field(default_factory=list)
    gated: dict[str, tuple[str, str]] = field(default_factory=dict)
    zh: str = ""
    en: str = ""


def playbook_order(scenario: str, ctx: OfferContext, catalogue: Catalogue) -> PlaybookOrder:
    """The playbook's order of offers for this scenario (7.1 five distinctions, 7.3, 7.4, 7.5)."""
    if scenario == "renewal":
        return _renewal_order(ctx)
    prof = ctx.profile
    if scenario == "silent":
        if prof.handset_gen in OLD_HANDSETS or prof.handset_requested:
            first = ["silent_prepay_get_handset", "silent_prepay_get_credit"]
            zh, en = "没有可用手机或想换机：预存送终端优先", "no working phone or wants one: prepay-get-handset first"
        elif prof.handset_gen == "smart":
            first = ["silent_service_get_credit", "silent_prepay_get_credit"]
            zh, en = "手机正常：订业务送话费、亲情号码优先", "phone works: service credit and family numbers first"
        else:
            first = ["silent_prepay_get_credit", "silent_service_get_credit"]
            zh, en = "终端未知：预存送话费优先", "handset unknown: prepay-get-credit first"
        return PlaybookOrder([*first, "silent_plan_fee_discount"], {},
                             f"沉默激活（7.4）：{zh}；套餐折扣不作主打", f"silent (7.4): {en}; a plan discount never leads")
    if scenario == "port_out":
        if ctx.customer_initiated:
            return PlaybookOrder(["counter_save", "competitive_offer"], {},
                                 "柜台挽留：先请专家席，再对标优惠（7.5）",
                                 "counter: specialist desk first, then a counter-offer (7.5)")
        return PlaybookOrder(["one_to_one_callback", "competitive_offer"], {},
                             "先一对一回访了解他网优惠，再对标（6.3、7.11）",
                             "call first to learn the rival offer, then counter it (6.3, 7.11)")
    if scenario == "campus":
        if ctx.risk == "high":
            return PlaybookOrder(["one_to_one_callback", "collection_reminder", "campus_recharge_gift"], {},
                                 "校园高危：专项挽留、紧密跟踪，欠费的做催缴（7.3）",
                                 "campus high risk: targeted retention, close tracking, collection for arrears (7.3)")
        if ctx.risk == "medium":
            return PlaybookOrder(["campus_handset_upgrade", "campus_recharge_gift"], {},
                                 "校园中危：换机升级、充值送礼（7.3）",
                                 "campus medium risk: handset upgrade, recharge gift (7.3)")
        return PlaybookOrder(["care"], {}, "校园稳定客户：只做常规关怀，不做专项维系政策（7.3）",
                             "stable campus customer: normal care only, no special retention policy (7.3)")
    fixed = {
        "collection": (["collection_reminder"], "被动流失：只做催缴（5.4、4.1 DA004）",
                       "passive churner: collection only (5.4, 4.1 DA004)"),
        "complaint_recovery": (["one_to_one_callback", "plan_migration"], "先回访解决问题，再做套餐适配（7.11）",
                               "call back and fix the problem, then re-fit the plan (7.11)"),
        "new_customer": (["new_customer_callback", "care"], "新客户：回访与关怀（4.1 PS002、6.7）",
                         "new customer: callback and care (4.1 PS002, 6.7)"),
    }
    if scenario in fixed:
        order, zh, en = fixed[scenario]
        return PlaybookOrder(list(order), {}, zh, en)
    swap = _SWAPS.get(ctx.usage_pattern or "")
    if swap:
        name = "用流量送话费" if swap == "data_for_voice" else "打电话送流量"
        return PlaybookOrder([swap], {}, f"常规维系：先按行为匹配{name}（7.1 按行为区分），其余按期望保留价值排序（7.2）",
                             f"routine: the behaviour match {swap.replace('_', ' ')} first (7.1), the rest by "
                             "expected retained value (7.2)")
    return PlaybookOrder([], {}, "常规维系：按期望保留价值排序（7.2）", "routine: ranked by expected retained value (7.2)")


_NO_PUSH = ("其他中高端客户（非中/高危）原则上不主动提醒续约；客户来办时再提供（7.1）",
            "other mid/high-end customers (not at risk) get no proactive renewal push; serve them when they ask (7.1)")
_LOW_ONLY_SVC = ("低端客户只在来办时提供存费送费（7.1）",
                 "low-end customers only get store-value-get-credit when they ask (7.1)")


def _renewal_order(ctx: OfferContext) -> PlaybookOrder:
    """7.1 "five distinctions": value and risk set the offers, tenure, handset and behaviour adjust them."""
    op, prof, tier, tenure = ctx.policy.offers, ctx.profile, ctx.tier, ctx.snapshot.tenure_months
    out = PlaybookOrder()
    steps: list[tuple[str, str]] = []
    if tier == "low":
        gated = (CREDIT, HANDSET, TENURE) if ctx.customer_initiated else (SVC, CREDIT, HANDSET, TENURE)
        out.gated = {f: _LOW_ONLY_SVC for f in gated}
        if ctx.customer_initiated:
            out.order = [SVC]
            out.zh, out.en = "低端客户来办续约：提供存费送费（7.1、3.2）", "low-end walk-in: store-value-get-credit (7.1, 3.2)"
        else:
            out.zh, out.en = "低端客户不做主动续约提醒（7.1、3.2）", "no proactive renewal reminder for low-end (7.1, 3.2)"
        return out
    if not ctx.at_risk and not ctx.customer_initiated:
        out.zh, out.en = _NO_PUSH
        out.gated = {f: _NO_PUSH for f in (SVC, CREDIT, HANDSET, TENURE)}
        return out
    requested, high_end = bool(prof.handset_requested), tier in ("high", "group")
    who = ("高端" if high_end else "中端") + ("高危" if ctx.at_risk else "（客户来办）")
    who_en = ("high-end" if high_end else "mid-end") + (" at risk" if ctx.at_risk else " (walk-in)")
    out.order = [SVC, CREDIT, HANDSET]
    if high_end or requested:
        steps.append((f"{who}：存费送费 → 话补续约 → 机补续约",
                      f"{who_en}: store value → credit subsidy → handset subsidy"))
    else:
        out.order.remove(HANDSET)
        out.gated[HANDSET] = ("中端客户机补续约仅在客户要求时提供（7.1）", "mid-end: handset subsidy only on request (7.1)")
        steps.append((f"{who}：存费送费、话补续约（机补按客户要求）",
                      f"{who_en}: store value, credit subsidy (handset on request)"))
    if tenure < op.short_tenure_months and HANDSET in out.order and not requested:
        out.order.remove(HANDSET)
        months = f"{op.short_tenure_months:g}"
        out.gated[HANDSET] = (f"网龄不足{months}个月：与新客户政策一致，赠机在客户要求时按价值提供（7.1）",
                              f"under {months} months: as for new customers, a handset only on request (7.1)")
        steps.append(("网龄短：机补按要求", "short tenure: handset on request"))
    if prof.handset_gen in OLD_HANDSETS and HANDSET in out.order:
        out.order.remove(HANDSET)
        out.order.insert(0, HANDSET)
        steps.append(("普通机/2G机：先机补续约引导换智能机", "basic/2G handset: handset subsidy first, to a smartphone"))
    years = f"{op.long_tenure_months / 12:g}"
    if tenure >= op.long_tenure_months:
        out.order.insert(0, TENURE)
        steps.append((f"网龄{years}年以上：网龄回馈最有力度", f"over {years} years: tenure reward first"))
    else:
        out.gated[TENURE] = (f"续约中的网龄回馈用于网龄{years}年以上客户（7.1）",
                             f"in renewal the tenure reward is for customers over {years} years (7.1)")
    swap = _SWAPS.get(ctx.usage_pattern or "")
    if swap:
        out.order.append(swap)
        steps.append(("按行为区分：" + ("用流量送话费" if swap == "data_for_voice" else "打电话送流量"),
                      "behaviour: " + swap.replace("_", " ")))
    out.zh = "五个区分（7.1）：" + "；".join(zh for zh, _ in steps)
    out.en = "five distinctions (7.1): " + "; ".join(en for _, en in steps)
    return out


# --- no-repeat windows ----------------------------------------------------------------------


def add_months(day: date, months: int) -> date:
    """The same day `months` later (clamped to the month's end)."""
    import calendar

    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def no_repeat_window(scenario: str, ctx: OfferContext) -> tuple[int, str, str]:
    """Months within which a dispatch of this kind is not repeated (6.5), and the rule's name."""
    nr, snap = ctx.policy.offers.no_repeat_months, ctx.snapshot
    if scenario == "renewal":
        return nr.renewal, "到期续约", "renewal"
    if scenario == "silent":
        return nr.zero_voice, "零语音/沉默", "zero voice / silent"
    if scenario == "collection":
        return nr.collection, "欠费提醒", "arrears reminder"
    if ctx.risk == "high":
        return nr.high_risk, "高危客户", "high-risk customers"
    if ctx.risk == "medium":
        return nr.medium_risk, "中危客户", "medium-risk customers"
    if snap.arpu_change_pct is not None and -snap.arpu_change_pct >= nr.revenue_drop_min_pct:
        return nr.revenue_drop, f"收入环比下降{nr.revenue_drop_min_pct:g}%", f"revenue down {nr.revenue_drop_min_pct:g}%"
    return nr.default, "其他预警派单", "other warning dispatches"


def repeat_block(
    scenario: str, measure_code: str, ctx: OfferContext, dispatches: list[DispatchRecord]
) -> tuple[str, str] | None:
    """Why this candidate falls inside a no-repeat window of a recent dispatch, or None."""
    if ctx.customer_initiated:
        return None  # windows govern outbound dispatches; a customer who comes in is served (7.1)
    months, name_zh, name_en = no_repeat_window(scenario, ctx)
    if months <= 0:
        return None
    kind = _DISPATCH_KIND.get(scenario, scenario)
    for d in sorted(dispatches, key=lambda r: r.date, reverse=True):
        if d.date > ctx.as_of or add_months(d.date, months) <= ctx.as_of:
            continue
        same_kind = _DISPATCH_KIND.get(d.scenario or "", d.scenario) == kind
        if same_kind or measure_code in d.measure_codes:
            days = (ctx.as_of - d.date).days
            kind_zh = SCENARIOS.get(d.scenario or "", (d.scenario or "", ""))[0]
            what_zh = f"{kind_zh}派单" if same_kind else measure_code
            what_en = f"a {d.scenario} dispatch" if same_kind else measure_code
            return (f"{d.date.isoformat()}（{days}天前）已派{what_zh}；{name_zh}{months}个月内不重复派单（6.5）",
                    f"{what_en} went out on {d.date.isoformat()} ({days} days ago); {name_en}: "
                    f"no repeat within {months} months (6.5)")
    return None
