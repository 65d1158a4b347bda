"""Quizzes: seeded multiple-choice and short-answer items on playbook facts, graded with citations.

`generate_quiz` draws facts (tools/training/facts.py) for a topic, keeps only those a playbook
passage supports, and builds items deterministically from (topic, n, lang, seed): the same four
values always give the same quiz, so a quiz needs no storage to be graded later. Wrong options
are the fact's siblings (other tiers' caps, sibling measure codes, other windows), preferring
values with the same unit as the answer. `grade_quiz` scores answers: an option letter (or the
option's text) for multiple choice; for short answers, normalised text or the same numbers with
a compatible unit ("24h", "24 小时", "24 hours").
"""

from __future__ import annotations

import random
import re
import unicodedata
from collections.abc import Sequence
from typing import Literal

from pydantic import BaseModel, Field

from tools.citations import Searcher
from tools.errors import InvalidInput
from tools.schemas import Citation
from tools.training.facts import Fact, all_facts, find_support, quiz_topics, squash

Lang = Literal["zh", "en"]
ItemKind = Literal["choice", "short"]
LETTERS = "ABCD"
MAX_ITEMS = 20
SHORT_SHARE = 0.3  # share of items asked as short answers when the fact allows it


class QuizItemPublic(BaseModel):
    """One question as the trainee sees it (no answer)."""

    id: str
    kind: ItemKind
    topic: str
    question: str
    options: list[str] = Field(default_factory=list, description="Four options for choice items, A-D.")


class QuizItem(QuizItemPublic):
    """One question with its answer, explanation and the passage that contains the fact."""

    answer: str = Field(..., description="The option letter (choice) or the expected answer (short).")
    answer_text: str
    accept: list[str] = Field(default_factory=list, description="Other accepted short answers.")
    fact: str = Field(..., description="The fact as written in the cited passage.")
    explanation: str
    citation: Citation

    def public(self) -> QuizItemPublic:
        """The item without its answer."""
        return QuizItemPublic(id=self.id, kind=self.kind, topic=self.topic, question=self.question,
                              options=self.options)


class QuizSpec(BaseModel):
    """What determines a quiz: the same spec always gives the same items."""

    topic: str | None = None
    n: int = Field(5, ge=1, le=MAX_ITEMS)
    lang: Lang = "zh"
    seed: int = Field(0, ge=0, le=2**31 - 1)


class Quiz(QuizSpec):
    """A generated quiz."""

    items: list[QuizItem]

    def public_items(self) -> list[QuizItemPublic]:
        """The questions without answers."""
        return [item.public() for item in self.items]


class ItemResult(BaseModel):
    """How one answer was graded."""

    id: str
    question: str
    given: str | None
    correct: bool
    answer: str
    answer_text: str
    explanation: str
    citation: Citation


class QuizResult(BaseModel):
    """A graded quiz: score in percent, per-item results with the correct answer and its citation."""

    correct: int
    total: int
    score: int = Field(..., description="Percent correct, rounded.")
    items: list[ItemResult]


# --- generation --------------------------------------------------------------------------------


def _check_topic(topic: str | None) -> None:
    if topic is not None and topic not in quiz_topics():
        raise InvalidInput(f"unknown quiz topic {topic!r}; expected one of {', '.join(quiz_topics())}")


_UNITS = [
    ("pct", r"%|％|percent|百分"), ("month", r"months?|个月|月"), ("day", r"days?|天|日"),
    ("hour", r"hours?|小时|\bh\b"), ("minute", r"minutes?|mins?|分钟"), ("year", r"years?|年"),
    ("times", r"times|倍"), ("acpu", r"acpu"), ("arpu", r"arpu"),
]


def units(text: str) -> set[str]:
    """The units a value mentions (percent, months, days, hours, ..., ACPU/ARPU)."""
    t = text.casefold()
    return {name for name, pattern in _UNITS if re.search(pattern, t)}


def numbers(text: str) -> list[float]:
    """The numbers in a value, in order ("7–10 days" -> [7, 10])."""
    t = unicodedata.normalize("NFKC", text)
    return [float(x) for x in re.findall(r"\d+(?:\.\d+)?", t)]


def _distractors(fact: Fact, rng: random.Random) -> list[str]:
    """Three wrong options from the fact's family: same unit first, distinct from the answer and each other."""
    seen = {squash(fact.answer)}
    pool = []
    for value in fact.pool:
        if squash(value) not in seen:
            seen.add(squash(value))
            pool.append(value)
    rng.shuffle(pool)
    want = units(fact.answer)
    pool.sort(key=lambda v: units(v) != want)  # stable: the shuffle decides within each group
    return pool[:3]


def _item(fact: Fact, citation: Citation, number: int, rng: random.Random, lang: Lang) -> QuizItem | None:
    wrong = _distractors(fact, rng)
    short = fact.short and (len(wrong) < 3 or rng.random() < SHORT_SHARE)
    if not short and len(wrong) < 3:
        return None
    common = dict(id=f"q{number}", topic=fact.topic, answer_text=fact.answer, fact=fact.fact,
                  explanation=fact.explanation, citation=citation)
    if short:
        hint = "（简答）" if lang == "zh" else " (short answer)"
        return QuizItem(kind="short", question=fact.question + hint, answer=fact.answer,
                        accept=list(fact.accept), **common)
    options = [fact.answer, *wrong]
    rng.shuffle(options)
    return QuizItem(kind="choice", question=fact.question, options=options,
                    answer=LETTERS[options.index(fact.answer)], **common)


def generate_quiz(searcher: Searcher, *, topic: str | None = None, n: int = 5, lang: Lang = "zh",
                  seed: int = 0) -> Quiz:
    """A seeded quiz of `n` items on `topic` (None: all topics), each answer cited from a passage."""
    spec = QuizSpec(topic=topic, n=n, lang=lang, seed=seed)  # validates n, lang and seed
    _check_topic(topic)
    rng = random.Random(f"quiz|{spec.topic}|{spec.lang}|{spec.seed}")
    by_family: dict[str, list[Fact]] = {}
    for fact in all_facts(spec.lang):
        if spec.topic in (None, fact.topic):
            by_family.setdefault(fact.family, []).append(fact)
    families = sorted(by_family)
    rng.shuffle(families)
    for name in families:
        rng.shuffle(by_family[name])
    items: list[QuizItem] = []
    while len(items) < spec.n and any(by_family.values()):
        for name in families:  # round robin: one fact per family in turn, for variety
            if len(items) >= spec.n or not by_family[name]:
                continue
            fact = by_family[name].pop()
            citation = find_support(searcher, fact, spec.lang)
            if citation is None:
                continue  # no passage holds this fact: never asked
            item = _item(fact, citation, len(items) + 1, rng, spec.lang)
            if item is not None:
                items.append(item)
    if not items:
        raise InvalidInput("no quiz item could be built: the knowledge base holds none of the playbook facts "
                           "for this topic; run `retention ingest` on the shipped playbooks")
    return Quiz(**spec.model_dump(), items=items)


# --- grading -----------------------------------------------------------------------------------


def _letter(given: str, options: Sequence[str]) -> str | None:
    text = unicodedata.normalize("NFKC", given).strip()
    m = re.fullmatch(r"(?:选|选项|答案|answer|option)?\s*[(（]?\s*([A-Da-d])\s*[)）.。、]?", text, re.IGNORECASE)
    if m:
        return m.group(1).upper()
    for i, option in enumerate(options):
        if squash(text) and squash(text) == squash(option):
            return LETTERS[i]
    return None


def _required_words(expected: str) -> set[str]:
    return {w for w in re.findall(r"[a-z]{2,}", expected.casefold()) if w in ("acpu", "arpu", "dm", "top")}


def short_answer_matches(expected: str, given: str, accept: Sequence[str] = ()) -> bool:
    """Whether a short answer matches: same text once normalised, or same numbers and a compatible unit."""
    g = squash(unicodedata.normalize("NFKC", given)).replace("x", "×").replace("*", "×")
    candidates = [expected, *accept]
    if any(g == squash(unicodedata.normalize("NFKC", c)).replace("x", "×") for c in candidates):
        return True
    want, got = numbers(expected), numbers(given)
    if not want or want != got:
        return False
    unit_want, unit_got = units(expected), units(given)
    if unit_got and unit_want and not unit_got <= unit_want | {"times"}:
        return False
    if "n" in re.findall(r"\bn\b", expected.casefold()) and not re.search(r"\bn\b", given.casefold()):
        return False
    return _required_words(expected) <= set(re.findall(r"[a-z]{2,}", given.casefold()))


def grade_item(item: QuizItem, given: str | None) -> bool:
    """Whether one answer is right."""
    if not given or not given.strip():
        return False
    if item.kind == "choice":
        return _letter(given, item.options) == item.answer
    return short_answer_matches(item.answer, given, item.accept)


def grade_quiz(quiz: Quiz, answers: Sequence[str | None]) -> QuizResult:
    """Score answers in item order (missing ones count as wrong), with each correct answer cited."""
    if len(answers) > len(quiz.items):
        raise InvalidInput(f"{len(answers)} answers for {len(quiz.items)} questions")
    results = []
    for i, item in enumerate(quiz.items):
        given = answers[i] if i < len(answers) else None
        results.append(ItemResult(
            id=item.id, question=item.question, given=given, correct=grade_item(item, given),
            answer=item.answer, answer_text=item.answer_text, explanation=item.explanation,
            citation=item.citation,
        ))
    correct = sum(r.correct for r in results)
    total = len(results)
    return QuizResult(correct=correct, total=total, score=round(100 * correct / total) if total else 0,
                      items=results)


def parse_answers(text: str) -> list[str]:
    """'B,A, 24 hours ,C' -> ['B', 'A', '24 hours', 'C'] (comma, semicolon or 、 separated)."""
    return [part.strip() for part in re.split(r"[,;，；、]", text)] if text.strip() else []
