"""Quiz facts: the families of sibling facts a quiz asks about, and the passages that contain them.

Families come from `tools/training/data/quiz_facts.yaml` (caps, thresholds, windows, time limits,
KPI formulas, tenure rewards, objection responses) and from the measure catalogue
(`tools/data/measures.yaml`: code and title). A fact is only asked when a playbook passage of the
knowledge base contains it: `find_support` looks through the indexed passages (the playbook's own
topic and the quiz language first) for one whose text holds the fact and its context strings
(case, spaces and markdown emphasis ignored); a searcher that exposes no chunks is asked through
retrieval instead.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from tools.citations import Searcher
from tools.schemas import Citation

Lang = Literal["zh", "en"]
DATA_DIR = Path(__file__).resolve().parent / "data"
_STAGES = {"prevention": ("预防", "prevention"), "maintenance": ("维系", "maintenance"),
           "win_back": ("挽留", "win-back")}
_TYPES = {"marketing": ("营销", "marketing"), "service": ("服务", "service"), "management": ("管理", "management")}


class Fact(BaseModel):
    """One askable fact in one language: what is asked, the answer, and what its passage must contain."""

    model_config = ConfigDict(frozen=True)
    family: str
    topic: str
    key: str  # stable id within the family (member index or code)
    question: str
    answer: str
    explanation: str
    fact: str  # the string the cited passage must contain
    contexts: tuple[tuple[str, ...], ...] = ((),)  # alternatives: all strings of one must appear too
    accept: tuple[str, ...] = ()
    short: bool = False
    query: str = ""
    playbook_topics: tuple[str, ...] = ()
    pool: tuple[str, ...] = ()  # the family's answers and extra values: where distractors come from


class _Member(BaseModel):
    model_config = ConfigDict(extra="forbid")
    subject: dict[Lang, str]
    answer: dict[Lang, str]
    fact: dict[Lang, str] | None = None
    context: dict[Lang, list[str]] = Field(default_factory=dict)
    accept: list[str] = Field(default_factory=list)


class _Family(BaseModel):
    model_config = ConfigDict(extra="forbid")
    topic: str
    playbook_topics: list[str]
    short: bool = False
    question: dict[Lang, str]
    explanation: dict[Lang, str]
    query: dict[Lang, str]
    members: list[_Member] = Field(..., min_length=2)
    extra: dict[Lang, list[str]] = Field(default_factory=dict)


class _ObjectionItem(BaseModel):
    model_config = ConfigDict(extra="forbid")
    answer: dict[Lang, str]
    fact: dict[Lang, str]


class _Objections(BaseModel):
    model_config = ConfigDict(extra="forbid")
    question: dict[Lang, str]
    explanation: dict[Lang, str]
    items: dict[str, _ObjectionItem]


class _Measures(BaseModel):
    model_config = ConfigDict(extra="forbid")
    playbook_topics: list[str]
    question: dict[Lang, str]
    explanation: dict[Lang, str]


class FactFile(BaseModel):
    """tools/training/data/quiz_facts.yaml, validated."""

    model_config = ConfigDict(extra="forbid")
    version: Literal[1]
    families: dict[str, _Family]
    objections: _Objections
    measures: _Measures


@lru_cache(maxsize=2)
def load_fact_file(path: Path = DATA_DIR / "quiz_facts.yaml") -> FactFile:
    """The quiz fact families (validated; cached)."""
    import yaml

    return FactFile.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))


def _family_facts(name: str, fam: _Family, lang: Lang) -> list[Fact]:
    pool = tuple(dict.fromkeys([m.answer[lang] for m in fam.members] + fam.extra.get(lang, [])))
    out = []
    for i, m in enumerate(fam.members):
        answer = m.answer[lang]
        out.append(Fact(
            family=name, topic=fam.topic, key=str(i),
            question=fam.question[lang].format(subject=m.subject[lang]), answer=answer,
            explanation=fam.explanation[lang].format(subject=m.subject[lang], answer=answer),
            fact=(m.fact or m.answer)[lang], contexts=(tuple(m.context.get(lang, [])),),
            accept=tuple(m.accept), short=fam.short, query=fam.query[lang],
            playbook_topics=tuple(fam.playbook_topics), pool=pool,
        ))
    return out


def _objection_facts(spec: _Objections, lang: Lang) -> list[Fact]:
    from tools.scripts import load_objections

    table = load_objections().objections
    pool = tuple(item.answer[lang] for code, item in spec.items.items() if code in table)
    out = []
    for code, item in spec.items.items():
        if code not in table:
            continue
        said = (table[code].zh if lang == "zh" else table[code].en).objection
        answer = item.answer[lang]
        out.append(Fact(
            family="objections", topic="objections", key=code,
            question=spec.question[lang].format(objection=said), answer=answer,
            explanation=spec.explanation[lang].format(answer=answer), fact=item.fact[lang],
            query=f"{table[code].query[lang]} {item.fact[lang]}", playbook_topics=("objections",), pool=pool,
        ))
    return out


def _measure_facts(spec: _Measures, lang: Lang) -> list[Fact]:
    from tools.catalogue import load_catalogue

    measures = load_catalogue().measures
    out = []
    for code, m in measures.items():
        title = m.title_zh if lang == "zh" else m.title_en
        siblings = [c for c, o in measures.items() if c != code and o.stage == m.stage and o.type == m.type]
        cousins = [c for c, o in measures.items() if c != code and o.stage == m.stage and o.type != m.type]
        stage = _STAGES.get(m.stage, (m.stage, m.stage))[lang == "en"]
        kind = _TYPES.get(m.type, (m.type, m.type))[lang == "en"]
        contexts = ((m.title_zh,),) if lang == "zh" else ((m.title_en,), (m.title_zh,))
        out.append(Fact(
            family=f"measures_{m.stage}", topic="measures", key=code,
            question=spec.question[lang].format(title=title), answer=code,
            explanation=spec.explanation[lang].format(code=code, title=title, stage=stage, type=kind),
            fact=code, contexts=contexts, short=True, query=f"{code} {m.title_zh} {m.title_en}",
            playbook_topics=tuple(spec.playbook_topics), pool=(code, *siblings, *cousins),
        ))
    return out


@lru_cache(maxsize=4)
def all_facts(lang: Lang) -> tuple[Fact, ...]:
    """Every askable fact in `lang` (before checking that a passage supports it)."""
    spec = load_fact_file()
    facts: list[Fact] = []
    for name, fam in spec.families.items():
        facts += _family_facts(name, fam, lang)
    facts += _objection_facts(spec.objections, lang)
    facts += _measure_facts(spec.measures, lang)
    return tuple(facts)


def quiz_topics() -> list[str]:
    """The quiz topics, in file order."""
    return list(dict.fromkeys(f.topic for f in all_facts("en")))


# --- support: the passage that contains a fact ------------------------------------------------


def squash(text: str) -> str:
    """Text for containment checks: no markdown emphasis, no whitespace, case folded."""
    return re.sub(r"\s+", "", text.replace("*", "").replace("`", "")).casefold()


def supports(text: str, fact: str, context: Sequence[str] = ()) -> bool:
    """Whether a passage text contains the fact and every context string."""
    body = squash(text)
    return all(squash(s) in body for s in (fact, *context))


def _base(searcher: Any) -> Any:
    """The knowledge base behind memoising wrappers (tools.scripts.CachedSearcher)."""
    return getattr(searcher, "inner", searcher)


_CACHE: dict[tuple, Citation | None] = {}
_CACHE_LOCK = threading.Lock()


def _version(kb: Any) -> Any:
    version = getattr(getattr(kb, "manifest", None), "version", None)
    return version() if callable(version) else None


def find_support(searcher: Searcher, fact: Fact, lang: Lang) -> Citation | None:
    """A passage in `lang` containing the fact (and one of its contexts); None if none does."""
    kb = _base(searcher)
    key = (id(kb), _version(kb), lang, fact.fact, fact.contexts, fact.playbook_topics, fact.query)
    with _CACHE_LOCK:
        if key in _CACHE:
            return _CACHE[key]
    # The indexed chunks are scanned first: exact, deterministic and independent of the embedding
    # model; a searcher without chunks (another backend) is asked through retrieval instead.
    found = _scan_support(kb, fact, lang) if _scannable(kb) else _search_support(searcher, fact, lang)
    with _CACHE_LOCK:
        if len(_CACHE) > 20_000:
            _CACHE.clear()
        _CACHE[key] = found
    return found


def _spread(text: str, fact: Fact) -> int:
    """How far apart the fact and its context sit in a passage (smaller: the passage states it plainly)."""
    body, target = squash(text), squash(fact.fact)
    spots = [m.start() for m in re.finditer(re.escape(target), body)]
    best = 10**9
    for ctx in fact.contexts:
        if not spots or not supports(text, fact.fact, ctx):
            continue
        total = 0
        for word in ctx:
            places = [m.start() for m in re.finditer(re.escape(squash(word)), body)]
            total += min(abs(a - b) for a in spots for b in places)
        best = min(best, total)
    return best


def _holds(text: str, fact: Fact) -> bool:
    return any(supports(text, fact.fact, ctx) for ctx in fact.contexts)


def _search_support(searcher: Searcher, fact: Fact, lang: Lang) -> Citation | None:
    query = f"{fact.query} {fact.fact} {' '.join(fact.contexts[0])}".strip()
    topics = list(fact.playbook_topics) or None
    passages = searcher.search(query, k=10, topics=topics)
    hits = [p for p in passages if getattr(p, "lang", None) in (None, lang) and _holds(p.text, fact)]
    if not hits:
        return None
    p = hits[0]
    return Citation(id=p.id, source=p.source, section=p.section, text=p.text)


def _scannable(kb: Any) -> bool:
    return hasattr(kb, "ensure_fresh") and hasattr(kb, "chunks")


def _scan_support(kb: Any, fact: Fact, lang: Lang) -> Citation | None:
    kb.ensure_fresh()
    # Only passages in the quiz's language (or of unknown language): a trainee reads what is cited.
    chunks = [c for c in kb.chunks if getattr(c, "lang", None) in (None, lang) and _holds(c.text, fact)]
    topics = set(fact.playbook_topics)

    def rank(c: Any) -> tuple[bool, bool, int]:
        return (getattr(c, "lang", None) != lang, bool(topics) and getattr(c, "topic", None) not in topics,
                _spread(c.text, fact))

    chunks.sort(key=rank)  # stable: manifest order breaks ties
    if not chunks:
        return None
    c = chunks[0]
    return Citation(id=c.id, source=c.source, section=c.section, text=c.text)
