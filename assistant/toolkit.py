"""The one place the tools of tools/ and knowledge/ are wrapped for the assistant.

Both engines run tools through `Toolkit.execute`: the offline engine calls it directly, the LLM
agent through LangChain tools built by `Toolkit.langchain_tools`. Execution enforces the role,
validates arguments with pydantic, turns domain errors into readable "Error: ..." results, masks
phone and ID numbers in what goes back to the model, and records every retrieved passage so that
the final answer's citations can be checked against what this turn actually saw.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from typing import Any, Callable

from pydantic import BaseModel, ValidationError

from assistant.privacy import mask_text
from assistant.roles import ToolNotAllowed, allowed_tools, check_allowed
from assistant.schemas import Role, ToolCallRecord
from assistant.tool_specs import TOOL_SPECS, ToolSpec
from knowledge.errors import RetentionError
from tools.schemas import Citation

log = logging.getLogger(__name__)


def short_id(passage_id: str) -> str:
    """The citation handle shown to models and users: the first 8 hex digits of the passage id."""
    return passage_id.replace("-", "")[:8]


@dataclass
class Turn:
    """What one question/answer turn has seen: tool calls and the passages it may cite."""

    role: Role
    focus_subscriber: str | None = None
    tool_calls: list[ToolCallRecord] = field(default_factory=list)
    passages: dict[str, Citation] = field(default_factory=dict)  # short id -> passage
    results: dict[str, Any] = field(default_factory=dict)  # tool name -> last result object
    # Called (from the engine's thread) with ("passages", [Citation]) and ("tool", ToolCallRecord) as
    # they happen, so a stream can send sources and tool events before the answer is composed.
    listener: Callable[[str, Any], None] | None = None
    # The engine's CPU gate (assistant/scheduler.py): until the turn has sources it is urgent.
    gate: Any = None
    priority: int = 0

    def checkpoint(self) -> None:
        """A point where a more urgent turn may run first (each tool call)."""
        if self.gate is not None:
            self.gate.checkpoint(self.priority)

    def remember(self, citations: list[Citation]) -> None:
        """Make passages citable in this turn."""
        new = [c for c in citations if short_id(c.id) not in self.passages]
        for citation in new:
            self.passages.setdefault(short_id(citation.id), citation)
        if new:
            self.priority = max(self.priority, 1)  # sources found: the rest of the answer can wait
            self.notify("passages", new)

    def record(self, call: ToolCallRecord) -> None:
        """Add a tool call to the turn."""
        self.tool_calls.append(call)
        self.notify("tool", call)

    def notify(self, kind: str, data: Any) -> None:
        """Tell the listener, if any; a failing listener never breaks the turn."""
        if self.listener is not None:
            try:
                self.listener(kind, data)
            except Exception:  # e.g. the stream's event loop is gone (client left)
                log.debug("turn listener failed", exc_info=True)


@dataclass
class ToolResult:
    """The outcome of one execution: `content` is what the model reads."""

    ok: bool
    content: str
    value: Any = None


class Toolkit:
    """Tools bound to the services and to one turn of one role."""

    def __init__(self, services: Any, turn: Turn, specs: dict[str, ToolSpec] | None = None):
        self.services = services
        self.turn = turn
        self.specs = specs or TOOL_SPECS

    def available(self) -> list[ToolSpec]:
        """The tools this role may use, in a stable order."""
        names = allowed_tools(self.turn.role, set(self.specs))
        return [self.specs[n] for n in sorted(names)]

    def execute(self, name: str, args: dict[str, Any] | str | None) -> ToolResult:
        """Run a tool by name with raw arguments; never raises for bad input."""
        self.turn.checkpoint()
        if isinstance(args, str):
            try:
                args = json.loads(args or "{}")
            except json.JSONDecodeError as exc:
                return self._fail(name, {}, f"arguments are not valid JSON ({exc.msg})")
        if args is not None and not isinstance(args, dict):  # e.g. "S000000001" or [1, 2]
            return self._fail(name, {}, "arguments must be a JSON object of named parameters")
        args = dict(args or {})
        spec = self.specs.get(name)
        if spec is None:
            names = ", ".join(s.name for s in self.available())
            return self._fail(name, args, f"there is no tool named {name!r}; available tools: {names}")
        try:
            check_allowed(self.turn.role, name)
        except ToolNotAllowed as exc:
            log.warning("refused tool %s for role %s", name, self.turn.role)
            return self._fail(name, args, str(exc))
        try:
            parsed = spec.args(**args)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e['loc']) or 'arguments'}: {e['msg']}" for e in exc.errors()
            )
            return self._fail(name, args, f"invalid arguments for {name}: {problems}")
        try:
            value, citations = spec.run(self.services, parsed, self.turn)
        except RetentionError as exc:
            return self._fail(name, args, str(exc))
        except Exception:  # a bug in a tool must not end the conversation
            log.exception("tool %s failed", name)
            return self._fail(name, args, f"the tool {name} failed unexpectedly; try another approach")
        self.turn.remember(citations)
        self.turn.results[name] = value
        self.turn.record(ToolCallRecord(name=name, args=_public_args(args), ok=True))
        return ToolResult(ok=True, content=mask_text(_to_text(value, citations)), value=value)

    def _fail(self, name: str, args: dict[str, Any], message: str) -> ToolResult:
        self.turn.record(ToolCallRecord(name=name, args=_public_args(args), ok=False, error=message))
        return ToolResult(ok=False, content=f"Error: {message}")

    def langchain_tools(self) -> list[Any]:
        """The permitted tools as LangChain StructuredTools that run through `execute`."""
        from langchain_core.tools import StructuredTool

        def make(spec: ToolSpec) -> Callable[..., str]:
            def run(**kwargs: Any) -> str:
                return self.execute(spec.name, kwargs).content

            return run

        return [
            StructuredTool.from_function(
                func=make(spec), name=spec.name, description=spec.description, args_schema=spec.args,
            )
            for spec in self.available()
        ]


def _public_args(args: dict[str, Any]) -> dict[str, Any]:
    """Arguments as recorded in replies and logs: phone and ID numbers masked."""
    return json.loads(mask_text(json.dumps(args, ensure_ascii=False, default=str)))


def _to_text(value: Any, citations: list[Citation]) -> str:
    """JSON for the model, with each cited passage introduced by its short citation id."""
    if isinstance(value, BaseModel):
        value = value.model_dump(mode="json")
    elif isinstance(value, list):
        value = [v.model_dump(mode="json") if isinstance(v, BaseModel) else v for v in value]
    payload: dict[str, Any] = {"result": value}
    if citations:
        payload["passages"] = [
            {"cite_as": f"[{short_id(c.id)}]", "source": c.source, "section": c.section, "text": c.text}
            for c in citations
        ]
    return json.dumps(payload, ensure_ascii=False, default=str)
