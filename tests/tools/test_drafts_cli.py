"""`retention drafts`: SMS, e-mail and call wording of the top offers, one JSON document, clear errors."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from typer.testing import CliRunner

from assistant.cli import COMMAND_MODULES, app

# domain.md 7.1: high value, contract ends in 70 days, ARPU down 30%, forwarding to another operator.
SNAPSHOT = {"tenure_months": 36, "arpu_3m_avg": 180, "network_avg_arpu": 50, "payment_type": "postpaid",
            "contract_end_in_days": 70, "arpu_change_pct": -30, "forwards_to_competitor": 2}


def write(tmp_path: Path, payload: object) -> Path:
    path = tmp_path / "snapshot.json"
    path.write_text(json.dumps(payload, ensure_ascii=False), encoding="utf-8")
    return path


def test_drafts_is_registered() -> None:
    assert "assistant.cli_drafts" in COMMAND_MODULES


def test_top_offers_are_drafted_on_every_channel_with_citations(runner: CliRunner, tmp_path: Path,
                                                                 kb_settings) -> None:
    result = runner.invoke(app, ["drafts", "--subscriber-json", str(write(tmp_path, SNAPSHOT)), "--top", "2",
                                 "--lang", "en", "--json"])
    assert result.exit_code == 0, result.stderr
    assert result.stdout.count("\n") == 1
    doc = json.loads(result.stdout)
    assert (doc["scenario"], doc["lang"]) == ("renewal", "en")
    assert [m["measure_code"] for m in doc["messages"]] == ["RM004", "DM002"]  # the plan's order
    for message in doc["messages"]:
        assert [d["channel"] for d in message["drafts"]] == ["sms", "email", "call"]
        assert message["citations"] and {"id", "source", "text"} <= set(message["citations"][0])
        email = message["drafts"][1]
        assert email["subject"] and message["title"] in email["body"]


def test_channels_and_readable_output(runner: CliRunner, tmp_path: Path, kb_settings) -> None:
    result = runner.invoke(app, ["drafts", "--subscriber-json", str(write(tmp_path, SNAPSHOT)),
                                 "-c", "sms", "-c", "call"])
    assert result.exit_code == 0, result.stderr
    assert "存费送费" in result.stdout and "[sms]" in result.stdout and "[call]" in result.stdout
    assert "[email" not in result.stdout


def test_stored_subscriber_is_masked(runner: CliRunner, tmp_path_factory, kb_settings) -> None:
    from tools.generate import write_generated
    from tools.subscribers import SubscriberStore

    root = tmp_path_factory.mktemp("drafts-store")
    write_generated(SubscriberStore(root), rows=200, seed=5, as_of=date(2025, 12, 31), progress=False)
    frame = SubscriberStore(root).read_table("subscribers", ["subscriber_id", "msisdn"])
    for sid, msisdn in frame.head(20).itertuples(index=False):
        result = runner.invoke(app, ["drafts", "-s", sid, "-c", "sms", "--data-dir", str(root), "--json"])
        assert result.exit_code == 0, result.stderr
        assert msisdn not in result.stdout and msisdn not in result.stderr
        for message in json.loads(result.stdout)["messages"]:
            assert f"{msisdn[:3]}****{msisdn[-4:]}" in message["drafts"][0]["body"]


@pytest.mark.parametrize(("args", "message"), [
    ([], "exactly one of"),
    (["--subscriber-json", "{file}", "--channel", "fax"], "unknown channel 'fax'"),
    (["--subscriber-json", "{file}", "--lang", "fr"], "unknown language"),
    (["--subscriber-json", "{missing}"], "cannot read snapshot file"),
])
def test_bad_input_exits_1_with_a_clear_message(runner: CliRunner, tmp_path: Path, args: list[str],
                                                message: str) -> None:
    good = write(tmp_path, SNAPSHOT)
    args = [a.format(file=good, missing=tmp_path / "nope.json") for a in args]
    result = runner.invoke(app, ["drafts", *args, "--json"])
    assert result.exit_code == 1 and result.stdout == ""
    assert message in result.stderr
