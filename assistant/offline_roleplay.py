"""Role-play inside the chat: "陪我练习" starts a practice call, later messages go to the customer.

`start_roleplay(request, scenario)` opens a session (tools/training/practice.py) and answers with
the preparation card and the customer's first words. While a practice call is open in the
conversation, `continue_roleplay(request)` passes each message to the simulated customer; "结束练习"
/ "end practice" (or the customer ending the call) grades it, with the rubric's citations made
citable in this turn. The open session is found from the conversation history: the answer's
`data["roleplay"]` when message payloads keep it, otherwise the practice id in the answer text.
"""

from __future__ import annotations

import re
from typing import Any

from assistant.agent import EngineAnswer, TurnInput
from knowledge.errors import RetentionError

_ID = re.compile(r"\brp-([0-9a-f]{32})\b")
_END = re.compile(r"^\s*(?:结束练习|结束角色扮演|结束|评分|打分|停止练习|end practice|end the practice|stop practice|"
                  r"finish(?: practice)?|grade me|score me)\s*[。.!！]?\s*$", re.I)


def _practice(request: TurnInput) -> Any:
    from assistant.roleplay_llm import practice_for

    return practice_for(request.toolkit.services)


def _t(lang: str, zh: str, en: str) -> str:
    return zh if lang == "zh" else en


def open_session_id(request: TurnInput) -> str | None:
    """The practice session still open in this conversation, if any (newest answer first)."""
    for message in reversed(request.history):
        if message.role != "assistant":
            continue
        data = (message.payload or {}).get("roleplay") or {}
        found = data.get("session_id") or next(iter(_ID.findall(message.content)), None)
        if found:
            return found if data.get("open", True) else None
    return None


def start_roleplay(request: TurnInput, scenario: str | None = None) -> EngineAnswer:
    """Open a practice call: the preparation card, how to play, and the customer's opening line."""
    from tools.training.roleplay import SCENARIOS

    lang = request.lang if request.lang in ("zh", "en") else "en"
    practice = _practice(request)
    owner = getattr(request, "owner", None) or "chat"
    started = practice.start(owner=owner, role=request.turn.role, lang=lang,
                             scenario=scenario if scenario in SCENARIOS else None)
    card, caps = started.card, started.card["cost_caps"]
    text = "\n".join([
        _t(lang, f"**角色扮演练习 · {card['scenario_name']}**", f"**Role-play practice · {card['scenario_name']}**"),
        "",
        _t(lang, f"客户资料：{card['name']}（{card['number']}），在网{card['tenure_months']}个月，月均{card['arpu']}元；"
                 f"{card['value_tier']}、{card['lifecycle_stage']}；成本上限：每月{caps['monthly']:g}元，总计{caps['total']:g}元。",
           f"Customer: {card['name']} ({card['number']}), {card['tenure_months']} months with us, about {card['arpu']} yuan "
           f"a month; {card['value_tier']}, {card['lifecycle_stage']}; caps: {caps['monthly']:g} a month, "
           f"{caps['total']:g} in total."),
        _t(lang, "你是维系经理，我来扮演客户（合成客户，不是真实记录）。直接说你的第一句话；说「结束练习」查看评分。",
           "You are the retention agent and I play the customer (synthetic, not a real record). Say your first line; "
           "say \"end practice\" for your grade."),
        "",
        _t(lang, f"> 客户：{started.customer}", f"> Customer: {started.customer}"),
        "",
        _footer(lang, started.session_id, 0),
    ])
    data = {"roleplay": {"session_id": started.session_id, "open": True, "card": card, "customer": started.customer}}
    return EngineAnswer(text=text, data=data)


def _footer(lang: str, session_id: str, turn: int) -> str:
    return _t(lang, f"_练习编号 rp-{session_id} · 第{turn}轮_", f"_practice rp-{session_id} · turn {turn}_")


def continue_roleplay(request: TurnInput) -> EngineAnswer | None:
    """The customer's reply (or the grade) when a practice call is open here; None when there is none."""
    session_id = open_session_id(request)
    if session_id is None:
        return None
    practice = _practice(request)
    try:
        record = practice.get(session_id)
    except RetentionError:
        return None
    if record.status == "finished":
        return None
    lang, question = record.lang, request.question
    if _END.match(question):
        return _graded(request, practice, record.id, record.owner, [])
    try:
        turn = practice.turn(record.id, record.owner, question)
    except RetentionError as exc:
        return EngineAnswer(text=str(exc), data={"roleplay": {"session_id": record.id, "open": True}})
    said = _t(lang, f"> 客户：{turn.customer}", f"> Customer: {turn.customer}")
    if turn.finished:
        return _graded(request, practice, record.id, record.owner, [said, ""])
    text = "\n".join([said, "", _footer(lang, record.id, turn.turn)])
    return EngineAnswer(text=text, data={"roleplay": {"session_id": record.id, "open": True,
                                                      **turn.model_dump(exclude={"session_id"})}})


def _graded(request: TurnInput, practice: Any, session_id: str, owner: str, lines: list[str]) -> EngineAnswer:
    """Grade the call and render the rubric; its passages become citable in this turn."""
    from assistant.toolkit import short_id

    record = practice.finish(session_id, owner)
    grade, lang = record.grade, record.lang
    lines += [_t(lang, f"**练习结束 · 总分 {grade.total:g}/100**", f"**Practice over · score {grade.total:g}/100**")]
    if record.outcome:
        lines.append(_t(lang, f"结果：{record.outcome}", f"Outcome: {record.outcome}"))
    lines.append("")
    for c in grade.criteria:
        request.turn.remember(c.citations)
        cites = "".join(f" [{short_id(x.id)}]" for x in c.citations[:1])
        score = "—" if c.status == "not_applicable" else f"{c.score:g}/{c.weight}"
        note = f"：{c.note}" if c.note and lang == "zh" else f": {c.note}" if c.note else ""
        lines.append(f"- **{c.title}** {score}{note}{cites}")
        for e in c.evidence[:1]:
            lines.append(f"  - 「{e.text}」" if lang == "zh" else f'  - "{e.text}"')
    if grade.plan:
        lines += ["", _t(lang, "**改进建议**", "**How to improve**")] + [f"{i}. {tip}" for i, tip in enumerate(grade.plan, 1)]
    lines += ["", _t(lang, f"_练习记录已保存：rp-{record.id}（已结束）_", f"_Saved for your supervisor: rp-{record.id} (closed)_")]
    data = {"roleplay": {"session_id": record.id, "open": False, "grade": grade.model_dump(mode="json")}}
    return EngineAnswer(text="\n".join(lines), data=data)


def roleplay_answer(request: TurnInput) -> EngineAnswer | None:
    """One entry point for any engine: continue an open practice call, or start one on a role-play request."""
    from assistant.intents import recognise

    ongoing = continue_roleplay(request)
    if ongoing is not None:
        return ongoing
    intent = recognise(request.question, has_focus=bool(request.turn.focus_subscriber),
                       has_snapshot=request.snapshot is not None)
    return start_roleplay(request, intent.slots.scenario) if intent.name == "roleplay" else None
