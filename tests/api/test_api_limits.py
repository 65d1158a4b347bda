"""Rate limits, upload limits, domain errors over HTTP, readiness failure, keys CLI and bootstrap."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import PLAYBOOKS, auth, make_services, make_settings


@pytest.fixture(scope="module")
def strict(api_data_dir, minilm_embedder):
    """An app on the same data with tight limits: 3 requests a minute, 10 kB uploads."""
    from api.app import create_app
    from assistant.records import open_records

    services = make_services(make_settings(api_data_dir, api_rate_limit_per_minute=3, api_upload_max_mb=0.01),
                             minilm_embedder)
    records = open_records(services)
    with TestClient(create_app(services=services)) as test_client:
        yield test_client, records.create_key("admin").key, records.create_key("agent").key


def test_rate_limit_is_per_key_with_retry_after(strict):
    client, admin, agent = strict
    statuses = [client.get("/v1/conversations", headers=auth(agent)).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    limited = client.get("/v1/conversations", headers=auth(agent))
    assert limited.json()["error"]["code"] == "rate_limited"
    assert 1 <= int(limited.headers["retry-after"]) <= 60
    assert client.get("/v1/conversations", headers=auth(admin)).status_code == 200  # another key's bucket


def test_upload_over_the_limit_is_413(strict):
    client, admin, _ = strict
    big = {"files": ("big.md", b"# Big\n\n" + b"word " * 4000, "text/markdown")}
    response = client.post("/v1/knowledge/ingest", files=big, headers=auth(admin))
    assert response.status_code == 413 and response.json()["error"]["code"] == "body_too_large"


class _Failing:
    """An assistant whose engine is down."""

    def __init__(self, error: Exception):
        self.error = error

    def ask(self, question: str, **kwargs: Any) -> Any:
        raise self.error

    async def stream(self, question: str, **kwargs: Any):  # noqa: ANN201
        raise self.error
        yield  # pragma: no cover


@pytest.mark.parametrize("error, status, code", [
    ("LLMUnavailable", 502, "llm_unavailable"), ("InvalidInput", 422, "invalid_input"),
    ("PolicyError", 422, "policy_error"), ("SubscriberNotFound", 404, "subscriber_not_found"),
    ("RetentionError", 400, "bad_request"),
])
def test_domain_errors_map_to_status_and_error_body(api_services, keys, error, status, code):
    import assistant.errors as errors
    from api.app import create_app

    exc = getattr(errors, error)("the thing failed for 13812345678")
    app = create_app(services=api_services, assistant_factory=lambda services: _Failing(exc))
    with TestClient(app) as client:
        response = client.post("/v1/chat", json={"message": "hi"}, headers=auth(keys["agent"]))
        assert response.status_code == status
        assert response.json()["error"]["code"] == code
        assert "13812345678" not in response.text  # error messages are masked too
        streamed = client.post("/v1/chat", json={"message": "hi"},
                               headers={**auth(keys["agent"]), "Accept": "text/event-stream"})
        assert streamed.status_code == 200
        assert streamed.text.startswith("event: error") and f'"code": "{code}"' in streamed.text
        completion = client.post("/v1/chat/completions", json={"messages": [{"role": "user", "content": "hi"}]},
                                 headers=auth(keys["agent"]))
        assert completion.status_code == status and completion.json()["error"]["code"] == code


def test_readyz_is_503_when_the_knowledge_base_cannot_open(tmp_path):
    from api.app import create_app
    from assistant.services import Services

    settings = make_settings(tmp_path / "data", embedding_model=str(tmp_path / "no-such-model"))
    (tmp_path / "data" / "playbooks").mkdir(parents=True)
    (tmp_path / "data" / "playbooks" / "a.en.md").write_text(PLAYBOOKS["renewal.en.md"], encoding="utf-8")
    with TestClient(create_app(services=Services(settings))) as client:
        ready = client.get("/readyz")
        assert client.get("/healthz").status_code == 200
    assert ready.status_code == 503
    body = ready.json()
    assert body["status"] == "not_ready" and body["checks"]["knowledge"]["ok"] is False
    assert body["checks"]["database"]["ok"] is True and body["checks"]["subscribers"]["ok"] is False


def test_keys_cli_creates_lists_and_revokes(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    import assistant.services as services_module
    from assistant.cli import app
    from assistant.services import Services

    monkeypatch.setattr(services_module, "_services", Services(make_settings(tmp_path / "data")))
    runner = CliRunner()
    created = runner.invoke(app, ["keys", "create", "--role", "supervisor", "--name", "Ann", "--json"])
    assert created.exit_code == 0, created.output
    doc = json.loads(created.stdout)
    assert list(doc)[:3] == ["key", "role", "id"] and doc["role"] == "supervisor"
    listed = json.loads(runner.invoke(app, ["keys", "list", "--json"]).stdout)
    assert [(k["id"], k["name"], k["revoked_at"]) for k in listed] == [(doc["id"], "Ann", None)]
    assert doc["key"] not in json.dumps(listed)
    assert runner.invoke(app, ["keys", "revoke", doc["id"]]).exit_code == 0
    assert json.loads(runner.invoke(app, ["keys", "list", "--json"]).stdout)[0]["revoked_at"]
    assert runner.invoke(app, ["keys", "revoke", "nope"]).exit_code == 1
    assert runner.invoke(app, ["keys", "create", "--role", "boss"]).exit_code == 1


def test_bootstrap_creates_missing_data_once_and_demo_keys_once(tmp_path, minilm_embedder, monkeypatch):
    import tools.churn
    from assistant.bootstrap import bootstrap

    def fake_train(store, model_dir, **kwargs):  # the real training is tested in tests/tools
        model_dir.mkdir(parents=True)
        (model_dir / "metadata.json").write_text("{}", encoding="utf-8")
        return type("Report", (), {"model": "stub", "n": 0, "seconds": 0.0})()

    monkeypatch.setattr(tools.churn, "train_from_store", fake_train)
    data_dir = tmp_path / "data"
    (data_dir / "playbooks").mkdir(parents=True)
    (data_dir / "playbooks" / "renewal.en.md").write_text(PLAYBOOKS["renewal.en.md"], encoding="utf-8")
    services = make_services(make_settings(data_dir), minilm_embedder)
    said: list[str] = []
    first = bootstrap(services, rows=200, seed=1, progress=False, echo=said.append)
    assert first.generated == 200 and first.trained and first.passages >= 1
    assert sorted(k.role for k in first.new_keys) == ["admin", "agent", "supervisor", "trainee"]
    assert all(k.key in "\n".join(said) for k in first.new_keys)
    again: list[str] = []
    second = bootstrap(services, rows=200, seed=1, progress=False, echo=again.append)
    assert second.generated == 0 and not second.trained and second.new_keys == []
    assert second.existing_keys == 4 and "retention keys create" in "\n".join(again)


def test_auth_can_be_turned_off_and_x_api_key_is_accepted(api_data_dir, minilm_embedder, keys):
    from api.app import create_app

    services = make_services(make_settings(api_data_dir, auth_required=False), minilm_embedder)
    with TestClient(create_app(services=services)) as client:
        assert client.get("/v1/conversations").status_code == 200  # anonymous agent
        assert client.get("/v1/conversations", headers={"X-API-Key": keys["agent"]}).status_code == 200
        assert client.get("/v1/conversations", headers={"X-API-Key": "rk_0_bad"}).status_code == 401
        assert client.post("/v1/knowledge/ingest", files={"files": ("a.md", b"# A\n", "text/markdown")}
                           ).status_code == 403  # anonymous is an agent, not an admin
