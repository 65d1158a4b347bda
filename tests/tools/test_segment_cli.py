"""`retention segment`: one JSON document on stdout, errors on stderr with exit code 1."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from assistant.cli import COMMAND_MODULES, app

CONTRACT_FIELDS = ["lifecycle_stage", "risk_label", "value_tier", "cost_caps", "signals", "reasons"]
SNAPSHOT = {
    "tenure_months": 20,
    "arpu_3m_avg": 180,
    "network_avg_arpu": 50,
    "payment_type": "postpaid",
    "arpu_change_pct": -32,
    "competitor_hotline_calls": 2,
}


@pytest.fixture()
def runner() -> CliRunner:
    return CliRunner()


def test_segment_is_registered() -> None:
    assert "assistant.cli_segment" in COMMAND_MODULES


def test_valid_snapshot_prints_one_json_document(runner: CliRunner) -> None:
    result = runner.invoke(app, ["segment", "--json"], input=json.dumps(SNAPSHOT))
    assert result.exit_code == 0, result.stderr
    assert result.stdout.count("\n") == 1
    document = json.loads(result.stdout)
    assert list(document)[:6] == CONTRACT_FIELDS
    assert document["lifecycle_stage"] == {"code": "warning", "zh": "预警期", "en": "warning"}
    assert document["value_tier"] == {"code": "high", "zh": "高价值", "en": "high value"}
    assert document["risk_label"] == "high"
    assert document["cost_caps"] == {
        "monthly": 18.0,
        "total": 600.0,
        "rule": "high value: monthly = ARPU 180.00 × 10% = 18.00; total = ACPU 300 × 2 = 600.00",
    }
    assert document["signals"] == ["arpu_drop", "competitor_hotline"]
    assert {"code", "zh", "en"} <= set(document["reasons"][0])
    assert "ARPU环比下降32%（阈值20%）" in [r["zh"] for r in document["reasons"]]
    assert document["passive_churn"] is False


def test_snapshot_can_come_from_a_file_and_policy_from_the_operator(
    runner: CliRunner, tmp_path: Path
) -> None:
    snapshot = tmp_path / "snapshot.json"
    snapshot.write_text(json.dumps(SNAPSHOT), encoding="utf-8")
    policy = tmp_path / "policy.yaml"
    policy.write_text("acpu: 500\nsignals:\n  arpu_drop:\n    min_drop_pct: 40\n", "utf-8")
    result = runner.invoke(
        app, ["segment", "--json", "--file", str(snapshot), "--policy", str(policy)]
    )
    assert result.exit_code == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["signals"] == ["competitor_hotline"]
    assert document["cost_caps"]["total"] == 1000.0


def test_missing_required_field_is_named_on_stderr(runner: CliRunner) -> None:
    snapshot = {k: v for k, v in SNAPSHOT.items() if k != "network_avg_arpu"}
    result = runner.invoke(app, ["segment", "--json"], input=json.dumps(snapshot))
    assert result.exit_code == 1
    assert result.stdout == ""
    assert "network_avg_arpu" in result.stderr and "missing" in result.stderr


def test_mistyped_and_unknown_fields_are_named(runner: CliRunner) -> None:
    snapshot = {**SNAPSHOT, "payment_type": "credit", "arpu_3m": 5}
    result = runner.invoke(app, ["segment", "--json"], input=json.dumps(snapshot))
    assert result.exit_code == 1
    assert result.stdout == ""
    assert "payment_type" in result.stderr and "arpu_3m: unknown field" in result.stderr


@pytest.mark.parametrize(
    ("text", "message"),
    [("tenure_months: 3", "not valid JSON"), ("[1, 2]", "JSON object"), ("", "empty")],
)
def test_non_json_input_is_a_clear_error(runner: CliRunner, text: str, message: str) -> None:
    result = runner.invoke(app, ["segment", "--json"], input=text)
    assert result.exit_code == 1
    assert result.stdout == ""
    assert message in result.stderr


def test_malformed_policy_exits_1_naming_the_key(runner: CliRunner, tmp_path: Path) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_text("acpu: lots\n", encoding="utf-8")
    result = runner.invoke(
        app, ["segment", "--json", "--policy", str(policy)], input=json.dumps(SNAPSHOT)
    )
    assert result.exit_code == 1
    assert result.stdout == ""
    assert "acpu" in result.stderr


def test_without_json_prints_a_readable_summary(runner: CliRunner) -> None:
    result = runner.invoke(app, ["segment"], input=json.dumps(SNAPSHOT))
    assert result.exit_code == 0, result.stderr
    for text in ("预警期", "高危", "高价值", "600.00", "competitor_hotline"):
        assert text in result.stdout


# What the `retention` script runs (`python -m assistant.cli` would import the CLI twice).
RETENTION = [sys.executable, "-c", "from assistant.cli import main; main()"]


def test_installed_command_keeps_stdout_clean() -> None:
    completed = subprocess.run(
        [*RETENTION, "segment", "--json"],
        input=json.dumps(SNAPSHOT), capture_output=True, text=True, timeout=60, check=False,
    )
    assert completed.returncode == 0, completed.stderr
    assert json.loads(completed.stdout)["risk_label"] == "high"
    bad = subprocess.run(
        [*RETENTION, "segment", "--json"],
        input="{}", capture_output=True, text=True, timeout=60, check=False,
    )
    assert (bad.returncode, bad.stdout) == (1, "")
    assert "tenure_months" in bad.stderr
