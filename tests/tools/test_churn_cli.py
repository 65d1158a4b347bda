"""`retention churn train | evaluate | score` through the real entry point: JSON contracts, errors."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pandas as pd
import pytest

from assistant.cli import main
from tools.generate import write_generated
from tools.subscribers import SubscriberStore

DATA = Path(__file__).resolve().parents[1] / "data"
RISK_KEYS = {"subscriber_id", "churn_probability", "risk_label", "lifecycle_stage", "value_tier",
             "cost_caps", "reasons"}


@pytest.fixture(autouse=True)
def one_thread(monkeypatch):
    from assistant.config import get_settings

    monkeypatch.setenv("RETENTION_CHURN_THREADS", "1")  # the test machine is shared
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("churn-cli")
    write_generated(SubscriberStore(root), 2500, seed=4, progress=False)
    return root


def run(monkeypatch, capsys, *args: str) -> tuple[int, str, str]:
    monkeypatch.setattr(sys, "argv", ["retention", *args])
    with pytest.raises(SystemExit) as exit_:
        main()
    out = capsys.readouterr()
    return exit_.value.code or 0, out.out, out.err


def test_score_before_training_uses_the_rules(data_dir, monkeypatch, capsys):
    code, out, _ = run(monkeypatch, capsys, "churn", "score", "--subscriber", "S000000007",
                       "--data-dir", str(data_dir), "--json")
    assert code == 0
    risk = json.loads(out)
    assert RISK_KEYS <= set(risk) and risk["model"] == "rules"


def test_train_then_score_one_and_all(data_dir, monkeypatch, capsys, tmp_path):
    code, out, err = run(monkeypatch, capsys, "churn", "train", "--folds", "3", "--data-dir",
                         str(data_dir), "--json")
    assert code == 0, err
    report = json.loads(out)
    assert report["model"] in ("lightgbm", "logistic") and report["n"] == 2500
    assert set(report["cv"]) == {"lightgbm", "logistic"} and report["cv"][report["model"]]["roc_auc"] > 0.7
    assert (data_dir / "models" / "churn" / "metadata.json").is_file()

    code, out, _ = run(monkeypatch, capsys, "churn", "score", "-s", "S000000007",
                       "--data-dir", str(data_dir), "--json")
    assert code == 0
    risk = json.loads(out)
    assert RISK_KEYS <= set(risk) and risk["model"] == report["model"]
    assert 0 <= risk["churn_probability"] <= 1
    assert set(risk["lifecycle_stage"]) == {"code", "zh", "en"} and "monthly" in risk["cost_caps"]
    assert all(set(r) == {"factor", "contribution", "zh", "en"} and r["contribution"] > 0
               for r in risk["reasons"])

    out_file = tmp_path / "scores.parquet"
    code, out, _ = run(monkeypatch, capsys, "churn", "score", "--all", "--out", str(out_file),
                       "--data-dir", str(data_dir), "--json", "--no-progress")
    assert code == 0 and json.loads(out)["rows"] == 2500
    assert len(pd.read_parquet(out_file)) == 2500

    code, out, _ = run(monkeypatch, capsys, "churn", "score", "-s", "S000000007", "--data-dir", str(data_dir))
    assert code == 0 and "churn probability" in out


def test_unknown_subscriber_exits_1_with_one_line(data_dir, monkeypatch, capsys):
    code, out, err = run(monkeypatch, capsys, "churn", "score", "--subscriber", "S999999999",
                         "--data-dir", str(data_dir), "--json")
    assert code == 1 and out == ""
    lines = [x for x in err.splitlines() if x.startswith("error:")]
    assert len(lines) == 1 and "no subscriber" in lines[0] and "Traceback" not in err


def test_score_needs_a_subscriber_or_all(data_dir, monkeypatch, capsys):
    code, out, err = run(monkeypatch, capsys, "churn", "score", "--data-dir", str(data_dir))
    assert code == 1 and out == "" and "--subscriber" in err
    code, _, err = run(monkeypatch, capsys, "churn", "score", "--all", "--data-dir", str(data_dir))
    assert code == 1 and "--out" in err


@pytest.mark.parametrize("fixture, mapping", [("ibm_telco_sample.csv", "ibm-telco"),
                                              ("bigml_sample.csv", "bigml")])
def test_evaluate_imported_fixture_json(fixture, mapping, tmp_path, monkeypatch, capsys):
    code, out, err = run(monkeypatch, capsys, "churn", "evaluate", "--data", str(DATA / fixture),
                         "--mapping", mapping, "--folds", "3", "--data-dir", str(tmp_path), "--json")
    assert code == 0, err
    result = json.loads(out)
    assert {"roc_auc", "pr_auc", "brier", "precision_at_top_decile", "n", "positives", "model"} <= set(result)
    assert result["method"] == "nested_cv" and result["folds"] == 3 and result["n"] > 30
    assert 0 <= result["brier"] <= 1


def test_evaluate_holdout_json(tmp_path, monkeypatch, capsys):
    ibm = str(DATA / "ibm_telco_sample.csv")
    code, out, err = run(monkeypatch, capsys, "churn", "evaluate", "--train", ibm, "--test", ibm,
                         "--mapping", "ibm-telco", "--folds", "3", "--data-dir", str(tmp_path), "--json")
    assert code == 0, err
    result = json.loads(out)
    assert result["method"] == "holdout" and result["n"] == result["n_train"] == 36
    assert set(result["candidates"]) == {"lightgbm", "logistic"}


def test_train_on_a_file_needs_its_mapping(tmp_path, monkeypatch, capsys):
    code, out, err = run(monkeypatch, capsys, "churn", "train", "--data", str(DATA / "bigml_sample.csv"),
                         "--data-dir", str(tmp_path), "--json")
    assert code == 1 and out == "" and "--mapping" in err


def test_ibm_shaped_data_trains_and_names_each_fact_once(tmp_path, monkeypatch, capsys):
    """Import -> train -> score on 3,000 IBM-shaped rows: the coarse copies the mapping derives
    (contract_type from Contract, plan_type from InternetService, bank_collection from
    PaymentMethod) are recorded as topics of their source column, so a reason is given once."""
    from ibm_like import write_ibm_like

    csv = write_ibm_like(tmp_path / "telco.csv", 3000, seed=11)
    root = tmp_path / "data"
    code, out, err = run(monkeypatch, capsys, "data", "import", str(csv), "--mapping", "ibm-telco",
                         "--data-dir", str(root), "--json")
    assert code == 0, err
    imported = json.loads(out)
    assert imported["rows_imported"] == 3000 and imported["rejected_count"] == 0
    assert any("TotalCharges" in w and "tenure is 0" in w for w in imported["warnings"])
    code, out, err = run(monkeypatch, capsys, "churn", "train", "--folds", "3", "--data-dir", str(root), "--json")
    assert code == 0, err
    assert json.loads(out)["cv"][json.loads(out)["model"]]["roc_auc"] > 0.75
    topics = json.loads((root / "models" / "churn" / "metadata.json").read_text())["feature_topics"]
    assert topics == {"contract_type": "x_contract", "plan_type": "x_internet_service",
                      "bank_collection": "x_payment_method"}

    frame = pd.read_csv(csv)
    risky = frame[(frame.Contract == "Month-to-month") & (frame.tenure == 1)].customerID.iloc[0]
    code, out, err = run(monkeypatch, capsys, "churn", "score", "--subscriber", risky,
                         "--data-dir", str(root), "--json")
    assert code == 0, err
    reasons = json.loads(out)["reasons"]
    factors = [r["factor"] for r in reasons]
    assert factors[0] == "x_contract" and reasons[0]["en"] == "contract: month-to-month"
    assert "contract_type" not in factors and len(set(factors)) == len(factors)
    assert "1 month in network" in [r["en"] for r in reasons]
