"""Markdown for the offline engine: subscriber cards, offers, scripts, tables (summaries: offline_summary).

Everything here formats what tools returned (as plain dicts) and passages retrieved in this turn;
nothing adds a fact. Citations are written as [xxxxxxxx] handles and only for passages the turn
may cite, so the orchestrator's citation check keeps every one of them.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any, Iterable

from assistant.intents import (
    CONTRACT_NAMES, FIELD_NAMES, PAYMENT_NAMES, PLAN_TYPE_NAMES, RISK_NAMES, TIER_NAMES, TOOL_NAMES,
)
from assistant.roles import REAL_DATA_TOOLS
from assistant.toolkit import Turn, short_id

# What the help answer says a role can do, per tool it may run (with an example question).
CAPABILITIES = {
    "search_playbooks": ("回答手册问题并注明出处，如「沉默客户多少天派单？」",
                         "answer playbook questions with citations, e.g. \"what does the playbook say about "
                         "port-out?\""),
    "churn_risk": ("查客户并评估离网风险、原因和成本上限，如「S000000123 怎么处理？」",
                   "look up a subscriber: risk, reasons, caps, e.g. \"how do I handle S000000123?\""),
    "recommend_offers": ("在预算内推荐优惠，如「给他出个续约优惠」", "recommend offers within budget, e.g. \"draft an offer\""),
    "draft_call_script": ("生成带引用的挽留话术，如「给我一个续约话术」",
                          "draft a cited call script, e.g. \"call script for renewal\""),
    "high_risk_list": ("列出最值得挽留的客户，如「本月高危客户有哪些」",
                       "list the subscribers most worth retaining, e.g. \"who is at risk in Guangdong, high value\""),
    "segment_snapshot": ("分析你附上的模拟客户快照（--subscriber-json），或你描述的客户情况",
                         "work on a synthetic snapshot you attach (--subscriber-json) or a customer you describe"),
    "run_report": ("生成报表和图表，如「上季度各价值等级的流失率」", "build reports and charts, e.g. \"churn rate by value "
                   "tier last quarter\""),
    "training_quiz": ("出题考你，如「考考我成本上限」", "quiz you on the playbooks, e.g. \"quiz me on cost caps\""),
    "training_lesson": ("讲解场景要点（retention train lesson renewal）", "walk through a scenario lesson "
                        "(retention train lesson renewal)"),
    # Role-play needs no tool of its own: it is offered to every role that may draft scripts.
    "draft_call_script#practice": ("陪你练习：我扮演要离网的客户，结束后按手册打分，如「陪我练习续约」",
                                   "practise a call: I play a churning customer and grade you, e.g. \"role-play a "
                                   "renewal call\""),
}
LATER: dict[str, tuple[str, str]] = {}  # features announced for a later version, by name


def explain_error(tool: str, error: str, role: str, lang: str) -> str:
    """A tool error in the user's language, with what to do about it."""
    name = name_of(TOOL_NAMES, tool, lang)
    if "may not use the tool" in error or "trainees practise" in error:
        if role == "trainee" and (tool in REAL_DATA_TOOLS or "trainees practise" in error):
            return pick(
                lang,
                f"学员角色不能查询真实客户数据（{name}）。请用模拟客户快照练习"
                "（`retention ask --subscriber-json FILE`），或者问手册里的问题。",
                f"The trainee role may not look at real subscriber records ({name}). Practise "
                "with a synthetic snapshot (`retention ask --subscriber-json FILE`) or ask a playbook question.")
        return pick(lang, f"你的角色（{role}）不能使用「{name}」；如确有需要，请联系管理员。",
                    f"Your role ({role}) may not use the {name} tool; ask an administrator if you need it.")
    if "no subscriber data" in error:
        return pick(lang, "还没有客户数据：请先运行 `retention data generate`（或用 `retention data import` 导入）。",
                    "No subscriber data yet: run `retention data generate` (or `retention data import`).")
    if "no subscriber with" in error:
        key = re.search(r"(?:id|number)\s+'?([^'\s;]+)'?", error)
        shown = f" {key.group(1)}" if key else ""
        return pick(lang, f"没有找到客户{shown}：请核对客户ID或11位手机号。",
                    f"No subscriber{shown} was found: check the subscriber id or the 11-digit mobile number.")
    if "there is no tool named" in error:
        return pick(lang, f"这个版本还没有「{name}」功能。", f"The {name} tool isn't available in this version.")
    if "failed unexpectedly" in error:
        return pick(lang, f"「{name}」暂时出错，这部分先略过。", f"The {name} tool failed unexpectedly; this part is skipped.")
    return pick(lang, f"「{name}」出错：{error}", f"The {name} tool failed: {error}")


def capabilities_text(lang: str, role: str, allowed: set[str]) -> str:
    """The help answer: what this role can do, from the tools it may run."""
    lines = [pick(lang, f"我可以（当前角色：{role}）：", f"I can ({role} role):")]
    lines += [f"- {pick(lang, *text)}" for name, text in CAPABILITIES.items() if name.split("#")[0] in allowed]
    later = [pick(lang, *v) for v in LATER.values()]
    if later:
        lines.append(pick(lang, f"- {'、'.join(later)}会在后续版本提供。", f"- {', '.join(later)} come in a later version."))
    names = [name_of(TOOL_NAMES, n, lang) for n in sorted(allowed)]
    return "\n".join(lines + [pick(lang, "可用工具：", "Tools: ") + ("、" if lang == "zh" else ", ").join(names)])


def pick(lang: str, zh: str, en: str) -> str:
    """The text for the answer's language."""
    return zh if lang == "zh" else en


def name_of(table: dict[str, tuple[str, str]], code: str | None, lang: str) -> str:
    """A coded value's display name (the code itself when unknown)."""
    if code is None:
        return "—"
    pair = table.get(code)
    return (pair[0] if lang == "zh" else pair[1]) if pair else str(code)


def label(value: Any, lang: str) -> str:
    """A tools Label ({code, zh, en}) in the answer's language."""
    if isinstance(value, dict):
        return str(value.get(lang) or value.get("en") or value.get("code") or "—")
    return str(value) if value is not None else "—"


def num(value: Any, digits: int = 2) -> str:
    """A number without trailing zeros (yuan, months)."""
    if value is None:
        return "—"
    text = f"{float(value):.{digits}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def pct(value: Any) -> str:
    """A probability as a percentage."""
    return "—" if value is None else f"{float(value) * 100:.0f}%"


def cites(citations: Iterable[Any], turn: Turn, limit: int = 2) -> str:
    """' [a1b2c3d4][…]' for the citable passages among `citations` (dicts or models)."""
    handles: list[str] = []
    for c in citations or []:
        pid = c.get("id") if isinstance(c, dict) else getattr(c, "id", None)
        handle = short_id(str(pid or ""))
        if handle in turn.passages and handle not in handles:
            handles.append(handle)
        if len(handles) == limit:
            break
    return (" " + "".join(f"[{h}]" for h in handles)) if handles else ""


def field_lines(facts: dict[str, Any], fields: list[str], lang: str) -> list[str]:
    """'- 积分余额：267 分' for each field (not on record when the tool returned nothing)."""
    out = []
    for key in fields:
        zh, en, unit_zh, unit_en = FIELD_NAMES[key]
        value = facts.get(key)
        if value is None:
            out.append(pick(lang, f"- {zh}：无记录", f"- {en}: not on record"))
            continue
        names = {"payment_type": PAYMENT_NAMES, "plan_type": PLAN_TYPE_NAMES}.get(key)
        shown = name_of(names, value, lang) if names else \
            num(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else str(value)[:10]
        out.append(pick(lang, f"- {zh}：{shown}{unit_zh}", f"- {en}: {shown}{unit_en}"))
    return out


def days_between(start: Any, end: Any) -> int | None:
    """Days from `start` to `end` (ISO dates or dates), None when either is unknown."""
    try:
        a = start if isinstance(start, date) else date.fromisoformat(str(start)[:10])
        b = end if isinstance(end, date) else date.fromisoformat(str(end)[:10])
    except (TypeError, ValueError):
        return None
    return (b - a).days


# --- subscriber card ---------------------------------------------------------------------------


def subscriber_card(sub: dict[str, Any] | None, risk: dict[str, Any] | None,
                    snapshot: dict[str, Any] | None) -> dict[str, Any]:
    """The structured card: facts from get_subscriber (or a snapshot) plus churn_risk's verdict."""
    card: dict[str, Any] = {}
    if sub:
        keys = ("subscriber_id", "masked_msisdn", "region", "city", "contract_type", "contract_end_date",
                "snapshot_date", *FIELD_NAMES)
        card.update({k: sub.get(k) for k in keys if sub.get(k) is not None})
        days = days_between(sub.get("snapshot_date"), sub.get("contract_end_date"))
        if days is not None:
            card["contract_end_in_days"] = days
    if snapshot:
        card.update({k: v for k, v in snapshot.items() if v is not None})
    if risk:
        for key in ("lifecycle_stage", "value_tier", "risk_label", "churn_probability", "cost_caps", "model"):
            if risk.get(key) is not None:
                card[key] = risk[key]
        card["reasons"] = [{"code": r.get("factor") or r.get("code"), "zh": r.get("zh"), "en": r.get("en")}
                           for r in top_reasons(risk)]
    return card


def top_reasons(risk: dict[str, Any], n: int = 3) -> list[dict[str, Any]]:
    """The largest churn factors, else the reasons behind the risk label."""
    reasons = list(risk.get("reasons") or [])
    if not reasons:
        score = risk.get("rule_score") or {}
        reasons = [f for f in score.get("factors") or [] if (f.get("contribution") or 0) > 0]
    if not reasons:
        reasons = [r for r in risk.get("risk_reasons") or risk.get("reasons_label") or []]
    return reasons[:n]


def facts_lines(card: dict[str, Any], lang: str) -> list[str]:
    """The facts part of a card as Markdown lines."""
    zh = lang == "zh"
    who = card.get("subscriber_id") or pick(lang, "模拟客户（快照）", "snapshot customer")
    where = "·".join(str(card[k]) for k in ("region", "city", "brand") if card.get(k))
    extra = "，".join(x for x in (card.get("masked_msisdn"), where) if x) if zh else \
        ", ".join(x for x in (card.get("masked_msisdn"), where) if x)
    lines = [f"**{pick(lang, '客户', 'Subscriber')} {who}**"
             + (f"（{extra}）" if zh and extra else f" ({extra})" if extra else "")]
    facts: list[str] = []
    if card.get("tenure_months") is not None:
        months = num(card["tenure_months"], 0)
        facts.append(pick(lang, f"网龄 {months} 个月", f"tenure {months} months"))
    if card.get("plan_id"):
        fee = pick(lang, f"，{num(card.get('plan_fee'))} 元/月", f", {num(card.get('plan_fee'))} yuan/month") \
            if card.get("plan_fee") is not None else ""
        facts.append(pick(lang, f"套餐 {card['plan_id']}{fee}", f"plan {card['plan_id']}{fee}"))
    if card.get("payment_type"):
        facts.append(name_of(PAYMENT_NAMES, card["payment_type"], lang))
    if card.get("arpu_3m_avg") is not None:
        arpu = num(card["arpu_3m_avg"])
        facts.append(pick(lang, f"近3月 ARPU {arpu} 元", f"3-month ARPU {arpu} yuan"))
    if facts:
        lines.append("- " + ("；" if zh else "; ").join(facts))
    contract = contract_text(card, lang)
    if contract:
        lines.append("- " + contract)
    return lines


def contract_text(card: dict[str, Any], lang: str) -> str | None:
    """'合约：机补合约，2026-01-31 到期（数据日起 31 天后）' from the card, or None."""
    days = card.get("contract_end_in_days")
    end = card.get("contract_end_date")
    kind = card.get("contract_type")
    if end is None and days is None:
        return pick(lang, "合约：无合约信息", "Contract: none on record") if kind in (None, "none") else None
    kind_text = name_of(CONTRACT_NAMES, kind, lang) + ("，" if lang == "zh" else ", ") if kind else ""
    when = str(end)[:10] if end else ""
    if days is None:
        rel = ""
    elif days >= 0:
        rel = pick(lang, f"（距数据日期 {days} 天）", f" (in {days} days from the data date)")
    else:
        rel = pick(lang, f"（已过期 {-days} 天）", f" (expired {-days} days ago)")
    return pick(lang, f"合约：{kind_text}{when} 到期{rel}", f"Contract: {kind_text}ends {when}{rel}").replace("  ", " ")


def verdict_lines(card: dict[str, Any], lang: str, caps_cite: str = "") -> list[str]:
    """Stage, tier, risk with its top reasons, and the cost caps."""
    lines: list[str] = []
    if "risk_label" in card:
        lines.append("- " + pick(
            lang,
            f"生命周期：{label(card.get('lifecycle_stage'), lang)}；价值层级：{label(card.get('value_tier'), lang)}；"
            f"风险：**{name_of(RISK_NAMES, card['risk_label'], lang)}**，离网概率 {pct(card.get('churn_probability'))}",
            f"Lifecycle stage: {label(card.get('lifecycle_stage'), lang)}; "
            f"value tier: {label(card.get('value_tier'), lang)}; "
            f"risk: **{name_of(RISK_NAMES, card['risk_label'], lang)}**, "
            f"churn probability {pct(card.get('churn_probability'))}",
        ))
    reasons = [r.get(lang) or r.get("en") for r in card.get("reasons") or [] if r.get(lang) or r.get("en")]
    if reasons:
        lines.append("- " + pick(lang, "主要原因：", "Top reasons: ") + ("；" if lang == "zh" else "; ").join(reasons))
    caps = card.get("cost_caps")
    if caps:
        lines.append("- " + pick(
            lang, f"维系成本上限：每月 {num(caps.get('monthly'))} 元，合计 {num(caps.get('total'))} 元（{caps.get('rule')}）",
            f"Retention cost caps: {num(caps.get('monthly'))} yuan/month, {num(caps.get('total'))} yuan in total "
            f"({caps.get('rule')})",
        ) + caps_cite)
    return lines


# --- offers and scripts ------------------------------------------------------------------------


def plan_header(plan: dict[str, Any], who: str | None, lang: str) -> list[str]:
    """The heading of an offer plan: who, scenario, tier, probability, and the caps left."""
    who = who or pick(lang, "快照客户", "the snapshot customer")
    tier, p = name_of(TIER_NAMES, plan.get("value_tier"), lang), pct(plan.get("churn_probability"))
    cap_m, cap_t = num(plan.get("cap_monthly")), num(plan.get("cap_total"))
    left_m, left_t = num(plan.get("remaining_monthly")), num(plan.get("remaining_total"))
    if lang == "zh":
        return [f"**{who} 的优惠方案**（{plan.get('scenario_zh') or plan.get('scenario')}；{tier}；离网概率 {p}）",
                f"- 成本上限：每月 {cap_m} 元（剩余 {left_m}），合计 {cap_t} 元（剩余 {left_t}）"]
    return [f"**Offers for {who}** ({plan.get('scenario_en') or plan.get('scenario')}; {tier}; churn probability {p})",
            f"- Caps: {cap_m} yuan/month ({left_m} left), {cap_t} in total ({left_t} left)"]


def offer_args(slots: Any, max_offers: int | None) -> dict[str, Any]:
    """recommend_offers arguments from the request's slots (None values are left out by the caller)."""
    return {"customer_initiated": slots.customer_initiated or None, "scenario": slots.scenario,
            "max_offers": min(max_offers, 5) if max_offers else None}  # the tool allows 1-5


def offers_data(plan: dict[str, Any], turn: Turn, lang: str) -> list[dict[str, Any]]:
    """The offers for the web page: what they cost, why, and their citation handles."""
    keep = ("measure_code", "title_zh", "title_en", "monthly_cost", "one_off_cost", "total_cost", "cap_monthly",
            "cap_total", "expected_value")
    return [{**{k: o.get(k) for k in keep}, "why": o.get(f"why_{lang}") or o.get("why") or [],
             "citations": [h for h in (short_id(c["id"]) for c in o.get("citations") or []) if h in turn.passages]}
            for o in plan.get("offers") or []]


def plan_data(plan: dict[str, Any]) -> dict[str, Any]:
    """The plan's scenario, caps and exclusions for the web page."""
    keys = ("scenario", "value_tier", "risk_label", "churn_probability", "cap_monthly", "cap_total",
            "remaining_monthly", "remaining_total", "excluded")
    return {k: plan.get(k) for k in keys}


def offer_lines(plan: dict[str, Any], turn: Turn, lang: str, full: bool = False) -> list[str]:
    """Numbered offers: code, title, cost, expected value, why, citations."""
    lines: list[str] = []
    for i, offer in enumerate(plan.get("offers") or [], start=1):
        title = offer.get(f"title_{lang}") or offer.get("title_en") or offer.get("measure_code")
        total = offer.get("total_cost")
        cost = pick(lang, f"一次性 {num(offer.get('one_off_cost'))} 元 + 每月 {num(offer.get('monthly_cost'))} 元",
                    f"one-off {num(offer.get('one_off_cost'))} + {num(offer.get('monthly_cost'))} yuan/month")
        if total is not None:
            cost += pick(lang, f"，合计 {num(total)} 元", f", {num(total)} yuan in total")
        why = offer.get(f"why_{lang}") or [w for w in offer.get("why") or []]
        shown = why if full else why[:2]
        value = num(offer.get("expected_value"))
        ev = pick(lang, f"期望保留价值 {value} 元", f"expected retained value {value} yuan")
        lines.append(f"{i}. **{offer.get('measure_code')} {title}** — {cost}；{ev}" if lang == "zh"
                     else f"{i}. **{offer.get('measure_code')} {title}** — {cost}; {ev}")
        lines.extend(f"   - {w}" for w in shown)
        lines[-1] += cites(offer.get("citations"), turn)
    return lines


def excluded_lines(plan: dict[str, Any], lang: str, limit: int) -> list[str]:
    """Why some measures were not offered (cap, no-repeat, eligibility...)."""
    out: list[str] = []
    for item in plan.get("excluded") or []:
        line = (f"- {item.get('measure_code')}：{item.get('reason_zh')}" if lang == "zh"
                else f"- {item.get('measure_code')}: {item.get('reason_en')}")
        if line not in out:
            out.append(line)
    return out[:limit]


def script_lines(script: dict[str, Any], turn: Turn, lang: str, full: bool = False) -> list[str]:
    """The script outline (each section's first line) or the full script, with objections."""
    lines: list[str] = []
    for section in script.get("sections") or []:
        said = section.get("lines") or []
        if not said:
            continue
        head = f"- **{section.get('title') or section.get('name')}**"
        if full:
            lines.append(head + cites(section.get("citations"), turn))
            lines.extend(f"  - {line}" for line in said)
        else:
            lines.append(f"{head}{'：' if lang == 'zh' else ': '}{said[0]}" + cites(section.get("citations"), turn, 1))
    return lines


def objection_lines(script: dict[str, Any], turn: Turn, lang: str, limit: int = 4) -> list[str]:
    """Likely objections and the answers to them."""
    return [
        (f"- 「{_unquote(o.get('objection'))}」→ {o.get('response')}" if lang == "zh"
         else f"- \"{_unquote(o.get('objection'))}\" → {o.get('response')}") + cites(o.get("citations"), turn, 1)
        for o in (script.get("objections") or [])[:limit]
    ]


def _unquote(text: Any) -> str:
    return str(text or "").strip().strip('“”"「」\'')


def risk_list_heading(slots: Any, ignored: list[str], horizon: int, lang: str) -> str:
    """The heading of the high-risk list: how it is ranked and which filters were applied."""
    shown = [name_of(TIER_NAMES, slots.value_tier, lang) if slots.value_tier else None, slots.region,
             slots.brand if "brand" not in ignored else None,
             name_of(RISK_NAMES, slots.risk_label, lang) if slots.risk_label else None,
             pick(lang, f"{slots.expiring_within_days} 天内合约到期",
                  f"contract ending within {slots.expiring_within_days} days") if slots.expiring_within_days else None]
    filters = ("，" if lang == "zh" else ", ").join(f for f in shown if f)
    if lang == "zh":
        return (f"**最值得挽留的客户**（按预计损失 = 离网概率 × ARPU × {horizon} 个月排序"
                + (f"；筛选：{filters}" if filters else "") + "）")
    return (f"**Subscribers most worth retaining** (by expected loss = churn probability × ARPU × {horizon} months"
            + (f"; filters: {filters}" if filters else "") + ")")


def high_risk_rows(rows: list[dict[str, Any]], lang: str) -> list[dict[str, Any]]:
    """The high-risk list for the web page: ids, tier, risk, probability, loss, top reason."""
    return [{"subscriber_id": r.get("subscriber_id"), "value_tier": (r.get("value_tier") or {}).get("code"),
             "risk_label": r.get("risk_label"), "churn_probability": r.get("churn_probability"),
             "expected_loss": r.get("expected_loss"), "arpu": r.get("arpu"),
             "top_reason": next(iter(top_reasons(r, 1)), {}).get(lang)} for r in rows]


def high_risk_table(rows: list[dict[str, Any]], lang: str) -> list[str]:
    """A Markdown table of the high-risk list (ids only: no phone numbers)."""
    head = pick(lang, "| # | 客户ID | 价值层级 | 风险 | 离网概率 | 预计损失(元) | 主要原因 |",
                "| # | Subscriber | Value tier | Risk | Churn prob. | Expected loss (yuan) | Top reason |")
    lines = [head, "|---|---|---|---|---|---|---|"]
    for i, row in enumerate(rows, start=1):
        reasons = top_reasons(row, 1)
        reason = (reasons[0].get(lang) or reasons[0].get("en") or "") if reasons else ""
        lines.append(f"| {i} | {row.get('subscriber_id')} | {label(row.get('value_tier'), lang)} | "
                     f"{name_of(RISK_NAMES, row.get('risk_label'), lang)} | {pct(row.get('churn_probability'))} | "
                     f"{num(row.get('expected_loss'), 0)} | {reason.replace('|', '/')} |")
    return lines


# --- extractive summary ------------------------------------------------------------------------
