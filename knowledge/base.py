"""KnowledgeBase: the manifest, the vector store and the lexical index of one embedding model.

Each embedding model gets its own index folder and Chroma collection, so changing the model
never mixes vectors of different spaces; ingesting builds the new one.
"""

from __future__ import annotations

import hashlib
import re
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from knowledge.embeddings import Embedder
from knowledge.glossary import DEFAULT_GLOSSARY, load_glossary
from knowledge.ingest import IngestReport, ingest
from knowledge.lexical import LexicalIndex, Tokenizer
from knowledge.manifest import ChunkRow, Manifest
from knowledge.retrieve import Passage, search
from knowledge.store import VectorStore


QUERY_CACHE_SIZE = 4096


def _slug(text: str) -> str:
    tail = re.sub(r"[^a-z0-9]+", "-", Path(text).name.lower()).strip("-")[:40] or "model"
    return f"{tail}-{hashlib.sha1(text.encode()).hexdigest()[:6]}"


class KnowledgeBase:
    """Ingest playbooks and search them. Cheap to construct: stores open on first use."""

    def __init__(
        self,
        root: Path,
        embedder: Embedder,
        *,
        collection: str = "playbooks",
        chroma_url: str | None = None,
        glossary_path: Path = DEFAULT_GLOSSARY,
        chunk_size: int = 320,
        chunk_overlap: int = 1,
        max_file_bytes: int = 25_000_000,
        batch_size: int = 32,
    ):
        key = f"{collection}-{_slug(embedder.name)}"
        self.directory = root / key
        self.embedder = embedder
        self.chunk_size = chunk_size
        self.chunk_overlap = chunk_overlap
        self.max_file_bytes = max_file_bytes
        self.batch_size = batch_size
        self.glossary = load_glossary(glossary_path)
        self.tokenizer = Tokenizer(user_words=self.glossary.chinese_terms())
        self.vectors = VectorStore(self.directory / "chroma", key, embedder, url=chroma_url)
        self.lexical = LexicalIndex(self.directory / "lexical", self.tokenizer)
        self._manifest: Manifest | None = None
        self.chunks: list[ChunkRow] = []
        self.position: dict[str, int] = {}
        self._loaded_version: int | None = None
        self._lock = threading.RLock()
        self._query_cache: OrderedDict[str, np.ndarray] = OrderedDict()

    @property
    def manifest(self) -> Manifest:
        """The manifest database (opened on first use)."""
        if self._manifest is None:
            with self._lock:
                if self._manifest is None:
                    self._manifest = Manifest(self.directory / "manifest.sqlite")
        return self._manifest

    # --- ingest ------------------------------------------------------------------------
    def ingest(self, paths: Iterable[Path], *, prune: bool = False, progress: bool | None = None) -> IngestReport:
        """Index new and changed files under `paths`; `prune` drops sources no longer present."""
        with self._lock:
            return ingest(self, list(paths), prune=prune, progress=progress)

    def embed_passages(self, texts: Sequence[str]) -> tuple[np.ndarray, int]:
        """Vectors for passages, reusing cached ones; returns (vectors, how many were computed)."""
        keys = [hashlib.sha256(f"{self.embedder.name}\x00{t}".encode()).hexdigest() for t in texts]
        cached = self.manifest.cached_embeddings(set(keys))
        missing = sorted({k: t for k, t in zip(keys, texts) if k not in cached}.items())
        for start in range(0, len(missing), self.batch_size):
            part = missing[start : start + self.batch_size]
            vectors = self.embedder.embed_documents([t for _, t in part])
            fresh = {k: v for (k, _), v in zip(part, vectors)}
            self.manifest.cache_embeddings(fresh)
            cached.update(fresh)
        if not texts:
            return np.zeros((0, 0), dtype=np.float32), 0
        return np.stack([cached[k] for k in keys]), len(missing)

    # --- search ------------------------------------------------------------------------
    def refresh(self) -> None:
        """Reload chunks and rebuild the lexical index if the manifest changed."""
        with self._lock:
            version = self.manifest.version()
            if self._loaded_version == version:
                return
            self.chunks = list(self.manifest.iter_chunks())
            self.position = {c.id: i for i, c in enumerate(self.chunks)}
            ids = [c.id for c in self.chunks]
            if not (self.lexical.load() and self.lexical.version == version and self.lexical.ids == ids):
                self.lexical.build(ids, [c.index_text for c in self.chunks], version)
            self._loaded_version = version

    def ensure_fresh(self) -> None:
        """Make sure the in-memory view matches the manifest (cheap when nothing changed)."""
        if self._loaded_version is None or self._loaded_version != self.manifest.version():
            self.refresh()

    def embed_query(self, text: str) -> np.ndarray:
        """The query vector (recent queries are remembered: scenario queries repeat across users)."""
        with self._lock:
            cached = self._query_cache.get(text)
            if cached is not None:
                self._query_cache.move_to_end(text)
                return cached
        vector = self.embedder.embed_query(text)
        with self._lock:
            self._query_cache[text] = vector
            while len(self._query_cache) > QUERY_CACHE_SIZE:
                self._query_cache.popitem(last=False)
        return vector

    def warm_queries(self, queries: Iterable[str], *, progress: bool = False) -> int:
        """Put the vectors of known, repeated queries (the tools' citation templates) in memory.

        Vectors are kept in the manifest's embedding cache under a query key, so only the first start
        after an install or a model change computes them; returns how many were computed.
        """
        from knowledge.retrieve import dense_text, is_english

        texts = list(dict.fromkeys(
            dense_text(q, self.glossary.expand(q) if is_english(q) else []) for q in (x.strip() for x in queries) if q
        ))
        keys = {t: hashlib.sha256(f"query\x00{self.embedder.name}\x00{t}".encode()).hexdigest() for t in texts}
        stored = self.manifest.cached_embeddings(set(keys.values()))
        missing = [t for t in texts if keys[t] not in stored]
        fresh: dict[str, np.ndarray] = {}
        from tqdm import tqdm

        for text in tqdm(missing, desc="query templates", unit="q", disable=not progress or not missing):
            fresh[keys[text]] = np.asarray(self.embedder.embed_query(text), dtype=np.float32)
        if fresh:
            self.manifest.cache_embeddings(fresh)
        stored.update(fresh)
        with self._lock:
            for text in texts:
                self._query_cache[text] = stored[keys[text]]
                self._query_cache.move_to_end(text)
            while len(self._query_cache) > QUERY_CACHE_SIZE:
                self._query_cache.popitem(last=False)
        return len(missing)

    def search(self, query: str, k: int = 5, *, sources: Sequence[str] | None = None,
               topics: Sequence[str] | None = None) -> list[Passage]:
        """Hybrid search; see knowledge.retrieve.search."""
        return search(self, query, k, sources=sources, topics=topics)

    def passages(self, ids: Sequence[str]) -> list[Passage]:
        """Passages by id (unknown ids are left out), in the order asked."""
        self.ensure_fresh()
        return [
            Passage(id=c.id, text=c.text, source=c.source, section=c.section, score=0.0,
                    title=c.title, topic=c.topic, lang=c.lang)
            for c in (self.chunks[self.position[i]] for i in ids if i in self.position)
        ]

    def warm(self) -> None:
        """Load the index, the tokenizer and the model now rather than on the first query."""
        self.ensure_fresh()
        self.tokenizer.tokens("预热")
        self.embed_query("warm up")
        self.vectors.count()
