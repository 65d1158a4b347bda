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
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from tools.churn_model import METADATA_FILE, ChurnModel, load_model, train_model
from tools.errors import InvalidInput
from tools.feature_text import describe_feature
from tools.features import LABEL_COLUMN, build_features
from tools.policy import Policy, load_policy
from tools.schemas import (
    ChurnEvaluation,
    ChurnReason,
    ChurnRisk,
    ChurnScoreReport,
    ChurnTrainReport,
    HighRiskSubscriber,
    Reason,
)

log = logging.getLogger(__name__)

HORIZON_MONTHS = 12  # value at stake when a subscriber leaves: a year of ARPU
MAX_REASONS = 5
MIN_CONTRIBUTION = 0.02  # log-odds; smaller pushes are noise, not reasons
SCORE_CHUNK = 250_000
RULE_SCAN_LIMIT = 20_000  # without a model every subscriber is scored one by one


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
    from tools.churn_model import save_model

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
    features: pd.DataFrame, contributions: pd.DataFrame, top: int = MAX_REASONS
) -> list[list[ChurnReason]]:
    """For each row, the factors that raise its risk most, as zh/en reasons with their log-odds."""
    out: list[list[ChurnReason]] = []
    for i in range(len(contributions)):
        row = contributions.iloc[i]
        topics: dict[str, tuple[str, float]] = {}
        for feature, value in row[row > 0].items():
            topic = _TOPIC.get(str(feature), str(feature))
            lead, total = topics.get(topic, (str(feature), 0.0))
            if value > row.get(lead, 0.0):
                lead = str(feature)
            topics[topic] = (lead, total + float(value))
        reasons: list[ChurnReason] = []
        for feature, value in sorted(topics.values(), key=lambda t: -t[1]):
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
    return ChurnRisk(churn_probability=round(probability, 4), risk_label=label,
                     risk_reasons=label_reasons, reasons=explain(features, contributions)[0],
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


def score_frame(model: ChurnModel, subscribers: pd.DataFrame, usage: pd.DataFrame | None,
                network_avg_arpu: float | None) -> pd.DataFrame:
    """Probabilities and expected loss for a chunk of subscribers (pure: chunk in, chunk out)."""
    features = build_features(subscribers, usage, network_avg_arpu)
    p = model.predict_proba(features).astype(np.float32)
    arpu = _arpu(subscribers, features, network_avg_arpu)
    return pd.DataFrame({
        "subscriber_id": features["subscriber_id"], "churn_probability": p, "arpu": arpu,
        "expected_loss": (p * arpu * HORIZON_MONTHS).astype(np.float32),
    })


def _arpu(subscribers: pd.DataFrame, features: pd.DataFrame, avg: float | None) -> np.ndarray:
    arpu = np.full(len(subscribers), np.nan, dtype=np.float32)
    for column in ("arpu_3m_avg", "arpu_month"):
        if column in subscribers:
            values = pd.to_numeric(subscribers[column], errors="coerce").to_numpy(np.float32, na_value=np.nan)
            arpu = np.where(np.isnan(arpu), values, arpu)
    if avg and "arpu_vs_network" in features:  # from usage when the row has no ARPU
        derived = features["arpu_vs_network"].to_numpy(np.float32) * np.float32(avg)
        arpu = np.where(np.isnan(arpu), derived, arpu)
    return np.nan_to_num(np.clip(arpu, 0, None), nan=0.0).astype(np.float32)


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


def iter_scores(
    store: Any, model: ChurnModel, chunk_size: int = SCORE_CHUNK, progress: bool = True
) -> Iterator[pd.DataFrame]:
    """Score the whole store chunk by chunk (bounded feature memory), with a progress bar on stderr."""
    from tqdm import tqdm

    from tools.features import _positions

    subscribers, usage = read_scoring_tables(store)
    avg = store.network_averages().arpu
    pos = _positions(subscribers["subscriber_id"], usage["subscriber_id"]) if usage is not None else None
    ordered = pos is not None and bool(np.all(np.diff(pos) >= 0))
    with tqdm(total=len(subscribers), unit="sub", unit_scale=True, desc="scoring",
              disable=not progress) as bar:
        for start in range(0, len(subscribers), chunk_size):
            stop = min(start + chunk_size, len(subscribers))
            part = None
            if pos is not None:
                if ordered:
                    part = usage.iloc[np.searchsorted(pos, start):np.searchsorted(pos, stop)]
                else:
                    part = usage.loc[(pos >= start) & (pos < stop)]
            yield score_frame(model, subscribers.iloc[start:stop].reset_index(drop=True), part, avg)
            bar.update(stop - start)


def score_all(store: Any, model_dir: Path, out_path: Path, policy: Policy | None = None,
              chunk_size: int = SCORE_CHUNK, progress: bool = True,
              threads: int | None = None) -> ChurnScoreReport:
    """Score every subscriber into a Parquet file: id, probability, band, ARPU, expected loss, segments."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    started = time.perf_counter()
    model = load_model(model_dir, threads)
    if model is None:
        raise InvalidInput("no trained churn model: run `retention churn train` first "
                           "(rule scores are computed per subscriber with `churn score --subscriber`)")
    policy = policy or load_policy()
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_path.with_name(out_path.name + ".tmp")
    writer, rows, total_p, bands = None, 0, 0.0, {}
    try:
        for part in iter_scores(store, model, chunk_size, progress):
            part["risk_band"] = risk_band(part["churn_probability"].to_numpy(), policy,
                                          model.metadata.get("low_min_probability"))
            part["model"] = model.kind
            table = pa.Table.from_pandas(part, preserve_index=False)
            writer = writer or pq.ParquetWriter(tmp, table.schema)
            writer.write_table(table)
            rows += len(part)
            total_p += float(part["churn_probability"].sum())
            for band, count in part["risk_band"].value_counts().items():
                bands[band] = bands.get(band, 0) + int(count)
    finally:
        if writer is not None:
            writer.close()
    if writer is None:
        raise InvalidInput("the subscriber store is empty: nothing to score")
    from tools.segment_frame import add_segments_to_scores  # reports and dispatch read these columns

    add_segments_to_scores(tmp, store, policy, model.metadata.get("low_min_probability"))
    tmp.replace(out_path)
    return ChurnScoreReport(out=str(out_path), rows=rows, model=model.kind,
                            seconds=round(time.perf_counter() - started, 2),
                            mean_probability=round(total_p / max(rows, 1), 4), risk_bands=bands)


# --- the high-risk list -----------------------------------------------------------------------

_SCORES: dict[str, Any] = {}


def _store_scores(store: Any, model: ChurnModel | None, policy: Policy) -> pd.DataFrame:
    """Probability, ARPU and expected loss of every subscriber, cached per data and model version."""
    key = (str(store.root), store.version(), None if model is None else model.metadata.get("data_hash"),
           None if model is None else model.metadata.get("trained_at"))
    if _SCORES.get("key") != key:
        if model is not None:
            frame = pd.concat(list(iter_scores(store, model, progress=False)), ignore_index=True)
        else:
            frame = _rule_scores(store, policy)
        _SCORES.update(key=key, frame=frame)
    return _SCORES["frame"]


def _rule_scores(store: Any, policy: Policy) -> pd.DataFrame:
    from tools.rules import rule_churn_score
    from tools.subscriber_schema import build_snapshot

    subs = store.read_table("subscribers")
    if len(subs) > RULE_SCAN_LIMIT:
        raise InvalidInput(f"no trained churn model, and rule-scoring {len(subs)} subscribers one by one "
                           "is too slow: run `retention churn train` first")
    usage = store.read_table("usage")
    groups = dict(tuple(usage.groupby("subscriber_id", sort=False))) if len(usage) else {}
    avg = store.network_averages()
    probs = []
    for row in subs.to_dict("records"):
        snap = build_snapshot(row, groups.get(row["subscriber_id"], usage.iloc[:0]), avg.arpu,
                              avg.tenure_months, store.spend_rank_pct(_float(row.get("cumulative_spend"))))
        probs.append(rule_churn_score(snap, policy).probability)
    p = np.asarray(probs, dtype=np.float32)
    arpu = _arpu(subs, pd.DataFrame(), None)
    return pd.DataFrame({"subscriber_id": subs["subscriber_id"], "churn_probability": p, "arpu": arpu,
                         "expected_loss": p * arpu * HORIZON_MONTHS})


def _float(value: Any) -> float | None:
    return None if value is None or value is pd.NA or value != value else float(value)


def high_risk_list(
    store: Any, model_dir: Path, policy: Policy | None = None, risk_label: str | None = None,
    value_tier: str | None = None, brand: str | None = None, region: str | None = None,
    payment_type: str | None = None, min_probability: float | None = None,
    contract_expiring_within_days: int | None = None, top_n: int = 50,
) -> list[HighRiskSubscriber]:
    """The subscribers most worth retaining now, sorted by expected loss = churn probability x ARPU x 12.

    Optional filters (AND): risk_label (stable | low | medium | high | churned), value_tier
    (high | medium | low | group), brand, region (province), payment_type (postpaid |
    quasi_prepaid | prepaid), min_probability (0-1), contract_expiring_within_days. Each entry has
    the full churn risk (probability, label, lifecycle stage, value tier, cost caps, reasons)
    plus arpu and expected_loss (yuan). top_n is at most 500; the list is shorter when few match.
    """
    if not 1 <= top_n <= 500:
        raise InvalidInput("top_n must be between 1 and 500")
    policy = policy or load_policy()
    model = load_model(model_dir)
    scores = _store_scores(store, model, policy)
    mask = np.ones(len(scores), dtype=bool)
    if min_probability is not None:
        mask &= scores["churn_probability"].to_numpy() >= min_probability
    wanted = {"brand": brand, "region": region, "payment_type": payment_type}
    columns = [c for c, v in wanted.items() if v is not None]
    if columns or contract_expiring_within_days is not None:
        extra = ["contract_end_date", "snapshot_date"] if contract_expiring_within_days is not None else []
        subs = store.read_table("subscribers", ["subscriber_id", *columns, *extra])
        for column in columns:
            mask &= (subs[column] == wanted[column]).fillna(False).to_numpy(dtype=bool)
        if extra:
            days = (subs["contract_end_date"] - subs["snapshot_date"]).dt.days
            mask &= days.between(0, contract_expiring_within_days).fillna(False).to_numpy(dtype=bool)
    ranked = scores.loc[mask].sort_values("expected_loss", ascending=False, kind="stable")
    out: list[HighRiskSubscriber] = []
    for sid, arpu in ranked[["subscriber_id", "arpu"]].head(max(10 * top_n, 500)).itertuples(index=False):
        risk = churn_risk(store, str(sid), model_dir, policy)
        if risk_label and risk.risk_label != risk_label:
            continue
        if value_tier and risk.value_tier.code != value_tier:
            continue
        loss = risk.churn_probability * float(arpu) * HORIZON_MONTHS
        out.append(HighRiskSubscriber(**risk.model_dump(), arpu=round(float(arpu), 2),
                                      expected_loss=round(loss, 2)))
        if len(out) == top_n:
            break
    return out
