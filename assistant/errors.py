"""Domain errors in one place for the assistant, the CLI and the API."""

from __future__ import annotations

from knowledge.errors import (  # noqa: F401  (re-exported)
    EmbeddingModelUnavailable,
    KnowledgeStoreError,
    PlaybookError,
    RetentionError,
)
from tools.errors import InvalidInput, PolicyError, SubscriberNotFound  # noqa: F401


class LLMUnavailable(RetentionError):
    """The configured OpenAI-compatible endpoint failed or timed out."""
