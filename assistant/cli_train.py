"""`retention train`: cited scenario lessons and seeded quizzes for trainees (role-play joins this group).

    retention train lesson renewal --lang en
    retention train quiz --topic cost_caps --n 5 --seed 7            # interactive in a terminal
    retention train quiz --topic cost_caps --n 5 --seed 7 --answers "B,A,24 hours,C,D" --json
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from tools.training.lessons import Lesson
    from tools.training.quiz import Quiz, QuizResult


def register(app: typer.Typer) -> None:
    """Add the `train` group (lesson, quiz, and whatever `_extra_commands` attaches) to `app`."""
    train = typer.Typer(name="train", help="Trainee mode: scenario lessons and quizzes from the playbooks.",
                        no_args_is_help=True)
    train.command("lesson")(lesson_command)
    train.command("quiz")(quiz_command)
    _extra_commands(train)
    app.add_typer(train, name="train")


def _extra_commands(train: typer.Typer) -> None:
    """The other training commands on the same group: `train roleplay` and `train sessions`."""
    from assistant.cli_roleplay import register_train

    register_train(train)


def _check_lang(lang: str) -> None:
    from assistant.cli import fail

    if lang not in ("zh", "en"):
        fail(f"unknown language {lang!r}; expected zh or en")


def lesson_command(
    scenario: Annotated[str, typer.Argument(help="renewal, routine, campus, silent, port_out, "
                                                 "complaint_recovery or new_customer.")],
    lang: Annotated[str, typer.Option("--lang", help="zh or en.")] = "zh",
    json_output: Annotated[bool, typer.Option("--json", help="Print exactly one JSON document on stdout.")] = False,
) -> None:
    """A cited lesson on one scenario: goal, call structure, key lines, objections, do-nots."""
    from assistant.cli import emit_json, fail
    from assistant.cli_offers import knowledge_base
    from knowledge.errors import RetentionError
    from tools.training.lessons import LESSON_SCENARIOS, build_lesson

    _check_lang(lang)
    if scenario not in LESSON_SCENARIOS:
        fail(f"unknown scenario {scenario!r}; expected one of {', '.join(LESSON_SCENARIOS)}")
    try:
        lesson = build_lesson(scenario, lang, knowledge_base())  # type: ignore[arg-type]
    except RetentionError as exc:
        fail(str(exc))
    if json_output:
        emit_json(lesson)
    else:
        _print_lesson(lesson)


def quiz_command(
    topic: Annotated[str | None, typer.Option("--topic", help="cost_caps, signals, silent, dispatch, sla, renewal, "
                                                              "value_tiers, kpi, objections, measures.")] = None,
    n: Annotated[int, typer.Option("--n", help="Number of questions (1-20).")] = 5,
    lang: Annotated[str, typer.Option("--lang", help="zh or en.")] = "zh",
    seed: Annotated[int | None, typer.Option("--seed", help="Quiz seed (the same seed gives the same quiz).")] = None,
    answers: Annotated[str | None, typer.Option("--answers", help='Grade these answers, e.g. "B,A,24 hours".')] = None,
    json_output: Annotated[bool, typer.Option("--json", help="Print exactly one JSON document on stdout.")] = False,
) -> None:
    """A seeded quiz on playbook facts: answer in the terminal, or grade --answers non-interactively."""
    import random

    from assistant.cli import emit_json, fail
    from assistant.cli_offers import knowledge_base
    from knowledge.errors import RetentionError
    from tools.training.quiz import MAX_ITEMS, generate_quiz, grade_quiz, parse_answers

    _check_lang(lang)
    if not 1 <= n <= MAX_ITEMS:
        fail(f"--n must be between 1 and {MAX_ITEMS}, not {n}")
    if seed is not None and not 0 <= seed < 2**31:
        fail(f"--seed must be between 0 and {2**31 - 1}")
    seed = seed if seed is not None else random.SystemRandom().randrange(2**31)
    try:
        quiz = generate_quiz(knowledge_base(), topic=topic, n=n, lang=lang, seed=seed)  # type: ignore[arg-type]
        given = parse_answers(answers) if answers is not None else None
        result = grade_quiz(quiz, given) if given is not None else None
    except RetentionError as exc:
        fail(str(exc))
    spec = {"topic": quiz.topic, "n": len(quiz.items), "lang": quiz.lang, "seed": quiz.seed}
    if json_output:
        if result is not None:
            emit_json({"quiz": spec, **result.model_dump(mode="json")})
        else:
            emit_json({"quiz": spec, "items": [i.model_dump() for i in quiz.public_items()]})
        return
    if result is not None:
        _print_result(quiz, result)
    elif sys.stdin is not None and sys.stdin.isatty():
        _interactive(quiz)
    else:
        _print_questions(quiz)


def _print_questions(quiz: Quiz) -> None:
    zh = quiz.lang == "zh"
    for item in quiz.items:
        typer.echo(f"{item.id}. {item.question}")
        for i, option in enumerate(item.options):
            typer.echo(f"   {'ABCD'[i]}. {option}")
    hint = (f"作答：retention train quiz --seed {quiz.seed} --n {len(quiz.items)} --lang {quiz.lang}"
            if zh else f"Answer with: retention train quiz --seed {quiz.seed} --n {len(quiz.items)} --lang {quiz.lang}")
    typer.echo(f"\n{hint}{f' --topic {quiz.topic}' if quiz.topic else ''} --answers \"A,B,...\"")


def _print_result(quiz: Quiz, result: QuizResult) -> None:
    zh = quiz.lang == "zh"
    for r in result.items:
        mark = "✓" if r.correct else "✗"
        shown = r.answer_text if r.answer == r.answer_text else f"{r.answer}. {r.answer_text}"
        typer.echo(f"{mark} {r.id}. {r.question}")
        mine, right = ("你的答案", "正确答案") if zh else ("your answer", "answer")
        typer.echo(f"   {mine}: {r.given or '—'} · {right}: {shown}")
        typer.echo(f"   {r.explanation}  [{r.citation.source} § {r.citation.section}]")
    typer.echo(f"\n{'得分' if zh else 'Score'}: {result.correct}/{result.total} ({result.score})")


def _interactive(quiz: Quiz) -> None:
    from tools.training.quiz import grade_quiz

    zh = quiz.lang == "zh"
    given: list[str | None] = []
    for item in quiz.items:
        typer.echo(f"\n{item.id}. {item.question}")
        for i, option in enumerate(item.options):
            typer.echo(f"   {'ABCD'[i]}. {option}")
        reply = typer.prompt("答案" if zh else "Answer", default="", show_default=False)
        given.append(reply)
        graded = grade_quiz(quiz.model_copy(update={"items": [item]}), [reply]).items[0]
        shown = graded.answer_text if graded.answer == graded.answer_text else f"{graded.answer}. {graded.answer_text}"
        typer.echo(("✓ " if graded.correct else "✗ ") + shown)
        typer.echo(f"   {graded.explanation}  [{graded.citation.source} § {graded.citation.section}]")
    result = grade_quiz(quiz, given)
    typer.echo(f"\n{'得分' if zh else 'Score'}: {result.correct}/{result.total} ({result.score})")


def _print_lesson(lesson: Lesson) -> None:
    typer.echo(lesson.title)
    for i, section in enumerate(lesson.sections, start=1):
        typer.echo(f"\n{i}. {section.title}")
        for point in section.points:
            typer.echo(f"  • {point}")
        for c in section.citations:
            typer.echo(f"    ↳ {c.source} § {c.section} [{c.id[:8]}]")
