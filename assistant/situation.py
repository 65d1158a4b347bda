"""A customer described in words ("高价值客户合约70天后到期，ARPU下降30%，还有呼转异网") as a rules snapshot.

Agents often ask about a customer without an id: the caller is on the line, the number is masked
("138xxxx"), or the agent is thinking ahead. When the text states concrete facts (contract expiry,
ARPU or call drops, forwarding to other operators, competitor hotline calls, complaints, silence,
arrears, tenure, value tier, prepaid, student), the offline engine builds an inline snapshot from
them and runs the same rules, offers and script as for a stored subscriber. What the text does not
say is filled with stated assumptions (network averages, post-paid), listed in the answer, so the
agent knows what to confirm. Nothing is guessed silently.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from knowledge.normalize import index_form

_NUM = r"(\d+(?:\.\d+)?)"
_ZH_DIGITS = {"一": 1, "两": 2, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9, "十": 10}
_EN_DIGITS = {"once": 1, "twice": 2, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "several": 3, "a few": 3}
_COUNT = r"(\d+|[一两二三四五六七八九十]|once|twice|one|two|three|four|five|several|a few)"


@dataclass
class Situation:
    """The snapshot built from a description, what was read from the text and what was assumed."""

    snapshot: dict[str, Any]
    facts: list[tuple[str, str]] = field(default_factory=list)  # (zh, en) read from the text
    assumptions: list[tuple[str, str]] = field(default_factory=list)  # (zh, en) filled in

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready, for the answer's data."""
        return {"snapshot": self.snapshot, "facts": [en for _, en in self.facts],
                "assumptions": [en for _, en in self.assumptions]}


def _count(word: str) -> int:
    word = word.strip().lower()
    if word.isdigit():
        return int(word)
    return _ZH_DIGITS.get(word) or _EN_DIGITS.get(word) or 1


def _search(patterns: list[str], text: str) -> re.Match[str] | None:
    for pattern in patterns:
        m = re.search(pattern, text)
        if m:
            return m
    return None


def _contract_days(t: str) -> int | None:
    if m := re.search(r"(?:合约|协议|合同)?\s*(\d+)\s*天(?:后|内|以后)?(?:合约|协议)?到期|"
                      r"(?:contract|agreement)\w*\s+(?:ends|expires|runs out)\s+in\s+(\d+)\s+days|"
                      r"(\d+)\s+days\s+(?:left|before)\s+(?:on\s+)?(?:the\s+)?(?:contract|agreement)", t):
        return int(next(g for g in m.groups() if g))
    if m := re.search(r"(\d+|[一两二三四五六])\s*个月(?:后|内|以后)?(?:合约|协议)?到期|"
                      r"(?:contract|agreement)\w*\s+(?:ends|expires|runs out)\s+in\s+(\d+|one|two|three)\s+months?", t):
        return 30 * _count(next(g for g in m.groups() if g))
    if re.search(r"下个?月(?:合约|协议)?到期|(?:合约|协议)下个?月到期|"
                 r"(?:contract|agreement)\w*\s+(?:ends|expires|runs out)\s+next month|expir\w*\s+next month", t):
        return 45
    if re.search(r"(?:本|这个)月(?:合约|协议)?到期|(?:合约|协议)(?:本|这个)月到期|"
                 r"(?:ends|expires|runs out)\s+this month", t):
        return 15
    if re.search(r"(?:合约|协议)已(?:经)?到期|(?:合约|协议)过期|(?:contract|agreement)\w*\s+(?:has\s+)?(?:expired|ended)", t):
        return -10
    return None


def describe(text: str, *, network_avg_arpu: float | None, network_avg_tenure: float | None,
             tier_multiples: tuple[float, float] = (3.0, 1.0), min_facts: int = 2) -> Situation | None:
    """The situation stated in `text`, or None when it states fewer than `min_facts` customer facts
    (one fact, "欠费90天的客户", is a category the playbooks answer, not a customer).

    `tier_multiples` are the policy's ARPU multiples of the high and medium tiers (2.1), used only
    when the text names a tier but no ARPU.
    """
    t = index_form(text)
    snap: dict[str, Any] = {}
    facts: list[tuple[str, str]] = []
    assumed: list[tuple[str, str]] = []

    days = _contract_days(t)
    if days is not None:
        snap["contract_end_in_days"] = days
        facts.append((f"合约 {days} 天后到期" if days >= 0 else "合约已到期",
                      f"contract ends in {days} days" if days >= 0 else "contract already expired"))
    if m := _search([rf"(?:arpu|消费|话费|收入|月费)\s*(?:环比)?(?:下降|下滑|降低|减少|降|跌)了?\s*{_NUM}\s*%",
                     rf"(?:arpu|spend\w*|bill\w*|revenue)\s+(?:has\s+)?(?:dropped|fell|fallen|down|decreased|declined)\s+"
                     rf"(?:by\s+)?{_NUM}\s*%"], t):
        snap["arpu_change_pct"] = -float(m.group(1))
        facts.append((f"ARPU 下降 {m.group(1)}%", f"ARPU down {m.group(1)}%"))
    if m := _search([rf"(?:通话|话务|mou|通话量|通话时长)\s*(?:环比)?(?:下降|下滑|降低|减少|降|跌)了?\s*{_NUM}\s*%",
                     rf"(?:minutes|mou|calls|call volume|usage)\s+(?:has\s+)?(?:dropped|fell|fallen|down|decreased|declined)\s+"
                     rf"(?:by\s+)?{_NUM}\s*%"], t):
        snap["mou_change_pct"] = -float(m.group(1))
        facts.append((f"通话量下降 {m.group(1)}%", f"minutes down {m.group(1)}%"))
    if re.search(r"呼转|呼叫转移|转移到(?:异网|其他运营商|对手)|forward\w*", t) and re.search(
            r"异网|他网|其他运营商|对手|竞争|another (?:network|operator|carrier)|other (?:network|operator|carrier)s?|"
            r"competitor|rival|off-?net", t):
        m = re.search(rf"(?:呼转|呼叫转移)\D{{0,6}}{_COUNT}\s*次|forward\w*\D{{0,30}}?{_COUNT}\s*times", t)
        n = _count(m.group(1)) if m else 3
        snap["forwards_to_competitor"] = n
        facts.append(("有呼转到异网", "forwards calls to another operator"))
        if not m:
            assumed.append(("呼转次数按 3 次计", "forwarding counted as 3 times"))
    if m := _search([rf"{_COUNT}\s*次\D{{0,8}}(?:竞争对手|对手|异网|友商)\S{{0,4}}客服|(?:打|拨)\S{{0,4}}(?:竞争对手|对手|异网|友商)\S{{0,4}}"
                     rf"客服(?:电话|热线)?\D{{0,4}}{_COUNT}?\s*次?",
                     rf"(?:called|rang|phoned)\s+(?:a\s+|the\s+)?(?:competitor|rival)\S*\s+(?:hotline|customer service|service line)"
                     rf"(?:\s+{_COUNT}(?:\s+times)?)?"], t):
        n = _count(next((g for g in m.groups() if g), "1"))
        snap["competitor_hotline_calls"] = n
        facts.append((f"拨打竞争对手客服 {n} 次", f"called a competitor's hotline {n} time(s)"))
    if m := _search([rf"投诉(?:了|过)?\s*{_COUNT}\s*次", rf"{_COUNT}\s*次投诉",
                     rf"complain\w*\s+{_COUNT}(?:\s+times)?", rf"{_COUNT}\s+complaints"], t):
        n = _count(m.group(1))
        snap["complaints_90d"] = n
        facts.append((f"近期投诉 {n} 次", f"{n} recent complaint(s)"))
    elif re.search(r"投诉|complain", t):
        snap["complaints_90d"] = 1
        facts.append(("近期有投诉", "a recent complaint"))
    if m := _search([rf"(?:沉默|没有?(?:通话|使用|用过?)|零通话)\D{{0,4}}{_NUM}\s*天", rf"{_NUM}\s*天(?:没有?(?:通话|使用|用)|沉默|零通话)",
                     rf"silent\s+(?:for\s+)?{_NUM}\s+days", rf"(?:no|zero)\s+(?:calls|usage|activity)\s+(?:for|in)\s+{_NUM}\s+days"], t):
        snap["silent_days"] = int(float(m.group(1)))
        facts.append((f"沉默 {snap['silent_days']} 天", f"silent for {snap['silent_days']} days"))
    if m := _search([rf"欠费\D{{0,4}}{_NUM}\s*天", rf"{_NUM}\s*天\D{{0,2}}欠费",
                     rf"(?:in\s+)?arrears\s+(?:for\s+)?{_NUM}\s+days", rf"{_NUM}\s+days\s+(?:in\s+arrears|overdue|unpaid)"], t):
        snap["arrears_days"] = int(float(m.group(1)))
        facts.append((f"欠费 {snap['arrears_days']} 天", f"{snap['arrears_days']} days in arrears"))
    if m := _search([rf"(?:网龄|在网)\D{{0,2}}{_NUM}\s*年", rf"(?:with us|customer|subscriber)\s+(?:for\s+)?{_NUM}\s+years",
                     rf"{_NUM}[- ]years?\s+(?:of\s+)?tenure"], t):
        snap["tenure_months"] = round(float(m.group(1)) * 12)
        facts.append((f"网龄 {m.group(1)} 年", f"tenure {m.group(1)} years"))
    elif m := _search([rf"(?:网龄|在网|入网)\D{{0,2}}{_NUM}\s*个月", rf"(?:with us|joined)\s+(?:for\s+)?{_NUM}\s+months"], t):
        snap["tenure_months"] = round(float(m.group(1)))
        facts.append((f"网龄 {m.group(1)} 个月", f"tenure {m.group(1)} months"))
    if m := _search([rf"(?:arpu|月消费|月均消费|每月消费|月话费)\D{{0,3}}{_NUM}\s*元?", rf"(?:arpu|spends?|bill)\D{{0,12}}{_NUM}\s*(?:yuan|rmb|元)"], t):
        if "%" not in t[m.end():m.end() + 1]:
            snap["arpu_3m_avg"] = float(m.group(1))
            facts.append((f"月均消费 {m.group(1)} 元", f"ARPU {m.group(1)} yuan"))
    if re.search(r"学生|校园|大学生|student|campus", t):
        snap["is_student"] = True
        facts.append(("学生客户", "student"))
    if re.search(r"预付费|prepaid|pre-paid", t):
        snap["payment_type"] = "prepaid"
        facts.append(("预付费", "prepaid"))

    if re.search(r"转网|携号转网|携转|转到(?:移动|电信|联通|广电|异网)|销户|拆机|port(?:ing)?[- ]?out|"
                 r"switch(?:ing)? (?:to|operator|network|carrier)|leave for|move to (?:another|a rival)", t):
        facts.append(("想转网/销户", "wants to leave (port out)"))
    tier = _tier(t)
    if tier:
        facts.insert(0, {"high": ("高价值", "high value"), "medium": ("中价值", "medium value"),
                         "low": ("低价值", "low value"), "group": ("集团客户", "group customer")}[tier])
    if len(facts) < max(1, min_facts):
        return None

    avg = round(network_avg_arpu or 100.0, 2)
    snap["network_avg_arpu"] = round(avg, 2)
    if network_avg_tenure:
        snap["network_avg_tenure_months"] = round(network_avg_tenure, 1)
    if "arpu_3m_avg" not in snap:
        high, medium = tier_multiples
        multiple = {"high": high + 0.5, "group": high + 0.5, "medium": (high + medium) / 2, "low": medium / 2}.get(tier or "", 1.0)
        snap["arpu_3m_avg"] = round(avg * multiple, 2)
        zh = {"high": "高价值", "group": "集团", "medium": "中价值", "low": "低价值"}.get(tier or "", "全网平均")
        assumed.append((f"月均消费按{zh}水平 {snap['arpu_3m_avg']:g} 元（全网平均 {avg:g} 元）",
                        f"ARPU taken as {snap['arpu_3m_avg']:g} yuan ({tier or 'network-average'} level; network average {avg:g})"))
    if tier == "group":
        snap.update(is_group=True, group_size=10)
        assumed.append(("集团规模按 10 条线路计", "group size taken as 10 lines"))
    if "tenure_months" not in snap:
        months = round(network_avg_tenure or 24)
        snap["tenure_months"] = months
        assumed.append((f"网龄按 {months} 个月（全网平均）", f"tenure taken as {months} months (network average)"))
    if "payment_type" not in snap:
        snap["payment_type"] = "postpaid"
        assumed.append(("后付费", "post-paid"))
    return Situation(snapshot=snap, facts=facts, assumptions=assumed)


def _tier(t: str) -> str | None:
    for code, pattern in (("group", r"集团客户|集团用户|group (?:customer|account|client)"),
                          ("high", r"高价值|高端|high[- ]value|vip|top[- ]tier"),
                          ("medium", r"中价值|中端|medium[- ]value|mid[- ]value"),
                          ("low", r"低价值|低端|low[- ]value")):
        if re.search(pattern, t):
            return code
    return None
