"""Call scripts: the eight steps of a retention call, personalised, with cited objection handling.

`draft_call_script` fills the scaffold of `tools/data/scripts.yaml` (greeting with the work number,
verification, empathy, SEB needs probing, FAB offer presentation, objection handling, close,
follow-up and logging; domain.md 7.10) with the engine's facts: lifecycle stage, value tier,
churn reasons, the ranked offers and the cost caps. Objections come from
`tools/data/objections.yaml`, chosen by the subscriber's churn reasons and signals (7.11). Every
section and objection cites playbook passages retrieved through the searcher, preferring the
script's language. Spoken lines carry no number that is not a fact of the subscriber or a term of
an offer; the cap and the playbook's own numbers stay in the agent's notes.
"""

from __future__ import annotations

import re
import string
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from tools.citations import Searcher, cached_searcher
from tools.drafts import SubscriberFacts, build_facts, n, offer_wording
from tools.schemas import (
    CallScript,
    Citation,
    ObjectionResponse,
    Offer,
    Scenario,
    ScriptSection,
    Segmentation,
)

Lang = Literal["zh", "en"]
DATA_DIR = Path(__file__).resolve().parent / "data"
SECTION_ORDER = ("greeting", "verification", "empathy", "needs_probing", "offer_presentation",
                 "objection_handling", "close", "follow_up_logging")
_MOBILE = re.compile(r"^\+?(?:86)?1\d{10}$")
_FORMATTER = string.Formatter()


# --- data files --------------------------------------------------------------------------------


class _Wording(BaseModel):
    model_config = ConfigDict(extra="forbid")
    objection: str
    response: list[str] = Field(..., min_length=1)


class ObjectionType(BaseModel):
    """One objection type of tools/data/objections.yaml."""

    model_config = ConfigDict(extra="forbid")
    triggers: list[str] = Field(default_factory=list)
    scenarios: list[str] = Field(default_factory=list)
    topics: list[str] = Field(default_factory=lambda: ["objections"])
    offer_families: list[str] = Field(default_factory=list, description="Offers {offer} may name; [] = any.")
    query: dict[Lang, str]
    zh: _Wording
    en: _Wording


class ObjectionTable(BaseModel):
    """The objection file: types in priority order and how many a script shows."""

    model_config = ConfigDict(extra="forbid")
    version: Literal[1]
    max_per_script: int = Field(4, ge=1)
    objections: dict[str, ObjectionType]


@lru_cache(maxsize=4)
def load_objections(path: Path = DATA_DIR / "objections.yaml") -> ObjectionTable:
    """The objection table (validated; cached)."""
    import yaml

    return ObjectionTable.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))


@lru_cache(maxsize=4)
def load_scaffold(path: Path = DATA_DIR / "scripts.yaml") -> dict[str, Any]:
    """The section scaffold of tools/data/scripts.yaml (cached)."""
    import yaml

    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    missing = [s for s in SECTION_ORDER if s not in data.get("sections", {})]
    if missing:
        raise ValueError(f"{path}: sections missing: {', '.join(missing)}")
    return data


def _matches(code: str, trigger: str) -> bool:
    return code == trigger or (trigger.endswith("_") and code.startswith(trigger))


def choose_objections(
    reason_codes: Sequence[str], scenario: str, limit: int | None = None,
) -> list[tuple[str, list[str]]]:
    """Objection types for these churn reasons/signals, then the scenario's usual ones: (code, triggered_by)."""
    table = load_objections()
    limit = table.max_per_script if limit is None else limit
    chosen: dict[str, list[str]] = {}
    for reason in reason_codes:
        for code, obj in table.objections.items():
            if any(_matches(reason, t) for t in obj.triggers):
                chosen.setdefault(code, [])
                if reason not in chosen[code]:
                    chosen[code].append(reason)
    by_reason = list(chosen.items())
    usual = [(code, [f"scenario:{scenario}"]) for code, obj in table.objections.items()
             if scenario in obj.scenarios and code not in chosen]
    if usual and len(by_reason) >= limit:  # the scenario's main objection always keeps a place
        return [*by_reason[:limit - 1], usual[0]]
    return [*by_reason, *usual][:limit]


# --- retrieval ---------------------------------------------------------------------------------


def cite_in_language(searcher: Searcher | None, query: str, topics: Sequence[str], lang: Lang,
                     k: int = 2) -> list[Citation]:
    """Citations for `query` within `topics`, passages in `lang` first; falls back to any passage."""
    if searcher is None:
        return []
    passages = searcher.search(query, k=k * 3, topics=list(topics)) if topics else []
    if not passages:
        passages = searcher.search(query, k=k * 3)
    ranked = sorted(passages, key=lambda p: getattr(p, "lang", None) not in (None, lang))
    unique = {(p.source, p.section): p for p in reversed(ranked)}  # one chunk per playbook section
    ranked = [p for p in ranked if unique[(p.source, p.section)] is p]
    return [Citation(id=p.id, source=p.source, section=p.section, text=p.text) for p in ranked[:k]]


def _merge(*groups: Sequence[Citation]) -> list[Citation]:
    seen: dict[str, Citation] = {}
    for group in groups:
        for c in group:
            seen.setdefault(c.id, c)
    return list(seen.values())


# --- filling the scaffold ----------------------------------------------------------------------


def fill(template: str, values: dict[str, str | None]) -> str | None:
    """`template` with its placeholders filled, or None when one of them is unknown."""
    for _, field, _, _ in _FORMATTER.parse(template):
        if field is not None and values.get(field) is None:
            return None
    return template.format(**values)


def _holds(when: Any, flags: set[str]) -> bool:
    conditions = [] if when is None else ([when] if isinstance(when, str) else list(when))
    return all((c[1:] not in flags) if c.startswith("!") else (c in flags) for c in conditions)


def _render(entries: Sequence[Any], values: dict[str, str | None], flags: set[str]) -> list[str]:
    out = []
    for entry in entries or []:
        text, when = (entry, None) if isinstance(entry, str) else (entry["text"], entry.get("when"))
        if _holds(when, flags):
            line = fill(text, values)
            if line:
                out.append(line)
    return out


def _work_intro(work_number: str | None, lang: Lang) -> str:
    if not work_number or not work_number.strip():  # 7.10: the greeting states the work number; leave a slot
        return "，工号（您的工号）" if lang == "zh" else " (work number: your work number)"
    shown = work_number.strip()
    if _MOBILE.match(re.sub(r"[\s-]", "", shown)):  # a phone number is never printed in full
        digits = re.sub(r"\D", "", shown)[-11:]
        shown = f"{digits[:3]}****{digits[-4:]}"
    return f"，工号{shown}" if lang == "zh" else f" (work number {shown})"


def _reason_names(codes: Sequence[str], lang: Lang) -> str:
    from tools.offer_rules import trigger_names

    names = []
    for code in codes:
        zh, en = trigger_names({code})
        name = zh if lang == "zh" else en
        names.append(name or code)
    if not names:
        return "无预警信号" if lang == "zh" else "no warning signal"
    return ("、" if lang == "zh" else ", ").join(dict.fromkeys(names))


def _offer_values(offers: Sequence[Offer], lang: Lang) -> dict[str, str | None]:
    words = [offer_wording(o, lang) for o in offers]
    first = words[0] if words else None
    return {
        "offer": first.title if first else None,
        "offer_gets": first.gets if first else None,
        "offer_conditions": ("；" if lang == "zh" else "; ").join(first.conditions)
        if first and first.conditions else None,
        "offer_validity": str(first.validity_days) if first and first.validity_days else None,
        "fallback_offer": words[1].title if len(words) > 1 else None,
    }


def _values(facts: SubscriberFacts, seg: Segmentation, offers: Sequence[Offer], lang: Lang, scenario_name: str,
            reason_codes: Sequence[str], agent_name: str | None, work_number: str | None,
            spent: tuple[float, float]) -> dict[str, str | None]:
    from tools.rules import RISK_LABELS

    zh = lang == "zh"
    caps = seg.cost_caps
    days = facts.contract_end_in_days
    return {
        "agent": agent_name or ("（您的姓名）" if zh else "(your name)"),
        "work_intro": _work_intro(work_number, lang),
        "who": facts.addressee(lang),
        "last4": facts.last4,
        "tenure": str(facts.tenure_months) if facts.tenure_months else None,
        "plan": facts.plan_name,
        "plan_fee": n(facts.plan_fee) if facts.plan_fee else None,
        "arpu": n(round(facts.arpu)) if facts.arpu else None,
        "contract_days": str(days) if days is not None and days >= 0 else None,
        "points": n(facts.points_balance) if facts.points_balance else None,
        "stage": seg.lifecycle_stage.zh if zh else seg.lifecycle_stage.en,
        "tier": seg.value_tier.zh if zh else seg.value_tier.en,
        "risk": RISK_LABELS[seg.risk_label][0 if zh else 1] if seg.risk_label in RISK_LABELS else seg.risk_label,
        "reasons": _reason_names(reason_codes, lang),
        "cap_monthly": n(caps.monthly), "cap_total": n(caps.total),
        "remaining_monthly": n(max(0.0, caps.monthly - spent[0])),
        "remaining_total": n(max(0.0, caps.total - spent[1])),
        **_offer_values(offers, lang),
        "offer_codes": ", ".join(dict.fromkeys(o.measure_code for o in offers)) or ("无" if zh else "none"),
        "scenario_name": scenario_name,
    }


def script_flags(facts: SubscriberFacts, seg: Segmentation, offers: Sequence[Offer], scenario: str,
                 reason_codes: Sequence[str], objection_codes: Sequence[str]) -> dict[str, bool]:
    """The conditions the scaffold's `when:` clauses test, for this subscriber and scenario."""
    probes = load_scaffold()["probes"]
    vip = seg.value_tier.code in ("high", "group") or facts.vip_level in ("gold", "diamond")
    indirect_triggers = probes["traffic_down"]["triggers"] + probes["forwarding"]["triggers"]
    flags = {
        "offers": bool(offers), "no_offers": not offers, "fallback": len(offers) > 1, "vip": vip,
        "low_value": seg.value_tier.code == "low", "passive": seg.passive_churn,
        "home_visit": vip and seg.risk_label == "high", "port_out": scenario == "port_out",
        "contract_known": facts.contract_end_in_days is not None, "numbered": facts.last4 is not None,
        "expired": (facts.contract_end_in_days or 0) < 0,
        "paid_offer": bool(offers) and (offers[0].monthly_cost > 0 or offers[0].one_off_cost > 0),
        "indirect": scenario == "silent" or any(_matches(r, t) for r in reason_codes for t in indirect_triggers),
        "rival": scenario == "port_out" or "rival_offer" in objection_codes,
    }
    return flags


def _probes(reason_codes: Sequence[str], values: dict[str, str | None], lang: Lang) -> list[str]:
    out = []
    for probe in load_scaffold()["probes"].values():
        if any(_matches(r, t) for r in reason_codes for t in probe["triggers"]):
            line = fill(probe[lang], values)
            if line:
                out.append(line)
    return out


def draft_call_script(
    snapshot_or_facts: Any,
    segmentation: Segmentation,
    offers: Sequence[Offer],
    *,
    scenario: Scenario,
    lang: Lang,
    churn_reasons: Sequence[str] = (),
    searcher: Searcher | None,
    agent_name: str | None = None,
    work_number: str | None = None,
    spent_this_month: float = 0.0,
    spent_total: float = 0.0,
) -> CallScript:
    """A cited call script for one subscriber and scenario: eight sections, objections, offers, don'ts."""
    if lang not in ("zh", "en"):
        raise ValueError(f"lang must be 'zh' or 'en', not {lang!r}")
    scaffold = load_scaffold()
    if scenario not in scaffold["scenarios"]:
        raise ValueError(f"unknown scenario {scenario!r}; expected one of {', '.join(scaffold['scenarios'])}")
    facts = build_facts(snapshot_or_facts, segmentation)
    offers = list(offers)
    reasons = list(dict.fromkeys([*churn_reasons, *segmentation.signals]))
    if segmentation.passive_churn and "passive_churn" not in reasons:
        reasons.append("passive_churn")
    sc = scaffold["scenarios"][scenario]
    chosen = choose_objections(reasons, scenario)
    values = _values(facts, segmentation, offers, lang, sc["name"][lang], reasons, agent_name, work_number,
                     (spent_this_month, spent_total))
    table = script_flags(facts, segmentation, offers, scenario, reasons, [c for c, _ in chosen])
    flags = {name for name, on in table.items() if on}
    search = cached_searcher(searcher) if searcher is not None else None  # None: a script without citations
    k = int(scaffold.get("citations_per_query", 2))
    scenario_cites = cite_in_language(search, sc["query"][lang], [sc["topic"]], lang, k=1)

    sections = []
    for name in SECTION_ORDER:
        spec = scaffold["sections"][name]
        lines = _render(spec["lines"][lang], values, flags)
        lines += _render(spec.get("scenario_lines", {}).get(scenario, {}).get(lang, []), values, flags)
        if name == "needs_probing":
            lines += _probes(reasons, values, lang)
            lines += _render(spec["closing_lines"][lang], values, flags)
        cites = cite_in_language(search, spec["query"][lang], spec["topics"], lang, k=k)
        if name == "needs_probing":
            cites = _merge(cites, scenario_cites)
        elif name == "offer_presentation":
            cites = _merge(cites, offers[0].citations[:k] if offers else scenario_cites)
        sections.append(ScriptSection(name=name, title=spec["title"][lang], lines=lines,
                                      notes=_render(spec["notes"][lang], values, flags), citations=cites))

    objections = []
    for code, triggered_by in chosen:
        obj = load_objections().objections[code]
        wording = obj.zh if lang == "zh" else obj.en
        fitting = [o for o in offers if not obj.offer_families or getattr(o, "family", None) in obj.offer_families]
        local = {**values, **_offer_values(fitting[:1], lang)}
        response = next((r for r in (fill(t, local) for t in wording.response) if r), wording.response[-1])
        objections.append(ObjectionResponse(
            code=code, objection=wording.objection, response=response, triggered_by=triggered_by,
            citations=cite_in_language(search, obj.query[lang], obj.topics, lang, k=k),
        ))
    do_not = [line for item in scaffold["do_not"] if _holds(item.get("when"), flags)
              for line in [fill(item[lang], values)] if line]
    return CallScript(scenario=scenario, lang=lang, sections=sections, objections=objections,
                      offers=offers, do_not=do_not)
