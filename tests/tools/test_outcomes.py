"""The outcome log: validated contacts in SQLite, masked reasons, the CLI, and spend that lowers the budget."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from typer.testing import CliRunner

from assistant.cli import COMMAND_MODULES, app
from tools.errors import InvalidInput, SubscriberNotFound
from tools.generate import write_generated
from tools.offer_history import load_history
from tools.outcomes import OutcomeLog, default_database_url, parse_outcome, record_outcome
from tools.subscribers import SubscriberStore

GOOD = dict(subscriber_id="S000000001", agent_id="AG0101", scenario="renewal", measure_codes=["RM001"], cost=30,
            channel="outbound_call", result="retained")


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> SubscriberStore:
    store = SubscriberStore(tmp_path_factory.mktemp("outcomes") / "data")
    write_generated(store, rows=300, seed=3, as_of=date(2025, 12, 31), progress=False)
    return store


@pytest.fixture()
def log(tmp_path: Path) -> OutcomeLog:
    return OutcomeLog(default_database_url(tmp_path))


@pytest.mark.parametrize(("change", "named"), [
    ({"measure_codes": ["RM999"]}, "unknown measure code(s) RM999; valid codes: DA001"),
    ({"cost": -5}, "cost: cost must be a non-negative amount"),
    ({"result": "won"}, "result: Input should be 'retained', 'renewed', 'declined', 'no_answer' or 'callback'"),
    ({"channel": "pigeon"}, "channel: Input should be 'outbound_call'"),
    ({"scenario": "spam"}, "scenario: Input should be 'renewal'"),
    ({"subscriber_id": ""}, "subscriber_id"),
    ({"colour": "red"}, "colour: Extra inputs are not permitted"),
])
def test_invalid_contacts_name_the_field_and_the_valid_values(change: dict, named: str) -> None:
    with pytest.raises(InvalidInput) as info:
        parse_outcome({**GOOD, **change})
    assert named in str(info.value)


def test_logged_contacts_are_listed_newest_first_with_masked_reasons(log: OutcomeLog) -> None:
    first = log.log(parse_outcome({**GOOD, "contact_time": "2025-11-01T10:00:00",
                                   "reason": "wants a call on 138 1234 5678, ID 110101199003071234"}))
    second = log.log(parse_outcome({**GOOD, "agent_id": "AG0202", "measure_codes": "rm001, ds001",
                                    "result": "no_answer", "cost": 0, "contact_time": "2025-12-01T10:00:00"}))
    assert first.reason == "wants a call on 138****5678, ID 110***********4"
    assert second.measure_codes == ["RM001", "DS001"] and first.cost == 30.0
    assert [r.outcome_id for r in log.list()] == [second.outcome_id, first.outcome_id]
    assert [r.outcome_id for r in log.list(agent_id="AG0101")] == [first.outcome_id]
    assert [r.outcome_id for r in log.list(since=date(2025, 11, 15))] == [second.outcome_id]
    assert log.list(subscriber_id="S404") == []
    assert log.version()[0] == 2
    frame = log.frame()
    assert list(frame["result"]) == ["retained", "no_answer"] and frame["date"].dt.year.tolist() == [2025, 2025]


def test_a_phone_number_is_resolved_to_the_subscriber_and_unknown_ones_fail(store: SubscriberStore,
                                                                            log: OutcomeLog) -> None:
    row = store.read_table("subscribers", ["subscriber_id", "msisdn"]).iloc[2]
    record = record_outcome(log, store, parse_outcome({**GOOD, "subscriber_id": str(row["msisdn"])}))
    assert record.subscriber_id == row["subscriber_id"]
    with pytest.raises(SubscriberNotFound):
        record_outcome(log, store, parse_outcome({**GOOD, "subscriber_id": "S404"}))


def test_logged_cost_counts_against_the_budget(store: SubscriberStore, log: OutcomeLog) -> None:
    sid = store.read_table("subscribers", ["subscriber_id"])["subscriber_id"].iloc[7]
    as_of = date(2025, 12, 31)
    before = load_history(store, sid, as_of, log)
    log.log(parse_outcome({**GOOD, "subscriber_id": sid, "cost": 45}))  # logged today, after the data's date
    after = load_history(store, sid, as_of, log)
    assert after.spent_total == pytest.approx(before.spent_total + 45)
    assert after.spent_this_month >= 45


def test_outcomes_cli_logs_and_lists(runner: CliRunner, store: SubscriberStore) -> None:
    assert "assistant.cli_outcomes" in COMMAND_MODULES
    data_dir = str(store.root.parent)
    sid = store.read_table("subscribers", ["subscriber_id"])["subscriber_id"].iloc[1]
    logged = runner.invoke(app, ["outcomes", "log", "--subscriber", sid, "--agent", "AG0303", "--scenario", "routine",
                                 "--measure", "RS001", "--cost", "0", "--channel", "sms", "--result", "callback",
                                 "--reason", "busy, call 13912345678", "--data-dir", data_dir, "--json"])
    assert logged.exit_code == 0, logged.stderr
    record = json.loads(logged.stdout)
    assert record["subscriber_id"] == sid and record["reason"] == "busy, call 139****5678"
    listed = runner.invoke(app, ["outcomes", "list", "--agent", "AG0303", "--data-dir", data_dir, "--json"])
    assert listed.exit_code == 0 and listed.stdout.count("\n") == 1
    assert [r["outcome_id"] for r in json.loads(listed.stdout)] == [record["outcome_id"]]
    text = runner.invoke(app, ["outcomes", "list", "--subscriber", sid, "--data-dir", data_dir])
    assert "callback" in text.stdout and "AG0303" in text.stdout


@pytest.mark.parametrize(("args", "named"), [
    (["--measure", "XX1"], "unknown measure code(s) XX1; valid codes"),
    (["--cost", "-1"], "cost must be a non-negative amount"),
    (["--result", "maybe"], "result: Input should be"),
])
def test_outcomes_cli_errors_are_one_line(runner: CliRunner, store: SubscriberStore, args: list, named: str) -> None:
    base = ["outcomes", "log", "--subscriber", "S000000001", "--agent", "A", "--scenario", "routine",
            "--channel", "sms", "--result", "retained", "--data-dir", str(store.root.parent), "--json"]
    result = runner.invoke(app, [*base, *args])
    assert result.exit_code == 1 and result.stdout == ""
    assert named in result.stderr and result.stderr.startswith("error: ")


def test_logged_cost_lowers_what_retention_offers_may_spend(runner: CliRunner, tmp_path: Path, kb_settings) -> None:
    store = SubscriberStore(tmp_path / "store")
    write_generated(store, rows=300, seed=3, as_of=date(2025, 12, 31), progress=False)
    data_dir = str(tmp_path / "store")

    def offers(sid: str) -> list[dict]:
        result = runner.invoke(app, ["offers", "--subscriber", sid, "--json", "--data-dir", data_dir])
        assert result.exit_code == 0, result.stderr
        return json.loads(result.stdout)

    def spend(offer: dict) -> float:
        return offer["one_off_cost"] + offer["monthly_cost"]

    from tools.segment_frame import segment_store

    seg = segment_store(store)
    candidates = seg[seg["value_tier"].isin(["high", "medium"]) & seg["risk_label"].isin(["high", "medium"])]
    sid, before = "", []
    for sid in candidates["subscriber_id"].head(20):
        before = offers(sid)
        if any(spend(o) > 0 for o in before):
            break
    assert any(spend(o) > 0 for o in before)
    cap = max(o["cap_total"] for o in before)
    logged = runner.invoke(app, ["outcomes", "log", "--subscriber", sid, "--agent", "AG0101", "--scenario", "routine",
                                 "--measure", "DM001", "--cost", str(cap), "--channel", "outbound_call",
                                 "--result", "retained", "--data-dir", data_dir])
    assert logged.exit_code == 0, logged.stderr
    after = offers(sid)
    assert all(spend(o) == 0 for o in after), after  # the whole budget is spent: only free measures remain
