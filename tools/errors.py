"""Errors raised by the tools; the toolkit and the API translate them for their callers."""

from __future__ import annotations

from knowledge.errors import RetentionError


class SubscriberNotFound(RetentionError):
    """No subscriber has the id or phone number asked for."""


class InvalidInput(RetentionError):
    """Input data (a snapshot, a file, a mapping) is malformed; the message names the field."""


class PolicyError(RetentionError):
    """The operator policy file is missing a value or has one of the wrong type."""
