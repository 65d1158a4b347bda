"""`/v1/training/roleplay` and `/v1/training/sessions`: practice turn by turn, grades, ownership, roles."""

from __future__ import annotations

from pathlib import Path

import yaml

from tests.api.conftest import auth

TRANSCRIPTS = Path(__file__).resolve().parents[1] / "data" / "transcripts"


def _lines(name: str) -> list[str]:
    doc = yaml.safe_load((TRANSCRIPTS / f"{name}.yaml").read_text(encoding="utf-8"))
    return [t["text"] for t in doc["turns"] if t["speaker"] == "trainee"]


def _play(client, key: str, name: str, scenario: str, seed: int, lang: str) -> tuple[str, dict]:
    started = client.post("/v1/training/roleplay", json={"scenario": scenario, "seed": seed, "lang": lang},
                          headers=auth(key))
    assert started.status_code == 201, started.text
    sid = started.json()["session_id"]
    last = {}
    for line in _lines(name):
        response = client.post(f"/v1/training/roleplay/{sid}/turn", json={"message": line}, headers=auth(key))
        assert response.status_code == 200, response.text
        last = response.json()
        if last["finished"]:
            break
    return sid, last


def test_start_returns_the_card_and_the_opening_line(client, keys):
    response = client.post("/v1/training/roleplay", json={"scenario": "renewal", "seed": 1, "lang": "zh"},
                           headers=auth(keys["trainee"]))
    assert response.status_code == 201
    body = response.json()
    assert body["customer"] == "喂，你好，哪位？" and body["engine"] == "scripted"
    card = body["card"]
    assert card["scenario"] == "renewal" and card["cost_caps"]["total"] == 450.0
    assert "wants" not in card and "objections" not in card


def test_a_trainee_practises_finishes_and_gets_a_cited_grade(client, keys):
    sid, last = _play(client, keys["trainee"], "renewal-en-2-flawed", "renewal", 2, "en")
    assert last["outcome"] == "accepted" and last["finished"]
    again = client.post(f"/v1/training/roleplay/{sid}/turn", json={"message": "one more thing"},
                        headers=auth(keys["trainee"]))
    assert again.status_code == 409 and again.json()["error"]["code"] == "roleplay_over"
    graded = client.post(f"/v1/training/roleplay/{sid}/finish", headers=auth(keys["trainee"]))
    assert graded.status_code == 200, graded.text
    body = graded.json()
    assert body["status"] == "finished" and body["grade"]["total"] < 100
    verification = next(c for c in body["grade"]["criteria"] if c["code"] == "verification")
    assert "missing_verification" in verification["flags"]
    assert all(c["citations"] for c in body["grade"]["criteria"])  # the test playbooks are English
    assert body["transcript"][1]["speaker"] == "trainee"


def test_sessions_are_own_for_trainees_and_everyones_for_supervisors(client, keys, api_services):
    mine, _ = _play(client, keys["trainee"], "silent-en-2-good", "silent", 2, "en")
    theirs, _ = _play(client, keys["agent"], "routine-en-3-good", "routine", 3, "en")
    trainee_list = client.get("/v1/training/sessions", headers=auth(keys["trainee"])).json()
    assert mine in [s["id"] for s in trainee_list] and theirs not in [s["id"] for s in trainee_list]
    supervisor = client.get("/v1/training/sessions", headers=auth(keys["supervisor"])).json()
    assert {mine, theirs} <= {s["id"] for s in supervisor}
    trainee_id = next(s["owner"] for s in trainee_list)
    only = client.get("/v1/training/sessions", params={"trainee": trainee_id}, headers=auth(keys["admin"])).json()
    assert {s["owner"] for s in only} == {trainee_id}
    forbidden = client.get("/v1/training/sessions", params={"trainee": "someone"}, headers=auth(keys["trainee"]))
    assert forbidden.status_code == 403
    assert client.get(f"/v1/training/sessions/{theirs}", headers=auth(keys["trainee"])).status_code == 404
    seen = client.get(f"/v1/training/sessions/{mine}", headers=auth(keys["supervisor"]))
    assert seen.status_code == 200 and seen.json()["persona"]["scenario"] == "silent"


def test_another_users_session_cannot_be_played_or_finished(client, keys):
    sid = client.post("/v1/training/roleplay", json={"lang": "en", "seed": 3},
                      headers=auth(keys["trainee"])).json()["session_id"]
    turn = client.post(f"/v1/training/roleplay/{sid}/turn", json={"message": "hi"}, headers=auth(keys["agent"]))
    assert turn.status_code == 404 and turn.json()["error"]["code"] == "session_not_found"
    assert client.post(f"/v1/training/roleplay/{sid}/finish", headers=auth(keys["agent"])).status_code == 404


def test_bad_input_and_missing_key(client, keys):
    headers = auth(keys["trainee"])
    bad = client.post("/v1/training/roleplay", json={"scenario": "karaoke"}, headers=headers)
    assert bad.status_code == 422 and bad.json()["error"]["fields"] == ["scenario"]
    sid = client.post("/v1/training/roleplay", json={}, headers=headers).json()["session_id"]
    empty = client.post(f"/v1/training/roleplay/{sid}/turn", json={"message": "   "}, headers=headers)
    assert empty.status_code == 422
    assert client.post("/v1/training/roleplay", json={}).status_code == 401


def test_phone_numbers_in_trainee_lines_are_masked_in_the_transcript(client, keys):
    headers = auth(keys["trainee"])
    sid = client.post("/v1/training/roleplay", json={"scenario": "routine", "seed": 1, "lang": "zh"},
                      headers=headers).json()["session_id"]
    client.post(f"/v1/training/roleplay/{sid}/turn", json={"message": "您好，我是小李，工号12，您的号码是13812345678吗？"},
                headers=headers)
    record = client.get(f"/v1/training/sessions/{sid}", headers=headers)
    assert "13812345678" not in record.text and "138****5678" in record.text
    persona = record.json()["persona"]  # mid-call the trainee cannot read the hidden persona
    assert persona["objections"] == [] and persona["wants"] == "" and persona["cost_caps"]["total"] > 0
    supervised = client.get(f"/v1/training/sessions/{sid}", headers=auth(keys["supervisor"])).json()["persona"]
    assert supervised["objections"] == ["plan_fit", "too_expensive"]


def test_openapi_documents_the_training_routes(client):
    paths = client.get("/openapi.json").json()["paths"]
    for path in ("/v1/training/roleplay", "/v1/training/roleplay/{session_id}/turn",
                 "/v1/training/roleplay/{session_id}/finish", "/v1/training/sessions", "/v1/training/sessions/{session_id}"):
        assert path in paths
    schemas = client.get("/openapi.json").json()["components"]["schemas"]
    assert schemas["RoleplayStartIn"]["examples"] and schemas["RoleplayLineIn"]["examples"]
