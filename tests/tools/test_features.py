"""Churn features: hand-checked trends, chunk purity, imported frames, phrases."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tools.feature_text import describe_feature
from tools.features import FeatureSpec, build_features
from tools.generate import generate

DATA = Path(__file__).resolve().parents[1] / "data"
MONTHS = [f"2025-{m:02d}" for m in range(1, 13)]


def _usage(sid: str, months: list[str], **columns: list[float]) -> pd.DataFrame:
    n = len(months)
    base = {"arpu": [50.0] * n, "mou": [200.0] * n, "sms": [10] * n, "data_mb": [500.0] * n,
            "distinct_called": [20] * n, "calling_count": [100] * n, "called_count": [100] * n,
            "fwd_count": [0] * n, "fwd_offnet_share_pct": [0.0] * n,
            "competitor_hotline_calls": [0] * n, "complaints": [0] * n, "suspensions": [0] * n}
    base.update(columns)
    return pd.DataFrame({"subscriber_id": sid, "month": months, **base})


@pytest.fixture()
def two_subscribers() -> tuple[pd.DataFrame, pd.DataFrame]:
    subs = pd.DataFrame({
        "subscriber_id": ["A", "B"],
        "tenure_months": [40, 4],
        "arpu_3m_avg": [32.5, 60.0],
        "contract_end_date": pd.to_datetime(["2026-01-30", None]),
        "snapshot_date": pd.to_datetime(["2025-12-31", "2025-12-31"]),
        "payment_type": ["postpaid", "prepaid"],
    })
    arpu_a = [50.0] * 6 + [50.0, 50.0, 50.0] + [40.0, 30.0, 27.5]  # last 3 mean 32.5: -35%
    mou_a = [200.0] * 11 + [0.0]
    share_a = [0.0] * 9 + [5.0, 15.0, 25.0]
    called_a = [100] * 9 + [150] * 3  # called/calling 1.0 -> 1.5: +50%
    a = _usage("A", MONTHS, arpu=arpu_a, mou=mou_a, fwd_offnet_share_pct=share_a, called_count=called_a,
               competitor_hotline_calls=[0] * 10 + [1, 2])
    b = _usage("B", MONTHS[-3:], arpu=[60.0] * 3)
    return subs, pd.concat([b, a], ignore_index=True)  # not grouped in subscriber order


def test_trends_match_hand_computed_values(two_subscribers):
    subs, usage = two_subscribers
    f = build_features(subs, usage, network_avg_arpu=65.0).set_index("subscriber_id")
    a, b = f.loc["A"], f.loc["B"]
    assert a["arpu_change_pct"] == pytest.approx(-35.0, abs=0.01)
    assert a["mou_mom_change_pct"] == pytest.approx(-100.0)
    assert a["zero_call_months_3m"] == 1
    assert a["fwd_months_over_10pct_3m"] == 2 and a["fwd_share_3m_pct"] == pytest.approx(15.0)
    assert a["called_calling_ratio_change_pct"] == pytest.approx(50.0)
    assert a["competitor_hotline_calls_3m"] == 3
    assert a["contract_days_to_end"] == 30 and a["has_contract"] == 1
    assert a["arpu_vs_network"] == pytest.approx(0.5)
    assert a["arpu_slope_pct"] < 0
    assert b["usage_months"] == 3 and np.isnan(b["arpu_change_pct"])  # no previous 3 months
    assert np.isnan(b["contract_days_to_end"]) and b["has_contract"] == 0
    assert f["arpu_change_pct"].dtype == np.float32
    assert isinstance(f["payment_type"].dtype, pd.CategoricalDtype)


def test_chunks_give_the_same_features_as_the_whole():
    data = generate(3000, seed=5)
    subs, usage = data["subscribers"], data["usage"]
    avg = float(subs["arpu_3m_avg"].mean())
    whole = build_features(subs, usage, avg)
    parts = []
    for ids in np.array_split(subs["subscriber_id"].to_numpy(), 3):
        chunk = subs[subs["subscriber_id"].isin(ids)]
        parts.append(build_features(chunk, usage[usage["subscriber_id"].isin(ids)], avg))
    shuffled = build_features(subs, usage.sample(frac=1.0, random_state=1), avg)
    numeric = [c for c in whole.columns if whole[c].dtype == np.float32]
    joined = pd.concat(parts, ignore_index=True)
    np.testing.assert_array_equal(joined[numeric].to_numpy(), whole[numeric].to_numpy())
    np.testing.assert_array_equal(shuffled[numeric].to_numpy(), whole[numeric].to_numpy())


def test_imported_frame_without_usage_uses_schema_and_extra_columns():
    from tools.importers import load_frame

    frame = load_frame(DATA / "ibm_telco_sample.csv", "ibm-telco")
    features = build_features(frame)
    spec = FeatureSpec.infer(features)
    assert "tenure_months" in spec.numeric and "x_contract" in spec.categorical
    assert "x_tenure" not in spec.columns  # an exact copy of tenure_months
    assert "x_gender" not in spec.columns and "gender" not in spec.columns
    assert not any(c.endswith("_change_pct") for c in spec.columns)  # no usage history


def test_spec_fixes_categories_and_fills_missing_columns():
    spec = FeatureSpec(["tenure_months", "silent_days"], {"payment_type": ["postpaid", "prepaid"]})
    frame = pd.DataFrame({"tenure_months": [3.0], "payment_type": pd.Categorical(["satellite"])})
    x = spec.apply(frame)
    assert list(x.columns) == ["tenure_months", "silent_days", "payment_type"]
    assert np.isnan(x["silent_days"][0]) and pd.isna(x["payment_type"][0])
    assert list(x["payment_type"].cat.categories) == ["postpaid", "prepaid"]
    assert FeatureSpec.from_json(spec.to_json()) == spec


def test_phrases_state_the_value_in_both_languages():
    assert describe_feature("arpu_change_pct", -35.2) == (
        "近3个月ARPU较前3个月下降35%", "ARPU down 35% vs the previous 3 months")
    zh, en = describe_feature("fwd_months_over_10pct_3m", 2.0)
    assert "2个月" in zh and "2 of the last 3 months" in en
    assert describe_feature("contract_days_to_end", -12.0)[1] == "contract expired 12 days ago"
    assert describe_feature("payment_type", "prepaid") == (
        "付费方式：预付费", "payment type: prepaid")
    assert describe_feature("has_contract", 0.0)[1] == "no contract binding"
    assert describe_feature("silent_days", float("nan")) is None
