"""Request and response models of the HTTP API, and the one error body every error uses."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from assistant.schemas import Reply, Role
from tools.schemas import SubscriberSnapshot


class ErrorDetail(BaseModel):
    """What went wrong and what to do about it."""

    code: str = Field(..., examples=["subscriber_not_found"])
    message: str = Field(..., examples=["no subscriber with id S9999999"])
    fields: list[str] | None = Field(None, description="Request fields at fault (validation errors).")


class ErrorBody(BaseModel):
    """The body of every error response: `{"error": {"code", "message"}}`."""

    error: ErrorDetail


class ChatRequest(BaseModel):
    """One chat turn: a question, optionally continuing a conversation about a subscriber."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"message": "What can I offer a high-value subscriber whose contract ends in 60 days?"},
        {"message": "他的流失风险高吗？", "subscriber_id": "S0000042", "conversation_id": "5f0c…"},
    ]})

    message: str = Field(..., min_length=1, description="The question, in Chinese or English.")
    conversation_id: str | None = Field(None, max_length=64, description="Continue this conversation.")
    subscriber_id: str | None = Field(None, max_length=32, description="Subscriber id or mobile number in focus.")
    subscriber: SubscriberSnapshot | None = Field(None, description="An inline (synthetic) subscriber snapshot.")
    role: Role | None = Field(None, description="Answer as this role: at most the key's own role.")


class ChatResponse(Reply):
    """The `retention ask --json` document, plus the role, the subscriber in focus and structured data."""


class ConversationSummary(BaseModel):
    """A conversation without its messages."""

    id: str
    role: str
    title: str | None = None
    focus_subscriber: str | None = None
    created_at: str
    updated_at: str


class MessageOut(BaseModel):
    """One message of a conversation (citations and tool calls of answers in `payload`)."""

    index: int
    role: str
    content: str
    payload: dict[str, Any] = Field(default_factory=dict)
    created_at: str


class ConversationOut(ConversationSummary):
    """A conversation with its messages."""

    messages: list[MessageOut] = Field(default_factory=list)


class PassageOut(BaseModel):
    """A retrieved playbook passage."""

    id: str
    text: str
    source: str
    section: str
    score: float


class FeedbackIn(BaseModel):
    """A thumbs up or down on one answer of one of your conversations."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"conversation_id": "5f0c…", "message_index": 1, "rating": "down", "comment": "wrong cap"},
    ]})

    conversation_id: str = Field(..., max_length=64)
    message_index: int | None = Field(None, ge=0, description="Index of the answer in the conversation.")
    answer_id: str | None = Field(None, max_length=64, description="Alternative to message_index.")
    rating: Literal["up", "down"]
    comment: str | None = Field(None, max_length=2000)


class FeedbackOut(BaseModel):
    """The stored feedback."""

    id: int
    conversation_id: str
    message_index: int | None = None
    answer_id: str | None = None
    rating: str
    comment: str | None = None
    created_at: str


class CheckOut(BaseModel):
    """One readiness check."""

    ok: bool
    detail: str = ""


class ReadyOut(BaseModel):
    """Readiness: each store and model, and whether the service can answer."""

    status: Literal["ready", "not_ready"]
    checks: dict[str, CheckOut]


# --- OpenAI chat completions --------------------------------------------------------------------


class OpenAIMessage(BaseModel):
    """A chat message as OpenAI clients send it (content may be a list of text parts)."""

    model_config = ConfigDict(extra="allow")

    role: str
    content: str | list[dict[str, Any]] | None = None

    def text(self) -> str:
        """The message's text (text parts joined)."""
        if isinstance(self.content, list):
            return "".join(str(p.get("text", "")) for p in self.content if p.get("type", "text") == "text")
        return self.content or ""


class ChatCompletionRequest(BaseModel):
    """OpenAI's chat-completions request; unknown OpenAI parameters are accepted and ignored."""

    model_config = ConfigDict(extra="allow", json_schema_extra={"examples": [{
        "model": "retention-assistant",
        "messages": [{"role": "user", "content": "How do I retain a silent subscriber?"}],
        "stream": False,
        "metadata": {"conversation_id": "optional: continue a stored conversation"},
    }]})

    model: str = "retention-assistant"
    messages: list[OpenAIMessage] = Field(..., min_length=1)
    stream: bool = False
    user: str | None = None
    metadata: dict[str, str] | None = Field(
        None, description="conversation_id (continue a stored conversation), subscriber_id, role.")
