"""The synthetic generator: deterministic, realistic shares, signal-driven labels, learnable not trivial."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tools.generate import generate, write_generated
from tools.masking import looks_like_phone
from tools.subscriber_schema import LABEL_COLUMN, SUBSCRIBER_COLUMNS, USAGE_COLUMNS
from tools.subscribers import SubscriberStore


@pytest.fixture(scope="module")
def base() -> dict[str, pd.DataFrame]:
    return generate(20_000, seed=7)


def test_same_seed_gives_the_same_frames_and_another_seed_does_not():
    a, b, c = generate(1_500, seed=5), generate(1_500, seed=5), generate(1_500, seed=6)
    pd.testing.assert_frame_equal(a["subscribers"], b["subscribers"])
    pd.testing.assert_frame_equal(a["usage"], b["usage"])
    assert not a["subscribers"]["arpu_3m_avg"].equals(c["subscribers"]["arpu_3m_avg"])


def test_frames_follow_the_schema(base):
    subs, usage = base["subscribers"], base["usage"]
    assert {c: str(t) for c, t in subs.dtypes.items()} == SUBSCRIBER_COLUMNS
    assert {c: str(t) for c, t in usage.dtypes.items()} == USAGE_COLUMNS
    assert subs["subscriber_id"].is_unique and subs["msisdn"].is_unique
    assert subs["msisdn"].map(looks_like_phone).all()
    assert set(subs["payment_type"]) == {"postpaid", "quasi_prepaid", "prepaid"}
    assert subs[LABEL_COLUMN].notna().all()


def test_usage_starts_at_activation(base):
    subs, usage = base["subscribers"], base["usage"]
    months = usage.groupby("subscriber_id")["month"].count()
    expected = subs.set_index("subscriber_id")["tenure_months"].clip(upper=12).astype(int)
    assert (months.reindex(expected.index) == expected).all()


def test_population_is_operator_like(base):
    subs = base["subscribers"]
    shares = subs["payment_type"].value_counts(normalize=True)
    assert 0.25 < shares["postpaid"] < 0.45 and 0.25 < shares["prepaid"] < 0.40
    assert subs["is_student"].mean() == pytest.approx(0.06, abs=0.02)
    companies = subs[subs["group_size"] > 0]
    assert (companies["group_size"] == 8).any() and not companies.loc[companies["group_size"] == 8, "is_group"].any()
    assert companies.loc[companies["is_group"].astype(bool), "group_size"].min() >= 10
    assert 15 <= subs["tenure_months"].mean() <= 50


def test_churn_rate_and_signals_drive_the_label(base):
    subs = base["subscribers"]
    churn = subs[LABEL_COLUMN].astype(bool)
    print(f"\nchurn rate {churn.mean():.3f}")
    assert 0.08 <= churn.mean() <= 0.20
    forwarding = subs["fwd_offnet_share_pct"] > 10
    assert churn[forwarding].mean() > 3 * churn[~forwarding].mean()
    hotline = subs["competitor_hotline_calls"] > 0
    assert churn[hotline].mean() > 2 * churn[~hotline].mean()
    assert churn[subs["tenure_months"] <= 6].mean() > churn[subs["tenure_months"] > 24].mean()
    assert churn[subs["arrears_days"] >= 60].mean() > 2 * churn.mean()
    churner_pay = subs.loc[churn, "payment_type"].value_counts(normalize=True)
    assert churner_pay["postpaid"] < churner_pay["quasi_prepaid"]  # domain.md 5.3: 26% vs 39%


def _features(subs: pd.DataFrame, usage: pd.DataFrame) -> pd.DataFrame:
    wide = usage.set_index(["subscriber_id", "month"])[
        ["arpu", "mou", "distinct_called", "fwd_offnet_share_pct", "competitor_hotline_calls", "complaints"]
    ].unstack("month")
    months = sorted(usage["month"].unique())
    x = pd.DataFrame(index=wide.index)
    for col in ("arpu", "mou", "distinct_called"):
        recent, early = wide[col][months[-3:]].mean(axis=1), wide[col][months[:6]].mean(axis=1)
        x[f"{col}_last"] = wide[col][months[-1]]
        x[f"{col}_trend"] = recent / (early + 1)
    x["fwd"] = wide["fwd_offnet_share_pct"][months[-1]]
    x["hotline"] = wide["competitor_hotline_calls"][months[-2:]].sum(axis=1)
    x["complaints"] = wide["complaints"][months[-3:]].sum(axis=1)
    s = subs.set_index("subscriber_id").reindex(x.index)
    for col in ("tenure_months", "arrears_days", "silent_days", "plan_fee", "age"):
        x[col] = s[col].astype("float64")
    x["contract_days"] = (s["contract_end_date"] - s["snapshot_date"]).dt.days
    for col in ("payment_type", "channel", "handset_gen", "plan_type", "is_student", "is_group"):
        x[col] = s[col].astype("category").cat.codes
    return x.assign(y=s[LABEL_COLUMN].astype(int))


def test_a_quick_model_reaches_a_realistic_auc(base):
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.metrics import roc_auc_score

    data = _features(base["subscribers"], base["usage"])
    rng = np.random.default_rng(0)
    test = rng.random(len(data)) < 0.3
    x, y = data.drop(columns="y"), data["y"]
    model = HistGradientBoostingClassifier(max_iter=150, learning_rate=0.08, random_state=0)
    model.fit(x[~test], y[~test])
    auc = roc_auc_score(y[test], model.predict_proba(x[test])[:, 1])
    print(f"\nquick HistGradientBoosting ROC-AUC on 20k generated rows: {auc:.3f}")
    assert 0.75 <= auc <= 0.95


def test_written_data_is_queryable(tmp_path):
    store = SubscriberStore(tmp_path)
    report = write_generated(store, 2_500, seed=3, progress=False)
    assert report.rows == 2_500 and report.usage_rows == len(store.read_table("usage"))
    assert 0.0 < report.churn_rate < 0.3
    first = store.read_table("subscribers")["subscriber_id"].iloc[10]
    snap = store.to_snapshot(first)
    assert snap.network_avg_arpu == pytest.approx(store.read_table("subscribers")["arpu_3m_avg"].mean())
    assert snap.cumulative_spend_rank_pct is not None
