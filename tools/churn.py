"""Churn risk for the agent: calibrated model probabilities with plain zh/en reasons, or the rule score.

With a trained model (`model_dir/metadata.json`) the probability comes from the model and the
reasons from its per-subscriber contributions (SHAP values for LightGBM, coefficient x
standardised value for the logistic regression); only factors that push the risk up are shown.
Without one, the transparent rule score of `tools.rules` is used and outputs say `model: "rules"`.

Risk labels (domain.md 1.4) come from `tools.rules.risk_label` fed with the model probability:
high >= policy `risk.high_min_probability`, medium >= `risk.medium_min_probability`; below that,
low when an early-warning signal fired or the probability is at least the training churn rate
(stored in the model metadata as `low_min_probability`), else stable. The playbook overrides
still apply: a passive churner (long arrears) is 流失 and a sunk-stage subscriber 高危.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from tools.churn_model import METADATA_FILE, ChurnModel, train_model
from tools.model_files import load_model
from tools.errors import InvalidInput
from tools.feature_text import describe_feature
from tools.features import LABEL_COLUMN, build_features
from tools.policy import Policy, load_policy
from tools.schemas import (
    ChurnEvaluation,
    ChurnReason,
    ChurnRisk,
    ChurnTrainReport,
    Reason,
)

log = logging.getLogger(__name__)

HORIZON_MONTHS = 12  # value at stake when a subscriber leaves: a year of ARPU
MAX_REASONS = 5
MIN_CONTRIBUTION = 0.02  # log-odds; smaller pushes are noise, not reasons


# --- training and evaluation ------------------------------------------------------------------


def labelled_features(
    subscribers: pd.DataFrame, usage: pd.DataFrame | None = None, network_avg_arpu: float | None = None
) -> tuple[pd.DataFrame, np.ndarray]:
    """Features and 0/1 labels of the rows whose churn label is known."""
    if LABEL_COLUMN not in subscribers:
        raise InvalidInput(f"the data has no {LABEL_COLUMN} column: nothing to learn from")
    known = subscribers[LABEL_COLUMN].notna().to_numpy()
    if known.sum() < 20:
        raise InvalidInput(f"only {int(known.sum())} rows have a churn label; need at least 20")
    rows = subscribers.loc[known].reset_index(drop=True)
    features = build_features(rows, usage, network_avg_arpu)
    return features, rows[LABEL_COLUMN].astype(bool).to_numpy().astype(int)


def train_churn_model(
    subscribers: pd.DataFrame, model_dir: Path, usage: pd.DataFrame | None = None,
    folds: int = 5, seed: int = 42, threads: int | None = None, source: str = "store",
    network_avg_arpu: float | None = None,
) -> ChurnTrainReport:
    """Train, calibrate and save the churn model for these subscribers (labels in `churned_next_3m`)."""
    from tools.model_files import save_model

    started = time.perf_counter()
    features, y = labelled_features(subscribers, usage, network_avg_arpu)
    model = train_model(features, y, folds=folds, seed=seed, threads=threads)
    model.metadata.update(source=source, low_min_probability=round(float(y.mean()), 4),
                          horizon_months=HORIZON_MONTHS)
    save_model(model, model_dir)
    meta = model.metadata
    return ChurnTrainReport(
        model=model.kind, model_dir=str(model_dir), n=meta["n"], positives=meta["positives"],
        features=len(model.candidate.spec.columns), data_hash=meta["data_hash"],
        trained_at=meta["trained_at"], calibration=model.calibration["method"],
        cv={k: {m: round(v, 4) for m, v in d.items()} for k, d in meta["cv"].items()},
        seconds=round(time.perf_counter() - started, 2),
    )


def train_from_store(store: Any, model_dir: Path, folds: int = 5, seed: int = 42,
                     threads: int | None = None) -> ChurnTrainReport:
    """Train on every labelled subscriber of the store, with their usage history."""
    if not store.exists():
        raise InvalidInput("the subscriber store is empty: run `retention data generate` or `data import`")
    subscribers, usage = read_scoring_tables(store, extra=(LABEL_COLUMN, "arpu_3m_avg"))
    if subscribers.empty:
        raise InvalidInput("the subscriber store is empty: run `retention data generate` or `data import`")
    return train_churn_model(subscribers, model_dir, usage, folds, seed, threads, source=str(store.root),
                             network_avg_arpu=store.network_averages().arpu)


def evaluate_cv(
    frame: pd.DataFrame, folds: int = 5, seed: int = 42, usage: pd.DataFrame | None = None,
    inner_folds: int = 3, threads: int | None = None,
) -> ChurnEvaluation:
    """Nested stratified k-fold: each outer fold selects and calibrates the model on its own rows."""
    from tools.churn_model import evaluate_nested

    features, y = labelled_features(frame, usage)
    result = evaluate_nested(features, y, folds, seed, inner_folds, threads=threads)
    return ChurnEvaluation(method="nested_cv", **result)


def evaluate_holdout(
    train: pd.DataFrame, test: pd.DataFrame, usage_train: pd.DataFrame | None = None,
    usage_test: pd.DataFrame | None = None, folds: int = 5, seed: int = 42, threads: int | None = None,
) -> ChurnEvaluation:
    """Fit (select, calibrate) on `train`, report metrics on `test`."""
    from tools.churn_model import evaluate_split

    avg = _mean_arpu(train)
    x_train, y_train = labelled_features(train, usage_train, avg)
    x_test, y_test = labelled_features(test, usage_test, avg)
    result = evaluate_split(x_train, y_train, x_test, y_test, folds, seed, threads=threads)
    return ChurnEvaluation(method="holdout", folds=folds, seed=seed, **result)


def _mean_arpu(frame: pd.DataFrame) -> float | None:
    for column in ("arpu_3m_avg", "arpu_month"):
        if column in frame and frame[column].notna().any():
            return float(pd.to_numeric(frame[column], errors="coerce").mean())
    return None


# --- explanations -----------------------------------------------------------------------------


# Features that say the same thing over different windows: one reason, contributions summed.
_TOPIC = {"competitor_hotline_calls": "hotline", "competitor_hotline_calls_3m": "hotline",
          "complaints_90d": "complaints", "complaints_3m": "complaints",
          "suspensions_6m": "suspensions", "suspensions_per_month_6m": "suspensions"}


def explain(
    features: pd.DataFrame, contributions: pd.DataFrame, top: int = MAX_REASONS,
    topics: dict[str, str] | None = None,
) -> list[list[ChurnReason]]:
    """For each row, the factors that raise its risk most, as zh/en reasons with their log-odds.

    Features of one topic (the same fact over other windows, or a coarser copy of a categorical
    feature: `topics`, from the model metadata) become one reason, their contributions summed."""
    topic_of = {**(topics or {}), **_TOPIC}
    out: list[list[ChurnReason]] = []
    for i in range(len(contributions)):
        row = contributions.iloc[i]
        groups: dict[str, tuple[str, float]] = {}  # topic -> (feature that speaks for it, summed contribution)
        for feature, value in row[row > 0].items():
            topic = topic_of.get(str(feature), str(feature))
            lead, total = groups.get(topic, (str(feature), 0.0))
            if value > row.get(lead, 0.0):
                lead = str(feature)
            groups[topic] = (lead, total + float(value))
        for topic, (lead, total) in groups.items():  # a coarser copy speaks with its finer feature's words
            if topic in row.index:
                groups[topic] = (topic, total)
        reasons: list[ChurnReason] = []
        for feature, value in sorted(groups.values(), key=lambda t: -t[1]):
            raw = features[feature].iloc[i] if feature in features else None
            text = describe_feature(feature, None if raw is pd.NA else raw)
            if value < MIN_CONTRIBUTION or text is None:
                continue
            reasons.append(ChurnReason(factor=feature, contribution=round(value, 4), zh=text[0], en=text[1]))
            if len(reasons) == top:
                break
        out.append(reasons)
    return out


# --- scoring ----------------------------------------------------------------------------------


def churn_risk(store: Any, subscriber_id: str, model_dir: Path, policy: Policy | None = None) -> ChurnRisk:
    """Churn risk of one subscriber for the next 3 months: probability, risk label and the reasons.

    Give a subscriber id or an 11-digit mobile number. Returns churn_probability (0-1), risk_label
    (stable | low | medium | high | churned), lifecycle_stage, value_tier, cost_caps (retention
    budget), and reasons: the factors that raise this subscriber's risk, largest first, in Chinese
    and English. `model` says which model scored ("rules" when no model is trained).
    """
    policy = policy or load_policy()
    memo = getattr(store, "memo", None)
    if memo is None:
        return _churn_risk(store, subscriber_id, model_dir, policy)
    meta = Path(model_dir) / METADATA_FILE
    stamp = meta.stat().st_mtime_ns if meta.is_file() else None
    key = ("churn_risk", str(subscriber_id).strip(), str(model_dir), stamp, hash(policy.model_dump_json()))
    return memo(key, lambda: _churn_risk(store, subscriber_id, model_dir, policy)).model_copy(deep=True)


def _churn_risk(store: Any, subscriber_id: str, model_dir: Path, policy: Policy) -> ChurnRisk:
    from tools.rules import detect_signals, risk_label, segment
    from tools.subscriber_schema import build_snapshot

    subscriber = store.lookup(subscriber_id)
    sid = subscriber.subscriber_id
    row = subscriber.model_dump()
    row.update(row.pop("extras", None) or {})
    usage = store.usage_history(sid)
    averages = store.network_averages()
    snapshot = build_snapshot(row, usage, averages.arpu, averages.tenure_months,
                              store.spend_rank_pct(row.get("cumulative_spend")))
    seg = segment(snapshot, policy)
    model = load_model(model_dir)
    common = dict(subscriber_id=sid, lifecycle_stage=seg.lifecycle_stage, value_tier=seg.value_tier,
                  cost_caps=seg.cost_caps, signals=seg.signals, passive_churn=seg.passive_churn)
    if model is None:
        score = seg.rule_score
        reasons = [ChurnReason(**f.model_dump()) for f in score.factors if f.contribution > 0]
        label_reasons = [r for r in seg.reasons if r.code.startswith("risk_")]
        return ChurnRisk(churn_probability=score.probability, risk_label=seg.risk_label,
                         risk_reasons=label_reasons, reasons=reasons, model="rules", **common)
    features = build_features(pd.DataFrame([row]), usage, averages.arpu)
    probabilities, contributions = model.explain(features)
    probability = float(probabilities[0])
    signals = detect_signals(snapshot, policy, tier=seg.value_tier.code)
    label, label_reasons = risk_label(snapshot, policy, signals=signals,
                                      stage=seg.lifecycle_stage.code, probability=probability)
    label, label_reasons = _low_by_base_rate(label, label_reasons, probability, model)
    reasons = explain(features, contributions, topics=model.metadata.get("feature_topics"))[0]
    return ChurnRisk(churn_probability=round(probability, 4), risk_label=label,
                     risk_reasons=label_reasons, reasons=reasons,
                     model=model.kind, model_trained_at=model.metadata.get("trained_at"), **common)


def _low_by_base_rate(
    label: str, reasons: list[Reason], p: float, model: ChurnModel
) -> tuple[str, list[Reason]]:
    """Below the medium threshold, a probability at or above the training churn rate is still 低危."""
    base = model.metadata.get("low_min_probability")
    if label != "stable" or base is None or p < base:
        return label, reasons
    zh = f"流失概率{p:.2f}不低于平均流失率{base:.2f} → 低危"
    en = f"churn probability {p:.2f} at or above the average churn rate {base:.2f} → low risk"
    return "low", [Reason(code="risk_low", zh=zh, en=en)]


def risk_band(probability: np.ndarray, policy: Policy, low_min: float | None) -> np.ndarray:
    """Probability-only label (stable/low/medium/high) for batch output; churn_risk adds the overrides."""
    r = policy.risk
    low = low_min if low_min is not None else r.medium_min_probability
    return np.select([probability >= r.high_min_probability, probability >= r.medium_min_probability,
                      probability >= low], ["high", "medium", "low"], "stable")


def read_scoring_tables(store: Any, extra: tuple[str, ...] = ()) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """The subscriber (+ `extra`) and usage columns the features need, numbers as float32."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from tools.features import SUBSCRIBER_INPUTS, USAGE_INPUTS

    def read(path: Path, wanted: tuple[str, ...]) -> pd.DataFrame:
        names = pq.read_schema(path).names
        table = pq.read_table(path, columns=[c for c in names if c in wanted or c.startswith("x_")])
        schema = pa.schema([f.with_type(pa.float32()) if pa.types.is_float64(f.type) else f
                            for f in table.schema])
        return table.cast(schema).to_pandas()

    usage_path = store.path("usage")
    usage = read(usage_path, USAGE_INPUTS) if usage_path.is_file() else None
    subscribers = read(store.path("subscribers"), (*SUBSCRIBER_INPUTS, *extra))
    return subscribers, usage if usage is not None and len(usage) else None
