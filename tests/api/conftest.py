"""Fixtures for the API tests: real stores in a temp data dir, an app, API keys, a live uvicorn.

Knowledge: three small English playbooks ingested with the MiniLM wiring embedder (fast, real).
Subscribers: 300 generated rows. The assistant is the real one (offline engine: no LLM configured).
"""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path
from typing import Any, Iterator

import pytest

from sample_playbooks import SHARED_PLAYBOOKS

PLAYBOOKS = {
    "renewal.en.md": SHARED_PLAYBOOKS["renewal.en.md"],
    "complaints.en.md": SHARED_PLAYBOOKS["complaints.en.md"],
    "silent.en.md": """---
title: Silent customers
topic: silent
lang: en
---
# Silent customers

## Reactivating silent customers
Silent customers stop using data for weeks before they leave. A silent customer should get a usage
reminder and a small data gift.
""",
}
ROLES = ("trainee", "agent", "supervisor", "admin")


def make_settings(data_dir: Path, **overrides: Any) -> Any:
    """Settings for a temp data dir (no .env, no LLM)."""
    from assistant.config import Settings

    return Settings(data_dir=data_dir, playbook_dirs=[data_dir / "playbooks"], llm_base_url=None,
                    _env_file=None, **overrides)


def make_services(settings: Any, embedder: Any) -> Any:
    """Services whose knowledge base uses the given (small) embedder."""
    from assistant.services import Services
    from knowledge.base import KnowledgeBase

    services = Services(settings)
    services.__dict__["knowledge"] = KnowledgeBase(settings.knowledge_dir, embedder)
    return services


@pytest.fixture(scope="session")
def api_data_dir(tmp_path_factory, minilm_embedder) -> Path:
    """A data dir with the playbooks ingested and 300 generated subscribers."""
    from knowledge.base import KnowledgeBase
    from tools.generate import write_generated
    from tools.subscribers import SubscriberStore

    data_dir = tmp_path_factory.mktemp("api-data")
    folder = data_dir / "playbooks"
    folder.mkdir()
    for name, text in PLAYBOOKS.items():
        (folder / name).write_text(text, encoding="utf-8")
    KnowledgeBase(data_dir / "knowledge", minilm_embedder).ingest([folder], progress=False)
    write_generated(SubscriberStore(data_dir), rows=300, seed=7, progress=False)
    return data_dir


@pytest.fixture(scope="session")
def api_services(api_data_dir, minilm_embedder) -> Any:
    """Services over the shared API data dir (generous rate limit)."""
    return make_services(make_settings(api_data_dir, api_rate_limit_per_minute=10_000), minilm_embedder)


@pytest.fixture(scope="session")
def keys(api_services) -> dict[str, str]:
    """One raw API key per role."""
    from assistant.records import open_records

    records = open_records(api_services)
    return {role: records.create_key(role, name=f"test {role}").key for role in ROLES}


def auth(key: str) -> dict[str, str]:
    """The Authorization header for a key."""
    return {"Authorization": f"Bearer {key}"}


@pytest.fixture(scope="session")
def app(api_services) -> Any:
    """The API app over the shared services."""
    from api.app import create_app

    return create_app(services=api_services)


@pytest.fixture(scope="session")
def client(app) -> Iterator[Any]:
    """An in-process httpx client (TestClient: runs the lifespan)."""
    from fastapi.testclient import TestClient

    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture(scope="session")
def subscriber(api_services) -> Any:
    """One stored subscriber (with its raw phone number, for phone lookups)."""
    frame = api_services.store.read_table("subscribers", ["subscriber_id", "msisdn"])
    row = frame.iloc[5]
    return {"id": str(row["subscriber_id"]), "phone": str(row["msisdn"])}


def free_port() -> int:
    """A free TCP port on the loopback interface."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def live_url(app) -> Iterator[str]:
    """The same app under a real uvicorn on 127.0.0.1 (in a thread), stopped at the end."""
    import uvicorn

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                                           access_log=False, lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and time.monotonic() < deadline and thread.is_alive():
        time.sleep(0.05)
    if not server.started:
        pytest.fail("uvicorn did not start")
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)
