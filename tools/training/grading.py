"""Grading a role-play transcript on the call-quality rubric of the playbooks (domain.md 7.10, 9.5).

Nine criteria, each scored with the transcript line that earned or lost it and the playbook
passage it rests on (retrieved through the searcher, in the transcript's language): greeting and
work number, verification, empathy, needs probing, correct scenario / tier judgement, an offer
within the persona's real cost caps (tools/rules.py) and suited to the churn reason, objections
handled as the playbook recommends, no forbidden promise, and close with follow-up. Planted flaws
come back as flags on the criterion they belong to (`over_cap`, `missing_verification`,
`base_price_cut`, `wrong_scenario`...), with a short improvement plan in the transcript's language.
"""

from __future__ import annotations

from typing import Literal, Sequence

from pydantic import BaseModel, Field

from tools.citations import Searcher
from tools.schemas import Citation
from tools.training.detect import LineMoves, read_line
from tools.training.roleplay import Persona, handling_verdict, is_offer, is_suited, over_cap

Status = Literal["met", "partial", "missed", "violated", "not_applicable"]
_FACTOR = {"met": 1.0, "partial": 0.5, "missed": 0.0, "violated": 0.0, "not_applicable": 0.0}

# code: (weight, zh title, en title, topics, zh query, en query)
CRITERIA: dict[str, tuple[int, str, str, list[str], str, str]] = {
    "greeting": (10, "开场问候与工号", "Greeting and work number", ["call-structure"],
                 "标准问候 报出工号 自我介绍 询问是否方便", "standard greeting work number self-introduction ask if convenient"),
    "verification": (10, "身份核实", "Verification", ["call-structure"],
                     "身份核实 确认是客户本人 再谈账户", "identity verification confirm the customer before account details"),
    "empathy": (10, "共情", "Empathy", ["call-structure"],
                "需求发现 倾听不打断 共情 引导客户说出不满", "need discovery listen without interrupting empathise draw out dissatisfaction"),
    "needs_probing": (10, "需求探询", "Needs probing", ["call-structure"],
                      "SEB 需求探询 开放式问题 了解不满", "SEB needs probing open questions draw out dissatisfaction"),
    "stage_tier": (10, "场景与客户层级判断", "Scenario and tier judgement", ["call-structure", "value-tiers"],
                   "没有执行外呼五步法 一次性抛出所有优惠 没有让VIP感到被重视",
                   "five-step method not applied every offer at once instead of a targeted one VIP not made to feel special"),
    "offer": (15, "方案在成本上限内且对症", "Offer within cap and suited", ["cost-caps", "renewal", "routine"],
              "月维系成本上限 总挽留成本上限 按价值层级", "monthly maintenance cost cap total win-back cap value tier"),
    "objection": (15, "按手册处理异议", "Objection handled per playbook", ["objections"],
                  "异议处理 确认理解 重新解释 肯定客户看法", "objection handling check understanding re-explain affirm answer"),
    "no_forbidden_promise": (10, "无违规承诺", "No forbidden promise", ["measures", "objections"],
                             "不推降低基本资费的促销 不隐藏条件 有效期", "no promotion that cuts the basic rate validity period conditions"),
    "close": (10, "促成、道别与跟进", "Close and follow-up", ["call-structure"],
              "促成 购买信号 约定跟进 礼貌道别 记录", "close buying signals agree follow-up farewell record"),
}

TIPS: dict[str, tuple[str, str]] = {
    "missing_greeting": ("开场先报公司、岗位、姓名和工号，再问客户是否方便。",
                         "Open with company, role, name and work number, then ask whether it is a good time."),
    "missing_work_number": ("开场要报工号，方便客户核实身份。", "Give your work number in the opening so the customer can verify you."),
    "missing_verification": ("谈账户、资费和优惠之前，先核实是客户本人。",
                             "Verify you are speaking to the account holder before any account, tariff or offer detail."),
    "late_verification": ("身份核实要放在谈账户和优惠之前。", "Verify identity before discussing the account or an offer."),
    "no_empathy": ("先倾听、表示理解，再往下谈。", "Listen and acknowledge the customer's feelings before moving on."),
    "no_probing": ("推荐前先用开放式问题问清原因和需求（SEB）。", "Ask open questions about the reason and needs before proposing (SEB)."),
    "late_probing": ("先探询需求，再推荐方案。", "Probe needs first, then propose."),
    "wrong_scenario": ("先判断清楚这是什么场景的电话，按该场景的目标和话术来谈。",
                       "Work out which kind of call this is and follow that scenario's goal and talk track."),
    "no_scenario_context": ("开场点明来电原因（如协议到期、使用情况）。", "State why you are calling (e.g. the contract ending, their usage)."),
    "vip_not_valued": ("高价值客户要让客户感到被重视，说明为什么专门为他准备。",
                       "Make a high-value customer feel valued: say why this was prepared for them."),
    "no_offer": ("给出一个对症、在预算内的具体方案。", "Present one concrete offer that fits the reason and the budget."),
    "over_cap": ("方案金额不能超过该客户层级的成本上限；超出要走分级授权，不能先承诺。",
                 "Keep the offer within the tier's cost caps; anything above needs graded authority - never promise first."),
    "unsuited_offer": ("方案要对准客户流失的原因，而不是随便推一个。", "Match the offer to the customer's reason for leaving."),
    "objection_mishandled": ("按手册处理异议：确认理解、重新解释、肯定客户看法，再作答。",
                             "Handle objections as the playbook says: check understanding, re-explain, affirm, then answer."),
    "base_price_cut": ("不要用降基本资费来挽留，用组合、预存或回馈类方案。",
                       "Never lead with a base-price cut; use bundles, prepay or reward offers."),
    "forever_promise": ("不承诺“永久”“无限期”的优惠，每个优惠都有有效期。", "Never promise a permanent or unlimited discount: every offer has a validity."),
    "forbidden_promise": ("不承诺政策不允许的事（免违约金、保证修复日期等）。",
                          "Never promise what policy forbids (waived breach fees, guaranteed repair dates...)."),
    "ran_down_rival": ("不贬低竞争对手，只对比客户实际用量。", "Never run down the competitor; compare with the customer's real usage."),
    "no_close": ("发现购买信号就促成；没促成就约好下次跟进时间。", "Close on buying signals; if not, agree a follow-up time."),
    "no_farewell": ("结束时感谢客户并礼貌道别。", "End by thanking the customer and saying goodbye."),
}


class TranscriptTurn(BaseModel):
    """One line of a role-play: who spoke, what they said, and the objection a customer line raised."""

    speaker: Literal["trainee", "customer"]
    text: str
    objection: str | None = None


class Evidence(BaseModel):
    """A transcript line behind a score."""

    turn: int
    speaker: str
    text: str


class CriterionScore(BaseModel):
    """One rubric criterion: score, status, flags, the evidence and the playbook passage."""

    code: str
    title: str
    weight: int
    score: float
    status: Status
    flags: list[str] = Field(default_factory=list)
    note: str = ""
    evidence: list[Evidence] = Field(default_factory=list)
    citations: list[Citation] = Field(default_factory=list)


class RoleplayGrade(BaseModel):
    """The graded role-play: total out of 100, per-criterion scores, flags and an improvement plan."""

    scenario: str
    lang: Literal["zh", "en"]
    total: float
    criteria: list[CriterionScore]
    flags: list[str] = Field(default_factory=list)
    plan: list[str] = Field(default_factory=list)

    def criterion(self, code: str) -> CriterionScore:
        """The score of one criterion."""
        return next(c for c in self.criteria if c.code == code)


class _Grader:
    def __init__(self, persona: Persona, turns: Sequence[TranscriptTurn]):
        self.p, self.zh = persona, persona.lang == "zh"
        self.turns = list(turns)
        self.trainee = [(i, read_line(t.text)) for i, t in enumerate(self.turns) if t.speaker == "trainee"]
        for _, m in self.trainee:
            if is_offer(persona, m):
                m.moves.add("offer")

    def t(self, zh: str, en: str) -> str:
        return zh if self.zh else en

    def ev(self, index: int) -> Evidence:
        turn = self.turns[index]
        return Evidence(turn=index, speaker=turn.speaker, text=turn.text)

    def first(self, *moves: str) -> tuple[int, LineMoves] | None:
        return next(((i, m) for i, m in self.trainee if m.has(*moves)), None)

    def all(self, *moves: str) -> list[tuple[int, LineMoves]]:
        return [(i, m) for i, m in self.trainee if m.has(*moves)]

    def greeting(self) -> tuple[Status, list[str], list[int], str]:
        if not self.trainee:
            return "missed", ["missing_greeting"], [], ""
        i, m = self.trainee[0]
        if m.has("greeting") and m.has("work_number"):
            return "met", [], [i], ""
        wn = self.first("work_number")
        if m.has("greeting"):
            return "partial", [] if wn else ["missing_work_number"], [i], self.t("开场没有报工号", "no work number in the opening")
        return "missed", ["missing_greeting"], [i], self.t("第一句没有标准问候和自我介绍", "no standard greeting and self-introduction")

    def verification(self) -> tuple[Status, list[str], list[int], str]:
        v = self.first("verification")
        business = self.first("offer", "probing")
        if v is None:
            return "missed", ["missing_verification"], [business[0]] if business else [], \
                self.t("整通电话没有核实客户身份", "the customer's identity was never verified")
        if business is not None and business[0] < v[0]:
            return "partial", ["late_verification"], [business[0], v[0]], \
                self.t("先谈了账户或方案才核实身份", "account or offer talk came before verification")
        return "met", [], [v[0]], ""

    def empathy(self) -> tuple[Status, list[str], list[int], str]:
        e = next(((i, m) for i, m in self.trainee if m.has("empathy") and not m.has("farewell")), None)  # not the goodbye
        return ("met", [], [e[0]], "") if e else ("missed", ["no_empathy"], [], self.t("没有表达理解或感谢", "no acknowledgement or thanks"))

    def needs_probing(self) -> tuple[Status, list[str], list[int], str]:
        probe, offer = self.first("probing"), self.first("offer")
        if probe is None:
            return "missed", ["no_probing"], [offer[0]] if offer else [], self.t("没有探询需求", "needs were not probed")
        if offer is not None and offer[0] < probe[0]:
            return "partial", ["late_probing"], [offer[0], probe[0]], self.t("先推方案后探询", "offer came before probing")
        return "met", [], [probe[0]], ""

    def stage_tier(self) -> tuple[Status, list[str], list[int], str]:
        own = [i for i, m in self.trainee if self.p.scenario in m.scenarios]
        other = [(i, m) for i, m in self.trainee if m.scenarios - {self.p.scenario, "routine"}]
        if other and not own:
            i, m = other[0]
            names = ", ".join(sorted(m.scenarios - {self.p.scenario}))
            return "violated", ["wrong_scenario"], [i], self.t(
                f"把{self.p.scenario}场景的电话当成了{names}来处理", f"treated a {self.p.scenario} call as {names}")
        if self.p.value_tier.code in ("high", "group") and not self.first("vip"):
            return "partial", ["vip_not_valued"], own[:1], self.t("高价值客户，没有让客户感到被重视", "a high-value customer was not made to feel valued")
        if not own and self.p.scenario not in ("routine", "new_customer"):
            return "partial", ["no_scenario_context"], [], self.t("没有点明来电原因", "the reason for the call was never stated")
        return "met", [], own[:1], ""

    def offer(self) -> tuple[Status, list[str], list[int], str]:
        offers = self.all("offer")
        if not offers:
            return "missed", ["no_offer"], [], self.t("没有给出方案", "no offer was made")
        caps = self.p.cost_caps
        cap_note = self.t(f"{self.p.value_tier.zh}：每月上限{caps.monthly:g}元，总上限{caps.total:g}元",
                          f"{self.p.value_tier.en}: caps {caps.monthly:g} yuan a month, {caps.total:g} yuan in total")
        for i, m in offers:
            if m.amounts.any and over_cap(self.p, m):
                a = m.amounts
                said = self.t(f"承诺每月{a.monthly:g}元、一次性{a.one_off:g}元（合计约{a.total:g}元）",
                              f"promised {a.monthly:g} a month and {a.one_off:g} once (about {a.total:g} in total)")
                return "violated", ["over_cap"], [i], f"{said}; {cap_note}"
        suited = [i for i, m in offers if is_suited(self.p, m.text) and not m.has("base_price_cut")]
        if not suited:
            return "partial", ["unsuited_offer"], [offers[0][0]], self.t("方案没有对准客户的原因", "the offer did not fit the customer's reason")
        return "met", [], [suited[0]], cap_note

    def objection(self) -> tuple[Status, list[str], list[int], str]:
        raised = [(i, t.objection) for i, t in enumerate(self.turns) if t.speaker == "customer" and t.objection]
        if not raised:
            return "not_applicable", [], [], self.t("客户没有提出异议", "the customer raised no objection")
        handled, bad, lines = 0, False, []
        for i, code in raised:
            answers = [j for j, _ in self.trainee if j > i][:2]
            verdicts = [(j, handling_verdict(code, self.turns[j].text)) for j in answers]
            lines += [j for j, _ in verdicts[:1]] or [i]
            if any(v == "bad" for _, v in verdicts):
                bad = True
            elif any(v == "good" for _, v in verdicts):
                handled += 1
        if bad:
            return "violated", ["objection_mishandled"], lines, self.t("用了手册不允许的方式回应异议", "answered an objection in a way the playbook rules out")
        if handled == len(raised):
            return "met", [], lines, ""
        status: Status = "partial" if handled else "missed"
        return status, ["objection_mishandled"], lines, self.t(
            f"{len(raised)}个异议中按手册处理了{handled}个", f"{handled} of {len(raised)} objections handled as recommended")

    def no_forbidden_promise(self) -> tuple[Status, list[str], list[int], str]:
        names = {"base_price_cut": "base_price_cut", "forever": "forever_promise",
                 "policy_forbidden": "forbidden_promise", "run_down_rival": "ran_down_rival"}
        flags, lines = [], []
        for i, m in self.trainee:
            for move, flag in names.items():
                if m.has(move) and flag not in flags:
                    flags.append(flag)
                    lines.append(i)
        return ("violated", flags, lines, "") if flags else ("met", [], [], "")

    def close(self) -> tuple[Status, list[str], list[int], str]:
        closing = self.first("close", "follow_up")
        bye = self.first("farewell")
        if closing and bye:
            return "met", [], [closing[0], bye[0]], ""
        if closing or bye:
            return "partial", ["no_farewell"] if closing else ["no_close"], [(closing or bye)[0]], ""
        return "missed", ["no_close"], [], self.t("没有促成也没有约定跟进", "no close and no follow-up agreed")


def _query(code: str, flags: list[str], grader: _Grader, default: tuple[list[str], str, str]) -> tuple[list[str], str]:
    """The passage a criterion rests on: the raised objection's, the scenario's, or the rubric's own."""
    from tools.scripts import load_objections, load_scaffold

    topics, q_zh, q_en = default
    lang = grader.p.lang
    raised = [t.objection for t in grader.turns if t.speaker == "customer" and t.objection]
    if code == "objection" and raised:
        obj = load_objections().objections[raised[0]]
        return obj.topics, obj.query[lang]
    if (code == "offer" and "unsuited_offer" in flags) or (code == "stage_tier" and "wrong_scenario" in flags):
        sc = load_scaffold()["scenarios"].get(grader.p.scenario)
        if sc:
            return [sc["topic"]], sc["query"][lang]
    return topics, q_zh if lang == "zh" else q_en


def grade_transcript(persona: Persona, turns: Sequence[TranscriptTurn], *,
                     searcher: Searcher | None = None) -> RoleplayGrade:
    """Score a transcript against the rubric, with evidence lines, citations and an improvement plan."""
    from tools.scripts import cached_searcher, cite_in_language

    grader = _Grader(persona, [t if isinstance(t, TranscriptTurn) else TranscriptTurn(**t) for t in turns])
    search = cached_searcher(searcher) if searcher is not None else None
    lang = persona.lang
    criteria: list[CriterionScore] = []
    for code, (weight, zh, en, topics, q_zh, q_en) in CRITERIA.items():
        status, flags, lines, note = getattr(grader, code)()
        cite_topics, query = _query(code, flags, grader, (topics, q_zh, q_en))
        criteria.append(CriterionScore(
            code=code, title=zh if lang == "zh" else en, weight=weight, score=weight * _FACTOR[status],
            status=status, flags=flags, note=note, evidence=[grader.ev(i) for i in dict.fromkeys(lines)],
            citations=cite_in_language(search, query, cite_topics, lang, k=1),
        ))
    applicable = [c for c in criteria if c.status != "not_applicable"]
    total = round(100 * sum(c.score for c in applicable) / max(1, sum(c.weight for c in applicable)), 1)
    flags = [f for c in criteria for f in c.flags]
    lost = sorted((c for c in applicable if c.score < c.weight), key=lambda c: c.score - c.weight)
    plan = [TIPS[c.flags[0]][0 if lang == "zh" else 1] for c in lost if c.flags and c.flags[0] in TIPS][:4]
    return RoleplayGrade(scenario=persona.scenario, lang=lang, total=total, criteria=criteria, flags=flags, plan=plan)
