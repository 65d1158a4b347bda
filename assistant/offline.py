"""The offline engine: what the assistant does when no LLM is configured. Same tools, no network.

It recognises the request (assistant/intents.py), runs the tools the LLM would run through the
same Toolkit (so the role is enforced the same way and every passage is tracked for the citation
check), and composes a Markdown answer from tool results and retrieved passages only
(assistant/offline_render.py). When a tool is refused, missing or fails, the answer says so
plainly, with what to do. Nothing is canned: no fact appears that a tool did not return.
"""

from __future__ import annotations

import json
import logging
import re
from typing import Any

from pydantic import BaseModel

from assistant.agent import EngineAnswer, TurnInput
from assistant.intents import (
    FACET_FIELDS, GROUP_NAMES, METRIC_NAMES, SCENARIO_NAMES, SCENARIO_QUERIES, TIER_NAMES, Intent, recognise,
)
from assistant.offline_quiz import continues_quiz, quiz_turn
from assistant.offline_render import (
    capabilities_text, contract_text, excluded_lines, explain_error, facts_lines, field_lines, high_risk_rows,
    high_risk_table, name_of, objection_lines, offer_args, offer_lines, offers_data, pick, plan_data,
    plan_header, risk_list_heading,
    script_lines, subscriber_card, top_reasons, verdict_lines,
)
from assistant.offline_summary import clip, score_sentences, source_line, summarise
from assistant.privacy import mask_text
from assistant.toolkit import short_id
from knowledge.normalize import index_form
from knowledge.retrieve import is_english

log = logging.getLogger(__name__)


class OfflineEngine:
    """Deterministic engine: rules and lexicons to recognise, tools to know, passages to cite."""

    name = "offline"

    def answer(self, request: TurnInput) -> EngineAnswer:
        """Recognise the request, run the tools, compose the answer in the user's language."""
        intent = recognise(request.question, has_focus=bool(request.turn.focus_subscriber),
                           has_snapshot=request.snapshot is not None)
        if intent.name != "quiz" and continues_quiz(request):  # "B", "24小时": the answer to an open quiz
            intent = Intent("quiz", intent.slots)
        run = _Run(request)
        body = getattr(run, f"do_{intent.name}")(intent).strip()
        text = mask_text("\n".join([*run.preface, "", body]) if run.preface else body)
        data: dict[str, Any] = {**intent.as_dict(), **run.data}
        if run.problems:
            data["problems"] = run.problems
        data["cited"] = list(dict.fromkeys(re.findall(r"\[([0-9a-f]{8})\]", text)))
        return EngineAnswer(text=text, data=data)


def _plain(value: Any) -> Any:
    """Tool values as JSON-like data (models dumped), so rendering works on dicts only."""
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


class _Run:
    """One answer in the making: the request, its tool calls, problems met and structured data."""

    def __init__(self, request: TurnInput):
        self.req = request
        self.lang = request.lang if request.lang in ("zh", "en") else "en"
        self.kit = request.toolkit
        self.turn = request.turn
        self.data: dict[str, Any] = {}
        self.problems: list[dict[str, str]] = []
        self.preface: list[str] = []  # lines above the answer (e.g. what a described situation assumed)

    def t(self, zh: str, en: str) -> str:
        """Text in the answer's language."""
        return pick(self.lang, zh, en)

    # --- tools -------------------------------------------------------------------------------

    def allowed(self) -> set[str]:
        """The tools this role may run."""
        return {spec.name for spec in self.kit.available()}

    def call(self, name: str, args: dict[str, Any]) -> tuple[Any, str | None]:
        """Run a tool: (plain value, None), or (None, what went wrong and what to do)."""
        spec = self.kit.specs.get(name)
        if spec is None:
            self.problems.append({"tool": name, "error": "not available in this version"})
            return None, explain_error(name, "there is no tool named", self.turn.role, self.lang)
        fields = spec.args.model_fields
        result = self.kit.execute(name, {k: v for k, v in args.items() if k in fields and v is not None})
        if result.ok:
            return _plain(result.value), None
        error = result.content.removeprefix("Error: ")
        self.problems.append({"tool": name, "error": error})
        return None, explain_error(name, error, self.turn.role, self.lang)

    def search(self, query: str, k: int = 5, topic: str | None = None) -> list[dict[str, Any]] | None:
        """Passages for `query` in rank order, citable in this turn (None if the search failed)."""
        if "search_playbooks" not in self.kit.specs:
            return None
        args = {"query": clip(query, 480), "k": k, **({"topic": topic} if topic else {})}
        result = self.kit.execute("search_playbooks", args)
        if not result.ok:
            self.problems.append({"tool": "search_playbooks", "error": result.content.removeprefix("Error: ")})
            return None
        listed = json.loads(result.content).get("passages") or []  # what a model reads, in rank order
        found = (self.turn.passages.get(str(p.get("cite_as", "")).strip("[]")) for p in listed)
        passages = [c.model_dump() for c in found if c is not None]
        if not passages and topic:
            return self.search(query, k)  # this knowledge base may not have that topic
        return passages

    def _tokenizer(self) -> Any:
        kb = getattr(self.kit.services, "knowledge", None)
        if getattr(kb, "tokenizer", None) is not None:
            return kb.tokenizer
        from knowledge.lexical import Tokenizer

        return Tokenizer()

    def query_tokens(self, query: str) -> set[str]:
        """Index tokens of a query, with the glossary's Chinese terms for an English one."""
        if is_english(query):
            glossary = getattr(getattr(self.kit.services, "knowledge", None), "glossary", None)
            if glossary is None:
                from knowledge.glossary import load_glossary

                glossary = load_glossary()
            query = query + " " + " ".join(glossary.expand(query))
        return set(self._tokenizer().tokens(index_form(query)))

    def best(self, query: str, passages: list[dict[str, Any]] | None, most: int = 1) -> list[str]:
        """Up to `most` cited sentences of `passages` that best match `query`."""
        if not passages:
            return []
        scored = score_sentences(self.query_tokens(query), passages, self._tokenizer().tokens, self.lang, query)
        picked = summarise(scored, most=most, lead=0, lang=self.lang)
        return [f"{text} [{short_id(passages[rank]['id'])}]" for rank, text in picked]

    def basis(self, scenario: str | None) -> list[str]:
        """The playbook's best sentence on a scenario, cited."""
        if scenario not in SCENARIO_QUERIES:
            return []
        zh, en, topic = SCENARIO_QUERIES[scenario]
        query = self.t(zh, en)
        return self.best(query, self.search(query, k=2, topic=topic), most=1)

    # --- who a request is about ----------------------------------------------------------------

    def target(self, intent: Intent) -> tuple[str, Any]:
        """('id', id) | ('snapshot', dict) | ('error', text) | ('missing', None)."""
        slots = intent.slots
        if slots.subscriber:
            return "id", slots.subscriber
        if slots.described and self.req.snapshot is None:
            described = self.described()
            if described is not None:
                return "snapshot", described
        if slots.masked_phone:  # a number the orchestrator could not resolve (unknown, or role)
            failed = [c for c in self.turn.tool_calls if c.name == "get_subscriber" and not c.ok]
            if failed:
                self.problems.append({"tool": "get_subscriber", "error": failed[-1].error or ""})
                return "error", explain_error("get_subscriber", failed[-1].error or "", self.turn.role, self.lang)
            _, error = self.call("get_subscriber", {"subscriber": slots.masked_phone})
            return "error", error or explain_error("get_subscriber", "no subscriber with", self.turn.role, self.lang)
        if self.req.snapshot is not None:
            return "snapshot", self.req.snapshot.model_dump(mode="json", exclude_none=True)
        if self.turn.focus_subscriber:
            return "id", self.turn.focus_subscriber
        return "missing", None

    def described(self) -> dict[str, Any] | None:
        """The inline snapshot of a customer described in the question (assistant/situation.py)."""
        from assistant.situation import describe

        avg_arpu = avg_tenure = None
        store = getattr(self.kit.services, "store", None)
        try:
            if store is not None and store.exists():
                averages = store.network_averages()
                avg_arpu, avg_tenure = averages.arpu, averages.tenure_months
        except Exception as exc:  # no data: the policy's tier multiples still place the customer
            log.info("network averages unavailable: %s", exc)
        policy = getattr(self.kit.services, "policy", None)
        tiers = getattr(policy, "value_tier", None)
        multiples = (tiers.high_min_arpu_multiple, tiers.medium_min_arpu_multiple) if tiers else (3.0, 1.0)
        situation = describe(self.req.question, network_avg_arpu=avg_arpu, network_avg_tenure=avg_tenure,
                             tier_multiples=multiples, min_facts=1)
        if situation is None:
            return None
        self.data["described"] = situation.as_dict()
        self.preface = [
            self.t("按你描述的情况分析（没有查客户记录）：", "Based on the situation you described (no record looked up): ")
            + ("、" if self.lang == "zh" else ", ").join(self.t(zh, en) for zh, en in situation.facts) + self.t("。", "."),
        ]
        if situation.assumptions:
            self.preface.append(self.t("假设：", "Assumed: ") + ("；" if self.lang == "zh" else "; ").join(
                self.t(zh, en) for zh, en in situation.assumptions) + self.t("。给我客户号码或ID可以按真实数据重算。",
                                                                              ". Give me the id or number to redo it on real data."))
        return situation.snapshot

    def resolve(self, intent: Intent, ask_zh: str, ask_en: str) -> tuple[str, Any, str | None]:
        """The target, or the text to answer instead (the error, or a short follow-up question)."""
        kind, key = self.target(intent)
        if kind == "error":
            return kind, None, key
        if kind == "missing":
            self.data["missing"] = ["subscriber"]
            return kind, None, self.t(f"{ask_zh}请提供客户号码或客户ID（如 S000000123），或者附上客户快照。",
                                      f"{ask_en}Which subscriber? Give an id or phone number, or attach a snapshot.")
        return kind, key, None

    def profile(self, kind: str, key: Any, with_risk: bool = True) -> tuple[dict[str, Any], str | None]:
        """(card, error): get_subscriber + churn_risk, or segment_snapshot for a snapshot."""
        if kind == "id":
            sub, error = self.call("get_subscriber", {"subscriber": key})
            if error:
                return {}, error
            risk, risk_error = (None, None)
            if with_risk:
                risk, risk_error = self.call("churn_risk", {"subscriber": sub["subscriber_id"]})
            card = subscriber_card(sub, risk, None)
            if risk_error:
                card["risk_error"] = risk_error
        else:
            seg, error = self.call("segment_snapshot", {"snapshot": key}) if with_risk else ({}, None)
            if error:
                return {}, error
            score = (seg or {}).get("rule_score") or {}
            risk = {**seg, "churn_probability": score.get("probability"), "reasons": top_reasons(seg)} if seg else None
            card = subscriber_card(None, risk, key)
        self.data["subscriber_card"] = card
        return card, None

    def key_args(self, kind: str, key: Any, card: dict[str, Any]) -> dict[str, Any]:
        """The subscriber-or-snapshot arguments of recommend_offers and draft_call_script."""
        return {"subscriber": card.get("subscriber_id") or key} if kind == "id" else {"snapshot": key}

    def caps_lines(self, card: dict[str, Any], plan: dict[str, Any] | None) -> list[str]:
        """Stage, tier, risk and caps, the caps cited from the cost-cap playbook."""
        tier = card.get("value_tier") or {}
        query = caps_query(tier.get("zh", ""), tier.get("en", ""), self.lang)
        passages = self.search(query, k=1, topic="cost-caps") if card.get("cost_caps") else None
        notes = (plan or {}).get("notes_zh") or []
        rule = next((n.split("：", 1)[1].split("；")[0] for n in notes if n.startswith("成本上限：")), None)
        if rule and self.lang == "zh" and card.get("cost_caps"):
            card = {**card, "cost_caps": {**card["cost_caps"], "rule": rule}}
        lines = verdict_lines(card, self.lang, f" [{short_id(passages[0]['id'])}]" if passages else "")
        if card.get("risk_error"):
            lines.append(f"- {card['risk_error']}")
        return lines

    # --- intents ---------------------------------------------------------------------------------

    def do_handle_customer(self, intent: Intent) -> str:
        """Facts, stage, tier, risk with reasons, caps, top offers, script outline, don'ts; cited."""
        kind, key, early = self.resolve(intent, "要处理哪位客户？", "")
        if early:
            return early
        card, error = self.profile(kind, key)
        if error:
            return error
        args, slots = self.key_args(kind, key, card), intent.slots
        plan, plan_error = self.call("recommend_offers", {**args, **offer_args(slots, 3)})
        # The user's scenario steers the script; otherwise the tool follows the offer plan's.
        asked = slots.scenario if slots.scenario != "collection" else None
        script, script_error = self.call("draft_call_script", {**args, "scenario": asked, "lang": self.lang})
        scenario = (script or {}).get("scenario") or asked or (plan or {}).get("scenario")
        lines = facts_lines(card, self.lang) + self.caps_lines(card, plan)
        if scenario:
            lines += ["", self.t("**场景**：", "**Scenario**: ") + name_of(SCENARIO_NAMES, scenario, self.lang)]
            lines += [f"- {s}" for s in self.basis(scenario)]
        other = plan.get("scenario") not in (None, scenario) if plan else False
        zh, en = (f"；{plan['scenario_zh']}场景", f"; {plan['scenario_en']}") if other else ("", "")
        lines += ["", self.t(f"**推荐方案**（备选，按顺序{zh}）", f"**Offers** (alternatives, in order{en})")]
        if plan_error:
            lines.append(plan_error)
        elif plan and plan.get("offers"):
            lines += offer_lines(plan, self.turn, self.lang)
            self.data["offers"] = offers_data(plan, self.turn, self.lang)
        elif plan:
            lines.append(self.t("没有符合规则和预算的方案：", "No offer fits the rules and the budget:"))
            lines += excluded_lines(plan, self.lang, 3)
        lines += self.script_part(script, script_error, full=False)
        return "\n".join(lines)

    def script_part(self, script: dict[str, Any] | None, error: str | None, full: bool) -> list[str]:
        """Script sections (outline or full), objection answers and what not to do."""
        lines = ["", self.t("**话术**" if full else "**话术要点**", "**Call script**" if full else "**Script outline**")]
        if error or not script:
            return lines + [error or self.t("没有生成话术。", "No script was produced.")]
        self.data["script"] = {**script, "offers": [o.get("measure_code") for o in script.get("offers") or []]}
        lines += script_lines(script, self.turn, self.lang, full=full)
        objections = objection_lines(script, self.turn, self.lang)
        if objections:
            lines += ["", self.t("**异议应对**", "**Objections**")] + objections
        if script.get("do_not"):
            lines += ["", self.t("**不要做**", "**Do not**")] + [f"- {line}" for line in script["do_not"]]
        return lines

    def do_draft_offer(self, intent: Intent) -> str:
        """The offer plan in full: offers with terms, cost, why and citations; what was left out."""
        kind, key, early = self.resolve(intent, "给哪位客户出方案？", "")
        if early:
            return early
        args, slots = self.key_args(kind, key, {}), intent.slots
        plan, error = self.call("recommend_offers", {**args, **offer_args(slots, slots.top_n)})
        if error:
            return error
        lines = plan_header(plan, key if kind == "id" else None, self.lang)
        if plan.get("offers"):
            lines += [""] + offer_lines(plan, self.turn, self.lang, full=True)
            self.data["offers"] = offers_data(plan, self.turn, self.lang)
        notes = plan.get(f"notes_{self.lang}") or []
        if notes:
            lines += ["", self.t("**说明**", "**Notes**")] + [f"- {n}" for n in notes]
        left_out = excluded_lines(plan, self.lang, 5)
        if left_out:
            lines += ["", self.t("**未推荐**", "**Not offered**")] + left_out
        self.data["plan"] = plan_data(plan)
        return "\n".join(lines)

    def do_draft_script(self, intent: Intent) -> str:
        """The full call script: sections with lines, objections, offers, do-not list; cited."""
        kind, key, early = self.resolve(intent, "给哪位客户准备话术？", "")
        if early:
            return early
        scenario = intent.slots.scenario if intent.slots.scenario != "collection" else None  # else: the plan's
        script, error = self.call("draft_call_script", {**self.key_args(kind, key, {}), "scenario": scenario,
                                                        "lang": self.lang})
        if error:
            return error
        who = key if kind == "id" else self.t("快照客户", "the snapshot customer")
        name = name_of(SCENARIO_NAMES, script.get("scenario"), self.lang)
        lines = [self.t(f"**{who}：{name}话术**", f"**{who}: {name} call script**")]
        offers = [f"{o.get('measure_code')} {o.get(f'title_{self.lang}') or o.get('title_en')}"
                  for o in script.get("offers") or []]
        if offers:
            lines.append(self.t("- 备选方案：", "- Offers: ") + ("；" if self.lang == "zh" else "; ").join(offers))
        return "\n".join(lines + self.script_part(script, None, full=True)[1:])

    def do_follow_up(self, intent: Intent) -> str:
        """One fact about the subscriber in focus (points, contract, risk, usage...), with its basis."""
        kind, key, early = self.resolve(intent, "你问的是哪位客户？", "")
        if early:
            return early
        facet = intent.slots.facet or "profile"
        needs_risk = facet in ("risk", "value", "caps", "profile", "tenure")
        card, error = self.profile(kind, key, with_risk=needs_risk)
        if error:
            return error
        who = card.get("subscriber_id") or self.t("快照客户", "the snapshot customer")
        lines = [f"**{who}**" + (f"（{card['masked_msisdn']}）" if self.lang == "zh" and card.get("masked_msisdn")
                                 else f" ({card['masked_msisdn']})" if card.get("masked_msisdn") else "")]
        query = None
        if facet in FACET_FIELDS:
            lines += field_lines(card, FACET_FIELDS[facet], self.lang)
        if facet == "contract":
            lines.insert(1, f"- {contract_text(card, self.lang) or self.t('合约：无记录', 'Contract: not on record')}")
            days = card.get("contract_end_in_days")
            if days is not None and days <= 180:
                query = self.t("合约到期 续约 提前联系", "contract expiry renewal when to contact")
        elif facet == "points":
            query = self.t("积分兑换 维系 积分清零", "loyalty points redemption retention")
        elif facet in ("risk", "value", "caps", "profile", "tenure"):
            if facet == "profile":
                lines = facts_lines(card, self.lang)
            lines += self.caps_lines(card, None) if facet != "tenure" else [
                self.t(f"- 生命周期：{card.get('lifecycle_stage', {}).get('zh', '—')}",
                       f"- Lifecycle stage: {card.get('lifecycle_stage', {}).get('en', '—')}")]
            reasons = [r.get(self.lang) or r.get("en") or "" for r in card.get("reasons") or []]
            query = " ".join(reasons)[:300] if facet == "risk" and reasons else None
        if query:
            lines += [f"- {self.t('手册：', 'Playbook: ')}{s}" for s in self.best(query, self.search(query, k=2))]
        return "\n".join(lines)

    def do_playbook_question(self, intent: Intent) -> str:
        """An extractive summary of the best passages, each sentence cited, then the sources."""
        question = re.sub(r"\(subscriber [^)]*\)|1[3-9]\d\*{4}\d{4}", " ", self.req.question).strip()
        passages = self.search(question, k=5)
        if passages is None:
            return self.t("现在无法检索手册（检索工具不可用）。",
                          "The playbooks can't be searched right now (the search tool is unavailable).")
        if not passages:
            return self.t("手册里没有找到相关内容。如果知识库还是空的，请先运行 `retention ingest`。",
                          "Nothing relevant was found in the playbooks. "
                          "If the knowledge base is empty, run `retention ingest` first.")
        scored = score_sentences(self.query_tokens(question), passages, self._tokenizer().tokens, self.lang, question)
        picked = summarise(scored, most=4, lang=self.lang)
        self.data["passages"] = [short_id(p["id"]) for p in passages]
        if picked:
            quoted = self.lang == "en" and any(re.search(r"[\u4e00-\u9fff]", s) for _, s in picked)
            lines = [self.t("手册要点：", "What the playbooks say" + (" (quoted as written):" if quoted else ":"))]
            lines += [f"- {text} [{short_id(passages[rank]['id'])}]" for rank, text in picked]
        else:
            lines = [self.t("手册里没有直接回答这个问题的段落。最接近的内容：", "No passage answers this directly. The closest passages:")]
            lines += [f"- {clip(p['text'], 120)} [{short_id(p['id'])}]" for p in passages[:2]]
        return "\n".join(lines + ["", self.t("来源：", "Sources:")] + [source_line(p) for p in passages])

    def do_who_at_risk(self, intent: Intent) -> str:
        """The high-risk list with the recognised filters, as a ranked table."""
        from tools.churn import HORIZON_MONTHS

        s = intent.slots
        wanted = {"risk_label": s.risk_label, "value_tier": s.value_tier, "region": s.region, "brand": s.brand,
                  "contract_expiring_within_days": s.expiring_within_days}
        spec = self.kit.specs.get("high_risk_list")
        fields = spec.args.model_fields if spec is not None else wanted
        ignored = [k for k, v in wanted.items() if v is not None and k not in fields]
        rows, error = self.call("high_risk_list", {**wanted, "top_n": s.top_n or 10})
        if error:
            return error
        lines = [risk_list_heading(s, ignored, HORIZON_MONTHS, self.lang)]
        if ignored:
            lines.append(self.t(f"- 暂不支持按{'、'.join(ignored)}筛选，已忽略。",
                                f"- Filtering by {', '.join(ignored)} isn't supported yet; ignored."))
        if not rows:
            return "\n".join(lines + [self.t("没有符合条件的客户。", "No subscriber matches these filters.")])
        self.data["high_risk"] = high_risk_rows(rows, self.lang)
        lines += high_risk_table(rows, self.lang)
        first = rows[0].get("subscriber_id")
        lines += ["", self.t(f"想看某位客户的方案，可以问「{first} 怎么处理？」",
                             f"For one subscriber's plan, ask \"how do I handle {first}?\"")]
        return "\n".join(lines)

    def do_report_question(self, intent: Intent) -> str:
        """A supervisor's report question: the interpreted spec, the table, the definitions, a chart."""
        from assistant.offline_reports import answer_report

        text, data = answer_report(self.kit, self.req.question, self.lang, self.allowed())
        self.data.update(data)
        return text

    def do_quiz(self, intent: Intent) -> str:
        """A quiz from the playbooks: start one, or grade the answer to the open one."""
        return quiz_turn(self, intent)

    def do_roleplay(self, intent: Intent) -> str:
        """Start a practice call with a simulated customer (later turns go to assistant/offline_roleplay.py)."""
        from assistant.offline_roleplay import start_roleplay

        answer = start_roleplay(self.req, intent.slots.scenario)
        self.data.update(answer.data)
        return answer.text

    def do_help(self, intent: Intent) -> str:
        """What this role can do here, from the tools it may use."""
        self.data["tools"] = sorted(self.allowed())
        return capabilities_text(self.lang, self.turn.role, set(self.data["tools"]))


def caps_query(tier_zh: str, tier_en: str, lang: str) -> str:
    """The search for a value tier's cost caps."""
    return f"{tier_zh}客户 维系成本上限" if lang == "zh" else f"{tier_en} retention cost cap per customer"


def template_queries() -> list[str]:
    """Every fixed query this engine and the tools search for, to warm at start (see Services.warm)."""
    from tools.citations import template_queries as tool_queries
    from tools.rules import VALUE_TIERS

    mine = [q for zh, en, _ in SCENARIO_QUERIES.values() for q in (zh, en)]
    mine += [caps_query(zh, en, lang) for zh, en in VALUE_TIERS.values() for lang in ("zh", "en")]
    return mine + tool_queries()
