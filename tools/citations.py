"""What the tools need from the knowledge base: a searcher returning passages, turned into citations."""

from __future__ import annotations

import threading
import weakref
from typing import Any, Iterator, Protocol, Sequence

from knowledge.retrieve import Passage
from tools.schemas import Citation


class Searcher(Protocol):
    """Anything that searches the playbooks (knowledge.base.KnowledgeBase does)."""

    def search(
        self, query: str, k: int = 5, *, sources: Sequence[str] | None = None,
        topics: Sequence[str] | None = None,
    ) -> list[Passage]:
        """The best passages for a query."""
        ...


class CachedSearcher:
    """A searcher that remembers results until the knowledge base changes (scripts repeat queries)."""

    def __init__(self, inner: Searcher, max_entries: int = 4096) -> None:
        self.inner = inner
        self.max_entries = max_entries
        self._cache: dict[tuple, tuple] = {}
        self._version: object = None
        self._lock = threading.Lock()

    def _kb_version(self) -> object:
        version = getattr(getattr(self.inner, "manifest", None), "version", None)
        return version() if callable(version) else None

    def search(self, query: str, k: int = 5, *, sources: Sequence[str] | None = None,
               topics: Sequence[str] | None = None) -> list[Any]:
        """The inner searcher's passages, from memory when the same query was asked before."""
        version = self._kb_version()
        if version is None:  # no way to tell when the index changes: never cache
            return self.inner.search(query, k, sources=sources, topics=topics)
        key = (query, k, tuple(sources or ()), tuple(topics or ()))
        with self._lock:
            if version != self._version:
                self._cache.clear()
                self._version = version
            hit = self._cache.get(key)
        if hit is not None:
            return list(hit)
        found = self.inner.search(query, k, sources=sources, topics=topics)
        with self._lock:
            if len(self._cache) >= self.max_entries:
                self._cache.clear()
            self._cache[key] = tuple(found)
        return list(found)


_WRAPPERS: weakref.WeakKeyDictionary[Any, CachedSearcher] = weakref.WeakKeyDictionary()
_WRAPPERS_LOCK = threading.Lock()


def cached_searcher(searcher: Searcher) -> Searcher:
    """The shared memoising wrapper of `searcher` (the same one for the same knowledge base)."""
    if isinstance(searcher, CachedSearcher):
        return searcher
    try:
        with _WRAPPERS_LOCK:
            wrapper = _WRAPPERS.get(searcher)
            if wrapper is None:
                wrapper = _WRAPPERS[searcher] = CachedSearcher(searcher)
            return wrapper
    except TypeError:  # not weak-referenceable
        return CachedSearcher(searcher)


def cite(searcher: Searcher, query: str, k: int = 2, topics: Sequence[str] | None = None) -> list[Citation]:
    """Citations for `query`, preferring the given playbook topics and falling back to all passages."""
    passages = searcher.search(query, k=k, topics=topics) if topics else []
    if not passages:
        passages = searcher.search(query, k=k)
    return [Citation(id=p.id, source=p.source, section=p.section, text=p.text) for p in passages]


def template_queries() -> list[str]:
    """Every fixed retrieval query of the tools' data: script sections, objections, offer families and
    measures (tools/data/*.yaml), in both languages. Warming them keeps answers off the embedder."""
    import yaml

    from tools.catalogue import DEFAULT_CATALOGUE_PATH

    data = DEFAULT_CATALOGUE_PATH.parent
    found: list[str] = []
    for path in (data / "scripts.yaml", data / "objections.yaml", DEFAULT_CATALOGUE_PATH):
        found += _queries(yaml.safe_load(path.read_text(encoding="utf-8")))
    return list(dict.fromkeys(found))


def _queries(node: Any, key: str = "") -> Iterator[str]:
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _queries(v, str(k) if str(k) not in ("zh", "en") else key)
    elif isinstance(node, list):
        for item in node:
            yield from _queries(item, key)
    elif isinstance(node, str) and key in ("query", "citation_query") and node.strip():
        yield node.strip()
