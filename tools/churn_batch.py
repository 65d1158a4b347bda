"""Scoring many subscribers at once: the batch score file, and the high-risk list ranked by expected loss.

`score_frame` is a pure function of a chunk (chunk in, chunk out), so the same code scores chunk by
chunk here and under Spark's mapInPandas or Dask's map_partitions.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from tools.churn import HORIZON_MONTHS, churn_risk, read_scoring_tables, risk_band
from tools.churn_model import ChurnModel
from tools.model_files import load_model
from tools.errors import InvalidInput
from tools.features import build_features
from tools.policy import Policy, load_policy
from tools.schemas import ChurnScoreReport, HighRiskSubscriber

SCORE_CHUNK = 250_000
RULE_SCAN_LIMIT = 20_000  # without a model every subscriber is scored one by one

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
