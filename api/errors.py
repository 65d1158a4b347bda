"""Every error as `{"error": {"code", "message"}}`: API errors, validation, HTTP and domain errors.

Domain errors map to: SubscriberNotFound 404, InvalidInput / PolicyError 422, LLMUnavailable 502,
EmbeddingModelUnavailable / KnowledgeStoreError 503, any other RetentionError 400.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from assistant.errors import LLMUnavailable
from assistant.privacy import mask_text
from knowledge.errors import EmbeddingModelUnavailable, KnowledgeStoreError, RetentionError
from tools.errors import InvalidInput, PolicyError, SubscriberNotFound

log = logging.getLogger("retention.api")

# (exception class, HTTP status, code), most specific first.
DOMAIN_ERRORS: list[tuple[type[Exception], int, str]] = [
    (SubscriberNotFound, 404, "subscriber_not_found"),
    (InvalidInput, 422, "invalid_input"),
    (PolicyError, 422, "policy_error"),
    (LLMUnavailable, 502, "llm_unavailable"),
    (EmbeddingModelUnavailable, 503, "knowledge_unavailable"),
    (KnowledgeStoreError, 503, "knowledge_unavailable"),
    (RetentionError, 400, "bad_request"),
]
HTTP_CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
              405: "method_not_allowed", 413: "body_too_large", 415: "unsupported_media_type",
              422: "validation_error", 429: "rate_limited", 503: "unavailable"}


class APIError(Exception):
    """An error the API returns as-is: status, machine code, human message, optional headers."""

    def __init__(self, status: int, code: str, message: str, *, fields: list[str] | None = None,
                 headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status, self.code, self.message, self.fields, self.headers = status, code, message, fields, headers


def error_body(code: str, message: str, fields: list[str] | None = None) -> dict[str, Any]:
    """The ErrorBody document."""
    detail: dict[str, Any] = {"code": code, "message": mask_text(message)}
    if fields:
        detail["fields"] = fields
    return {"error": detail}


def domain_status(exc: Exception) -> tuple[int, str]:
    """HTTP status and code for a domain error."""
    for cls, status, code in DOMAIN_ERRORS:
        if isinstance(exc, cls):
            return status, code
    return 500, "internal_error"


def _field(loc: tuple | list) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or "body"


def validation_message(exc: RequestValidationError) -> tuple[str, str, list[str]]:
    """(code, message, fields) of a request validation error: malformed JSON or the fields at fault."""
    errors = exc.errors()
    for error in errors:
        if error.get("type") == "json_invalid":
            reason = (error.get("ctx") or {}).get("error", "malformed JSON")
            return "invalid_json", f"the body is not valid JSON: {reason}", ["body"]
    fields = [_field(e.get("loc", ())) for e in errors]
    message = "; ".join(f"{f}: {e.get('msg', 'invalid')}" for f, e in zip(fields, errors))
    return "validation_error", message or "invalid request", sorted(set(fields))


def install_error_handlers(app: FastAPI) -> None:
    """Register the handlers that turn every error into an ErrorBody response."""

    @app.exception_handler(APIError)
    async def _api(_: Request, exc: APIError) -> JSONResponse:
        return JSONResponse(error_body(exc.code, exc.message, exc.fields), exc.status, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        code, message, fields = validation_message(exc)
        return JSONResponse(error_body(code, message, fields), 422)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = HTTP_CODES.get(exc.status_code, "error")
        message = exc.detail if isinstance(exc.detail, str) else code.replace("_", " ")
        return JSONResponse(error_body(code, message), exc.status_code, headers=getattr(exc, "headers", None))

    @app.exception_handler(RetentionError)
    async def _domain(_: Request, exc: RetentionError) -> JSONResponse:
        status, code = domain_status(exc)
        if status >= 500:
            log.warning("%s: %s", code, mask_text(str(exc)))
        return JSONResponse(error_body(code, str(exc)), status)
