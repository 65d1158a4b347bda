"""Practice: start a role-play, take the trainee's lines, finish with a grade, all saved in the store.

The state machine of tools/training/roleplay.py decides what the customer does; an optional
`improviser` (the assistant's LLM, assistant/roleplay_llm.py) may reword the customer's reply
within the persona. When it returns nothing or fails, the scripted reply stands. `clean` is applied
to every trainee line before it is stored (the assistant passes its phone/ID masking).
"""

from __future__ import annotations

import logging
import random
from typing import Any, Callable

from pydantic import BaseModel, Field

from knowledge.errors import RetentionError
from tools.citations import Searcher
from tools.errors import InvalidInput
from tools.policy import Policy
from tools.training.grading import RoleplayGrade, TranscriptTurn, grade_transcript
from tools.training.roleplay import SCENARIOS, CustomerReply, Persona, RoleplayState, build_persona, respond, start
from tools.training.sessions import RoleplayRecord, RoleplayStore

log = logging.getLogger(__name__)
Improviser = Callable[[Persona, RoleplayState, list[TranscriptTurn], CustomerReply], "str | None"]
MAX_LINE_CHARS = 2000


class SessionNotFound(RetentionError):
    """No role-play session with this id for this caller."""


class RoleplayOver(InvalidInput):
    """A line sent to a role-play that has already ended."""


class RoleplayStart(BaseModel):
    """A new session: its id, the trainee's preparation card and the customer's opening line."""

    session_id: str
    scenario: str
    seed: int
    lang: str
    engine: str
    card: dict[str, Any]
    customer: str


class RoleplayTurn(BaseModel):
    """The customer's reply to one trainee line and where the call stands."""

    session_id: str
    customer: str
    engine: str
    turn: int
    mood: int
    events: list[str] = Field(default_factory=list)
    objection: str | None = None
    outcome: str | None = None
    finished: bool = False


def public_state(state: RoleplayState) -> dict[str, Any]:
    """What a client may show about the call state."""
    return state.model_dump(include={"turn", "mood", "outcome", "objection_open", "verified", "offered"})


class Practice:
    """Role-play practice over a session store, a searcher for citations and an optional improviser."""

    def __init__(self, store: RoleplayStore, *, searcher: Searcher | None = None, policy: Policy | None = None,
                 improviser: Improviser | None = None, clean: Callable[[str], str] | None = None):
        self.store, self.searcher, self.policy = store, searcher, policy
        self.improviser, self.clean = improviser, clean or (lambda text: text)

    def start(self, *, owner: str, role: str, scenario: str | None = None, seed: int | None = None,
              lang: str = "zh", conversation_id: str | None = None) -> RoleplayStart:
        """Build the synthetic customer and open a session with the customer's opening line."""
        seed = random.randrange(1, 1_000_000) if seed is None else int(seed)
        scenario = scenario or SCENARIOS[seed % len(SCENARIOS)]
        persona = build_persona(scenario, seed, lang, self.policy)  # type: ignore[arg-type]
        state, opening = start(persona)
        transcript = [TranscriptTurn(speaker="customer", text=opening)]
        engine = "llm" if self.improviser else "scripted"
        sid = self.store.create(owner=owner, role=role, persona=persona, state=state, transcript=transcript,
                                engine=engine, conversation_id=conversation_id)
        return RoleplayStart(session_id=sid, scenario=scenario, seed=seed, lang=lang, engine=engine,
                             card=persona.card(), customer=opening)

    def get(self, session_id: str, owner: str | None = None) -> RoleplayRecord:
        """The session (only the owner's when `owner` is given)."""
        record = self.store.get(session_id)
        if record is None or (owner is not None and record.owner != owner):
            raise SessionNotFound(f"no role-play session {session_id!r} of yours")
        return record

    def turn(self, session_id: str, owner: str, text: str) -> RoleplayTurn:
        """The customer's reply to one trainee line (reworded by the improviser when one is set)."""
        text = self.clean((text or "").strip())
        if not text:
            raise InvalidInput("message: the trainee's line is empty")
        if len(text) > MAX_LINE_CHARS:
            raise InvalidInput(f"message: at most {MAX_LINE_CHARS} characters")
        record = self.get(session_id, owner)
        if record.status == "finished" or record.state.finished:
            raise RoleplayOver("this role-play is over; finish it to see the grade")
        reply = respond(record.persona, record.state, text)
        transcript = [*record.transcript, TranscriptTurn(speaker="trainee", text=text)]
        words, engine = self._improvise(record.persona, reply, transcript)
        transcript.append(TranscriptTurn(speaker="customer", text=words, objection=reply.objection))
        self.store.update(session_id, state=reply.state, transcript=transcript, engine=engine)
        st = reply.state
        return RoleplayTurn(session_id=session_id, customer=words, engine=engine, turn=st.turn, mood=st.mood,
                            events=reply.events, objection=reply.objection, outcome=st.outcome, finished=reply.finished)

    def _improvise(self, persona: Persona, reply: CustomerReply, transcript: list[TranscriptTurn]) -> tuple[str, str]:
        if self.improviser is None:
            return reply.text, "scripted"
        try:
            words = self.improviser(persona, reply.state, transcript, reply)
        except Exception as exc:  # any failure of the model: the scripted customer carries on
            log.warning("role-play improviser failed (%s); using the scripted reply", type(exc).__name__)
            words = None
        return (words.strip(), "llm") if words and words.strip() else (reply.text, "scripted")

    def finish(self, session_id: str, owner: str) -> RoleplayRecord:
        """Grade the transcript, save the grade and return the finished session."""
        record = self.get(session_id, owner)
        if record.grade is None:
            grade: RoleplayGrade = grade_transcript(record.persona, record.transcript, searcher=self.searcher)
            self.store.update(session_id, state=record.state, transcript=record.transcript, grade=grade)
            record = self.get(session_id, owner)
        return record
