"""Incremental ingestion on real Chroma in a temp dir, with a real (small) sentence-transformers model."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from knowledge.base import KnowledgeBase
from knowledge.errors import EmbeddingModelUnavailable
from knowledge.embeddings import make_embedder

RENEWAL = """---
title: Contract renewal
topic: renewal
lang: en
version: 1.0
---
# Contract renewal
## Offer order for high-value subscribers
Start three to six months before expiry. Lead with prepay-and-get-credit, then the credit-subsidy renewal, and keep the handset subsidy as the fallback.
## Follow-up after expiry
Keep following up unrenewed subscribers for two months after the contract ends.
"""

SILENT = """---
title: Silent subscribers
topic: silent
lang: en
version: 1.0
---
# Silent subscribers
## Dispatch thresholds
A diamond-card subscriber with three days of zero activity is dispatched to a front-line manager.
"""


@pytest.fixture()
def kb(tmp_path, minilm_embedder) -> KnowledgeBase:
    return KnowledgeBase(tmp_path / "kb", minilm_embedder, chunk_size=200)


@pytest.fixture()
def docs(tmp_path) -> Path:
    folder = tmp_path / "playbooks"
    folder.mkdir()
    (folder / "renewal.md").write_text(RENEWAL, encoding="utf-8")
    (folder / "silent.md").write_text(SILENT, encoding="utf-8")
    return folder


def test_first_ingest_indexes_every_file_and_search_cites_the_right_passage(kb, docs):
    report = kb.ingest([docs])
    assert report.files == 2 and report.chunks >= 3 and not report.errors
    hit = kb.search("How long after expiry should we keep following up?", k=1)[0]
    assert hit.source == "renewal.md"
    assert "two months after" in hit.text
    assert hit.section == "Contract renewal > Follow-up after expiry"
    assert hit.topic == "renewal"


def test_unchanged_files_are_skipped_without_embedding(kb, docs):
    kb.ingest([docs])
    again = kb.ingest([docs])
    assert again.files == 0 and again.chunks == 0 and again.unchanged == 2 and again.embedded == 0


def test_changed_file_replaces_its_chunks_and_reuses_unchanged_vectors(kb, docs):
    kb.ingest([docs])
    before = {p.id for p in kb.passages(kb.manifest.chunk_ids("renewal.md"))}
    (docs / "renewal.md").write_text(
        RENEWAL.replace("two months after", "eight weeks after"), encoding="utf-8"
    )
    report = kb.ingest([docs])
    assert report.files == 1 and report.unchanged == 1
    assert report.embedded == 1  # only the edited chunk was embedded again
    after = set(kb.manifest.chunk_ids("renewal.md"))
    assert len(before & after) == len(after) - 1  # ids are stable for unchanged text
    assert kb.vectors.count() == kb.manifest.chunk_count()
    texts = " ".join(p.text for p in kb.search("follow up after expiry", k=3))
    assert "eight weeks" in texts and "two months after" not in texts


def test_prune_removes_deleted_files_from_both_indexes(kb, docs):
    kb.ingest([docs])
    (docs / "silent.md").unlink()
    kept = kb.ingest([docs])
    assert kept.removed == [] and "silent.md" in kb.manifest.files()
    pruned = kb.ingest([docs], prune=True)
    assert pruned.removed == ["silent.md"]
    assert all(p.source != "silent.md" for p in kb.search("diamond card zero activity", k=5))
    assert kb.vectors.count() == kb.manifest.chunk_count()


def test_bad_files_are_reported_and_never_touch_the_index(kb, docs, tmp_path):
    kb.ingest([docs])
    count = kb.manifest.chunk_count()
    (docs / "empty.txt").write_bytes(b"")
    (docs / "binary.txt").write_bytes(b"\x00\x01\x02binary\x00" * 50)
    (docs / "broken.docx").write_bytes(b"PK\x03\x04 not really a zip")
    (docs / "broken.pdf").write_bytes(b"%PDF-1.4 garbage")
    big = KnowledgeBase(tmp_path / "kb", kb.embedder, chunk_size=200, max_file_bytes=2000)
    (docs / "huge.md").write_text("# Huge\n" + "retention " * 1000, encoding="utf-8")
    report = big.ingest([docs])
    skipped = {item.source: item.reason for item in report.skipped}
    errors = {item.source: item.reason for item in report.errors}
    assert "empty" in skipped["empty.txt"]
    assert "binary" in skipped["binary.txt"]
    assert "too large" in skipped["huge.md"]
    assert "docx" in errors["broken.docx"] and "pdf" in errors["broken.pdf"]
    assert big.manifest.chunk_count() == count
    assert big.search("diamond card zero activity", k=1)[0].source == "silent.md"


def test_docx_and_pdf_are_ingested(kb, tmp_path):
    import docx
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    folder = tmp_path / "office"
    folder.mkdir()
    document = docx.Document()
    document.add_heading("Points redemption", level=1)
    document.add_paragraph("Remind subscribers from October that their points are cleared every three years.")
    document.save(folder / "points.docx")
    figure = plt.figure()
    figure.text(0.1, 0.5, "Campus churn: about a quarter of students leave every year at graduation.")
    figure.savefig(folder / "campus.pdf")
    plt.close(figure)
    report = kb.ingest([folder])
    assert report.files == 2, report
    docx_hit = kb.search("when are points cleared", k=1)[0]
    assert docx_hit.source == "points.docx" and docx_hit.section == "Points redemption"
    assert kb.search("students leaving at graduation", k=1)[0].source == "campus.pdf"


def test_missing_path_is_an_error_in_the_report(kb, tmp_path):
    report = kb.ingest([tmp_path / "nope"])
    assert report.errors and report.errors[0].reason == "no such file or folder"


def test_unavailable_model_names_the_setting(tmp_path):
    embedder = make_embedder(str(tmp_path / "no-such-model"))
    with pytest.raises(EmbeddingModelUnavailable, match="RETENTION_EMBEDDING_MODEL"):
        embedder.embed_query("hello")


def test_search_filters_by_source_and_topic(kb, docs):
    kb.ingest([docs])
    assert {p.source for p in kb.search("subscriber", k=5, sources=["silent.md"])} == {"silent.md"}
    assert {p.topic for p in kb.search("subscriber", k=5, topics=["renewal"])} == {"renewal"}
    assert kb.search("subscriber", k=5, sources=["unknown.md"]) == []


def test_vectors_left_by_an_interrupted_ingest_are_never_returned(kb, docs):
    import numpy as np

    kb.ingest([docs])
    vector = kb.embedder.embed_documents(["orphan passage about diamond card zero activity"])
    kb.vectors.upsert(["orphan-id"], np.asarray(vector), ["orphan"], [{"source": "x.md", "section": "", "topic": "", "lang": ""}])
    assert all(p.id != "orphan-id" for p in kb.search("diamond card zero activity", k=10))


class _Counting:
    """A real embedder that counts the queries it embeds."""

    def __init__(self, inner):
        self.inner, self.name, self.queries = inner, inner.name, 0

    def embed_documents(self, texts):
        return self.inner.embed_documents(texts)

    def embed_query(self, text):
        self.queries += 1
        return self.inner.embed_query(text)


def test_template_query_vectors_are_stored_once_and_served_from_memory(tmp_path, docs, minilm_embedder):
    import numpy as np

    from knowledge.retrieve import dense_text

    counting = _Counting(minilm_embedder)
    kb = KnowledgeBase(tmp_path / "kb", counting)
    kb.ingest([docs], progress=False)
    queries = ["contract renewal offer order", "retention cost cap", "contract renewal offer order"]
    assert kb.warm_queries(queries) == 2 and counting.queries == 2
    before = counting.queries
    kb.search("retention cost cap", k=2)  # served from the warmed vector: no embedding
    assert counting.queries == before
    expanded = dense_text("retention cost cap", kb.glossary.expand("retention cost cap"))
    assert np.allclose(kb.embed_query(expanded), minilm_embedder.embed_query(expanded), atol=1e-5)

    again = KnowledgeBase(tmp_path / "kb", _Counting(minilm_embedder))  # a restart: vectors come from disk
    assert again.warm_queries(queries) == 0 and again.embedder.queries == 0
