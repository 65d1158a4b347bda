"""make_chat_model(): the one place ChatOpenAI is built, for any OpenAI-compatible endpoint.

langchain-openai 1.7 hands `http_client` / `http_async_client` straight to `openai.OpenAI` /
`openai.AsyncOpenAI`. openai 3.x sends requests with its own `httpx2` client by default (which
pytest-httpx and respx do not see) but also accepts a plain `httpx.Client` / `httpx.AsyncClient`,
so tests inject `httpx.Client(transport=httpx.MockTransport(fake))` here.
"""

from __future__ import annotations

from typing import Any

from assistant.config import Settings
from assistant.errors import LLMUnavailable

# Local servers (vLLM, Ollama, llama.cpp, LM Studio) ignore the key, but the openai client refuses
# to start without one, so a placeholder is sent when none is configured.
PLACEHOLDER_API_KEY = "not-needed"

# Retries come from RETENTION_LLM_MAX_RETRIES (default 1): one quick retry absorbs a dropped
# connection; more would only make a dead endpoint slower to report, and the orchestrator can fall
# back to the offline engine instead.


def make_chat_model(
    settings: Settings,
    http_client: Any | None = None,
    http_async_client: Any | None = None,
    *,
    max_retries: int | None = None,
    streaming: bool | None = None,
) -> Any:
    """Build the ChatOpenAI model for `settings.llm_base_url` (clients injectable for tests)."""
    if not settings.llm_base_url:
        raise LLMUnavailable("no LLM endpoint is configured; set RETENTION_LLM_BASE_URL")
    from langchain_openai import ChatOpenAI

    kwargs: dict[str, Any] = {}
    if http_client is not None:
        kwargs["http_client"] = http_client
    if http_async_client is not None:
        kwargs["http_async_client"] = http_async_client
    if streaming is not None:
        # Only when asked: an explicit streaming=False also switches off the token stream that
        # LangGraph's stream_mode="messages" would otherwise request, so leave it unset by default.
        kwargs["streaming"] = streaming
    return ChatOpenAI(
        model=settings.llm_model,
        base_url=settings.llm_base_url,
        api_key=settings.llm_api_key or PLACEHOLDER_API_KEY,
        timeout=settings.llm_timeout,
        # A stalled stream counts as a timeout too (httpx's read timeout resets on keep-alives).
        stream_chunk_timeout=settings.llm_timeout,
        temperature=settings.llm_temperature,
        max_retries=settings.llm_max_retries if max_retries is None else max_retries,
        # OpenAI-compatible servers (Qwen, vLLM, Ollama) speak /chat/completions, not /responses.
        use_responses_api=False,
        **kwargs,
    )
