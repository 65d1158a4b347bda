"""`/v1/training/lessons` and `/v1/training/quiz`: every role learns and takes quizzes; answers are graded
once, with citations; a trainee's results are visible to a supervisor, not to another trainee."""

from __future__ import annotations

from typing import Any, Iterator

import pytest
from sample_playbooks import shipped_subset_kb

from tests.api.conftest import ROLES, auth, make_services, make_settings
from tools.training.quiz import generate_quiz



PLAYBOOKS = ("03-cost-caps", "06-warning-signals", "12-port-out", "13-call-structure", "14-objections")


@pytest.fixture(scope="module")
def training_services(tmp_path_factory, minilm_embedder) -> Any:
    """Services over the shipped playbooks these tests use (real Chroma, MiniLM) and a fresh database."""
    data_dir = tmp_path_factory.mktemp("training-api")
    shipped_subset_kb(data_dir, PLAYBOOKS, minilm_embedder)
    settings = make_settings(data_dir, api_rate_limit_per_minute=10_000,
                             database_url=f"sqlite:///{data_dir / 'assistant.sqlite'}")
    return make_services(settings, minilm_embedder)


@pytest.fixture(scope="module")
def training_keys(training_services) -> dict[str, str]:
    from assistant.records import open_records

    records = open_records(training_services)
    keys = {role: records.create_key(role, name=f"t {role}").key for role in ROLES}
    keys["trainee2"] = records.create_key("trainee", name="another trainee").key
    return keys


@pytest.fixture(scope="module")
def api(training_services) -> Iterator[Any]:
    from fastapi.testclient import TestClient

    from api.app import create_app

    with TestClient(create_app(services=training_services)) as client:
        yield client


def test_every_role_lists_the_lesson_scenarios(api, training_keys) -> None:
    for role in ROLES:
        response = api.get("/v1/training/lessons", headers=auth(training_keys[role]))
        assert response.status_code == 200, (role, response.text)
        assert {s["scenario"] for s in response.json()} == {
            "renewal", "routine", "campus", "silent", "port_out", "complaint_recovery", "new_customer"}
    assert api.get("/v1/training/lessons").status_code == 401


def test_a_lesson_has_cited_sections_in_the_language_asked(api, training_keys) -> None:
    response = api.get("/v1/training/lessons/port_out?lang=en", headers=auth(training_keys["trainee"]))
    assert response.status_code == 200, response.text
    lesson = response.json()
    assert lesson["lang"] == "en" and lesson["scenario"] == "port_out"
    assert [s["name"] for s in lesson["sections"]] == ["goal", "call_structure", "key_lines", "objections", "do_not"]
    assert all(s["citations"] and all(c["id"] and c["text"] for c in s["citations"]) for s in lesson["sections"])
    assert lesson["objections"] and all(o["citations"] for o in lesson["objections"])


def test_unknown_lesson_or_language_is_an_error(api, training_keys) -> None:
    headers = auth(training_keys["agent"])
    missing = api.get("/v1/training/lessons/astrology", headers=headers)
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "scenario_not_found"
    assert api.get("/v1/training/lessons/renewal?lang=fr", headers=headers).status_code == 422


def test_quiz_round_trip_grades_with_citations(api, training_keys, training_services) -> None:
    headers = auth(training_keys["trainee"])
    created = api.post("/v1/training/quiz", json={"topic": "sla", "n": 4, "lang": "zh", "seed": 11}, headers=headers)
    assert created.status_code == 201, created.text
    quiz = created.json()
    assert quiz["n"] == len(quiz["items"]) and quiz["seed"] == 11 and quiz["id"]
    assert all(set(item) == {"id", "kind", "topic", "question", "options"} for item in quiz["items"])  # no answers

    expected = generate_quiz(training_services.knowledge, topic="sla", n=4, lang="zh", seed=11)
    answers = [i.answer for i in expected.items]
    answers[0] = "A" if answers[0] != "A" else "B"
    graded = api.post(f"/v1/training/quiz/{quiz['id']}/answers", json={"answers": answers}, headers=headers)
    assert graded.status_code == 200, graded.text
    body = graded.json()
    assert (body["correct"], body["total"]) == (len(answers) - 1, len(answers))
    assert body["score"] == round(100 * (len(answers) - 1) / len(answers))
    first = body["items"][0]
    assert not first["correct"] and first["answer"] == expected.items[0].answer and first["explanation"]
    for item in body["items"]:
        assert item["citation"]["id"] in {c["id"] for c in body["citations"]}
        passage = item["citation"]["text"].replace("*", "").replace(" ", "").casefold()
        assert expected.items[body["items"].index(item)].fact.replace(" ", "").casefold() in passage

    again = api.post(f"/v1/training/quiz/{quiz['id']}/answers", json={"answers": answers}, headers=headers)
    assert again.status_code == 409 and again.json()["error"]["code"] == "quiz_already_graded"


def test_only_the_owner_may_answer_and_supervisors_see_results(api, training_keys) -> None:
    trainee, other = auth(training_keys["trainee"]), auth(training_keys["trainee2"])
    quiz = api.post("/v1/training/quiz", json={"n": 3, "lang": "en", "seed": 4}, headers=trainee).json()
    stolen = api.post(f"/v1/training/quiz/{quiz['id']}/answers", json={"answers": ["A"]}, headers=other)
    assert stolen.status_code == 404
    done = api.post(f"/v1/training/quiz/{quiz['id']}/answers", json={"answers": ["A", "B", "C"]}, headers=trainee)
    assert done.status_code == 200

    seen_by_supervisor = api.get("/v1/training/quizzes", headers=auth(training_keys["supervisor"])).json()
    record = next(r for r in seen_by_supervisor if r["id"] == quiz["id"])
    assert record["role"] == "trainee" and record["score"] == done.json()["score"] and record["answers"] == ["A", "B", "C"]
    assert quiz["id"] not in {r["id"] for r in api.get("/v1/training/quizzes", headers=other).json()}
    assert quiz["id"] in {r["id"] for r in api.get("/v1/training/quizzes", headers=trainee).json()}


def test_bad_quiz_requests_are_422(api, training_keys) -> None:
    headers = auth(training_keys["admin"])
    bad_topic = api.post("/v1/training/quiz", json={"topic": "astrology"}, headers=headers)
    assert bad_topic.status_code == 422 and "cost_caps" in bad_topic.json()["error"]["message"]
    assert api.post("/v1/training/quiz", json={"n": 0}, headers=headers).status_code == 422
    assert api.post("/v1/training/quiz", json={"lang": "fr"}, headers=headers).status_code == 422
    quiz = api.post("/v1/training/quiz", json={"n": 2, "lang": "en", "seed": 1}, headers=headers).json()
    too_many = api.post(f"/v1/training/quiz/{quiz['id']}/answers", json={"answers": ["A", "B", "C"]}, headers=headers)
    assert too_many.status_code == 422
    assert api.post("/v1/training/quiz/nope/answers", json={"answers": []}, headers=headers).status_code == 404
