"""Vectorised segmentation equals the scalar playbook rules, subscriber by subscriber."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from tools.generate import write_generated
from tools.policy import load_policy
from tools.rules import detect_signals, risk_label, segment
from tools.segment_frame import TENURE_BANDS, segment_frame, segment_store, tenure_band
from tools.subscribers import SubscriberStore


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> SubscriberStore:
    store = SubscriberStore(tmp_path_factory.mktemp("segment") / "data")
    write_generated(store, rows=2500, seed=21, as_of=date(2025, 12, 31), progress=False)
    return store


def _sample(seg: pd.DataFrame, n: int = 400) -> pd.DataFrame:
    """A sample that covers every stage, tier and label the base has, plus random rows."""
    picks = [seg.groupby(c, group_keys=False).head(15) for c in ("value_tier", "lifecycle_stage", "risk_label")]
    return pd.concat([*picks, seg.sample(n, random_state=1)]).drop_duplicates("subscriber_id")


def test_frame_equals_the_scalar_rules(store: SubscriberStore) -> None:
    policy = load_policy()
    seg = segment_store(store, policy)
    assert len(seg) == 2500 and set(seg["lifecycle_stage"]) >= {"warning", "stable", "sunk"}
    for row in _sample(seg).itertuples():
        scalar = segment(store.to_snapshot(row.subscriber_id), policy)
        assert (row.value_tier, row.lifecycle_stage, row.risk_label) == (
            scalar.value_tier.code, scalar.lifecycle_stage.code, scalar.risk_label), row.subscriber_id
        assert row.rule_probability == pytest.approx(scalar.rule_score.probability, abs=1e-4)
        assert row.signal_count == len(scalar.signals) and row.passive_churn == scalar.passive_churn


def test_model_probabilities_drive_the_label_like_churn_risk(store: SubscriberStore) -> None:
    policy = load_policy()
    rng = np.random.default_rng(3)
    probability = rng.uniform(0, 1, 2500).round(4)
    seg = segment_store(store, policy, probability=probability, low_min_probability=0.12)
    for i in _sample(seg, 300).index:
        snap = store.to_snapshot(seg.at[i, "subscriber_id"])
        full = segment(snap, policy)
        signals = detect_signals(snap, policy, tier=full.value_tier.code)
        label, _ = risk_label(snap, policy, signals=signals, stage=full.lifecycle_stage.code,
                              probability=float(probability[i]))
        if label == "stable" and probability[i] >= 0.12:
            label = "low"  # tools.churn._low_by_base_rate
        assert seg.at[i, "risk_label"] == label


def test_rows_without_usage_use_their_own_snapshot_fields(store: SubscriberStore) -> None:
    subs = store.read_table("subscribers").head(200)
    avg = store.network_averages().arpu
    seg = segment_frame(subs, None, avg, None, load_policy())
    from tools.subscriber_schema import build_snapshot

    for i, row in enumerate(subs.to_dict("records")):
        snap = build_snapshot(row, store.usage_history("none").iloc[:0], avg, None, None)
        assert seg.at[i, "value_tier"] == segment(snap).value_tier.code
        assert seg.at[i, "lifecycle_stage"] == segment(snap).lifecycle_stage.code


def test_tenure_bands_follow_domain_1_5() -> None:
    bands = tenure_band([0, 3, 4, 6, 7, 24, 25, None])
    assert list(bands) == ["ultra_short", "ultra_short", "short", "short", "normal", "normal", "long", None]
    assert set(TENURE_BANDS) == {"ultra_short", "short", "normal", "long"}


def test_batch_score_file_carries_the_same_segments_as_churn_risk(store: SubscriberStore, tmp_path) -> None:
    from tools.churn import churn_risk, train_from_store
    from tools.churn_batch import score_all

    model_dir = tmp_path / "model"
    train_from_store(store, model_dir, folds=2, seed=1, threads=1)
    score_all(store, model_dir, tmp_path / "scores.parquet", progress=False, threads=1)
    scores = pd.read_parquet(tmp_path / "scores.parquet")
    assert {"value_tier", "lifecycle_stage", "risk_label", "tenure_band"} <= set(scores.columns)
    for row in scores.sample(60, random_state=2).itertuples():
        risk = churn_risk(store, row.subscriber_id, model_dir)
        assert (row.value_tier, row.lifecycle_stage, row.risk_label) == (
            risk.value_tier.code, risk.lifecycle_stage.code, risk.risk_label), row.subscriber_id


def test_snapshots_built_column_wise_equal_the_store_lookups(store: SubscriberStore) -> None:
    from tools.segment_frame import snapshots

    subs, usage = store.read_table("subscribers"), store.read_table("usage")
    built = snapshots(subs, usage)
    assert len(built) == len(subs)
    fields = ("tenure_months", "arpu_3m_avg", "payment_type", "contract_end_in_days", "arpu_change_pct",
              "mou_change_pct", "forwards_to_competitor", "complaints_90d", "silent_days", "arrears_days",
              "is_group", "group_size", "cumulative_spend_rank_pct", "network_avg_arpu", "brand", "is_student")
    for i in range(0, len(subs), 97):
        one = store.to_snapshot(subs["subscriber_id"].iloc[i])
        for name in fields:
            mine, theirs = getattr(built[i], name), getattr(one, name)
            if isinstance(theirs, float):
                assert mine == pytest.approx(theirs, rel=1e-4, abs=1e-2), (i, name)
            else:
                assert mine == theirs, (i, name)
        assert segment(built[i]).model_dump() == segment(one).model_dump()
