"""`retention offers`: one JSON list on stdout with the contract keys; errors on stderr with exit code 1."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest
from typer.testing import CliRunner

from assistant.cli import COMMAND_MODULES, app

OFFER_KEYS = ["measure_code", "title_zh", "title_en", "monthly_cost", "one_off_cost", "cap_monthly",
              "cap_total", "expected_value", "why", "citations"]
# domain.md 7.1: high value, contract ends in 70 days, ARPU down 30%, forwarding to another operator.
SNAPSHOT = {"tenure_months": 36, "arpu_3m_avg": 180, "network_avg_arpu": 50, "payment_type": "postpaid",
            "contract_end_in_days": 70, "arpu_change_pct": -30, "forwards_to_competitor": 2}
RETENTION = [sys.executable, "-c", "from assistant.cli import main; main()"]


def write(tmp_path: Path, payload: object, name: str = "snapshot.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(payload, ensure_ascii=False), encoding="utf-8")
    return path


def test_offers_is_registered() -> None:
    assert "assistant.cli_offers" in COMMAND_MODULES


def test_inline_snapshot_gives_one_json_list_with_the_contract_keys(
    runner: CliRunner, tmp_path: Path, kb_settings
) -> None:
    result = runner.invoke(app, ["offers", "--subscriber-json", str(write(tmp_path, SNAPSHOT)), "--json"])
    assert result.exit_code == 0, result.stderr
    assert result.stdout.count("\n") == 1
    offers = json.loads(result.stdout)
    assert isinstance(offers, list) and len(offers) == 3
    assert all(list(offer) == OFFER_KEYS for offer in offers)
    assert [o["measure_code"] for o in offers] == ["RM004", "DM002", "DM002"]
    assert [o["title_zh"] for o in offers] == ["存费送费", "话补续约", "机补续约"]
    for offer in offers:
        assert (offer["cap_monthly"], offer["cap_total"]) == (18.0, 600.0)
        assert offer["why"] and offer["citations"]
        assert {"id", "source", "section", "text"} <= set(offer["citations"][0])


def test_stdin_profile_fields_and_options(runner: CliRunner, kb_settings) -> None:
    snapshot = {**SNAPSHOT, "handset_gen": "2g", "churn_probability": 0.6, "as_of": "2025-12-31",
                "recent_dispatches": [{"date": "2025-01-05", "scenario": "renewal", "measure_codes": "RM004"}]}
    result = runner.invoke(app, ["offers", "--subscriber-json", "-", "--json", "--max-offers", "2"],
                           input=json.dumps(snapshot))
    assert result.exit_code == 0, result.stderr
    offers = json.loads(result.stdout)
    assert [o["title_zh"] for o in offers] == ["机补续约", "存费送费"]  # 2G handset: handset first (7.1)


def test_low_value_walk_in_gets_store_value_get_credit(runner: CliRunner, tmp_path: Path, kb_settings) -> None:
    low = {**SNAPSHOT, "arpu_3m_avg": 30}
    path = write(tmp_path, low)
    proactive = json.loads(runner.invoke(app, ["offers", "--subscriber-json", str(path), "--json"]).stdout)
    assert all(o["monthly_cost"] == 0 and o["one_off_cost"] == 0 for o in proactive)
    walk_in = runner.invoke(app, ["offers", "--subscriber-json", str(path), "--json", "--customer-initiated"])
    paid = [o for o in json.loads(walk_in.stdout) if o["one_off_cost"] or o["monthly_cost"]]
    assert [o["measure_code"] for o in paid] == ["RM004"]


def test_readable_output_shows_the_why_and_the_sources(runner: CliRunner, tmp_path: Path, kb_settings) -> None:
    result = runner.invoke(app, ["offers", "--subscriber-json", str(write(tmp_path, SNAPSHOT))])
    assert result.exit_code == 0, result.stderr
    for text in ("到期续约", "存费送费", "话补续约", "Expected retained value", "08-renewal.zh.md", "600"):
        assert text in result.stdout


def test_stored_subscriber_by_id(runner: CliRunner, tmp_path: Path, kb_settings) -> None:
    from tools.generate import write_generated
    from tools.subscribers import SubscriberStore

    store = SubscriberStore(tmp_path / "store")
    write_generated(store, rows=300, seed=3, as_of=date(2025, 12, 31), progress=False)
    ids = store.read_table("subscribers", ["subscriber_id"])["subscriber_id"].tolist()
    for sid in ids[:5]:
        result = runner.invoke(app, ["offers", "--subscriber", sid, "--json", "--data-dir", str(tmp_path / "store")])
        assert result.exit_code == 0, result.stderr
        offers = json.loads(result.stdout)
        assert all(list(o) == OFFER_KEYS and o["citations"] for o in offers)
    missing = runner.invoke(app, ["offers", "--subscriber", "NOPE-1", "--json", "--data-dir", str(tmp_path / "store")])
    assert missing.exit_code == 1 and missing.stdout == ""
    assert "no subscriber" in missing.stderr


@pytest.mark.parametrize(
    ("payload", "named"),
    [
        ({k: v for k, v in SNAPSHOT.items() if k != "tenure_months"}, "tenure_months: required field is missing"),
        ({**SNAPSHOT, "payment_type": "credit"}, "payment_type"),
        ({**SNAPSHOT, "arpu_3m": 5}, "arpu_3m: unknown field"),
        ({**SNAPSHOT, "handset_gen": "5g"}, "handset_gen"),
        ({**SNAPSHOT, "churn_probability": 3}, "churn_probability"),
        ({**SNAPSHOT, "recent_dispatches": [{"scenario": "renewal"}]}, "recent_dispatches.0.date"),
    ],
)
def test_invalid_snapshot_exits_1_naming_the_field(
    runner: CliRunner, tmp_path: Path, payload: dict, named: str
) -> None:
    result = runner.invoke(app, ["offers", "--subscriber-json", str(write(tmp_path, payload)), "--json"])
    assert result.exit_code == 1
    assert result.stdout == ""
    assert named in result.stderr


def test_exactly_one_source_is_required(runner: CliRunner, tmp_path: Path) -> None:
    neither = runner.invoke(app, ["offers", "--json"])
    both = runner.invoke(app, ["offers", "--subscriber", "S1", "--subscriber-json", str(write(tmp_path, SNAPSHOT))])
    for result in (neither, both):
        assert result.exit_code == 1 and "exactly one" in result.stderr


def test_installed_command_reports_an_unknown_subscriber_in_one_line(tmp_path: Path) -> None:
    env = {**__import__("os").environ, "RETENTION_DATA_DIR": str(tmp_path)}
    completed = subprocess.run([*RETENTION, "offers", "--subscriber", "S404", "--json"], env=env,
                               capture_output=True, text=True, timeout=120, check=False)
    assert (completed.returncode, completed.stdout) == (1, "")
    assert completed.stderr.strip().count("\n") == 0 and "error:" in completed.stderr
