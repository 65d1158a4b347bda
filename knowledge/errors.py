"""Errors of the knowledge layer; the base class is shared by every layer above."""

from __future__ import annotations


class RetentionError(Exception):
    """Base of every error the product raises on purpose; the message says what to do."""


class PlaybookError(RetentionError):
    """A playbook file cannot be read, decoded or parsed."""


class EmbeddingModelUnavailable(RetentionError):
    """The configured embedding model cannot be loaded (never downloaded at run time)."""


class KnowledgeStoreError(RetentionError):
    """The vector store or lexical index cannot be opened or queried."""
