"""The offline engine's quiz: "quiz me" / "考考我" starts one, and the trainee's next messages answer it.

The quiz runs through the `training_quiz` tool (assistant/tool_specs_training.py), so the role is
enforced and every cited passage is tracked like any other tool's. No state is stored beyond the
conversation itself: each turn's call of the tool is recorded with its arguments (topic, n, lang,
seed, answers so far) in the assistant message's payload, and a quiz is fully determined by those
values. The next user message is an answer while the last assistant turn left a quiz unfinished.

Wiring in assistant/offline.py (see `quiz_turn` and `continues_quiz`):

    intent = recognise(...)
    if intent.name != "quiz" and continues_quiz(request):
        intent = Intent("quiz", intent.slots)
    ...
    def do_quiz(self, intent):
        from assistant.offline_quiz import quiz_turn
        return quiz_turn(self, intent)
"""

from __future__ import annotations

import re
import zlib
from dataclasses import dataclass, field
from typing import Any

from assistant.toolkit import short_id
from knowledge.normalize import index_form

TOOL = "training_quiz"
DEFAULT_N = 5
MAX_N = 10
_STOP = re.compile(r"^(?:stop|quit|end|enough|stop the quiz|end quiz|结束|退出|不做了|停|停止|不考了|结束测验)[!！。.]*$")
_LETTER = re.compile(r"^(?:选|选项|答案|answer|option)?\s*[(（]?\s*[a-d]\s*[)）.。、]?$")
_NEW_QUIZ = re.compile(r"考考我|考我|测试我|测测我|出(?:几道|一道|个)?题|做题|测验|抽查我|quiz|test me|exam me")
# Topic words (index form: simplified Chinese, lower case) -> quiz topic.
_TOPICS = [
    ("cost_caps", r"成本上限|上限|成本|预算|cost cap|caps?\b|budget"),
    ("kpi", r"kpi|指标|公式|考核|formula"),
    ("measures", r"编码|措施|measure|code"),
    ("objections", r"异议|objection"),
    ("dispatch", r"派单|不重复|dispatch"),
    ("sla", r"时限|时效|deadline|time limit|\bsla\b"),
    ("silent", r"沉默|silent"),
    ("signals", r"预警|信号|阈值|warning|signal|threshold"),
    ("value_tiers", r"价值等级|价值分层|value tier"),
    ("renewal", r"续约|网龄|renewal|tenure"),
]
TOPIC_NAMES = {
    "cost_caps": ("成本上限", "cost caps"), "signals": ("预警阈值", "warning thresholds"),
    "silent": ("沉默预警", "silent triggers"), "dispatch": ("派单窗口", "dispatch windows"),
    "sla": ("时限", "time limits"), "renewal": ("网龄回馈", "tenure rewards"),
    "value_tiers": ("价值分层", "value tiers"), "kpi": ("考核公式", "KPI formulas"),
    "objections": ("异议应对", "objection handling"), "measures": ("措施编码", "measure codes"),
}
_SCENARIO_TOPICS = {"renewal": "renewal", "silent": "silent", "port_out": "objections",
                    "complaint_recovery": "objections", "routine": "objections", "campus": "objections",
                    "new_customer": "sla", "collection": "dispatch"}


@dataclass
class QuizState:
    """An unfinished quiz of the conversation: its determining values and the answers so far."""

    topic: str | None
    n: int
    lang: str
    seed: int
    answers: list[str] = field(default_factory=list)

    def args(self, answers: list[str] | None = None) -> dict[str, Any]:
        """The training_quiz arguments that regenerate (and with answers, grade) this quiz."""
        out: dict[str, Any] = {"topic": self.topic, "n": self.n, "lang": self.lang, "seed": self.seed}
        if answers is not None:
            out["answers"] = answers
        return out


def open_quiz(history: list[Any]) -> QuizState | None:
    """The quiz the last assistant turn left unfinished, or None."""
    last = next((m for m in reversed(history) if getattr(m, "role", None) == "assistant"), None)
    if last is None:
        return None
    calls = [c for c in (last.payload or {}).get("tool_calls") or [] if c.get("name") == TOOL and c.get("ok")]
    if not calls:
        return None
    args = calls[-1].get("args") or {}
    try:
        state = QuizState(topic=args.get("topic"), n=int(args["n"]), lang=str(args.get("lang") or "zh"),
                          seed=int(args["seed"]), answers=[str(a) for a in args.get("answers") or []])
    except (KeyError, TypeError, ValueError):
        return None
    return state if len(state.answers) < state.n else None


def looks_like_answer(text: str) -> bool:
    """A letter, a short answer or 'stop' - not a new request (questions end with '?')."""
    t = index_form(text).strip()
    if not t or _NEW_QUIZ.search(t):
        return False
    if _LETTER.match(t) or _STOP.match(t):
        return True
    return len(t) <= 40 and not re.search(r"[?？]|\bs\d{6,}\b", t)


def continues_quiz(request: Any) -> bool:
    """Whether this turn answers the quiz the conversation has open (route it to do_quiz)."""
    return open_quiz(request.history) is not None and looks_like_answer(request.question)


def _t(lang: str, zh: str, en: str) -> str:
    return zh if lang == "zh" else en


def _topic(text: str, scenario: str | None) -> str | None:
    t = index_form(text)
    for topic, pattern in _TOPICS:
        if re.search(pattern, t):
            return topic
    return _SCENARIO_TOPICS.get(scenario or "")


def _count(text: str, top_n: int | None) -> int:
    t = index_form(text)
    m = re.search(r"(\d+)\s*(?:道|个|题|questions?)", t)
    n = int(m.group(1)) if m else (top_n or DEFAULT_N)
    return max(1, min(MAX_N, n))


def question_lines(item: dict[str, Any], number: int, total: int, lang: str) -> list[str]:
    """One question as Markdown: the stem, then the options A-D (or how to answer a short one)."""
    lines = [_t(lang, f"**第 {number}/{total} 题**：{item['question']}",
                f"**Question {number}/{total}**: {item['question']}")]
    if item.get("kind") == "choice":
        lines += [f"- {'ABCD'[i]}. {opt}" for i, opt in enumerate(item.get("options") or [])]
        lines.append(_t(lang, "请回复选项字母（A–D）；回复「结束」可随时停止。",
                        "Reply with a letter (A–D); say \"stop\" to end the quiz."))
    else:
        lines.append(_t(lang, "请直接回复答案；回复「结束」可随时停止。",
                        "Reply with your answer; say \"stop\" to end the quiz."))
    return lines


def _feedback(graded: dict[str, Any], lang: str) -> list[str]:
    cite = f" [{short_id(graded['citation']['id'])}]"
    answer = graded["answer_text"] if graded["answer"] == graded["answer_text"] else \
        f"{graded['answer']}. {graded['answer_text']}"
    if graded["correct"]:
        head = _t(lang, f"✅ 回答正确：{answer}", f"✅ Correct: {answer}")
    else:
        head = _t(lang, f"❌ 不对。正确答案：{answer}", f"❌ Not quite. The answer is {answer}")
    return [head, f"- {graded['explanation']}{cite}"]


def _summary(result: dict[str, Any], answered: int, lang: str) -> list[str]:
    items = result["items"][:answered]
    right = sum(1 for r in items if r["correct"])
    score = round(100 * right / answered) if answered else 0
    lines = ["", _t(lang, f"**测验结束：答对 {right}/{answered}，得分 {score}。**",
                    f"**Quiz finished: {right}/{answered} correct, score {score}.**")]
    wrong = [r for r in items if not r["correct"]]
    if wrong:
        lines.append(_t(lang, "需要复习：", "To review:"))
        lines += [f"- {r['question']} → {r['answer_text']} [{short_id(r['citation']['id'])}]" for r in wrong]
    return lines


def quiz_turn(run: Any, intent: Any) -> str:
    """do_quiz: start a quiz, or grade the answer to the open one and ask the next question."""
    request = run.req
    state = open_quiz(request.history)
    if state is not None and looks_like_answer(request.question):
        return _answer(run, state, request.question.strip())
    return _start(run, intent)


def _start(run: Any, intent: Any) -> str:
    question, lang = run.req.question, run.lang
    slots = getattr(intent, "slots", None)
    topic = _topic(question, getattr(slots, "scenario", None))
    n = _count(question, getattr(slots, "top_n", None))
    seed = zlib.crc32(f"{question}|{len(run.req.history)}".encode("utf-8")) & 0x7FFFFFFF
    value, error = run.call(TOOL, {"topic": topic, "n": n, "lang": lang, "seed": seed})
    if error:
        return error
    spec, items = value["quiz"], value["items"]
    if spec["n"] != n:  # fewer facts than asked for: record the real length, so the quiz closes on time
        value, error = run.call(TOOL, {"topic": topic, "n": spec["n"], "lang": lang, "seed": seed})
        if error:
            return error
        spec, items = value["quiz"], value["items"]
    run.data["quiz"] = {**spec, "answered": 0}
    name = TOPIC_NAMES.get(topic or "", (topic, topic))[lang == "en"]
    about = _t(lang, f"（主题：{name}）", f" on {name}") if topic else ""
    lines = [_t(lang, f"好的，来做 {len(items)} 道题{about}，题目都出自手册。",
                f"Here is a {len(items)}-question quiz{about}; every question comes from the playbooks."), ""]
    return "\n".join(lines + question_lines(items[0], 1, len(items), lang))


def _answer(run: Any, state: QuizState, text: str) -> str:
    lang = state.lang
    stop = bool(_STOP.match(index_form(text).strip()))
    answers = list(state.answers) if stop else [*state.answers, text]
    # Stopping fills the rest with blanks, so the recorded call shows a finished quiz.
    sent = answers + [""] * (state.n - len(answers)) if stop else answers
    value, error = run.call(TOOL, state.args(sent))
    if error:
        return error
    result, spec = value["result"], value["quiz"]
    run.data["quiz"] = {**spec, "answered": len(answers)}
    if stop and not answers:
        return _t(lang, "好的，测验已结束（还没有作答）。", "OK, the quiz is over (no answers yet).")
    lines: list[str] = [] if stop else _feedback(result["items"][len(answers) - 1], lang)
    following = value.get("next")
    if following is not None and not stop:
        lines += [""] + question_lines(following, len(answers) + 1, spec["n"], lang)
    else:
        run.data["quiz"]["score"] = round(100 * sum(r["correct"] for r in result["items"][:len(answers)])
                                          / len(answers))
        lines += _summary(result, len(answers), lang)
    return "\n".join(lines).strip()
