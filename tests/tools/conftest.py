"""Fixtures shared by the tools tests: the shipped playbooks in a real knowledge base, built once."""

from __future__ import annotations

from pathlib import Path

import pytest

PLAYBOOKS_DIR = Path(__file__).resolve().parents[2] / "knowledge" / "playbooks"


@pytest.fixture(scope="session")
def playbooks_data_dir(tmp_path_factory, bundled_embedder) -> Path:
    """A data dir whose knowledge base holds knowledge/playbooks, ingested once per session.

    The layout is the product's (`<data_dir>/knowledge`, collection "playbooks", the bundled
    embedder), so `Settings(data_dir=...)` finds it too, e.g. for CLI tests.
    """
    from knowledge.base import KnowledgeBase

    data_dir = tmp_path_factory.mktemp("playbooks-data")
    kb = KnowledgeBase(data_dir / "knowledge", bundled_embedder)
    report = kb.ingest([PLAYBOOKS_DIR], progress=False)
    assert not report.errors, report.errors
    assert kb.manifest.chunk_count() > 0
    return data_dir


@pytest.fixture(scope="session")
def playbooks_kb(playbooks_data_dir, bundled_embedder):
    """The knowledge base of the shipped playbooks (real retrieval, for citation tests)."""
    from knowledge.base import KnowledgeBase

    return KnowledgeBase(playbooks_data_dir / "knowledge", bundled_embedder)
