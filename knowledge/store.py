"""The Chroma collection of playbook passages: embedded PersistentClient, or a server by URL."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Sequence
from urllib.parse import urlparse

import numpy as np

from knowledge.embeddings import Embedder
from knowledge.errors import KnowledgeStoreError

log = logging.getLogger(__name__)


def _embedding_function(embedder: Embedder):  # type: ignore[no-untyped-def]
    """Wrap our Embedder for Chroma, so Chroma never falls back to its own (downloading) default."""
    from chromadb.api.types import Documents, EmbeddingFunction, Embeddings

    class RetentionEmbeddingFunction(EmbeddingFunction[Documents]):
        """Chroma's view of the configured Embedder."""

        def __init__(self, inner: Embedder) -> None:
            self._inner = inner

        def __call__(self, input: Documents) -> Embeddings:
            return list(self._inner.embed_documents(list(input)))

        def embed_query(self, input: Documents) -> Embeddings:
            return [self._inner.embed_query(text) for text in input]

        @staticmethod
        def name() -> str:
            return "retention-assistant"

        def get_config(self) -> dict[str, Any]:
            return {"model": self._inner.name}

        @staticmethod
        def build_from_config(config: dict[str, Any]) -> "EmbeddingFunction[Documents]":
            from knowledge.embeddings import make_embedder

            return RetentionEmbeddingFunction(make_embedder(config.get("model", "")))

        def default_space(self) -> str:  # type: ignore[override]
            return "cosine"

    return RetentionEmbeddingFunction(embedder)


class VectorStore:
    """One Chroma collection holding passage vectors with source/topic metadata."""

    def __init__(self, path: Path, collection: str, embedder: Embedder, url: str | None = None):
        self.path = path
        self.collection_name = collection
        self.embedder = embedder
        self.url = url
        self._collection = None

    def _client(self):  # type: ignore[no-untyped-def]
        import chromadb
        from chromadb.config import Settings as ChromaSettings

        chroma_settings = ChromaSettings(anonymized_telemetry=False, allow_reset=False)
        try:
            if self.url:
                parsed = urlparse(self.url)
                if not parsed.hostname:
                    raise KnowledgeStoreError(
                        f"RETENTION_CHROMA_URL={self.url!r} is not a URL like http://host:8000"
                    )
                return chromadb.HttpClient(
                    host=parsed.hostname,
                    port=parsed.port or (443 if parsed.scheme == "https" else 8000),
                    ssl=parsed.scheme == "https",
                    settings=chroma_settings,
                )
            self.path.mkdir(parents=True, exist_ok=True)
            return chromadb.PersistentClient(path=str(self.path), settings=chroma_settings)
        except KnowledgeStoreError:
            raise
        except Exception as exc:
            where = self.url or self.path
            raise KnowledgeStoreError(f"cannot open the Chroma store at {where}: {exc}") from exc

    @property
    def collection(self):  # type: ignore[no-untyped-def]
        """The Chroma collection, created on first use with our embedding function."""
        if self._collection is None:
            client = self._client()
            self._collection = client.get_or_create_collection(
                name=self.collection_name,
                embedding_function=_embedding_function(self.embedder),
                configuration={"hnsw": {"space": "cosine"}},
                metadata={"embedding_model": self.embedder.name},
            )
        return self._collection

    def upsert(
        self,
        ids: Sequence[str],
        embeddings: np.ndarray,
        documents: Sequence[str],
        metadatas: Sequence[dict[str, Any]],
        batch: int = 1000,
    ) -> None:
        """Insert or replace passages with precomputed vectors."""
        for start in range(0, len(ids), batch):
            end = start + batch
            self.collection.upsert(
                ids=list(ids[start:end]),
                embeddings=[row for row in embeddings[start:end]],
                documents=list(documents[start:end]),
                metadatas=list(metadatas[start:end]),
            )

    def delete(self, ids: Sequence[str]) -> None:
        """Remove passages by id (missing ids are ignored)."""
        ids = list(ids)
        for start in range(0, len(ids), 1000):
            self.collection.delete(ids=ids[start : start + 1000])

    def query(
        self, vector: np.ndarray, k: int, where: dict[str, Any] | None = None, count: int | None = None
    ) -> list[tuple[str, float]]:
        """Nearest passages to `vector` as (id, cosine similarity), best first.

        `count`: how many vectors the collection holds, when the caller knows (saves a round trip).
        """
        count = self.count() if count is None else count
        if count == 0:
            return []
        result = self.collection.query(
            query_embeddings=[vector],
            n_results=min(k, count),
            where=where or None,
            include=["distances"],
        )
        ids = result["ids"][0]
        distances = result["distances"][0]
        return [(i, 1.0 - float(d)) for i, d in zip(ids, distances)]

    def count(self) -> int:
        """Number of vectors in the collection."""
        return int(self.collection.count())
