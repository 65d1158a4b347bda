"""Extractive summaries for the offline engine: pick the sentences of retrieved passages that answer.

Sentences are scored by overlap with the question's tokens (Chinese-aware), preferring the top
passages and the user's language; nothing is paraphrased, so every sentence keeps its citation.
"""

from __future__ import annotations

import math
import re
from typing import Any

from assistant.toolkit import short_id
from knowledge.normalize import index_form

_SPLIT = re.compile(r"(?<=[。！？；])|(?<=[.!?;])\s+(?=[A-Z0-9\"“(（*\u4e00-\u9fff])")
_HAN = re.compile(r"[\u4e00-\u9fff]")
_META = re.compile(r"本手册|本章|本节|this (?:playbook|chapter|section)", re.IGNORECASE)
_BULLET = re.compile(r"^\s*(?:#+|>|[-*+•]|\d+[.)、]|[（(]?[一二三四五六七八九十]+[）)、.])\s*")


def sentences(text: str) -> list[str]:
    """A passage cut into sentences (Chinese and English) and table rows, without Markdown furniture."""
    out: list[str] = []
    text = re.sub(r"\|\s+\|", "|\n|", text.replace("**", ""))  # chunking joins table rows with spaces
    for line in text.splitlines():
        prose, bar, table = line.partition("|")
        parts = _SPLIT.split(_BULLET.sub("", prose.strip()))
        if bar:
            cells = [c.strip() for c in table.split("|")]
            parts.append(" | ".join(c for c in cells if c and not set(c) <= set("-: ")))
        for part in parts:
            part = part.strip()
            if len(_HAN.findall(part)) >= 6 or len(part.split()) >= 5:
                out.append(part)
    return out


def _weight(token: str) -> float:
    if re.match(r"[\u4e00-\u9fff]", token):
        return 0.3 if len(token) == 1 else float(min(len(token), 4))
    return 1.5 if len(token) >= 6 or token[0].isdigit() else 1.0


def in_language(sentence: str, lang: str) -> bool:
    """True when a sentence is written in `lang` (mostly Chinese characters for zh)."""
    han = len(_HAN.findall(sentence))
    return (han >= 0.3 * len(sentence.replace(" ", ""))) == (lang == "zh")


_QUANTITY = re.compile(r"多少|多久|多长|几[天个月年次成位人通]|比例|占比|百分|阈值|how (?:many|much|long|soon|often|far)|"
                       r"what (?:share|percentage|proportion|threshold)|\brate\b")


def score_sentences(query_tokens: set[str], passages: list[dict[str, Any]], tokenize: Any,
                    lang: str, query: str = "") -> list[tuple[float, int, int, str]]:
    """(score, passage rank, position, sentence) for every sentence of the passages.

    Overlap with the query's tokens, each weighted by its length and by how rare it is among
    these sentences (a word every sentence shares says little), plus a prior for the passage's
    rank; sentences in the answer's language and, for "how many" questions, sentences with
    numbers come first.
    """
    rows = [(rank, pos, sent, set(tokenize(index_form(sent)))) for rank, passage in enumerate(passages)
            for pos, sent in enumerate(sentences(passage.get("text") or ""))]
    df = {t: sum(1 for r in rows if t in r[3]) for t in query_tokens}
    wants_number = bool(_QUANTITY.search(index_form(query)))
    scored = []
    for rank, pos, sent, tokens in rows:
        overlap = query_tokens & tokens
        score = sum(_weight(t) * math.log(1.0 + len(rows) / (1.0 + df[t])) for t in overlap)
        if score > 0:
            score = score / (1.0 + len(sent) / 400.0) + 0.6 * (len(passages) - rank) / len(passages)
            score *= 1.0 if in_language(sent, lang) else 0.5
            score *= 0.3 if _META.match(sent) else 1.0  # "this playbook covers..." states no rule
            score *= 1.3 if wants_number and re.search(r"\d", sent) else 1.0
        scored.append((round(score, 4), rank, pos, sent))
    return scored


def _similar(a: str, b: str) -> bool:
    """Near-duplicate sentences (the same rule quoted by two passages)."""
    x, y = (re.sub(r"[\W_]+", "", index_form(t)) for t in (a, b))
    if x in y or y in x:
        return True
    grams = lambda t: {t[i:i + 2] for i in range(len(t) - 1)}  # noqa: E731
    gx, gy = grams(x), grams(y)
    return bool(gx and gy) and len(gx & gy) / len(gx | gy) > 0.6


def summarise(scored: list[tuple[float, int, int, str]], most: int = 4, lead: int = 3,
              lang: str | None = None) -> list[tuple[int, str]]:
    """Up to `most` best sentences (at most 2 per passage, no near-duplicates), in passage order.

    The `lead` top passages (the retriever's best hits) each contribute their best sentence first.
    With `lang`, sentences in that language are used alone when there are at least two of them.
    """
    ranked = sorted((s for s in scored if s[0] > 0), key=lambda s: (-s[0], s[1], s[2]))
    own = [s for s in ranked if lang and in_language(s[3], lang)]
    ranked = own if len(own) >= 2 else ranked
    chosen: list[tuple[float, int, int, str]] = []
    firsts = [s for r in range(lead) for s in [next((x for x in ranked if x[1] == r), None)] if s]
    for s in firsts + ranked:
        if len(chosen) >= most:
            break
        if s in chosen or sum(1 for c in chosen if c[1] == s[1]) >= 2 or any(_similar(s[3], c[3]) for c in chosen):
            continue
        chosen.append(s)
    chosen.sort(key=lambda s: (s[1], s[2]))
    return [(rank, clip(text)) for _, rank, _, text in chosen]


def clip(text: str, limit: int = 180) -> str:
    """Shorten a long sentence for a summary line."""
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def source_line(passage: dict[str, Any]) -> str:
    """'[a1b2c3d4] 08-renewal.zh.md § 续约时机' for the sources list."""
    section = f" § {passage['section']}" if passage.get("section") else ""
    return f"- [{short_id(passage['id'])}] {passage.get('source')}{section}"
