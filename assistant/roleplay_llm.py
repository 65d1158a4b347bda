"""Role-play on the assistant side: the LLM customer, and the one Practice the CLI, API and chat share.

The offline state machine (tools/training/roleplay.py) always decides what the customer does this
turn (warm up, object, accept, hang up); with an LLM configured, `LLMCustomer` only rewords that
decision in the persona's voice, so the grade and the outcome never depend on the model. Any
failure of the model (HTTP error, timeout, empty answer) falls back to the scripted words.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from assistant.llm import make_chat_model
from assistant.privacy import mask_text
from knowledge.errors import RetentionError
from tools.training.grading import TranscriptTurn
from tools.training.practice import Practice
from tools.training.roleplay import CustomerReply, Persona, RoleplayState, objection_text, scenario_name
from tools.training.sessions import RoleplayStore

log = logging.getLogger(__name__)
MAX_REPLY_CHARS = 400
HISTORY_TURNS = 12
MAX_WAIT_SECONDS = 15.0

_SYSTEM = """\
You play a telecom customer in a call-centre TRAINING role-play. The trainee is a retention agent.
Stay in character; never mention training, scripts, rules or that you are an AI.
Customer: {name}, {temperament}; wants {wants}; if unhappy, threatens: {threat}.
Facts: {tenure} months with the operator, about {arpu} yuan a month; call type: {scenario}.
Reply with the customer's next words only: one to three short spoken sentences in {language}.
This turn the customer MUST: {decision}
Keep exactly that meaning (the scripted words were: "{scripted}"). Do not agree, accept, object or
leave unless that is the decision above. Never say a phone number or an amount of money."""

_EVENTS = {
    "asks_who": "ask who is calling, a little wary", "verified": "confirm they are the account holder",
    "no_verification": "object that the agent has not checked who they are",
    "reason": "explain why they are unhappy (the reason in the scripted words)",
    "offer_before_probing": "complain that the agent is selling before asking why",
    "unsuited_offer": "say the offer does not address their problem", "over_cap": "sound surprised the offer is so big",
    "suspicious": "doubt the promise and ask for it in writing", "rival_run_down": "say that running down the rival does not help",
    "hesitates": "say they will think about it", "warmer": "sound a bit warmer",
}


def _decision(persona: Persona, reply: CustomerReply) -> str:
    """The state machine's decision for this turn, in words for the model."""
    parts = []
    for event in reply.events:
        code, _, arg = event.partition(":")
        if code == "objection":
            parts.append(f'raise this objection: "{objection_text(arg, persona.lang)}"')
        elif code == "handled":
            parts.append("accept the agent's answer to the last objection")
        elif code == "mishandled":
            parts.append("say the agent has not answered the objection" +
                         (f", and threaten: {persona.threat}" if reply.state.threatened else ""))
        elif code == "threat":
            parts.append(f"threaten: {persona.threat}")
        elif code == "outcome":
            parts.append({"accepted": "agree to take the offer", "follow_up": "agree to a call back later",
                          "left": "hang up, fed up", "timeout": "end the call, out of time",
                          "ended": "say goodbye"}.get(arg, "end the call"))
        elif code in _EVENTS:
            parts.append(_EVENTS[code])
    return "; ".join(dict.fromkeys(parts)) or "answer briefly and wait for the agent"


class LLMCustomer:
    """An improviser for tools.training.practice.Practice: the persona's words from the chat model."""

    def __init__(self, settings: Any, http_client: Any | None = None):
        # A customer's line is short: a slow model should not keep the trainee waiting long before the
        # scripted words take over.
        quick = settings.model_copy(update={"llm_timeout": min(settings.llm_timeout, MAX_WAIT_SECONDS)})
        self.model = make_chat_model(quick, http_client=http_client, max_retries=0)

    def __call__(self, persona: Persona, state: RoleplayState, transcript: list[TranscriptTurn],
                 reply: CustomerReply) -> str | None:
        """The customer's words for this turn, or None to keep the scripted reply."""
        from langchain_core.messages import AIMessage, HumanMessage, SystemMessage

        s = persona.snapshot
        system = _SYSTEM.format(
            name=persona.name, temperament=persona.temperament, wants=persona.wants, threat=persona.threat,
            tenure=round(s.tenure_months), arpu=round(s.arpu_3m_avg), scenario=scenario_name(persona.scenario, "en"),
            language="Chinese" if persona.lang == "zh" else "English", decision=_decision(persona, reply),
            scripted=reply.text)
        messages: list[Any] = [SystemMessage(content=system)]
        for turn in transcript[-HISTORY_TURNS:]:
            cls = HumanMessage if turn.speaker == "trainee" else AIMessage
            messages.append(cls(content=mask_text(turn.text)))
        answer = self.model.invoke(messages)
        text = str(getattr(answer, "content", "") or "").strip().strip('"“”')
        return mask_text(text[:MAX_REPLY_CHARS]) or None


_stores: dict[str, RoleplayStore] = {}
_lock = threading.Lock()


def database_url(settings: Any) -> str:
    """The records database (as assistant/services.py opens it for conversations)."""
    if settings.database_url:
        return settings.database_url
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{(settings.data_dir / 'assistant.sqlite').resolve()}"


def roleplay_store(settings: Any) -> RoleplayStore:
    """The session store for these settings (one per database, opened once)."""
    url = database_url(settings)
    with _lock:
        if url not in _stores:
            _stores[url] = RoleplayStore(url)
        return _stores[url]


class _QuietSearcher:
    """The knowledge base for grading citations; an unavailable index grades without citations."""

    def __init__(self, services: Any):
        self.services = services

    def search(self, query: str, k: int = 5, *, sources: Any = None, topics: Any = None) -> list[Any]:
        try:
            return self.services.knowledge.search(query, k, sources=sources, topics=topics)
        except RetentionError as exc:
            log.warning("no citations for grading: %s", exc)
            return []


def practice_for(services: Any, *, http_client: Any | None = None, use_llm: bool | None = None) -> Practice:
    """Practice over the services: sessions in the records database, LLM customer when configured."""
    settings = services.settings
    improviser = None
    if (settings.llm_base_url if use_llm is None else use_llm) and settings.llm_base_url:
        try:
            improviser = LLMCustomer(settings, http_client=http_client)
        except RetentionError as exc:
            log.warning("role-play without the LLM: %s", exc)
    searcher = _QuietSearcher(services)
    return Practice(roleplay_store(settings), searcher=searcher, policy=services.policy,
                    improviser=improviser, clean=mask_text)
