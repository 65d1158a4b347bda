"""Conversations, subscribers, knowledge, feedback, health: ownership, roles and error bodies."""

from __future__ import annotations

import pytest

from tests.api.conftest import auth


@pytest.fixture(scope="module")
def conversation(client, keys) -> str:
    """A conversation owned by the agent key."""
    reply = client.post("/v1/chat", json={"message": "How do I renew a contract?"}, headers=auth(keys["agent"]))
    assert reply.status_code == 200
    return reply.json()["conversation_id"]


def test_conversations_are_own_only(client, keys, conversation):
    mine, other = auth(keys["agent"]), auth(keys["supervisor"])
    assert conversation in [c["id"] for c in client.get("/v1/conversations", headers=mine).json()]
    assert conversation not in [c["id"] for c in client.get("/v1/conversations", headers=other).json()]
    for method in ("GET", "DELETE"):
        response = client.request(method, f"/v1/conversations/{conversation}", headers=other)
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "conversation_not_found"
    assert client.get(f"/v1/conversations/{conversation}", headers=mine).status_code == 200


def test_delete_conversation(client, keys):
    headers = auth(keys["agent"])
    cid = client.post("/v1/chat", json={"message": "silent customers"}, headers=headers).json()["conversation_id"]
    assert client.delete(f"/v1/conversations/{cid}", headers=headers).status_code == 204
    assert client.get(f"/v1/conversations/{cid}", headers=headers).status_code == 404


def test_feedback_is_stored_for_own_answers_only(client, keys, conversation):
    ok = client.post("/v1/feedback", json={"conversation_id": conversation, "message_index": 1, "rating": "down",
                                            "comment": "call 13812345678 back"}, headers=auth(keys["agent"]))
    assert ok.status_code == 201, ok.text
    assert ok.json()["rating"] == "down" and "13812345678" not in ok.json()["comment"]
    latest = client.post("/v1/feedback", json={"conversation_id": conversation, "rating": "up"},
                         headers=auth(keys["agent"]))
    assert latest.status_code == 201 and latest.json()["message_index"] == 1
    other = client.post("/v1/feedback", json={"conversation_id": conversation, "rating": "up"},
                        headers=auth(keys["supervisor"]))
    assert other.status_code == 404
    not_answer = client.post("/v1/feedback", json={"conversation_id": conversation, "message_index": 0,
                                                   "rating": "up"}, headers=auth(keys["agent"]))
    assert not_answer.status_code == 422 and not_answer.json()["error"]["fields"] == ["message_index"]
    bad = client.post("/v1/feedback", json={"conversation_id": conversation, "rating": "meh"},
                      headers=auth(keys["agent"]))
    assert bad.status_code == 422 and bad.json()["error"]["fields"] == ["rating"]


def test_subscriber_is_masked_and_trainee_is_forbidden(client, keys, subscriber):
    response = client.get(f"/v1/subscribers/{subscriber['id']}", headers=auth(keys["agent"]))
    assert response.status_code == 200
    body = response.json()
    assert body["subscriber_id"] == subscriber["id"] and "****" in body["masked_msisdn"]
    assert "msisdn" not in body and subscriber["phone"] not in response.text
    for path in ("", "/churn", "/offers", "/script"):
        denied = client.get(f"/v1/subscribers/{subscriber['id']}{path}", headers=auth(keys["trainee"]))
        assert denied.status_code == 403 and denied.json()["error"]["code"] == "forbidden"


@pytest.mark.parametrize("path", ["", "/churn", "/offers"])
def test_unknown_subscriber_is_404_with_error_body(client, keys, path):
    response = client.get(f"/v1/subscribers/S999999999{path}", headers=auth(keys["agent"]))
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "subscriber_not_found"


def test_churn_offers_and_script_are_audited(client, app, keys, subscriber):
    headers = auth(keys["supervisor"])
    churn = client.get(f"/v1/subscribers/{subscriber['id']}/churn", headers=headers)
    assert churn.status_code == 200 and 0 <= churn.json()["churn_probability"] <= 1
    offers = client.get(f"/v1/subscribers/{subscriber['id']}/offers", headers=headers)
    assert offers.status_code == 200, offers.text
    plan = offers.json()
    assert plan["subscriber_id"] == subscriber["id"] and "offers" in plan
    script = client.get(f"/v1/subscribers/{subscriber['id']}/script", params={"lang": "en", "scenario": "routine"},
                        headers=headers)
    assert script.status_code == 200, script.text
    assert script.json()["lang"] == "en" and script.json()["sections"]
    bad = client.get(f"/v1/subscribers/{subscriber['id']}/script", params={"scenario": "pirate"}, headers=headers)
    assert bad.status_code == 422 and bad.json()["error"]["fields"] == ["scenario"]
    rows = {r["action"]: r for r in app.state.records.audit_rows(limit=10)}
    assert rows["subscriber.offers"]["subscriber_ids"] == [subscriber["id"]]
    assert rows["subscriber.offers"]["measure_codes"] == [o["measure_code"] for o in plan["offers"]]
    assert all("monthly" in c for c in rows["subscriber.offers"]["costs"])
    assert {"subscriber.churn", "subscriber.script"} <= set(rows)


def test_knowledge_search_returns_passages(client, keys):
    response = client.get("/v1/knowledge/search", params={"q": "contract ends within 60 days", "k": 2},
                          headers=auth(keys["trainee"]))
    assert response.status_code == 200
    passages = response.json()
    assert 1 <= len(passages) <= 2
    assert set(passages[0]) == {"id", "text", "source", "section", "score"}
    assert passages[0]["source"] == "renewal.en.md"
    assert client.get("/v1/knowledge/search", params={"q": "x", "k": 0}, headers=auth(keys["agent"])).status_code == 422


def test_ingest_is_admin_only_and_indexes_uploads(client, keys, api_services):
    text = b"# Port-out\n\n## Port-out requests\nA port-out request is answered within 24 hours by a senior agent.\n"
    files = {"files": ("port_out.en.md", text, "text/markdown")}
    denied = client.post("/v1/knowledge/ingest", files=files, headers=auth(keys["supervisor"]))
    assert denied.status_code == 403
    wrong = client.post("/v1/knowledge/ingest", files={"files": ("evil.exe", b"MZ", "application/octet-stream")},
                        headers=auth(keys["admin"]))
    assert wrong.status_code == 422 and wrong.json()["error"]["code"] == "unsupported_file"
    done = client.post("/v1/knowledge/ingest", files=files, headers=auth(keys["admin"]))
    assert done.status_code == 200, done.text
    report = done.json()
    assert report["files"] == 1 and report["chunks"] >= 1 and not report["errors"]
    assert (api_services.settings.data_dir / "uploads" / "port_out.en.md").is_file()
    found = client.get("/v1/knowledge/search", params={"q": "port-out request 24 hours", "k": 1},
                       headers=auth(keys["agent"])).json()
    assert found[0]["source"] == "port_out.en.md"


def test_health_and_readiness(client):
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    checks = ready.json()["checks"]
    assert checks["knowledge"]["ok"] and checks["embedding_model"]["ok"] and checks["subscribers"]["ok"]
    assert checks["churn_model"]["ok"] is False  # reported, not fatal


def test_openapi_documents_routes_with_examples(client):
    spec = client.get("/openapi.json").json()
    for path in ("/v1/chat", "/v1/chat/completions", "/v1/conversations/{conversation_id}",
                 "/v1/subscribers/{subscriber_id}/script", "/v1/knowledge/ingest", "/v1/feedback", "/readyz"):
        assert path in spec["paths"]
    assert spec["components"]["schemas"]["ChatRequest"]["examples"]
    assert "multipart/form-data" in spec["paths"]["/v1/knowledge/ingest"]["post"]["requestBody"]["content"]


def test_unknown_route_is_an_error_body_and_cors_is_off_by_default(client):
    response = client.get("/v1/nothing-here", headers={"Origin": "http://evil.example"})
    assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"
    assert "access-control-allow-origin" not in response.headers
    page = client.get("/")
    if page.status_code == 200:  # the chat page, when api/static/ is present
        assert page.headers["content-type"].startswith("text/html")
        assert page.headers["cache-control"] == "no-cache"


def test_cors_allows_configured_origins(api_services, minilm_embedder):
    from fastapi.testclient import TestClient

    from api.app import create_app
    from tests.api.conftest import make_services, make_settings

    settings = make_settings(api_services.settings.data_dir, cors_origins=["http://crm.local"])
    with TestClient(create_app(services=make_services(settings, minilm_embedder))) as cors_client:
        preflight = cors_client.options("/v1/chat", headers={
            "Origin": "http://crm.local", "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization,content-type"})
        assert preflight.headers["access-control-allow-origin"] == "http://crm.local"
        denied = cors_client.get("/healthz", headers={"Origin": "http://evil.example"})
        assert "access-control-allow-origin" not in denied.headers


def test_me_returns_the_keys_role_and_tools(client, keys):
    for role in ("agent", "trainee"):
        body = client.get("/v1/me", headers=auth(keys[role])).json()
        assert body["role"] == role and keys[role] not in str(body)
        assert body["key_id"] and keys[role].startswith(f"rk_{body['key_id']}_")
    assert "get_subscriber" in client.get("/v1/me", headers=auth(keys["agent"])).json()["tools"]
    assert "get_subscriber" not in client.get("/v1/me", headers=auth(keys["trainee"])).json()["tools"]
    assert client.get("/v1/me").status_code == 401


def test_uploads_with_several_workers_need_a_chroma_server(client, keys, api_services):
    files = {"files": ("note.en.md", b"# Note\n\n## A\nText.\n", "text/markdown")}
    settings = api_services.settings
    settings.api_workers = 2  # the same app as configured for `retention serve --workers 2`
    try:
        refused = client.post("/v1/knowledge/ingest", files=files, headers=auth(keys["admin"]))
    finally:
        settings.api_workers = 1
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "needs_chroma_server"
    assert "RETENTION_CHROMA_URL" in refused.json()["error"]["message"]
