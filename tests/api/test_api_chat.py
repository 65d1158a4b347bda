"""POST /v1/chat through the in-process app: the ask --json shape, SSE order, roles, limits, audit, logs."""

from __future__ import annotations

import json
import logging
import re

import pytest

from tests.api.conftest import auth

QUESTION = "How should I handle a customer with repeated complaints?"


def sse_events(text: str) -> list[tuple[str, object]]:
    """(event, JSON data) pairs of a server-sent event stream."""
    events = []
    for block in text.strip().split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line)
        events.append((fields["event"], json.loads(fields["data"])))
    return events


def test_chat_returns_the_ask_json_object_with_request_id_and_timings(client, keys):
    response = client.post("/v1/chat", json={"message": QUESTION}, headers=auth(keys["agent"]))
    assert response.status_code == 200, response.text
    body = response.json()
    assert list(body)[:5] == ["answer", "citations", "tool_calls", "conversation_id", "engine"]
    assert body["engine"] == "offline" and body["answer"]
    assert body["citations"], "a playbook question is answered with citations"
    assert set(body["citations"][0]) == {"id", "source", "section", "text"}
    assert any(c["source"] == "complaints.en.md" for c in body["citations"])
    assert all(set(t) >= {"name", "args", "ok"} for t in body["tool_calls"])
    assert re.fullmatch(r"[0-9a-f]{32}", response.headers["x-request-id"])
    timing = response.headers["server-timing"]
    assert "engine;dur=" in timing and "retrieval;dur=" in timing and "total;dur=" in timing


def test_sse_sends_citations_first_and_done_last(client, keys):
    headers = {**auth(keys["agent"]), "Accept": "text/event-stream"}
    with client.stream("POST", "/v1/chat", json={"message": QUESTION}, headers=headers) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        events = sse_events("".join(response.iter_text()))
    names = [name for name, _ in events]
    assert names[0] == "citations" and names[-1] == "done"
    assert names.count("done") == 1 and "error" not in names
    assert set(names) <= {"citations", "tool", "token", "done"}
    done = events[-1][1]
    assert "".join(data for name, data in events if name == "token") == done["answer"]
    sources = events[0][1]  # the passages retrieved first, sent before the answer is composed
    assert sources and all(c["id"] and c["text"] and c["source"] for c in sources)
    assert {c["id"] for c in sources} & {c["id"] for c in done["citations"]}  # the answer rests on them


def test_follow_up_continues_the_same_conversation(client, keys):
    headers = auth(keys["agent"])
    first = client.post("/v1/chat", json={"message": "What do the playbooks say about silent customers?"},
                        headers=headers).json()
    second = client.post("/v1/chat", json={"message": "And what gift should they get?",
                                           "conversation_id": first["conversation_id"]}, headers=headers).json()
    assert second["conversation_id"] == first["conversation_id"]
    convo = client.get(f"/v1/conversations/{first['conversation_id']}", headers=headers).json()
    assert [m["role"] for m in convo["messages"]] == ["user", "assistant", "user", "assistant"]


def test_body_role_may_only_narrow_the_key_role(client, keys):
    raised = client.post("/v1/chat", json={"message": QUESTION, "role": "admin"}, headers=auth(keys["agent"]))
    assert raised.status_code == 403
    assert raised.json()["error"]["code"] == "forbidden"
    narrowed = client.post("/v1/chat", json={"message": QUESTION, "role": "trainee"},
                           headers=auth(keys["supervisor"]))
    assert narrowed.status_code == 200 and narrowed.json()["role"] == "trainee"


def test_trainee_cannot_chat_about_a_real_subscriber(client, keys, subscriber):
    response = client.post("/v1/chat", json={"message": "churn risk?", "subscriber_id": subscriber["id"]},
                           headers=auth(keys["trainee"]))
    assert response.status_code == 403
    assert set(response.json()["error"]) >= {"code", "message"}


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer rk_deadbeef_wrong"}, {"X-API-Key": "nonsense"}])
def test_missing_or_invalid_key_is_401(client, headers):
    response = client.post("/v1/chat", json={"message": QUESTION}, headers=headers)
    assert response.status_code == 401
    assert response.json()["error"]["code"] in {"missing_api_key", "invalid_api_key"}
    assert response.headers["www-authenticate"] == "Bearer"


def test_revoked_key_is_401(client, app):
    records = app.state.records
    new = records.create_key("agent", name="to revoke")
    assert client.get("/v1/conversations", headers=auth(new.key)).status_code == 200
    records.revoke(new.id)
    assert client.get("/v1/conversations", headers=auth(new.key)).status_code == 401


def test_message_length_malformed_json_and_unknown_fields_are_422(client, keys):
    headers = auth(keys["agent"])
    long = client.post("/v1/chat", json={"message": "x" * 4001}, headers=headers)
    assert long.status_code == 422
    assert long.json()["error"]["fields"] == ["message"] and "message" in long.json()["error"]["message"]
    bad = client.post("/v1/chat", content=b'{"message": "hi",', headers={**headers, "Content-Type": "application/json"})
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "invalid_json"
    unknown = client.post("/v1/chat", json={"message": "hi", "colour": "red"}, headers=headers)
    assert unknown.status_code == 422 and "colour" in unknown.json()["error"]["message"]
    missing = client.post("/v1/chat", json={}, headers=headers)
    assert missing.status_code == 422 and missing.json()["error"]["fields"] == ["message"]


def test_oversized_bodies_are_413_declared_or_streamed(client, keys):
    headers = {**auth(keys["agent"]), "Content-Type": "application/json"}
    payload = json.dumps({"message": "x" * 1_100_000}).encode()
    declared = client.post("/v1/chat", content=payload, headers=headers)
    assert declared.status_code == 413 and declared.json()["error"]["code"] == "body_too_large"

    def chunks():
        for start in range(0, len(payload), 65536):
            yield payload[start:start + 65536]

    streamed = client.post("/v1/chat", content=chunks(), headers=headers)
    assert streamed.status_code == 413 and streamed.json()["error"]["code"] == "body_too_large"


def test_audit_row_and_logs_mask_the_phone_number(client, app, keys, subscriber):
    lines: list[str] = []

    class Capture(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(self.format(record))

    from api.observability import ACCESS_LOG, JsonFormatter

    handler = Capture()
    handler.setFormatter(JsonFormatter())
    logging.getLogger(ACCESS_LOG).addHandler(handler)
    try:
        phone = subscriber["phone"]
        reply = client.post("/v1/chat", json={"message": f"What is the churn risk of {phone}?"},
                            headers=auth(keys["agent"]))
        looked_up = client.get(f"/v1/subscribers/{phone}", headers=auth(keys["agent"]))
    finally:
        logging.getLogger(ACCESS_LOG).removeHandler(handler)
    assert reply.status_code == 200 and looked_up.status_code == 200
    assert phone not in reply.text and phone not in looked_up.text
    rows = app.state.records.audit_rows(limit=5)
    chat_rows = [r for r in rows if r["action"] == "chat"]
    assert chat_rows and subscriber["id"] in chat_rows[0]["subscriber_ids"]
    assert any("****" in s for s in chat_rows[0]["subscriber_ids"])
    assert phone not in json.dumps(rows, ensure_ascii=False)
    records = [json.loads(line) for line in lines]
    assert {r["route"] for r in records} == {"/v1/chat", "/v1/subscribers/{subscriber_id}"}
    assert all(r["key_id"] and r["request_id"] and "stages_ms" in r for r in records)
    text = "\n".join(lines)
    assert phone not in text and keys["agent"] not in text


def test_keys_are_stored_hashed(api_services, keys):
    data_dir = api_services.settings.data_dir
    blob = b"".join(p.read_bytes() for p in data_dir.glob("assistant.sqlite*"))
    assert blob, "the database file exists"
    for raw in keys.values():
        secret = raw.split("_", 2)[2]
        assert raw.encode() not in blob and secret.encode() not in blob
