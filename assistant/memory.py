"""Conversation memory (SQLite by default, any SQLAlchemy URL at scale), keyed by conversation id.

Each conversation remembers its messages, its owner and role, and the subscriber in focus, so a
follow-up ("what about his points?") knows who "he" is across API calls and processes.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy import (
    Column, Integer, MetaData, String, Table, Text, delete, insert, select, update,
)

from tools.db import open_engine, utc_now

metadata = MetaData()
conversations = Table(
    "conversations", metadata,
    Column("id", String(64), primary_key=True),
    Column("owner", String(128), nullable=False, default=""),
    Column("role", String(32), nullable=False),
    Column("focus_subscriber", String(64)),
    Column("title", Text),
    Column("created_at", String(32), nullable=False),
    Column("updated_at", String(32), nullable=False),
)
messages = Table(
    "messages", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("conversation_id", String(64), nullable=False, index=True),
    Column("role", String(16), nullable=False),  # user | assistant
    Column("content", Text, nullable=False),
    Column("payload", Text),  # JSON: citations, tool calls
    Column("created_at", String(32), nullable=False),
)


class Message(BaseModel):
    """One stored turn of a conversation."""

    role: str
    content: str
    payload: dict[str, Any] = Field(default_factory=dict)
    created_at: str


class Conversation(BaseModel):
    """A conversation with its messages and the subscriber in focus."""

    id: str
    owner: str
    role: str
    focus_subscriber: str | None = None
    title: str | None = None
    created_at: str
    updated_at: str
    messages: list[Message] = Field(default_factory=list)



class ConversationStore:
    """Create, read, append to and delete conversations."""

    def __init__(self, url: str):
        self.engine = open_engine(url, metadata)

    def get_or_create(self, conversation_id: str | None, owner: str, role: str) -> Conversation:
        """The conversation with this id (created if new); another owner's id starts a new one."""
        if conversation_id:
            found = self.get(conversation_id, owner=owner, with_messages=True)
            if found is not None:
                return found
        cid = conversation_id if conversation_id and self.get(conversation_id) is None else uuid.uuid4().hex
        now = utc_now()
        with self.engine.begin() as db:
            db.execute(insert(conversations).values(id=cid, owner=owner, role=role, created_at=now, updated_at=now))
        return Conversation(id=cid, owner=owner, role=role, created_at=now, updated_at=now)

    def get(self, conversation_id: str, owner: str | None = None, with_messages: bool = True) -> Conversation | None:
        """One conversation, or None (also None when `owner` is given and differs)."""
        with self.engine.connect() as db:
            row = db.execute(select(conversations).where(conversations.c.id == conversation_id)).mappings().first()
            if row is None or (owner is not None and row["owner"] != owner):
                return None
            convo = Conversation(**dict(row))
            if with_messages:
                rows = db.execute(
                    select(messages).where(messages.c.conversation_id == conversation_id).order_by(messages.c.id)
                ).mappings()
                convo.messages = [
                    Message(role=r["role"], content=r["content"], payload=json.loads(r["payload"] or "{}"),
                            created_at=r["created_at"])
                    for r in rows
                ]
        return convo

    def append(self, conversation_id: str, role: str, content: str, payload: dict[str, Any] | None = None) -> None:
        """Add a message and touch the conversation."""
        now = utc_now()
        with self.engine.begin() as db:
            db.execute(insert(messages).values(
                conversation_id=conversation_id, role=role, content=content,
                payload=json.dumps(payload or {}, ensure_ascii=False, default=str), created_at=now,
            ))
            values: dict[str, Any] = {"updated_at": now}
            if role == "user":
                title = db.execute(select(conversations.c.title).where(conversations.c.id == conversation_id)).scalar()
                if not title:
                    values["title"] = content[:60]
            db.execute(update(conversations).where(conversations.c.id == conversation_id).values(**values))

    def set_focus(self, conversation_id: str, subscriber_id: str | None) -> None:
        """Remember the subscriber the conversation is about."""
        with self.engine.begin() as db:
            db.execute(update(conversations).where(conversations.c.id == conversation_id)
                       .values(focus_subscriber=subscriber_id))

    def list(self, owner: str, limit: int = 50) -> list[Conversation]:
        """The owner's conversations, newest first, without messages."""
        with self.engine.connect() as db:
            rows = db.execute(
                select(conversations).where(conversations.c.owner == owner)
                .order_by(conversations.c.updated_at.desc()).limit(limit)
            ).mappings()
            return [Conversation(**dict(r)) for r in rows]

    def delete(self, conversation_id: str, owner: str | None = None) -> bool:
        """Delete a conversation and its messages; False if absent or not the owner's."""
        if self.get(conversation_id, owner=owner, with_messages=False) is None:
            return False
        with self.engine.begin() as db:
            db.execute(delete(messages).where(messages.c.conversation_id == conversation_id))
            db.execute(delete(conversations).where(conversations.c.id == conversation_id))
        return True
