"""What the tools need from the knowledge base: a searcher returning passages, turned into citations."""

from __future__ import annotations

from typing import Protocol, Sequence

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


def cite(searcher: Searcher, query: str, k: int = 2, topics: Sequence[str] | None = None) -> list[Citation]:
    """Citations for `query`, preferring the given playbook topics and falling back to all passages."""
    passages = searcher.search(query, k=k, topics=topics) if topics else []
    if not passages:
        passages = searcher.search(query, k=k)
    return [Citation(id=p.id, source=p.source, section=p.section, text=p.text) for p in passages]
