"""Training lessons and quizzes: `/v1/training/lessons[/{scenario}]`, `/v1/training/quiz[/{id}/answers]`,
`/v1/training/quizzes`.

Every role may take lessons and quizzes. A quiz is generated from (topic, n, lang, seed) and recorded
under the caller's key; only that key may submit its answers, once. Supervisors and admins see
everyone's quiz results, other roles their own.
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from api.deps import PrincipalDep, ServicesDep
from api.errors import APIError
from api.routes.chat import ERRORS
from tools.schemas import Citation
from tools.training.lessons import LESSON_SCENARIOS, Lesson, LessonSummary
from tools.training.quiz import MAX_ITEMS, ItemResult, QuizItemPublic
from tools.training.quiz_store import QuizRecord

router = APIRouter(prefix="/v1/training", tags=["training"])
RESPONSES = {k: v for k, v in ERRORS.items() if k in (401, 404, 422, 429)}
OVERSEERS = ("supervisor", "admin")
Lang = Literal["zh", "en"]


class QuizCreate(BaseModel):
    """A quiz to generate: topic (none = all), number of questions, language, seed (none = random)."""

    model_config = ConfigDict(extra="forbid")
    topic: str | None = Field(None, max_length=64, examples=["cost_caps"])
    n: int = Field(5, ge=1, le=MAX_ITEMS)
    lang: Lang = "zh"
    seed: int | None = Field(None, ge=0, le=2**31 - 1)


class QuizPublic(BaseModel):
    """A generated quiz: its id and the questions without answers."""

    id: str
    topic: str | None
    n: int
    lang: Lang
    seed: int
    items: list[QuizItemPublic]


class QuizAnswers(BaseModel):
    """Answers in question order: option letters A-D or short answers (null or missing = unanswered)."""

    model_config = ConfigDict(extra="forbid")
    answers: list[str | None] = Field(..., max_length=MAX_ITEMS)


class QuizGraded(BaseModel):
    """A graded quiz: the score and, per question, the correct answer, explanation and citation."""

    id: str
    correct: int
    total: int
    score: int
    items: list[ItemResult]
    citations: list[Citation]


def _store(services: Any) -> Any:
    from tools.training.quiz_store import quiz_store

    url = services.settings.database_url
    if not url:
        services.settings.data_dir.mkdir(parents=True, exist_ok=True)
        url = f"sqlite:///{(services.settings.data_dir / 'assistant.sqlite').resolve()}"
    return quiz_store(url)


@router.get("/lessons", response_model=list[LessonSummary], responses=RESPONSES, summary="Lesson scenarios")
async def list_lessons(principal: PrincipalDep) -> list[LessonSummary]:
    """The scenarios that have a lesson."""
    from tools.training.lessons import list_lessons as summaries

    return summaries()


@router.get("/lessons/{scenario}", response_model=Lesson, responses=RESPONSES, summary="A scenario lesson")
async def get_lesson(scenario: str, principal: PrincipalDep, services: ServicesDep, lang: Lang = "zh") -> Lesson:
    """A cited lesson: goal, call structure, key lines, objections and responses, do-nots."""
    from tools.training.lessons import build_lesson

    if scenario not in LESSON_SCENARIOS:
        raise APIError(404, "scenario_not_found",
                       f"no lesson for {scenario!r}; expected one of {', '.join(LESSON_SCENARIOS)}")
    return await run_in_threadpool(build_lesson, scenario, lang, services.knowledge)


@router.post("/quiz", response_model=QuizPublic, status_code=201, responses=RESPONSES, summary="Start a quiz")
async def create_quiz(body: QuizCreate, principal: PrincipalDep, services: ServicesDep) -> QuizPublic:
    """Generate a quiz (questions without answers) and record it under your key."""
    import random

    from tools.training.quiz import generate_quiz

    seed = body.seed if body.seed is not None else random.SystemRandom().randrange(2**31)

    def work() -> QuizPublic:
        quiz = generate_quiz(services.knowledge, topic=body.topic, n=body.n, lang=body.lang, seed=seed)
        record = _store(services).create(principal.key_id, principal.role, topic=quiz.topic, n=len(quiz.items),
                                         lang=quiz.lang, seed=quiz.seed)
        return QuizPublic(id=record.id, topic=quiz.topic, n=len(quiz.items), lang=quiz.lang, seed=quiz.seed,
                          items=quiz.public_items())

    return await run_in_threadpool(work)


@router.post("/quiz/{quiz_id}/answers", response_model=QuizGraded, responses={**RESPONSES, 409: ERRORS[422]},
             summary="Grade a quiz")
async def answer_quiz(quiz_id: str, body: QuizAnswers, principal: PrincipalDep, services: ServicesDep) -> QuizGraded:
    """Grade your answers once: score, and per question the correct answer, explanation and citation."""
    from tools.training.quiz import generate_quiz, grade_quiz

    def work() -> QuizGraded:
        store = _store(services)
        record = store.get(quiz_id)
        if record is None or record.owner != principal.key_id:
            raise APIError(404, "quiz_not_found", f"no quiz {quiz_id!r} of yours")
        if record.graded_at is not None:
            raise APIError(409, "quiz_already_graded", f"quiz {quiz_id!r} was already graded; start a new one")
        quiz = generate_quiz(services.knowledge, topic=record.topic, n=record.n, lang=record.lang,  # type: ignore[arg-type]
                             seed=record.seed)
        if len(body.answers) > len(quiz.items):
            raise APIError(422, "validation_error", f"answers: {len(body.answers)} given for {len(quiz.items)} "
                                                    "questions", fields=["answers"])
        result = grade_quiz(quiz, body.answers)
        if not store.grade(quiz_id, list(body.answers), result.correct, result.total, result.score):
            raise APIError(409, "quiz_already_graded", f"quiz {quiz_id!r} was already graded; start a new one")
        citations = list({r.citation.id: r.citation for r in result.items}.values())
        return QuizGraded(id=quiz_id, correct=result.correct, total=result.total, score=result.score,
                          items=result.items, citations=citations)

    return await run_in_threadpool(work)


@router.get("/quizzes", response_model=list[QuizRecord], responses=RESPONSES, summary="Quiz results")
async def list_quizzes(principal: PrincipalDep, services: ServicesDep,
                       mine: bool = Query(False, description="Only your own (supervisors see everyone's)."),
                       limit: int = Query(100, ge=1, le=500)) -> list[QuizRecord]:
    """Quiz results, newest first: everyone's for supervisors and admins, your own otherwise."""
    owner = None if principal.role in OVERSEERS and not mine else principal.key_id
    return await run_in_threadpool(_store(services).list, owner, limit)
