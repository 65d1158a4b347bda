"""Assistant.ask(): one turn of a conversation, with memory, roles, masking and checked citations.

The Assistant chooses the engine: the LLM agent (assistant/llm_agent.py) when an OpenAI-compatible
endpoint is configured, otherwise the deterministic offline engine (assistant/offline.py). Both run
the same tools through the same Toolkit, so roles, argument validation and citation tracking are
identical. If the LLM fails and `llm_fallback_offline` is on, the offline engine answers instead.
"""

from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass, field
from typing import Any, AsyncIterator, Protocol

from assistant.errors import LLMUnavailable
from assistant.memory import Message
from assistant.privacy import find_phones, mask_phone, mask_text
from assistant.scheduler import FIRST, REST, PriorityGate
from assistant.schemas import Reply, Role, StreamEvent
from assistant.toolkit import Toolkit, Turn, short_id
from knowledge.errors import RetentionError
from tools.schemas import Citation, SubscriberSnapshot

log = logging.getLogger(__name__)
_CITE = re.compile(r"\[([0-9a-f]{8})\]")


@dataclass
class EngineAnswer:
    """What an engine returns: the answer text and optional structured data (cards, charts)."""

    text: str
    data: dict[str, Any] = field(default_factory=dict)


@dataclass
class TurnInput:
    """Everything an engine needs to answer one question."""

    question: str  # already masked for LLMs where needed
    history: list[Message]
    turn: Turn
    toolkit: Toolkit
    snapshot: SubscriberSnapshot | None = None
    lang: str = "zh"
    owner: str = "local"  # who asks (the API key id): practice sessions are saved under it


class Engine(Protocol):
    """An engine answers one turn using the toolkit."""

    name: str

    def answer(self, request: TurnInput) -> EngineAnswer:
        """Answer synchronously."""
        ...


def detect_language(text: str) -> str:
    """'zh' when the text has Chinese characters, otherwise 'en'."""
    return "zh" if re.search(r"[\u4e00-\u9fff]", text) else "en"


class Assistant:
    """The retention assistant: memory + engine + toolkit, for one Services."""

    def __init__(self, services: Any, llm_engine: Engine | None = None, offline_engine: Engine | None = None):
        self.services = services
        self._llm = llm_engine
        self._offline = offline_engine
        # New questions' retrieval before others' composing. At least two slots: retrieval and DuckDB
        # release the GIL, so two turns overlap well even when several workers share the cores.
        workers = max(1, getattr(getattr(services, "settings", None), "api_workers", 1) or 1)
        self.gate = PriorityGate(slots=max(2, (os.cpu_count() or 2) // workers))

    @property
    def offline(self) -> Engine:
        """The deterministic engine (always available)."""
        if self._offline is None:
            from assistant.offline import OfflineEngine

            self._offline = OfflineEngine()
        return self._offline

    @property
    def llm(self) -> Engine | None:
        """The LLM engine when an endpoint is configured."""
        if self._llm is None and self.services.settings.llm_base_url:
            from assistant.llm_agent import LLMEngine

            self._llm = LLMEngine(self.services.settings)
        return self._llm

    def ask(
        self,
        question: str,
        *,
        role: Role = "agent",
        conversation_id: str | None = None,
        subscriber_id: str | None = None,
        subscriber: SubscriberSnapshot | None = None,
        owner: str = "local",
    ) -> Reply:
        """Answer one question in a conversation (created when the id is new or absent)."""
        with self.gate.hold(REST):  # a whole answer at once: nothing is streamed early
            convo, request = self._prepare(question, role=role, conversation_id=conversation_id,
                                           subscriber_id=subscriber_id, subscriber=subscriber, owner=owner)
            request.turn.priority = REST
            engine_name, answer = self._run(request)
            return self._finish(convo, request, engine_name, answer)

    def _prepare(
        self,
        question: str,
        *,
        role: Role = "agent",
        conversation_id: str | None = None,
        subscriber_id: str | None = None,
        subscriber: SubscriberSnapshot | None = None,
        owner: str = "local",
    ) -> tuple[Any, TurnInput]:
        """Open the conversation and build the turn: role, focus, toolkit, masked question."""
        question = (question or "").strip()
        if not question:
            raise RetentionError("the question is empty")
        store = self.services.conversations
        convo = store.get_or_create(conversation_id, owner=owner, role=role)
        focus = subscriber_id or convo.focus_subscriber
        turn = Turn(role=role, focus_subscriber=focus, gate=self.gate, priority=FIRST)
        toolkit = Toolkit(self.services, turn)
        # Phone numbers typed by the user are resolved to a subscriber here, so that no full
        # number ever reaches the model or the conversation log.
        question, focus = self._resolve_phones(question, toolkit, turn, focus)
        turn.focus_subscriber = focus
        request = TurnInput(question=question, history=convo.messages[-12:], turn=turn, toolkit=toolkit,
                            snapshot=subscriber, lang=detect_language(question), owner=owner)
        return convo, request

    def _finish(self, convo: Any, request: TurnInput, engine_name: str, answer: EngineAnswer) -> Reply:
        """Check the citations, store both messages and the focus, and build the Reply."""
        store, turn, question = self.services.conversations, request.turn, request.question
        text, citations = self._checked_citations(answer.text, turn)
        store.append(convo.id, "user", question)
        reply = Reply(
            answer=text, citations=citations, tool_calls=turn.tool_calls, conversation_id=convo.id,
            engine=engine_name, role=turn.role, subscriber_id=turn.focus_subscriber, data=answer.data,
        )
        store.append(convo.id, "assistant", text, {"citations": [c.model_dump() for c in citations],
                                                   "tool_calls": [t.model_dump() for t in turn.tool_calls]})
        if turn.focus_subscriber != convo.focus_subscriber:
            store.set_focus(convo.id, turn.focus_subscriber)
        return reply

    async def stream(self, question: str, **kwargs: Any) -> AsyncIterator[StreamEvent]:
        """The same turn as a stream: tool events, citations before the first token, tokens, done.

        With an engine that streams (`astream`), tokens are the model's own and the `citations`
        event lists the passages retrieved before the first token; `done` carries the Reply with
        the checked citations. Other engines run in a thread and their answer is chunked.
        """
        import anyio

        try:
            convo, request = await anyio.to_thread.run_sync(lambda: self._gated(FIRST, self._prepare, question, **kwargs))
            llm, outcome = self.llm, {}
            practice = await anyio.to_thread.run_sync(self._gated, FIRST, roleplay_answer, request)
            if practice is not None:  # a practice call answers in the simulated customer's voice
                outcome["engine"], outcome["answer"] = "offline", practice
            elif llm is not None and hasattr(llm, "astream"):
                async for event in self._stream_llm(llm, request, outcome):
                    yield event
            else:
                async for event in self._stream_thread(request, outcome):
                    yield event
            reply = await anyio.to_thread.run_sync(
                self._gated, REST, self._finish, convo, request, outcome["engine"], outcome["answer"])
        except RetentionError as exc:
            yield StreamEvent(event="error", data={"message": str(exc)})
            return
        if not outcome.get("streamed"):
            if not outcome.get("sources_sent"):
                yield StreamEvent(event="citations", data=[c.model_dump() for c in reply.citations])
            # The offline answer exists whole: send it line by line (a token event per word costs
            # hundreds of writes per answer for nothing a reader could see).
            for token in re.findall(r"[^\n]*\n|[^\n]+", reply.answer):
                yield StreamEvent(event="token", data=token)
        yield StreamEvent(event="done", data=reply.model_dump(mode="json"))

    async def _stream_thread(self, request: TurnInput, outcome: dict[str, Any]) -> AsyncIterator[StreamEvent]:
        """Run a non-streaming engine in a thread, relaying its sources and tool calls as they happen.

        The first passages retrieved are sent at once as the `citations` event (sources first, as
        contact-centre screens show them); `done` later carries the citations the answer kept.
        """
        import asyncio

        import anyio

        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
        request.turn.listener = lambda kind, data: loop.call_soon_threadsafe(queue.put_nowait, (kind, data))
        task = asyncio.ensure_future(anyio.to_thread.run_sync(
            lambda: self._gated(request.turn.priority, self._run, request)))
        try:
            while True:
                getter = asyncio.ensure_future(queue.get())
                await asyncio.wait({task, getter}, return_when=asyncio.FIRST_COMPLETED)
                if not getter.done():
                    getter.cancel()
                    break
                kind, data = getter.result()
                if kind == "passages" and not outcome.get("sources_sent"):
                    outcome["sources_sent"] = True
                    yield StreamEvent(event="citations", data=[c.model_dump() for c in data])
                elif kind == "tool":
                    yield StreamEvent(event="tool", data=data.model_dump())
            while not queue.empty():  # what happened between the last event and the end
                kind, data = queue.get_nowait()
                if kind == "tool":
                    yield StreamEvent(event="tool", data=data.model_dump())
            outcome["engine"], outcome["answer"] = await task
        finally:
            request.turn.listener = None
            if not task.done():  # the client went away: let the engine finish in its thread
                task.add_done_callback(lambda t: t.exception())

    async def _stream_llm(self, llm: Any, request: TurnInput, outcome: dict[str, Any]) -> AsyncIterator[StreamEvent]:
        """Relay the LLM engine's events; fall back to the offline engine if it fails before a token."""
        import anyio

        tokens = 0
        outcome.update(engine="llm", answer=EngineAnswer(text=""), streamed=True)
        try:
            async for event in llm.astream(request):
                if event.event == "done":
                    outcome["answer"] = EngineAnswer(text=event.data["text"], data=event.data.get("data") or {})
                    continue
                if event.event == "token" and tokens == 0:
                    yield StreamEvent(event="citations", data=[c.model_dump() for c in request.turn.passages.values()])
                tokens += event.event == "token"
                yield event
        except LLMUnavailable as exc:
            if tokens or not self.services.settings.llm_fallback_offline:
                raise
            log.warning("LLM unavailable (%s); answering with the offline engine", exc)
            request.turn.tool_calls.clear()
            request.turn.passages.clear()
            answer = await anyio.to_thread.run_sync(self.offline.answer, request)
            outcome.update(engine="offline", answer=answer, streamed=False)

    def _gated(self, priority: int, fn: Any, *args: Any, **kwargs: Any) -> Any:
        """Run `fn` holding an engine slot at `priority` (see assistant/scheduler.py)."""
        with self.gate.hold(priority):
            return fn(*args, **kwargs)

    def _run(self, request: TurnInput) -> tuple[str, EngineAnswer]:
        practice = roleplay_answer(request)  # an open practice call, or a request to start one
        if practice is not None:
            return "offline", practice
        llm = self.llm
        if llm is None:
            return "offline", self.offline.answer(request)
        try:
            return "llm", llm.answer(request)
        except LLMUnavailable as exc:
            if not self.services.settings.llm_fallback_offline:
                raise
            log.warning("LLM unavailable (%s); answering with the offline engine", exc)
            request.turn.tool_calls.clear()
            request.turn.passages.clear()
            return "offline", self.offline.answer(request)

    def _resolve_phones(self, question: str, toolkit: Toolkit, turn: Turn, focus: str | None) -> tuple[str, str | None]:
        for phone in find_phones(question):
            masked = mask_phone(phone)
            result = toolkit.execute("get_subscriber", {"subscriber": phone}) if _may_lookup(turn.role) else None
            if result is not None and result.ok:
                focus = turn.focus_subscriber
                question = question.replace(phone, f"{masked} (subscriber {focus})")
            question = mask_text(question.replace(phone, masked))
        return mask_text(question), focus

    @staticmethod
    def _checked_citations(text: str, turn: Turn) -> tuple[str, list[Citation]]:
        """Keep citations of passages this turn retrieved; drop (and log) any other id."""
        cited: list[Citation] = []
        for handle in _CITE.findall(text):
            passage = turn.passages.get(handle)
            if passage is None:
                log.warning("dropped a citation to a passage not retrieved in this turn: %s", handle)
                text = text.replace(f"[{handle}]", "")
            elif passage not in cited:
                cited.append(passage)
        return text, cited


def _may_lookup(role: str) -> bool:
    from assistant.roles import ROLE_TOOLS

    return role == "admin" or "get_subscriber" in ROLE_TOOLS.get(role, set())


__all__ = ["Assistant", "EngineAnswer", "TurnInput", "Engine", "detect_language", "short_id"]


def roleplay_answer(request: TurnInput) -> EngineAnswer | None:
    """The simulated customer's turn when a practice call is open or asked for (assistant/offline_roleplay.py)."""
    from assistant.offline_roleplay import roleplay_answer as practice_turn

    return practice_turn(request)
