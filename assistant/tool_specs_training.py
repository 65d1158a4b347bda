"""Training tools for the assistant: a cited scenario lesson, and a seeded quiz that grades itself.

`training_quiz` is stateless: the quiz is fully determined by (topic, n, lang, seed), so the model
(or the offline engine) starts a quiz by calling it without answers and grades it by calling it
again with the same four values and the trainee's answers. The arguments of each call are kept in
the conversation's tool-call records, which is how the offline engine resumes an open quiz.
"""

from __future__ import annotations

import random
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from assistant.tool_specs import ToolSpec
from tools.schemas import Citation

LessonScenario = Literal["renewal", "routine", "campus", "silent", "port_out", "complaint_recovery", "new_customer"]


class _Args(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LessonArgs(_Args):
    """Arguments of training_lesson."""

    scenario: LessonScenario = Field(..., description="The scenario to teach.")
    lang: Literal["zh", "en"] = Field("zh", description="Language of the lesson.")


class QuizArgs(_Args):
    """Arguments of training_quiz."""

    topic: str | None = Field(None, description="cost_caps, signals, silent, dispatch, sla, renewal, value_tiers, "
                                                "kpi, objections or measures; none = all topics.")
    n: int = Field(5, ge=1, le=10, description="How many questions.")
    lang: Literal["zh", "en"] = Field("zh", description="Language of the questions.")
    seed: int | None = Field(None, ge=0, le=2**31 - 1,
                             description="Quiz seed; omit to start a new quiz, repeat it to grade that quiz.")
    answers: list[str] | None = Field(None, max_length=10,
                                      description="The trainee's answers in question order (letters A-D or short "
                                                  "answers); omit to get the questions.")


def _lesson(services: Any, args: LessonArgs, turn: Any) -> tuple[Any, list[Citation]]:
    from tools.training.lessons import build_lesson

    lesson = build_lesson(args.scenario, args.lang, services.knowledge)
    return lesson, lesson.citations()


def run_quiz(services: Any, args: QuizArgs) -> tuple[dict[str, Any], list[Citation]]:
    """Questions (no answers, no citations) or, with answers, the grading with each answer's citation."""
    from tools.training.quiz import generate_quiz, grade_quiz

    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(2**31)
    quiz = generate_quiz(services.knowledge, topic=args.topic, n=args.n, lang=args.lang, seed=seed)
    spec = {"topic": quiz.topic, "n": len(quiz.items), "lang": quiz.lang, "seed": quiz.seed}
    if args.answers is None:
        return {"quiz": spec, "items": [i.model_dump() for i in quiz.public_items()]}, []
    answers = list(args.answers)[: len(quiz.items)]
    result = grade_quiz(quiz, answers)
    answered = result.items[: len(answers)]
    following = quiz.items[len(answers)].public().model_dump() if len(answers) < len(quiz.items) else None
    out = {"quiz": spec, "answered": len(answers), "correct_so_far": sum(r.correct for r in answered),
           "result": result.model_dump(mode="json"), "next": following}
    return out, [r.citation for r in answered]


def _quiz(services: Any, args: QuizArgs, turn: Any) -> tuple[Any, list[Citation]]:
    return run_quiz(services, args)


TRAINING_TOOL_SPECS: list[ToolSpec] = [
    ToolSpec(
        "training_lesson",
        "A lesson on one retention scenario for a trainee: goal, call structure, key lines, common "
        "objections with the recommended responses, and what never to do, every section cited from "
        "the playbooks. Teach from it and cite its passages as [id].",
        LessonArgs, _lesson,
    ),
    ToolSpec(
        "training_quiz",
        "A quiz on playbook facts (cost caps, thresholds, dispatch windows, time limits, KPI formulas, "
        "measure codes, objection responses). Call it without `answers` to get the questions (no "
        "answers are shown: ask them one at a time and do not reveal or guess the answers). Then call "
        "it again with the SAME topic, n, lang and seed and the trainee's answers so far to grade them: "
        "it returns what was right, the correct answers with explanations and cited passages, and the "
        "next question.",
        QuizArgs, _quiz,
    ),
]
