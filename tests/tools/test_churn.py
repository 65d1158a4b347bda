"""The churn model on generated data: metrics, persistence without pickle, calibration, reasons."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tools import churn_model, model_files
from tools.churn import churn_risk, evaluate_cv, train_from_store
from tools.churn_batch import high_risk_list, score_all
from tools.errors import SubscriberNotFound
from tools.features import build_features
from tools.generate import generate, write_generated
from tools.policy import load_policy
from tools.subscribers import SubscriberStore

THREADS = 1  # the test machine is shared; one thread is the fastest there


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> SubscriberStore:
    root = tmp_path_factory.mktemp("churn")
    store = SubscriberStore(root)
    write_generated(store, 4000, seed=11, progress=False)
    return store


@pytest.fixture(scope="module")
def model_dir(store) -> Path:
    path = store.root.parent / "models" / "churn"
    train_from_store(store, path, folds=3, seed=1, threads=THREADS)
    return path


@pytest.fixture(scope="module")
def frames():
    data = generate(5000, seed=23)
    x = build_features(data["subscribers"], data["usage"])
    return x, data["subscribers"]["churned_next_3m"].astype(bool).to_numpy().astype(int)


def test_training_report_and_metadata(model_dir):
    meta = json.loads((model_dir / "metadata.json").read_text(encoding="utf-8"))
    assert meta["model"] in ("lightgbm", "logistic") and meta["selected_by"] == "cv_pr_auc"
    assert set(meta["cv"]) == {"lightgbm", "logistic"}
    chosen = meta["cv"][meta["model"]]
    assert chosen["pr_auc"] == max(m["pr_auc"] for m in meta["cv"].values())
    assert chosen["roc_auc"] >= 0.75 and 0 < chosen["brier_oof"] < 0.12
    assert meta["n"] == 4000 and len(meta["data_hash"]) == 16 and meta["trained_at"]
    assert meta["calibration"]["method"] in ("isotonic", "sigmoid")
    names = [f["name"] for f in meta["features"]["numeric"]]
    assert "arpu_change_pct" in names and "fwd_share_3m_pct" in names
    files = {p.name for p in model_dir.iterdir()}
    assert files == {"metadata.json", churn_model.MODEL_FILES[meta["model"]]}


def test_nested_cv_metrics_are_plausible():
    data = generate(2500, seed=31)
    result = evaluate_cv(data["subscribers"], folds=3, seed=42, usage=data["usage"], inner_folds=2,
                         threads=THREADS)
    assert result.roc_auc >= 0.75 and result.pr_auc > 0.3 and 0 < result.brier < 0.12
    assert result.n == 2500 and result.positives == int(data["subscribers"]["churned_next_3m"].sum())
    assert len(result.selected_per_fold) == 3 and set(result.candidates) == {"lightgbm", "logistic"}
    assert 0 < result.precision_at_top_decile <= 1


@pytest.mark.parametrize("kind", ["lightgbm", "logistic"])
def test_model_reloads_without_pickle_with_identical_probabilities(kind, frames, tmp_path):
    x, y = frames
    model = churn_model.train_model(x, y, folds=2, seed=3, candidates=(kind,), threads=THREADS)
    model_files.save_model(model, tmp_path)
    raw = (tmp_path / churn_model.MODEL_FILES[kind]).read_bytes()
    assert not raw.startswith(b"\x80")  # not a pickle stream
    loaded = model_files.load_model(tmp_path)
    assert loaded is not model and loaded.kind == kind
    np.testing.assert_array_equal(loaded.predict_proba(x), model.predict_proba(x))


def test_skops_files_with_untrusted_or_unexpected_objects_are_refused(frames, tmp_path):
    import os

    import skops.io as sio
    from sklearn.preprocessing import FunctionTransformer

    x, y = frames
    model = churn_model.train_model(x, y, folds=2, seed=3, candidates=("logistic",), threads=THREADS)
    model_files.save_model(model, tmp_path)
    sio.dump(FunctionTransformer(os.system), tmp_path / "model.skops")
    with pytest.raises(churn_model.ModelError, match="not trusted: posix.system"):
        model_files.load_model(tmp_path)
    sio.dump(FunctionTransformer(np.log1p), tmp_path / "model.skops")  # skops trusts this one
    with pytest.raises(churn_model.ModelError, match="does not hold the churn pipeline"):
        model_files.load_model(tmp_path)


def test_probabilities_are_calibrated(frames, store, model_dir):
    x, y = frames  # a different seed than the training store: unseen subscribers
    model = model_files.load_model(model_dir)
    p = model.predict_proba(x)
    assert abs(p.mean() - y.mean()) < 0.03
    brier = np.mean((p - y) ** 2)
    assert brier < 0.8 * np.mean((y.mean() - y) ** 2)  # clearly better than the base rate
    order = np.argsort(p)
    top, bottom = order[-len(y) // 10:], order[: len(y) // 2]
    assert abs(p[top].mean() - y[top].mean()) < 0.12 and y[bottom].mean() < 0.06


def test_folds_fit_their_preprocessing_on_training_rows_only(frames, monkeypatch):
    x, y = frames
    seen: list[set[int]] = []
    real = churn_model.fit_candidate

    def spy(kind, features, labels, seed, threads=None):
        seen.append(set(features.index))
        return real(kind, features, labels, seed, threads)

    monkeypatch.setattr(churn_model, "fit_candidate", spy)
    churn_model.cross_val_raw("logistic", x, y, folds=3, seed=5, threads=THREADS)
    tests = [set(test) for _, test in churn_model._folds(y, 3, 5)]
    assert len(seen) == 3 and all(not (fit & test) for fit, test in zip(seen, tests))
    train = np.array(sorted(set(range(len(y))) - tests[0]))
    fold_model = real("logistic", x.iloc[train], y[train], 5, THREADS)
    scaler = fold_model.model.named_steps["prep"].named_transformers_["num"].named_steps["scale"]
    col = fold_model.spec.numeric.index("tenure_months")
    assert scaler.mean_[col] == pytest.approx(x["tenure_months"].iloc[train].mean(), rel=1e-4)
    assert scaler.mean_[col] != pytest.approx(x["tenure_months"].mean(), rel=1e-6)


def test_explanations_name_the_planted_forwarding_driver(store, model_dir):
    subs = store.read_table("subscribers")
    forwarders = subs.loc[subs["fwd_offnet_share_pct"] > 20, "subscriber_id"].head(5).tolist()
    assert forwarders
    base_rate = json.loads((model_dir / "metadata.json").read_text(encoding="utf-8"))["base_rate"]
    for sid in forwarders:
        risk = churn_risk(store, sid, model_dir)
        assert risk.model in ("lightgbm", "logistic") and risk.churn_probability > base_rate
        assert any(r.factor.startswith("fwd") for r in risk.reasons), risk.reasons
        forwarding = next(r for r in risk.reasons if r.factor.startswith("fwd"))
        assert "呼转" in forwarding.zh and "forward" in forwarding.en
        contributions = [r.contribution for r in risk.reasons]
        assert all(c > 0 for c in contributions) and contributions == sorted(contributions, reverse=True)


def test_risk_label_follows_the_probability(store, model_dir):
    risk_policy = load_policy().risk
    for sid in store.read_table("subscribers", ["subscriber_id"])["subscriber_id"].head(15):
        risk = churn_risk(store, sid, model_dir)
        p, label = risk.churn_probability, risk.risk_label
        if p >= risk_policy.high_min_probability:
            assert label in ("high", "churned")
        elif p >= risk_policy.medium_min_probability:
            assert label in ("medium", "high", "churned")
        elif label in ("medium", "high"):  # only the playbook overrides lift a low probability
            assert label == "high" and risk.lifecycle_stage.code == "sunk"
        assert risk.risk_reasons


def test_without_a_model_the_rule_score_is_used(store, tmp_path):
    from tools.rules import segment

    risk = churn_risk(store, "S000000003", tmp_path / "no-model")
    seg = segment(store.to_snapshot("S000000003"))
    assert risk.model == "rules" and risk.churn_probability == seg.rule_score.probability
    assert risk.risk_label == seg.risk_label
    assert all(r.contribution > 0 and r.zh and r.en for r in risk.reasons)


def test_unknown_subscriber_is_a_clear_error(store, model_dir):
    with pytest.raises(SubscriberNotFound, match="no subscriber"):
        churn_risk(store, "S999999999", model_dir)


def test_high_risk_list_is_sorted_by_expected_loss(store, model_dir):
    top = high_risk_list(store, model_dir, top_n=5)
    assert len(top) == 5
    losses = [h.expected_loss for h in top]
    assert losses == sorted(losses, reverse=True)
    for h in top:
        assert h.expected_loss == pytest.approx(h.churn_probability * h.arpu * 12, rel=1e-3, abs=0.05)
    high = high_risk_list(store, model_dir, value_tier="high", top_n=3)
    assert high and all(h.value_tier.code == "high" for h in high)


def test_batch_scores_match_single_lookups(store, model_dir, tmp_path):
    import pandas as pd

    report = score_all(store, model_dir, tmp_path / "scores.parquet", progress=False, threads=THREADS)
    scores = pd.read_parquet(tmp_path / "scores.parquet")
    assert report.rows == len(scores) == 4000 and sum(report.risk_bands.values()) == 4000
    assert {"subscriber_id", "churn_probability", "risk_band", "expected_loss"} <= set(scores.columns)
    row = scores.iloc[123]
    single = churn_risk(store, row["subscriber_id"], model_dir)
    assert single.churn_probability == pytest.approx(float(row["churn_probability"]), abs=1e-4)


def test_high_risk_list_without_a_model_ranks_rule_scores(tmp_path):
    small = SubscriberStore(tmp_path)
    write_generated(small, 300, seed=2, progress=False)
    top = high_risk_list(small, tmp_path / "no-model", top_n=3)
    assert len(top) == 3 and all(h.model == "rules" for h in top)
    assert [h.expected_loss for h in top] == sorted((h.expected_loss for h in top), reverse=True)
