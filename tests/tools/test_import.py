"""Import through the shipped mappings and custom ones: typed columns, rejects with reasons, errors."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from tools.errors import InvalidInput
from tools.importers import import_file, load_frame, load_mapping
from tools.subscriber_schema import LABEL_COLUMN, SUBSCRIBER_COLUMNS

DATA = Path(__file__).resolve().parents[1] / "data"
IBM = DATA / "ibm_telco_sample.csv"
BIGML = DATA / "bigml_sample.csv"

IBM_FEATURES = [
    "x_gender", "x_senior_citizen", "x_partner", "x_dependents", "x_tenure", "x_phone_service",
    "x_multiple_lines", "x_internet_service", "x_online_security", "x_online_backup",
    "x_device_protection", "x_tech_support", "x_streaming_tv", "x_streaming_movies", "x_contract",
    "x_paperless_billing", "x_payment_method", "x_monthly_charges", "x_total_charges",
]


def test_ibm_fixture_imports_with_rejects_and_reasons():
    report = import_file(IBM, "ibm-telco")
    assert (report.rows_read, report.rows_imported, report.rejected_count) == (41, 36, 5)
    reasons = {r.row: r.reasons for r in report.rejected}
    assert reasons[21] == ["TotalCharges: blank while tenure is not 0"]
    assert reasons[22] == ["tenure: 'twelve' is not an integer"]
    assert any("Three year" in r for r in reasons[39]) and any("below 0" in r for r in reasons[39])
    assert reasons[40] == ["subscriber_id: duplicate of an earlier row"]
    assert reasons[41] == ["Churn: blank"]
    assert report.warnings == ["TotalCharges: 3 blank value(s) imputed as 0 where tenure is 0"]

    frame = report.frames["subscribers"]
    assert [c for c in frame.columns if c.startswith("x_")] == IBM_FEATURES
    assert {c: str(frame[c].dtype) for c in SUBSCRIBER_COLUMNS} == SUBSCRIBER_COLUMNS
    new = frame[frame["tenure_months"] == 0]
    assert len(new) == 3 and (new["cumulative_spend"] == 0).all()
    assert set(frame["payment_type"]) == {"postpaid"} and frame[LABEL_COLUMN].notna().all()
    assert set(frame["contract_type"]) <= {"none", "plan"} and set(frame["gender"]) <= {"m", "f"}
    assert set(frame["x_internet_service"].dropna()) <= {"dsl", "fiber_optic", "no"}
    assert frame["x_multiple_lines"].dtype == "boolean"
    assert (frame["arpu_3m_avg"] == frame["x_monthly_charges"]).all()


def test_bigml_fixture_imports_every_usage_column():
    report = import_file(BIGML, "bigml")
    assert (report.rows_read, report.rows_imported) == (40, 37)
    reasons = {r.row: r.reasons for r in report.rejected}
    assert reasons[11] == ["Total day minutes: 'n/a' is not a number"]
    assert "International plan: 'Maybe'" in reasons[27][0]
    assert reasons[28] == ["Churn: blank"]
    frame = report.frames["subscribers"]
    extras = [c for c in frame.columns if c.startswith("x_")]
    assert len(extras) == 19 and "x_customer_service_calls" in extras and "x_total_intl_charge" in extras
    assert frame["subscriber_id"].iloc[0] == "BIGML-000001" and frame["subscriber_id"].is_unique
    row = frame.iloc[0]
    minutes = row[["x_total_day_minutes", "x_total_eve_minutes", "x_total_night_minutes",
                   "x_total_intl_minutes"]].sum()
    assert row["mou_month"] == pytest.approx(minutes)
    assert row["arpu_3m_avg"] == row["arpu_month"] > 0
    assert frame[LABEL_COLUMN].dtype == "boolean" and frame[LABEL_COLUMN].any()


def test_missing_column_error_names_it(tmp_path):
    path = tmp_path / "no_tenure.csv"
    pd.read_csv(IBM, dtype=str, keep_default_na=False).drop(columns=["tenure"]).to_csv(path, index=False)
    with pytest.raises(InvalidInput, match=r"missing columns \['tenure'\]"):
        import_file(path, "ibm-telco")


def test_mistyped_column_error_names_it(tmp_path):
    path = tmp_path / "mistyped.csv"
    frame = pd.read_csv(BIGML, dtype=str, keep_default_na=False)
    frame["Total eve calls"] = "many"
    frame.to_csv(path, index=False)
    with pytest.raises(InvalidInput, match="'Total eve calls' should hold int"):
        import_file(path, "bigml")


def test_parquet_input_and_header_case_are_accepted(tmp_path):
    frame = pd.read_csv(BIGML, dtype=str, keep_default_na=False)
    frame = frame.rename(columns={"State": "state"})
    frame["Account length"] = pd.to_numeric(frame["Account length"])
    path = tmp_path / "bigml.parquet"
    frame.to_parquet(path)
    assert import_file(path, "bigml").rows_imported == 37


def test_gbk_csv_with_a_custom_mapping(tmp_path):
    (tmp_path / "cn.yaml").write_text(
        """
name: cn-sample
constants: {payment_type: prepaid}
columns:
  用户编号: {type: string, to: subscriber_id, missing: reject}
  省份: {type: string, to: region}
  月均消费: {type: float, min: 0, to: arpu_3m_avg, feature: true}
  网龄: {type: int, to: tenure_months}
  是否流失: {type: bool, true_values: [是], false_values: [否], to: churned_next_3m}
derived:
  x_spend_per_month_of_tenure: {divide: [月均消费, 网龄], round: 2}
""",
        encoding="utf-8",
    )
    csv = "用户编号,省份,月均消费,网龄,是否流失\nC1,广东,88.5,12,是\nC2,河北,20,0,否\nC3,北京,abc,3,否\n"
    path = tmp_path / "cn.csv"
    path.write_bytes(csv.encode("gbk"))
    report = import_file(path, tmp_path / "cn.yaml")
    assert report.encoding == "gbk" and report.rows_imported == 2
    assert report.rejected[0].row == 3 and "月均消费" in report.rejected[0].reasons[0]
    frame = report.frames["subscribers"]
    assert list(frame["region"]) == ["广东", "河北"] and list(frame[LABEL_COLUMN]) == [True, False]
    assert frame["x_spend_per_month_of_tenure"].iloc[0] == pytest.approx(7.38)
    assert pd.isna(frame["x_spend_per_month_of_tenure"].iloc[1])  # divide by 0 → unknown


def test_bad_mappings_are_reported(tmp_path):
    with pytest.raises(InvalidInput, match="unknown mapping 'nope'"):
        load_mapping("nope")
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: bad\ncolumns:\n  a: {type: string, to: not_a_column}\n", encoding="utf-8")
    with pytest.raises(InvalidInput, match="not_a_column"):
        load_mapping(bad)
    code = tmp_path / "code.yaml"
    code.write_text(
        "name: code\ncolumns:\n  a: {type: float}\nderived:\n  x_b: {eval: \"__import__('os')\"}\n",
        encoding="utf-8",
    )
    with pytest.raises(InvalidInput, match="eval"):
        load_mapping(code)


def test_load_frame_gives_the_model_its_columns():
    frame = load_frame(IBM, "ibm-telco")
    assert len(frame) == 36 and LABEL_COLUMN in frame
    assert {"tenure_months", "arpu_3m_avg", "x_contract", "x_payment_method"} <= set(frame.columns)
