"""`retention data generate` and `retention data import` through the real entry point."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from assistant.cli import main
from tools.subscribers import SubscriberStore

DATA = Path(__file__).resolve().parents[1] / "data"


def run(monkeypatch, capsys, *args: str) -> tuple[int, str, str]:
    monkeypatch.setattr(sys, "argv", ["retention", *args])
    with pytest.raises(SystemExit) as exit_:
        main()
    out = capsys.readouterr()
    return exit_.value.code or 0, out.out, out.err


def test_generate_json_writes_the_store(tmp_path, monkeypatch, capsys):
    code, out, _ = run(monkeypatch, capsys, "data", "generate", "--rows", "1500", "--seed", "9",
                       "--data-dir", str(tmp_path), "--json", "--no-progress")
    assert code == 0
    report = json.loads(out)  # exactly one JSON document
    assert report["rows"] == 1500 and 0 < report["churn_rate"] < 0.3 and report["seconds"] >= 0
    assert Path(report["files"]["usage"]).is_file()
    assert len(SubscriberStore(tmp_path).read_table("subscribers")) == 1500


def test_import_json_reports_rejected_rows(tmp_path, monkeypatch, capsys):
    code, out, _ = run(monkeypatch, capsys, "data", "import", str(DATA / "ibm_telco_sample.csv"),
                       "--mapping", "ibm-telco", "--data-dir", str(tmp_path), "--json")
    assert code == 0
    report = json.loads(out)
    assert (report["rows_read"], report["rows_imported"]) == (41, 36)
    assert {"row": 41, "reasons": ["Churn: blank"]} in report["rejected"]
    assert report["warnings"] and "frames" not in report
    assert Path(report["files"]["subscribers"]).is_file()
    assert SubscriberStore(tmp_path).get("2542-OJECR").tenure_months == 58


def test_import_text_summary_and_dry_run(tmp_path, monkeypatch, capsys):
    code, out, _ = run(monkeypatch, capsys, "data", "import", str(DATA / "bigml_sample.csv"),
                       "-m", "bigml", "--data-dir", str(tmp_path), "--dry-run")
    assert code == 0 and "37 of 40 rows imported" in out and "rejected row 11" in out
    assert not SubscriberStore(tmp_path).exists()


def test_import_errors_are_one_line_and_exit_1(tmp_path, monkeypatch, capsys):
    code, out, err = run(monkeypatch, capsys, "data", "import", str(DATA / "bigml_sample.csv"),
                         "--mapping", "ibm-telco", "--data-dir", str(tmp_path))
    assert code == 1 and out == ""
    line = [x for x in err.splitlines() if x.startswith("error:")]
    assert len(line) == 1 and "missing columns" in line[0] and "customerID" in line[0]
    assert "Traceback" not in err


def test_generate_rejects_a_bad_date(tmp_path, monkeypatch, capsys):
    code, _, err = run(monkeypatch, capsys, "data", "generate", "--rows", "10", "--as-of", "31/12/2025",
                       "--data-dir", str(tmp_path))
    assert code == 1 and "--as-of" in err
