"""Hybrid retrieval: dense (Chroma) + BM25 (jieba/bigrams), fused by reciprocal rank."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Sequence

import numpy as np
from pydantic import BaseModel

from knowledge.normalize import index_form

if TYPE_CHECKING:
    from knowledge.base import KnowledgeBase

_HAN = re.compile(r"[\u4e00-\u9fff]")
RRF_K = 30
CANDIDATES = 50
# (dense, lexical) weights in the rank fusion, tuned on bench/data/retrieval_eval.jsonl.
WEIGHTS_ZH = (0.5, 1.0)
WEIGHTS_EN = (0.5, 1.0)


class Passage(BaseModel):
    """A retrieved playbook passage; `text` is the original wording, `source` the file name."""

    id: str
    text: str
    source: str
    section: str
    score: float
    title: str | None = None
    topic: str | None = None
    lang: str | None = None


def is_english(query: str) -> bool:
    """True when the query has (almost) no Chinese characters."""
    han = len(_HAN.findall(query))
    return han == 0 or han / max(len(query.replace(" ", "")), 1) < 0.15


def dense_text(query: str, expansion: Sequence[str]) -> str:
    """What the dense side embeds: the query, plus its first glossary terms for an English one."""
    return query if not expansion else f"{query} ({' '.join(expansion[:8])})"


def search(
    kb: "KnowledgeBase",
    query: str,
    k: int = 5,
    *,
    sources: Sequence[str] | None = None,
    topics: Sequence[str] | None = None,
) -> list[Passage]:
    """The `k` best passages for `query`, optionally only from some sources or topics."""
    query = (query or "").strip()
    if not query:
        return []
    kb.ensure_fresh()
    chunks = kb.chunks
    if not chunks:
        return []
    allowed = _allowed_mask(kb, sources, topics)
    if allowed is not None and not allowed.any():
        return []

    english = is_english(query)
    expansion = kb.glossary.expand(query) if english else []
    lexical_text = index_form(query + (" " + " ".join(expansion) if expansion else ""))
    lexical_scores = kb.lexical.scores(kb.tokenizer.tokens(lexical_text))
    if allowed is not None:
        lexical_scores = np.where(allowed, lexical_scores, 0.0)
    lexical_order = [i for i in np.argsort(-lexical_scores)[:CANDIDATES] if lexical_scores[i] > 0]

    dense_query = dense_text(query, expansion)
    where = _where(sources, topics)
    dense_hits = kb.vectors.query(kb.embed_query(dense_query), CANDIDATES, where, count=len(chunks))
    dense_order = [kb.position[i] for i, _ in dense_hits if i in kb.position]

    # The lexical side (with the glossary for English) is the stronger signal on Chinese
    # playbooks; the dense side rescues paraphrases. See bench/retrieval.py for the figures.
    weights = WEIGHTS_EN if english else WEIGHTS_ZH
    fused: dict[int, float] = {}
    for weight, order in ((weights[0], dense_order), (weights[1], lexical_order)):
        for rank, index in enumerate(order):
            fused[index] = fused.get(index, 0.0) + weight / (RRF_K + rank + 1)
    best = sorted(fused.items(), key=lambda item: -item[1])[:k]
    return [_passage(chunks[i], score) for i, score in best]


def _allowed_mask(kb: "KnowledgeBase", sources, topics) -> np.ndarray | None:  # type: ignore[no-untyped-def]
    if not sources and not topics:
        return None
    src = set(sources or [])
    top = set(topics or [])
    return np.array(
        [(not src or c.source in src) and (not top or (c.topic or "") in top) for c in kb.chunks],
        dtype=bool,
    )


def _where(sources, topics) -> dict | None:  # type: ignore[no-untyped-def]
    clauses = []
    if sources:
        clauses.append({"source": {"$in": list(sources)}})
    if topics:
        clauses.append({"topic": {"$in": list(topics)}})
    if not clauses:
        return None
    return clauses[0] if len(clauses) == 1 else {"$and": clauses}


def _passage(chunk, score: float) -> Passage:  # type: ignore[no-untyped-def]
    return Passage(
        id=chunk.id, text=chunk.text, source=chunk.source, section=chunk.section,
        score=round(float(score), 6), title=chunk.title, topic=chunk.topic, lang=chunk.lang,
    )
