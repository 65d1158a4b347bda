"""Typed models of the assistant's boundary: roles, replies, tool-call records, stream events."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from tools.schemas import Citation

Role = Literal["agent", "supervisor", "trainee", "admin"]
Engine = Literal["offline", "llm"]


class ToolCallRecord(BaseModel):
    """One tool the assistant ran (or was refused) in a turn."""

    name: str
    args: dict[str, Any] = Field(default_factory=dict)
    ok: bool
    error: str | None = None


class Reply(BaseModel):
    """The assistant's answer: the `retention ask --json` document and the API's chat response."""

    answer: str
    citations: list[Citation] = Field(default_factory=list)
    tool_calls: list[ToolCallRecord] = Field(default_factory=list)
    conversation_id: str
    engine: Engine
    role: Role = "agent"
    subscriber_id: str | None = Field(None, description="The subscriber in focus after this turn.")
    data: dict[str, Any] = Field(default_factory=dict, description="Structured results (cards, charts).")


class StreamEvent(BaseModel):
    """An event of a streamed answer: citations first, then tool, token..., done or error."""

    event: Literal["citations", "tool", "token", "done", "error"]
    data: Any = None
