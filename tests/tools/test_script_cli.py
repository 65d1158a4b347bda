"""`retention script`: one JSON document with the contract keys; errors are one line on stderr, exit 1."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from typer.testing import CliRunner

from assistant.cli import COMMAND_MODULES, app
from tools.scripts import SECTION_ORDER

KEYS = ["scenario", "lang", "sections", "objections", "offers", "do_not"]
# domain.md 7.1: high value, contract ends in 70 days, ARPU down 30%, forwarding to another operator.
SNAPSHOT = {"tenure_months": 36, "arpu_3m_avg": 180, "network_avg_arpu": 50, "payment_type": "postpaid",
            "contract_end_in_days": 70, "arpu_change_pct": -30, "forwards_to_competitor": 2}


@pytest.fixture(scope="module")
def store_dir(tmp_path_factory) -> Path:
    from tools.generate import write_generated
    from tools.subscribers import SubscriberStore

    root = tmp_path_factory.mktemp("script-store")
    write_generated(SubscriberStore(root), rows=200, seed=5, as_of=date(2025, 12, 31), progress=False)
    return root


def write(tmp_path: Path, payload: object) -> Path:
    path = tmp_path / "snapshot.json"
    path.write_text(json.dumps(payload, ensure_ascii=False), encoding="utf-8")
    return path


def test_script_is_registered() -> None:
    assert "assistant.cli_script" in COMMAND_MODULES


def test_inline_snapshot_gives_one_json_document_with_the_contract_keys(
    runner: CliRunner, tmp_path: Path, kb_settings
) -> None:
    result = runner.invoke(app, ["script", "--subscriber-json", str(write(tmp_path, SNAPSHOT)), "--json"])
    assert result.exit_code == 0, result.stderr
    assert result.stdout.count("\n") == 1
    script = json.loads(result.stdout)
    assert list(script) == KEYS
    assert script["scenario"] == "renewal" and script["lang"] == "zh"  # picked from the offer plan
    assert [s["name"] for s in script["sections"]] == list(SECTION_ORDER)
    for section in script["sections"]:
        assert {"name", "lines", "citations"} <= set(section) and section["citations"]
        assert {"id", "source", "section", "text"} <= set(section["citations"][0])
    for objection in script["objections"]:
        assert {"objection", "response", "citations"} <= set(objection) and objection["citations"]
    assert [o["title_zh"] for o in script["offers"]] == ["存费送费", "话补续约", "机补续约"]
    assert script["objections"][0]["code"] == "other_number"  # forwarding off-net
    assert script["do_not"]


def test_scenario_language_and_stdin(runner: CliRunner, kb_settings) -> None:
    result = runner.invoke(app, ["script", "--subscriber-json", "-", "--scenario", "port_out", "--lang", "en",
                                 "--agent", "He Min", "--work-number", "8866", "--json"],
                           input=json.dumps(SNAPSHOT))
    assert result.exit_code == 0, result.stderr
    script = json.loads(result.stdout)
    assert (script["scenario"], script["lang"]) == ("port_out", "en")
    assert "He Min" in script["sections"][0]["lines"][0] and "8866" in script["sections"][0]["lines"][0]
    assert "rival_offer" in [o["code"] for o in script["objections"]]


def test_readable_output(runner: CliRunner, tmp_path: Path, kb_settings) -> None:
    result = runner.invoke(app, ["script", "--subscriber-json", str(write(tmp_path, SNAPSHOT))])
    assert result.exit_code == 0, result.stderr
    for heading in ("开场问候", "身份核实", "方案推介", "异议清单", "禁止事项", "13-call-structure.zh.md"):
        assert heading in result.stdout


def test_stored_subscriber_masks_the_number(runner: CliRunner, store_dir: Path, kb_settings) -> None:
    from tools.subscribers import SubscriberStore

    frame = SubscriberStore(store_dir).read_table("subscribers", ["subscriber_id", "msisdn"])
    sid, msisdn = frame.iloc[0]["subscriber_id"], frame.iloc[0]["msisdn"]
    result = runner.invoke(app, ["script", "-s", sid, "--data-dir", str(store_dir), "--json"])
    assert result.exit_code == 0, result.stderr
    assert msisdn not in result.stdout and msisdn not in result.stderr
    script = json.loads(result.stdout)
    verification = " ".join(script["sections"][1]["lines"])
    assert f"尾号{msisdn[-4:]}" in verification


def test_unknown_subscriber_is_one_line_and_exit_1(runner: CliRunner, store_dir: Path, kb_settings) -> None:
    result = runner.invoke(app, ["script", "-s", "NOPE-1", "--data-dir", str(store_dir), "--json"])
    assert result.exit_code == 1 and result.stdout == ""
    assert result.stderr.strip().count("\n") == 0 and "NOPE-1" in result.stderr
    phone = runner.invoke(app, ["script", "-s", "13800001111", "--data-dir", str(store_dir), "--json"])
    assert phone.exit_code == 1 and "13800001111" not in phone.stderr


@pytest.mark.parametrize(("args", "message"), [
    ([], "exactly one of"),
    (["--subscriber", "S1", "--subscriber-json", "x.json"], "exactly one of"),
    (["--subscriber-json", "{file}", "--scenario", "holiday"], "unknown scenario"),
    (["--subscriber-json", "{file}", "--lang", "fr"], "unknown language"),
    (["--subscriber-json", "{missing}"], "cannot read snapshot file"),
    (["--subscriber-json", "{bad}"], "tenure_months: required field is missing"),
])
def test_bad_input_exits_1_with_a_clear_message(runner: CliRunner, tmp_path: Path, args: list[str],
                                                message: str) -> None:
    good = write(tmp_path, SNAPSHOT)
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({k: v for k, v in SNAPSHOT.items() if k != "tenure_months"}), encoding="utf-8")
    args = [a.format(file=good, missing=tmp_path / "nope.json", bad=bad) for a in args]
    result = runner.invoke(app, ["script", *args, "--json"])
    assert result.exit_code == 1 and result.stdout == ""
    assert message in result.stderr
