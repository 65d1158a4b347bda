"""Fixtures shared by the tools tests: the shipped playbooks in a real knowledge base, built once."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

PLAYBOOKS_DIR = Path(__file__).resolve().parents[2] / "knowledge" / "playbooks"


@pytest.fixture(scope="session")
def playbooks_model(minilm_embedder) -> str:
    """The embedding model setting of the playbook index: the small packaged sentence-transformers
    model. Citation tests need real retrieval and real ids, not the multilingual ranking quality
    (that is tested on the seeds with the bundled model), and MiniLM embeds ~50x faster here."""
    return minilm_embedder.name


@pytest.fixture(scope="session")
def playbooks_data_dir(tmp_path_factory, minilm_embedder) -> Path:
    """A data dir whose knowledge base holds knowledge/playbooks, ingested once per session.

    The layout is the product's (`<data_dir>/knowledge`, collection "playbooks"), so
    `Settings(data_dir=..., embedding_model=playbooks_model)` finds it too, e.g. for CLI tests.
    """
    from knowledge.base import KnowledgeBase

    # Set RETENTION_TEST_PLAYBOOKS_DATA to a directory to keep the index between sessions: ingest
    # is incremental, so unchanged playbooks are not embedded again.
    kept = os.environ.get("RETENTION_TEST_PLAYBOOKS_DATA")
    data_dir = Path(kept) if kept else tmp_path_factory.mktemp("playbooks-data")
    kb = KnowledgeBase(data_dir / "knowledge", minilm_embedder)
    report = kb.ingest([PLAYBOOKS_DIR], prune=True, progress=False)
    assert not report.errors, report.errors
    assert kb.manifest.chunk_count() > 0
    return data_dir


@pytest.fixture(scope="session")
def playbooks_kb(playbooks_data_dir, minilm_embedder):
    """The knowledge base of the shipped playbooks (real retrieval, for citation tests)."""
    from knowledge.base import KnowledgeBase

    return KnowledgeBase(playbooks_data_dir / "knowledge", minilm_embedder)


@pytest.fixture()
def runner():
    """A typer CLI runner."""
    from typer.testing import CliRunner

    return CliRunner()


@pytest.fixture()
def kb_settings(monkeypatch: pytest.MonkeyPatch, playbooks_data_dir: Path, playbooks_model: str):
    """Point the settings (and so the services' knowledge base) at the session's playbook index."""
    import assistant.services as services
    from assistant.config import get_settings

    monkeypatch.setenv("RETENTION_DATA_DIR", str(playbooks_data_dir))
    monkeypatch.setenv("RETENTION_EMBEDDING_MODEL", playbooks_model)
    get_settings.cache_clear()
    monkeypatch.setattr(services, "_services", None)
    yield get_settings()
    get_settings.cache_clear()
