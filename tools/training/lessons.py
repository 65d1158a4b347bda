"""Lessons: a cited walkthrough of one retention scenario, built from the playbooks.

A lesson has five sections - goal, call structure, key lines, objections and responses, do-nots -
and every section cites the playbook passages it rests on (retrieved through the searcher, the
lesson's language first). The outline lines are ours (`tools/training/data/lessons.yaml`); the key
lines, objections and do-nots are the ones the call-script generator uses (tools/data/scripts.yaml,
tools/data/objections.yaml), so a trainee learns exactly what the scripts will say.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field

from tools.citations import Searcher
from tools.errors import InvalidInput
from tools.schemas import Citation
from tools.scripts import (
    SECTION_ORDER, _holds, cached_searcher, cite_in_language, fill, load_objections, load_scaffold,
)

Lang = Literal["zh", "en"]
DATA_DIR = Path(__file__).resolve().parent / "data"
LESSON_SCENARIOS = ("renewal", "routine", "campus", "silent", "port_out", "complaint_recovery", "new_customer")
SECTION_TITLES = {
    "goal": ("目标", "Goal"), "call_structure": ("通话结构", "Call structure"),
    "key_lines": ("关键话术", "Key lines"), "objections": ("常见异议与回应", "Objections and responses"),
    "do_not": ("禁止事项", "Do not"),
}


class LessonSection(BaseModel):
    """One section of a lesson: what to learn, and the passages it comes from."""

    name: Literal["goal", "call_structure", "key_lines", "objections", "do_not"]
    title: str
    points: list[str]
    citations: list[Citation] = Field(default_factory=list)


class LessonObjection(BaseModel):
    """A common objection in the scenario and the playbook's recommended response."""

    code: str
    objection: str
    response: str
    citations: list[Citation] = Field(default_factory=list)


class Lesson(BaseModel):
    """A cited walkthrough of one scenario."""

    scenario: str
    lang: Lang
    title: str
    sections: list[LessonSection]
    objections: list[LessonObjection]

    def citations(self) -> list[Citation]:
        """Every cited passage, each once, in order of appearance."""
        seen: dict[str, Citation] = {}
        for section in self.sections:
            for c in section.citations:
                seen.setdefault(c.id, c)
        for o in self.objections:
            for c in o.citations:
                seen.setdefault(c.id, c)
        return list(seen.values())


class LessonSummary(BaseModel):
    """A scenario that has a lesson."""

    scenario: str
    title_zh: str
    title_en: str
    topic: str


@lru_cache(maxsize=2)
def load_outlines(path: Path = DATA_DIR / "lessons.yaml") -> dict[str, Any]:
    """The lesson outlines (cached)."""
    import yaml

    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    missing = [s for s in LESSON_SCENARIOS if s not in data.get("scenarios", {})]
    if missing:
        raise ValueError(f"{path}: scenarios missing: {', '.join(missing)}")
    return data


def list_lessons() -> list[LessonSummary]:
    """The scenarios that have lessons, with their names."""
    scenarios = load_scaffold()["scenarios"]
    return [LessonSummary(scenario=s, title_zh=scenarios[s]["name"]["zh"], title_en=scenarios[s]["name"]["en"],
                          topic=scenarios[s]["topic"]) for s in LESSON_SCENARIOS]


def sentences(text: str) -> list[str]:
    """The sentences of a passage (no table rows or headings), markdown removed."""
    out = []
    for line in text.replace("**", "").replace("`", "").splitlines():
        line = line.strip().lstrip("-•>#0123456789. ").strip()
        if not line or line.startswith("|"):
            continue
        parts = (part.strip().lstrip("-•> ").strip() for part in re.split(r"(?<=[。！？；])|(?<=[.!?])\s+", line))
        out += [part for part in parts if len(part) >= 12]
    return out


def _clip(sentence: str, limit: int = 220) -> str:
    return sentence if len(sentence) <= limit else sentence[: limit - 1].rstrip() + "…"


def first_sentence(text: str, limit: int = 220) -> str | None:
    """The first real sentence of a passage (no table rows or headings), markdown removed."""
    found = sentences(text)
    return _clip(found[0], limit) if found else None


def _generic_values(lang: Lang) -> dict[str, str | None]:
    """Placeholder values for a lesson: no subscriber, so only the neutral ones are known."""
    zh = lang == "zh"
    return {"agent": "（您的姓名）" if zh else "(your name)",
            "work_intro": "，工号××××" if zh else " (work number ××××)",
            "who": "您" if zh else "you"}


def _excerpts(citations: list[Citation], query: str, most: int = 2) -> list[str]:
    """The cited passages' sentences that share most of the query's terms (the first ones on a tie)."""
    terms = [t.casefold() for t in query.split() if len(t) > 1]
    scored = []
    for c in citations:
        for sentence in sentences(c.text):
            hits = sum(t in sentence.casefold() for t in terms)
            scored.append((-hits, len(scored), sentence))
    picked = sorted(scored)[:most]
    return [_clip(s) for _, _, s in sorted(picked, key=lambda x: x[1])]


def build_lesson(scenario: str, lang: Lang, searcher: Searcher | None) -> Lesson:
    """The cited lesson for one scenario in zh or en (searcher None: the outline without citations)."""
    if lang not in ("zh", "en"):
        raise InvalidInput(f"unknown language {lang!r}; expected zh or en")
    if scenario not in LESSON_SCENARIOS:
        raise InvalidInput(f"unknown scenario {scenario!r}; expected one of {', '.join(LESSON_SCENARIOS)}")
    outline, scaffold = load_outlines(), load_scaffold()
    spec, sc = outline["scenarios"][scenario], scaffold["scenarios"][scenario]
    search = cached_searcher(searcher) if searcher is not None else None
    i = 0 if lang == "zh" else 1
    values, flags = _generic_values(lang), set(spec.get("flags") or [])

    def section(name: str, points: list[str], citations: list[Citation]) -> LessonSection:
        return LessonSection(name=name, title=SECTION_TITLES[name][i], points=points, citations=citations)

    goal_cites = cite_in_language(search, spec["goal_query"][lang], [sc["topic"]], lang, k=2)
    goal = section("goal", [spec["goal"][lang], *_excerpts(goal_cites, spec["goal_query"][lang])], goal_cites)

    steps = [f"{scaffold['sections'][name]['title'][lang]}：{outline['steps'][name][lang]}" if lang == "zh"
             else f"{scaffold['sections'][name]['title'][lang]}: {outline['steps'][name][lang]}"
             for name in SECTION_ORDER]
    structure = section("call_structure", steps,
                        cite_in_language(search, outline["steps_query"][lang], ["call-structure"], lang, k=2))

    lines: list[str] = []
    for name in SECTION_ORDER:
        for entry in scaffold["sections"][name].get("scenario_lines", {}).get(scenario, {}).get(lang, []):
            text, when = (entry, None) if isinstance(entry, str) else (entry["text"], entry.get("when"))
            line = fill(text, values) if _holds(when, flags) else None
            if line and line not in lines:
                lines.append(line)
    key_cites = cite_in_language(search, sc["query"][lang], [sc["topic"]], lang, k=2)
    key_lines = section("key_lines", lines or _excerpts(key_cites, sc["query"][lang]), key_cites)

    objections = _objections(spec.get("objections") or [], scenario, lang, values, search)
    obj_section = section("objections", [f"{o.objection} → {o.response}" for o in objections],
                          list({c.id: c for o in objections for c in o.citations[:1]}.values()))

    do_not = [outline["do_not_cap"][lang]]
    for item in scaffold["do_not"]:
        line = fill(item[lang], values) if _holds(item.get("when"), flags) else None
        if line and line not in do_not:
            do_not.append(line)
    do_not_section = section("do_not", do_not,
                             cite_in_language(search, outline["do_not_query"][lang], ["objections"], lang, k=2))
    title = f"{sc['name'][lang]}课程" if lang == "zh" else f"Lesson: {sc['name'][lang]}"
    return Lesson(scenario=scenario, lang=lang, title=title,
                  sections=[goal, structure, key_lines, obj_section, do_not_section], objections=objections)


def _objections(codes: list[str], scenario: str, lang: Lang, values: dict[str, str | None],
                search: Searcher | None) -> list[LessonObjection]:
    table = load_objections().objections
    wanted = [c for c in codes if c in table]
    wanted += [c for c, o in table.items() if scenario in o.scenarios and c not in wanted]
    out = []
    for code in wanted:
        obj = table[code]
        wording = obj.zh if lang == "zh" else obj.en
        response = next((r for r in (fill(t, values) for t in wording.response) if r), wording.response[-1])
        out.append(LessonObjection(code=code, objection=wording.objection, response=response,
                                   citations=cite_in_language(search, obj.query[lang], obj.topics, lang, k=1)))
    return out
