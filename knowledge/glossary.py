"""Bilingual domain glossary: expands English queries with the Chinese terms the playbooks use."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import yaml

from knowledge.errors import PlaybookError

DEFAULT_GLOSSARY = Path(__file__).resolve().parent / "glossary.yaml"


@dataclass
class Glossary:
    """English phrases mapped to Chinese index terms; longest phrases match first."""

    entries: list[tuple[str, list[str]]] = field(default_factory=list)

    def expand(self, query: str) -> list[str]:
        """Chinese terms for the English phrases found in `query` (each term once, in order).

        Phrases match on crude stems ("forwarding calls" matches "forward call"), longest first,
        and a matched stretch of the query is not matched again by a shorter phrase.
        """
        consumed = f" {stem_phrase(query)} "
        found: list[str] = []
        for phrase, terms in self.entries:
            pattern = f" {phrase} "
            if pattern in consumed:
                consumed = consumed.replace(pattern, " \x00 ")
                found.extend(t for t in terms if t not in found)
        return found

    def chinese_terms(self) -> list[str]:
        """Every Chinese term, for the word segmenter's user dictionary."""
        terms: list[str] = []
        for _, zh in self.entries:
            terms.extend(zh)
        return sorted(set(terms))


def _stem(word: str) -> str:
    """A crude English stem: enough to match plurals and -ing/-ed forms of glossary phrases."""
    for suffix, keep in (("ies", "y"), ("ing", ""), ("ed", ""), ("es", ""), ("s", "")):
        if len(word) > len(suffix) + 2 and word.endswith(suffix) and not word.endswith("ss"):
            return word[: -len(suffix)] + keep
    return word


def stem_phrase(text: str) -> str:
    """Lower-case, strip punctuation and stem every word."""
    return " ".join(_stem(w) for w in re.sub(r"[^a-z0-9%]+", " ", text.lower()).split())


@lru_cache(maxsize=8)
def load_glossary(path: Path = DEFAULT_GLOSSARY) -> Glossary:
    """Read a glossary YAML (`terms: [{en: [...], zh: [...]}, ...]`)."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except FileNotFoundError:
        return Glossary()
    except yaml.YAMLError as exc:
        raise PlaybookError(f"glossary {path} is not valid YAML: {exc}") from exc
    entries: list[tuple[str, list[str]]] = []
    for i, item in enumerate(data.get("terms") or []):
        en, zh = item.get("en") or [], item.get("zh") or []
        if isinstance(en, str):
            en = [en]
        if isinstance(zh, str):
            zh = [zh]
        if not zh:
            raise PlaybookError(f"glossary {path}: entry {i} has no Chinese terms")
        for phrase in en:
            norm = stem_phrase(str(phrase))
            if norm:
                entries.append((norm, [str(t) for t in zh]))
    entries.sort(key=lambda e: -len(e[0]))
    return Glossary(entries)
