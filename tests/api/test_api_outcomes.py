"""`POST /v1/outcomes` and `GET /v1/outcomes`: roles, defaults, validation, masking and the audit trail."""

from __future__ import annotations

import pytest

from tests.api.conftest import auth

@pytest.fixture(scope="module")
def subscriber(api_services) -> dict:
    """A subscriber no other API test uses, so the logged spend changes nobody else's offers."""
    row = api_services.store.read_table("subscribers", ["subscriber_id", "msisdn"]).iloc[17]
    return {"id": str(row["subscriber_id"]), "phone": str(row["msisdn"])}


BODY = {"scenario": "renewal", "measure_codes": ["DM002"], "cost": 25, "channel": "outbound_call",
        "result": "renewed"}


def test_an_agent_logs_a_contact_under_their_own_key_id(client, keys, subscriber, api_services) -> None:
    me = client.get("/v1/me", headers=auth(keys["agent"])).json()
    response = client.post("/v1/outcomes", headers=auth(keys["agent"]),
                           json={**BODY, "subscriber_id": subscriber["phone"], "reason": f"moved, new no. {subscriber['phone']}"})
    assert response.status_code == 201, response.text
    record = response.json()
    assert record["subscriber_id"] == subscriber["id"] and record["agent_id"] == me["key_id"]
    assert subscriber["phone"] not in response.text and "****" in record["reason"]
    audit = api_services.__dict__["_records"].audit_rows(5)
    assert audit[0]["action"] == "outcome.log" and audit[0]["measure_codes"] == ["DM002"]
    assert subscriber["phone"] not in str(audit[0])


def test_agents_read_their_own_contacts_and_supervisors_everyones(client, keys, subscriber) -> None:
    body = {**BODY, "subscriber_id": subscriber["id"], "agent_id": "AG-TEAM-7", "result": "declined", "cost": 0}
    assert client.post("/v1/outcomes", headers=auth(keys["supervisor"]), json=body).status_code == 201
    assert client.post("/v1/outcomes", headers=auth(keys["agent"]), json=body).status_code == 403
    own = client.get("/v1/outcomes", headers=auth(keys["agent"])).json()
    me = client.get("/v1/me", headers=auth(keys["agent"])).json()
    assert own and {r["agent_id"] for r in own} == {me["key_id"]}
    everyone = client.get("/v1/outcomes", headers=auth(keys["supervisor"]),
                          params={"subscriber_id": subscriber["id"]}).json()
    assert {"AG-TEAM-7", me["key_id"]} <= {r["agent_id"] for r in everyone}
    only = client.get("/v1/outcomes", headers=auth(keys["admin"]), params={"agent_id": "AG-TEAM-7"}).json()
    assert [r["result"] for r in only] == ["declined"]
    assert client.get("/v1/outcomes", headers=auth(keys["agent"]), params={"agent_id": "AG-TEAM-7"}).status_code == 403


def test_trainees_and_anonymous_callers_are_refused(client, keys, subscriber) -> None:
    body = {**BODY, "subscriber_id": subscriber["id"]}
    assert client.post("/v1/outcomes", headers=auth(keys["trainee"]), json=body).status_code == 403
    assert client.get("/v1/outcomes", headers=auth(keys["trainee"])).status_code == 403
    assert client.post("/v1/outcomes", json=body).status_code == 401


def test_invalid_contacts_are_422_naming_the_field(client, keys, subscriber) -> None:
    cases = [({"measure_codes": ["ZZ001"]}, "valid codes"), ({"cost": -3}, "non-negative"),
             ({"result": "won"}, "result"), ({"channel": "fax"}, "channel")]
    for change, named in cases:
        response = client.post("/v1/outcomes", headers=auth(keys["agent"]),
                               json={**BODY, "subscriber_id": subscriber["id"], **change})
        assert response.status_code == 422, response.text
        assert named in response.json()["error"]["message"]
    missing = client.post("/v1/outcomes", headers=auth(keys["agent"]), json={**BODY, "subscriber_id": "S404"})
    assert missing.status_code == 404
