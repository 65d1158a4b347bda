"""Against a live uvicorn on 127.0.0.1: plain httpx, SSE, the official openai client and LangChain."""

from __future__ import annotations

import httpx
import pytest

from tests.api.conftest import auth
from tests.api.test_api_chat import QUESTION, sse_events


def test_live_health_and_chat(live_url, keys):
    with httpx.Client(base_url=live_url, timeout=30) as http:
        assert http.get("/healthz").json() == {"status": "ok"}
        assert http.get("/readyz").status_code == 200
        reply = http.post("/v1/chat", json={"message": QUESTION}, headers=auth(keys["agent"]))
        assert reply.status_code == 200 and reply.json()["citations"]
        assert "x-request-id" in reply.headers and "server-timing" in reply.headers
        assert http.post("/v1/chat", json={"message": QUESTION}).status_code == 401


def test_live_sse_order(live_url, keys):
    headers = {**auth(keys["agent"]), "Accept": "text/event-stream"}
    with httpx.Client(base_url=live_url, timeout=30) as http:
        with http.stream("POST", "/v1/chat", json={"message": QUESTION}, headers=headers) as response:
            events = sse_events("".join(response.iter_text()))
    assert events[0][0] == "citations" and events[-1][0] == "done"


@pytest.fixture()
def openai_client(live_url, keys):
    """The official openai client pointed at the live server."""
    from openai import OpenAI

    return OpenAI(base_url=f"{live_url}/v1", api_key=keys["agent"], max_retries=0, timeout=30)


def test_openai_client_non_streaming(openai_client):
    completion = openai_client.chat.completions.create(
        model="retention-assistant",
        messages=[{"role": "system", "content": "You are helpful."},
                  {"role": "user", "content": QUESTION}],
    )
    text = completion.choices[0].message.content
    assert completion.choices[0].finish_reason == "stop"
    citations = completion.model_extra["citations"]
    assert citations and "Sources" in text
    assert all(f"[{c['id'].replace('-', '')[:8]}]" in text for c in citations)
    assert completion.model_extra["conversation_id"]


def test_openai_client_streaming_and_conversation_metadata(openai_client):
    stream = openai_client.chat.completions.create(
        model="retention-assistant", stream=True,
        messages=[{"role": "user", "content": "What about silent customers?"},
                  {"role": "assistant", "content": "Silent customers stop using data."},
                  {"role": "user", "content": QUESTION}],
    )
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text and chunks[-1].choices[0].finish_reason == "stop"
    final = chunks[-1].model_extra
    assert final["citations"] and final["conversation_id"]
    # The earlier messages seeded the stored conversation; metadata continues it.
    again = openai_client.chat.completions.create(
        model="retention-assistant", metadata={"conversation_id": final["conversation_id"]},
        messages=[{"role": "user", "content": "And the renewal calls?"}],
    )
    assert again.model_extra["conversation_id"] == final["conversation_id"]
    convo = httpx.get(f"{openai_client.base_url}conversations/{final['conversation_id']}",
                      headers={"Authorization": f"Bearer {openai_client.api_key}"}).json()
    assert [m["role"] for m in convo["messages"]] == ["user", "assistant", "user", "assistant", "user", "assistant"]


def test_openai_client_rejects_a_bad_key(live_url):
    import openai

    client = openai.OpenAI(base_url=f"{live_url}/v1", api_key="rk_00000000_bad", max_retries=0)
    with pytest.raises(openai.AuthenticationError):
        client.chat.completions.create(model="retention-assistant", messages=[{"role": "user", "content": "hi"}])


def test_langchain_chat_openai_works(live_url, keys):
    from langchain_openai import ChatOpenAI

    model = ChatOpenAI(base_url=f"{live_url}/v1", api_key=keys["agent"], model="retention-assistant",
                       max_retries=0, timeout=30)
    message = model.invoke(QUESTION)
    assert "Sources" in message.content
