"""The offline engine's quiz: "考考我" / "quiz me" starts one, the next messages answer it, with the
answer's passage cited, then the next question, then the score. State rides in the conversation."""

from __future__ import annotations

from typing import Any

import pytest
from sample_playbooks import shipped_subset_kb

from assistant.offline_quiz import looks_like_answer, open_quiz
from tools.training.quiz import generate_quiz



PLAYBOOKS = ("03-cost-caps", "06-warning-signals", "07-kpi", "14-objections")  # what these quizzes ask about


@pytest.fixture(scope="module")
def playbooks_kb(tmp_path_factory, minilm_embedder):
    """The shipped playbooks the quizzes here draw on, in a real knowledge base (Chroma, MiniLM)."""
    return shipped_subset_kb(tmp_path_factory.mktemp("quiz-playbooks"), PLAYBOOKS, minilm_embedder)


@pytest.fixture()
def bot(playbooks_kb, tmp_path) -> Any:
    """An Assistant with the offline engine as shipped (training tools registered, roles granted)."""
    from assistant.agent import Assistant
    from assistant.config import Settings
    from assistant.services import Services

    services = Services(Settings(data_dir=tmp_path / "data", llm_base_url=None, _env_file=None,
                                 database_url=f"sqlite:///{tmp_path / 'conversations.sqlite'}"))
    services.knowledge = playbooks_kb
    return Assistant(services)


def quiz_of(reply: Any, kb: Any) -> Any:
    """The quiz the reply's last training_quiz call determines."""
    args = [c for c in reply.tool_calls if c.name == "training_quiz"][-1].args
    return generate_quiz(kb, topic=args["topic"], n=args["n"], lang=args["lang"], seed=args["seed"])


def wrong_answer(item: Any) -> str:
    return ("A" if item.answer != "A" else "B") if item.kind == "choice" else "不知道"


def test_a_quiz_runs_to_the_score_with_each_answer_cited(bot, playbooks_kb) -> None:
    first = bot.ask("考考我成本上限，3道题", role="trainee")
    assert "第 1/" in first.answer, first.answer
    quiz = quiz_of(first, playbooks_kb)
    assert quiz.topic == "cost_caps" and len(quiz.items) == 3 and quiz.lang == "zh"
    assert quiz.items[0].question.split("（")[0] in first.answer
    assert quiz.items[0].answer_text not in first.answer or quiz.items[0].kind == "choice"  # no answer given away
    cid = first.conversation_id

    second = bot.ask(quiz.items[0].answer, role="trainee", conversation_id=cid)
    assert "回答正确" in second.answer, second.answer
    assert "第 2/3 题" in second.answer
    cited = {c.id: c for c in second.citations}
    assert quiz.items[0].citation.id in cited  # the passage that holds the fact, checked by the assistant

    third = bot.ask(wrong_answer(quiz.items[1]), role="trainee", conversation_id=cid)
    assert "不对" in third.answer and quiz.items[1].answer_text in third.answer, third.answer
    assert quiz.items[1].citation.id in {c.id for c in third.citations}

    last = bot.ask(quiz.items[2].answer, role="trainee", conversation_id=cid)
    assert "测验结束：答对 2/3" in last.answer, last.answer
    assert last.data["quiz"]["score"] == 67
    assert quiz.items[1].answer_text in last.answer  # the one to review

    after = bot.ask("B", role="trainee", conversation_id=cid)  # no quiz open any more
    assert "training_quiz" not in [c.name for c in after.tool_calls]


def test_english_quiz_on_a_topic_and_stopping_early(bot, playbooks_kb) -> None:
    first = bot.ask("quiz me on KPI formulas", role="trainee")
    quiz = quiz_of(first, playbooks_kb)
    assert quiz.topic == "kpi" and quiz.lang == "en"
    assert "Question 1/" in first.answer and "- A. " in first.answer
    second = bot.ask(quiz.items[0].answer.lower(), role="trainee", conversation_id=first.conversation_id)
    assert "Correct" in second.answer
    stop = bot.ask("stop", role="trainee", conversation_id=first.conversation_id)
    assert "Quiz finished: 1/1 correct, score 100" in stop.answer, stop.answer
    again = bot.ask("A", role="trainee", conversation_id=first.conversation_id)
    assert "training_quiz" not in [c.name for c in again.tool_calls]


def test_a_new_quiz_request_starts_over_and_questions_leave_the_quiz(bot, playbooks_kb) -> None:
    first = bot.ask("quiz me", role="trainee")
    cid = first.conversation_id
    restart = bot.ask("quiz me on dispatch windows", role="trainee", conversation_id=cid)
    assert quiz_of(restart, playbooks_kb).topic == "dispatch"
    question = bot.ask("What is the total win-back cap for high value customers?", role="trainee",
                       conversation_id=cid)
    assert "training_quiz" not in [c.name for c in question.tool_calls]


def test_a_role_without_the_tool_gets_a_clear_refusal(bot, monkeypatch) -> None:
    import assistant.roles as roles

    monkeypatch.setitem(roles.ROLE_TOOLS, "trainee", roles.ROLE_TOOLS["trainee"] - {"training_quiz"})
    reply = bot.ask("考考我", role="trainee")
    assert reply.answer and "training_quiz" in [c.name for c in reply.tool_calls]
    assert not reply.tool_calls[-1].ok


@pytest.mark.parametrize(("text", "ok"), [
    ("B", True), ("b", True), ("(C)", True), ("选A", True), ("24 小时", True), ("ACPU × 1.5", True),
    ("stop", True), ("结束", True), ("考考我", False), ("quiz me", False),
    ("高价值客户的总挽留上限是多少？", False), ("", False),
])
def test_what_counts_as_an_answer(text: str, ok: bool) -> None:
    assert looks_like_answer(text) is ok


def test_open_quiz_reads_the_last_assistant_turn_only() -> None:
    from assistant.memory import Message

    def turn(args: dict[str, Any], ok: bool = True) -> Message:
        return Message(role="assistant", content="…", created_at="t",
                       payload={"tool_calls": [{"name": "training_quiz", "args": args, "ok": ok}]})

    spec = {"topic": None, "n": 3, "lang": "en", "seed": 5}
    assert open_quiz([turn({**spec, "answers": ["A"]})]).answers == ["A"]
    assert open_quiz([turn({**spec, "answers": ["A", "B", "C"]})]) is None  # finished
    assert open_quiz([turn(spec, ok=False)]) is None
    later = Message(role="assistant", content="other", created_at="t", payload={"tool_calls": []})
    assert open_quiz([turn(spec), Message(role="user", content="x", created_at="t"), later]) is None
    assert open_quiz([]) is None


def test_the_tools_run_through_the_toolkit_with_citations(bot) -> None:
    from assistant.toolkit import Toolkit, Turn, short_id

    turn = Turn(role="trainee")
    kit = Toolkit(bot.services, turn)
    lesson = kit.execute("training_lesson", {"scenario": "renewal", "lang": "en"})
    assert lesson.ok and turn.passages and '"sections"' in lesson.content
    asked = kit.execute("training_quiz", {"topic": "cost_caps", "n": 2, "lang": "en", "seed": 3})
    assert asked.ok and '"answer"' not in asked.content and '"citation"' not in asked.content
    quiz = generate_quiz(bot.services.knowledge, topic="cost_caps", n=2, lang="en", seed=3)
    graded = kit.execute("training_quiz", {"topic": "cost_caps", "n": 2, "lang": "en", "seed": 3,
                                           "answers": [quiz.items[0].answer]})
    assert graded.ok and '"correct_so_far": 1' in graded.content
    assert short_id(quiz.items[0].citation.id) in turn.passages
    bad = kit.execute("training_quiz", {"topic": "astrology"})
    assert not bad.ok and "cost_caps" in bad.content
