"""The simulated customer of role-play practice: a synthetic subscriber with a persona, offline.

`build_persona(scenario, seed, lang)` draws a synthetic snapshot from the scenario's ranges in
`tools/training/data/personas.yaml` (never a real record), segments it with the playbook rules
(stage, tier, risk, cost caps) and gives it a persona and the scenario's objection sequence from
`tools/data/objections.yaml`. `respond(persona, state, line)` is a deterministic state machine
driven by what the trainee says (tools/training/detect.py): the customer asks who is calling,
objects to account talk before verification, warms to empathy, reveals the churn reason when
probed, rejects unsuited offers, raises the next objection, escalates (threat, then hang-up) when
handled badly, and accepts a suited offer once the objections are handled.
"""

from __future__ import annotations

import random
import re
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field

from tools.policy import Policy
from tools.schemas import CostCaps, Label, SubscriberSnapshot
from tools.training.detect import PROPOSE, LineMoves, matches_any, read_line, strip_negated

Lang = Literal["zh", "en"]
Outcome = Literal["accepted", "follow_up", "left", "timeout", "ended"]
DATA = Path(__file__).resolve().parent / "data" / "personas.yaml"
SCENARIOS = ("renewal", "routine", "campus", "silent", "port_out", "complaint_recovery", "new_customer")
_SURNAMES = [("王", "Wang"), ("李", "Li"), ("张", "Zhang"), ("刘", "Liu"), ("陈", "Chen"), ("杨", "Yang"),
             ("赵", "Zhao"), ("黄", "Huang"), ("周", "Zhou"), ("吴", "Wu")]


@lru_cache(maxsize=2)
def load_personas(path: Path = DATA) -> dict[str, Any]:
    """The persona file (cached)."""
    import yaml

    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    unknown = set(data["scenarios"]) - set(SCENARIOS)
    if unknown:
        raise ValueError(f"{path}: unknown scenarios {sorted(unknown)}")
    return data


def _plain(value: float) -> float | int:
    """44.0 -> 44, 138.5 -> 138.5 (cards read like people write numbers)."""
    value = round(float(value), 1)
    return int(value) if value.is_integer() else value


class Persona(BaseModel):
    """A practice customer: synthetic facts, the rules' verdict, and what they feel, want and threaten."""

    scenario: str
    seed: int
    lang: Lang
    name: str
    last4: str
    snapshot: SubscriberSnapshot
    lifecycle_stage: Label
    value_tier: Label
    risk_label: str
    cost_caps: CostCaps
    signals: list[str] = Field(default_factory=list)
    reasons: list[str] = Field(default_factory=list)
    persona: str
    temperament: str
    mood: int
    patience: int
    threat: str
    wants: str
    objections: list[str] = Field(default_factory=list)

    def card(self) -> dict[str, Any]:
        """What the trainee sees before the call (the preparation step, 7.10): no hidden persona."""
        s = self.snapshot
        return {
            "name": self.name, "number": f"尾号{self.last4}" if self.lang == "zh" else f"ending {self.last4}",
            "scenario": self.scenario, "scenario_name": scenario_name(self.scenario, self.lang),
            "tenure_months": _plain(s.tenure_months), "arpu": _plain(s.arpu_3m_avg),
            "contract_end_in_days": s.contract_end_in_days,
            "lifecycle_stage": getattr(self.lifecycle_stage, self.lang),
            "value_tier": getattr(self.value_tier, self.lang), "value_tier_code": self.value_tier.code,
            "risk_label": self.risk_label, "signals": self.signals,
            "cost_caps": {"monthly": self.cost_caps.monthly, "total": self.cost_caps.total},
        }


class RoleplayState(BaseModel):
    """Where the call stands: what the trainee has done and how the customer feels."""

    turn: int = 0
    mood: int = 0
    greeted: bool = False
    work_number: bool = False
    verified: bool = False
    warned_verify: bool = False
    empathy: bool = False
    probed: bool = False
    reason_revealed: bool = False
    offered: bool = False
    suited_offer: bool = False
    over_cap: bool = False
    forbidden: list[str] = Field(default_factory=list)
    objection_index: int = 0
    objection_open: str | None = None
    failures: int = 0
    threatened: bool = False
    outcome: Outcome | None = None
    closed: bool = False

    @property
    def finished(self) -> bool:
        """True once the call is over: goodbye said, or the customer hung up or ran out of patience."""
        return self.closed or self.outcome in ("left", "timeout")


class CustomerReply(BaseModel):
    """The customer's answer to one trainee line, the new state and what the customer did."""

    text: str
    state: RoleplayState
    events: list[str] = Field(default_factory=list)
    objection: str | None = None
    finished: bool = False


def scenario_name(scenario: str, lang: str) -> str:
    """The scenario's name in the playbook scripts (tools/data/scripts.yaml)."""
    from tools.scripts import load_scaffold

    names = load_scaffold()["scenarios"].get(scenario, {}).get("name", {})
    return names.get(lang, scenario)


def _draw(rng: random.Random, spec: Any) -> Any:
    if isinstance(spec, list) and len(spec) == 2:
        low, high = spec
        if isinstance(low, int) and isinstance(high, int):
            return rng.randint(low, high)
        return round(rng.uniform(float(low), float(high)), 1)
    return spec


def build_persona(scenario: str, seed: int, lang: Lang, policy: Policy | None = None) -> Persona:
    """A deterministic synthetic customer for this scenario and seed (same inputs, same customer)."""
    from tools.errors import InvalidInput
    from tools.rules import segment

    data = load_personas()
    if scenario not in data["scenarios"]:
        raise InvalidInput(f"unknown scenario {scenario!r}; expected one of {', '.join(data['scenarios'])}")
    if lang not in ("zh", "en"):
        raise InvalidInput(f"lang must be 'zh' or 'en', not {lang!r}")
    sc = data["scenarios"][scenario]
    rng = random.Random(f"roleplay:{scenario}:{seed}")
    snapshot = SubscriberSnapshot(**{k: _draw(rng, v) for k, v in sc["snapshot"].items()})
    seg = segment(snapshot, policy)
    key = sc["personas"][rng.randrange(len(sc["personas"]))]
    p = data["personas"][key]
    zh_name, en_name = _SURNAMES[rng.randrange(len(_SURNAMES))]
    female = rng.random() < 0.5
    name = f"{zh_name}{'女士' if female else '先生'}" if lang == "zh" else f"{'Ms' if female else 'Mr'} {en_name}"
    return Persona(
        scenario=scenario, seed=seed, lang=lang, name=name, last4=f"{rng.randrange(10000):04d}",
        snapshot=snapshot, lifecycle_stage=seg.lifecycle_stage, value_tier=seg.value_tier,
        risk_label=seg.risk_label, cost_caps=seg.cost_caps, signals=seg.signals,
        reasons=list(dict.fromkeys([*sc["reasons"], *seg.signals])), persona=key,
        temperament=p["temperament"], mood=int(p["mood"]), patience=int(p.get("patience", data["max_turns"])),
        threat=p["threat"], wants=p["wants"][lang], objections=list(sc["objections"]),
    )


def line(persona: Persona, key: str) -> str:
    """A customer line of the persona (its own wording first, then the defaults)."""
    data = load_personas()
    own = data["personas"][persona.persona].get("lines", {})
    entry = own.get(key) or data["lines"][key]
    return entry[persona.lang]


def objection_text(code: str, lang: str) -> str:
    """The customer's words for an objection type of tools/data/objections.yaml (stage directions dropped)."""
    from tools.scripts import load_objections

    obj = load_objections().objections[code]
    text = (obj.zh if lang == "zh" else obj.en).objection
    text = re.sub(r"^[（(][^）)]*[）)]\s*", "", text.strip())
    return text.strip("“”\"' ")


def opening(persona: Persona) -> str:
    """The customer's first words when they pick up."""
    return load_personas()["scenarios"][persona.scenario]["opening"][persona.lang]


def start(persona: Persona) -> tuple[RoleplayState, str]:
    """The initial state and the customer's opening line."""
    return RoleplayState(mood=persona.mood), opening(persona)


def is_suited(persona: Persona, text: str) -> bool:
    """True when an offer's wording fits the customer's churn reason (the scenario's suited offers)."""
    return matches_any(text, load_personas()["scenarios"][persona.scenario]["suited"])


def is_offer(persona: Persona, moves: LineMoves) -> bool:
    """True when a line proposes something: an offer move, or a suited remedy put as a proposal."""
    return moves.has("offer") or (is_suited(persona, moves.text) and bool(PROPOSE.search(moves.text)))


def handling_verdict(code: str, text: str) -> Literal["good", "bad", "none"]:
    """How a trainee line answers an objection: as the playbook recommends, as it rules out, or neither."""
    rules = load_personas()["handling"].get(code, {})
    if matches_any(strip_negated(text), rules.get("bad", [])):
        return "bad"
    return "good" if matches_any(text, rules.get("good", [])) else "none"


def over_cap(persona: Persona, moves: LineMoves) -> bool:
    """True when the money a line promises exceeds the persona's monthly or total cap (3.1)."""
    a, caps = moves.amounts, persona.cost_caps
    return a.monthly > caps.monthly + 1e-6 or a.total > caps.total + 1e-6 or (a.any and caps.total <= 0)


def _next_objection(persona: Persona, st: RoleplayState, say: list[str], events: list[str]) -> str | None:
    if st.objection_index < len(persona.objections):
        code = persona.objections[st.objection_index]
        st.objection_open, st.failures = code, 0
        st.objection_index += 1
        say.append(objection_text(code, persona.lang))
        events.append(f"objection:{code}")
        return code
    return None


def respond(persona: Persona, state: RoleplayState, text: str) -> CustomerReply:
    """The customer's reaction to one trainee line (deterministic)."""
    st = state.model_copy(deep=True)
    m = read_line(text)
    say: list[str] = []
    events: list[str] = []
    raised: str | None = None
    st.turn += 1
    if st.finished:
        return CustomerReply(text=line(persona, "bye"), state=st, events=["ended"], finished=True)
    if st.outcome is not None:  # agreed already: the call only needs its goodbye
        st.closed = read_line(text).has("farewell")
        return CustomerReply(text=line(persona, "bye" if st.closed else "idle"), state=st, finished=st.closed)

    if m.has("greeting") or (st.turn == 1 and m.has("self_intro")):
        st.greeted = True
    st.work_number = st.work_number or m.has("work_number")
    offering = is_offer(persona, m)
    account_talk = offering or m.has("probing")
    forbidden = [f for f in ("base_price_cut", "forever", "policy_forbidden", "run_down_rival") if m.has(f)]
    st.forbidden += [f for f in forbidden if f not in st.forbidden]

    if st.turn == 1 and not st.greeted:
        st.mood -= 1
        say.append(line(persona, "who"))
        events.append("asks_who")
    elif m.has("verification") and not st.verified:
        st.verified = True
        say.append(line(persona, "verified"))
        events.append("verified")
    elif account_talk and not st.verified and not st.warned_verify:
        st.warned_verify = True
        st.mood -= 1
        say.append(line(persona, "no_verify"))
        events.append("no_verification")

    if m.has("empathy") and not st.empathy:
        st.empathy = True
        st.mood = min(3, st.mood + 1)
        events.append("warmer")

    if "run_down_rival" in forbidden:
        st.mood -= 1
        say.append(line(persona, "rival_down"))
        events.append("rival_run_down")
    elif forbidden:
        say.append(line(persona, "suspicious"))
        events.append("suspicious")

    held = {"no_verification", "asks_who"} & set(events)  # the customer won't talk business yet
    if st.objection_open and not held:
        verdict = handling_verdict(st.objection_open, text)
        if verdict == "good":
            events.append(f"handled:{st.objection_open}")
            st.objection_open = None
            st.mood = min(3, st.mood + 1)
            say.append(line(persona, "handled"))
            raised = _next_objection(persona, st, say, events)
            if raised is None:
                say.append(line(persona, "ready"))
        elif not m.has("close", "follow_up", "farewell"):
            st.failures += 1
            st.mood -= 1
            events.append(f"mishandled:{st.objection_open}")
            say.append(line(persona, "again") if st.failures < 2 else line(persona, f"threat_{persona.threat}"))
            st.threatened = st.threatened or st.failures >= 2
    elif offering and not held:
        if not st.probed:
            st.mood -= 1
            say.append(line(persona, "offer_early"))
            events.append("offer_before_probing")
        st.offered = True
        if over_cap(persona, m):
            st.over_cap = True
            events.append("over_cap")
            say.append(line(persona, "too_good"))
        if is_suited(persona, text):
            st.suited_offer = True
            events.append("suited_offer")
            if st.objection_index == 0:
                raised = _next_objection(persona, st, say, events)
        else:
            st.mood -= 1
            events.append("unsuited_offer")
            say.append(line(persona, "unsuited"))
    elif m.has("probing") and not held:
        st.probed = True
        if not st.reason_revealed:
            st.reason_revealed = True
            say.append(load_personas()["scenarios"][persona.scenario]["reason"][persona.lang])
            events.append("reason")
        elif not say:
            say.append(persona.wants if persona.lang == "en" else f"我就想要{persona.wants}。")

    if not st.objection_open and st.outcome is None and m.has("close", "follow_up") and raised is None:
        done = st.suited_offer and st.objection_index >= len(persona.objections)
        if done and st.mood >= 0 and m.has("close"):
            st.outcome = "accepted"
            say.append(line(persona, "accept"))
        elif m.has("follow_up"):
            st.outcome = "follow_up"
            say.append(line(persona, "follow_ok"))
        elif st.suited_offer and st.objection_index < len(persona.objections):
            raised = _next_objection(persona, st, say, events)
        else:
            say.append(line(persona, "think"))
            events.append("hesitates")
    if m.has("farewell") and not st.finished:
        st.outcome, st.closed = st.outcome or "ended", True
        say.append(line(persona, "bye"))

    st.mood = max(st.mood, state.mood - 1)  # one bad line costs at most one step of patience
    if st.mood <= -3 and st.outcome is None:
        st.outcome = "left"
        say.append(line(persona, "leave"))
    elif st.mood <= -2 and not st.threatened and st.outcome is None:
        st.threatened = True
        say.append(line(persona, f"threat_{persona.threat}"))
        events.append(f"threat:{persona.threat}")
    if st.turn >= persona.patience and st.outcome is None:
        st.outcome = "timeout"
        say.append(line(persona, "timeout"))
    if not say:
        say.append(line(persona, "warm" if "warmer" in events else "go_on" if st.turn == 1 else "idle"))
    if st.outcome:
        events.append(f"outcome:{st.outcome}")
    return CustomerReply(text=" ".join(dict.fromkeys(say)) if persona.lang == "en" else "".join(dict.fromkeys(say)),
                         state=st, events=events, objection=raised, finished=st.finished)
