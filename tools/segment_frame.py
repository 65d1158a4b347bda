"""Vectorised segmentation: value tier, lifecycle stage, risk label and tenure band for a whole frame.

The scalar rules in `tools.rules` (`value_tier`, `detect_signals`, `lifecycle_stage`, `risk_label`)
classify one `SubscriberSnapshot` at a time with reasons; batch scoring and reports need the same
labels for a million subscribers in seconds. This module computes them column-wise from the stored
subscriber rows and their usage months, reading every threshold from the same `Policy`, and is a
pure function from a DataFrame chunk to a DataFrame (tests check it equals the scalar rules).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from tools.policy import Policy, load_policy

# domain.md 1.5: <= 3 months ultra-short, <= 6 short, 6-24 normal, > 24 long.
TENURE_BANDS = ("ultra_short", "short", "normal", "long")
USAGE_FIELDS = ("subscriber_id", "month", "arpu", "mou", "distinct_called", "calling_count",
                "called_count", "fwd_count", "fwd_offnet_share_pct", "complaints", "competitor_hotline_calls")
SUBSCRIBER_FIELDS = ("subscriber_id", "tenure_months", "arpu_3m_avg", "arpu_month", "payment_type",
                     "contract_end_date", "contract_remaining_amount_pct", "silent_days", "arrears_days",
                     "is_group", "group_size", "is_special", "cumulative_spend", "points_balance",
                     "complaints_90d", "competitor_hotline_calls", "fwd_offnet_share_pct", "snapshot_date")
_TIER_RANK = {"low": 0, "medium": 1, "high": 2}


def tenure_band(tenure_months: Any) -> np.ndarray:
    """The 1.5 tenure band of each tenure in months (unknown tenure gives <NA>)."""
    t = pd.to_numeric(pd.Series(tenure_months), errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
    out = np.select([t <= 3, t <= 6, t <= 24, t > 24], list(TENURE_BANDS), default="")
    return np.where(np.isnan(t), None, out).astype(object)


def _num(frame: pd.DataFrame, column: str) -> np.ndarray:
    if column not in frame:
        return np.full(len(frame), np.nan)
    return pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype="float64", na_value=np.nan)


def _flag(frame: pd.DataFrame, column: str) -> np.ndarray:
    if column not in frame:
        return np.zeros(len(frame), dtype=bool)
    return frame[column].astype("boolean").fillna(False).to_numpy(dtype=bool)


def _pct_change(current: np.ndarray, previous: np.ndarray) -> np.ndarray:
    ok = ~np.isnan(current) & ~np.isnan(previous) & (previous > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        change = np.round((current - previous) / previous * 100.0, 2)
    return np.where(ok, change, np.nan)


def _last_months(subscribers: pd.DataFrame, usage: pd.DataFrame | None) -> dict[str, np.ndarray]:
    """The last, previous and third-last usage month of every subscriber (up to its snapshot month)."""
    n = len(subscribers)
    nan = np.full(n, np.nan)
    out = {f"{k}{i}": nan.copy() for k in USAGE_FIELDS[2:] for i in range(3)}
    out["count"] = np.zeros(n, dtype=np.int64)
    if usage is None or not len(usage):
        return out
    u = usage[[c for c in USAGE_FIELDS if c in usage]]
    snap = pd.to_datetime(subscribers.get("snapshot_date"), errors="coerce") if "snapshot_date" in subscribers else None
    if snap is not None and snap.notna().all():
        months = snap.dt.strftime("%Y-%m")
        if months.nunique() == 1:
            u = u[u["month"] <= months.iloc[0]]
        else:
            limit = u["subscriber_id"].map(dict(zip(subscribers["subscriber_id"], months)))
            u = u[u["month"] <= limit.fillna("9999-99")]
    sid = u["subscriber_id"].to_numpy(dtype=object)
    month = u["month"].to_numpy(dtype=object)
    same = sid[1:] == sid[:-1]
    if not (bool(np.all(sid[1:][~same] > sid[:-1][~same])) and bool(np.all(month[1:][same] > month[:-1][same]))):
        u = u.sort_values(["subscriber_id", "month"], kind="stable")
        sid = u["subscriber_id"].to_numpy(dtype=object)
    if not len(sid):
        return out
    ends = np.flatnonzero(np.r_[sid[1:] != sid[:-1], True])
    starts = np.r_[0, ends[:-1] + 1]
    counts = ends - starts + 1
    pos = pd.Index(sid[ends]).get_indexer(subscribers["subscriber_id"].to_numpy(dtype=object))
    has = pos >= 0
    out["count"][has] = counts[pos[has]]
    for k in USAGE_FIELDS[2:]:
        if k not in u:
            continue
        values = pd.to_numeric(u[k], errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
        for i in range(3):
            ok = has & (out["count"] > i)
            out[f"{k}{i}"][ok] = values[ends[pos[ok]] - i]
    return out


def snapshot_frame(subscribers: pd.DataFrame, usage: pd.DataFrame | None, spends: np.ndarray | None = None) -> pd.DataFrame:
    """The `SubscriberSnapshot` fields the rules read, column-wise (as `build_snapshot` does per row).

    `spends` is the sorted array of every stored cumulative spend (for the spend rank); NaN = unknown.
    """
    m = _last_months(subscribers, usage)
    has1, has2 = m["count"] >= 1, m["count"] >= 2
    last3 = np.vstack([m["arpu0"], m["arpu1"], m["arpu2"]])
    seen = (~np.isnan(last3)).sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean3 = np.where(has1 & (seen > 0), np.nansum(last3, axis=0) / np.maximum(seen, 1), np.nan)
    row_arpu = _num(subscribers, "arpu_3m_avg")
    row_arpu = np.where(np.isnan(row_arpu), _num(subscribers, "arpu_month"), row_arpu)
    arpu3 = np.round(np.maximum(np.where(has1, mean3, row_arpu), 0.0), 2)

    def ratio(i: int) -> np.ndarray:
        calling, called = m[f"calling_count{i}"], m[f"called_count{i}"]
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(~np.isnan(calling) & (calling != 0), called / calling, np.nan)

    complaints = _num(subscribers, "complaints_90d")
    recent = np.nansum(np.vstack([m["complaints0"], m["complaints1"], m["complaints2"]]), axis=0) \
        if len(subscribers) else np.array([])
    complaints = np.where(np.isnan(complaints) & has1, recent, complaints)
    hotline = _num(subscribers, "competitor_hotline_calls")
    hotline = np.where(np.isnan(hotline) & has1, m["competitor_hotline_calls0"], hotline)
    share = np.where(has1, m["fwd_offnet_share_pct0"], _num(subscribers, "fwd_offnet_share_pct"))
    snap_day = pd.to_datetime(subscribers["snapshot_date"]) if "snapshot_date" in subscribers else pd.Timestamp.now()
    end = pd.to_datetime(subscribers["contract_end_date"]) if "contract_end_date" in subscribers else None
    days = np.full(len(subscribers), np.nan) if end is None else \
        (end.dt.normalize() - pd.Series(snap_day).dt.normalize()).dt.days.to_numpy(dtype="float64", na_value=np.nan)
    spend = _num(subscribers, "cumulative_spend")
    rank = np.full(len(subscribers), np.nan)
    if spends is not None and len(spends):
        above = len(spends) - np.searchsorted(spends, np.nan_to_num(spend), side="left")
        rank = np.where(np.isnan(spend), np.nan, np.minimum(100.0, 100.0 * np.maximum(above, 1) / len(spends)))
    return pd.DataFrame({
        "subscriber_id": subscribers["subscriber_id"].to_numpy(),
        "tenure_months": _num(subscribers, "tenure_months"),
        "arpu_3m_avg": arpu3,
        "payment_type": subscribers["payment_type"].to_numpy(dtype=object),
        "contract_end_in_days": days,
        "contract_remaining_amount_pct": np.clip(_num(subscribers, "contract_remaining_amount_pct"), 0, 100),
        "arpu_change_pct": np.where(has2, _pct_change(m["arpu0"], m["arpu1"]), np.nan),
        "mou_change_pct": np.where(has2, _pct_change(m["mou0"], m["mou1"]), np.nan),
        "distinct_called_numbers_change_pct": np.where(has2, _pct_change(m["distinct_called0"], m["distinct_called1"]), np.nan),
        "called_calling_ratio_change_pct": np.where(has2, _pct_change(ratio(0), ratio(1)), np.nan),
        "forwards_to_competitor": m["fwd_count0"],
        "forward_share_pct": np.clip(share, 0, 100),
        "complaints_90d": complaints,
        "competitor_hotline_calls": hotline,
        "silent_days": _num(subscribers, "silent_days"),
        "arrears_days": _num(subscribers, "arrears_days"),
        "is_group": _flag(subscribers, "is_group"),
        "group_size": _num(subscribers, "group_size"),
        "is_special": _flag(subscribers, "is_special"),
        "cumulative_spend_rank_pct": rank,
        "points_balance": np.maximum(_num(subscribers, "points_balance"), 0),
    })


def value_tiers(snap: pd.DataFrame, network_avg_arpu: float, policy: Policy) -> np.ndarray:
    """The 2.1 value tier of every row (as `tools.rules.value_tier`)."""
    v = policy.value_tier
    ratio = snap["arpu_3m_avg"].to_numpy() / network_avg_arpu
    n = snap["group_size"].to_numpy()
    group = snap["is_group"].to_numpy() & ~np.isnan(n) & (np.nan_to_num(n) >= v.group_min_lines) \
        & (ratio > v.group_min_arpu_multiple)
    by_arpu = np.where(ratio > v.high_min_arpu_multiple, 2, np.where(ratio >= v.medium_min_arpu_multiple, 1, 0))
    rank = snap["cumulative_spend_rank_pct"].to_numpy()
    by_rank = np.where(rank <= v.high_max_spend_rank_pct, 2, np.where(rank <= v.medium_max_spend_rank_pct, 1, 0))
    combined = by_arpu
    if v.spend_rank_combine != "arpu_only":
        pick = np.maximum if v.spend_rank_combine == "higher" else np.minimum
        combined = np.where(np.isnan(rank), by_arpu, pick(by_arpu, by_rank))
    names = np.array(["low", "medium", "high"], dtype=object)[combined]
    prepaid = snap["payment_type"].to_numpy(dtype=object) == "prepaid"
    return np.select([group, snap["is_special"].to_numpy(), prepaid], ["group", "high", v.prepaid_default_tier],
                     default=names).astype(object)


def signals_frame(snap: pd.DataFrame, tiers: np.ndarray, policy: Policy) -> pd.DataFrame:
    """Which early-warning signals fire for each row (as `tools.rules.detect_signals`)."""
    s = policy.signals

    def col(name: str) -> np.ndarray:
        return snap[name].to_numpy(dtype="float64")

    out: dict[str, np.ndarray] = {}
    for code, name in (("arpu_drop", "arpu_change_pct"), ("mou_drop", "mou_change_pct"),
                       ("distinct_called_drop", "distinct_called_numbers_change_pct")):
        change = col(name)
        out[code] = ~np.isnan(change) & (-change >= getattr(s, code).min_drop_pct)
    rise = col("called_calling_ratio_change_pct")
    out["called_ratio_rise"] = ~np.isnan(rise) & (rise >= s.called_ratio_rise.min_rise_pct)
    mid_high = np.isin(tiers, ["high", "medium", "group"])
    silent_t = np.where(mid_high, s.silent.min_days_mid_high_value, s.silent.min_days)
    out["silent"] = col("silent_days") >= silent_t
    share, fwd = col("forward_share_pct"), col("forwards_to_competitor")
    out["forwarding"] = (share > s.forwarding.min_share_pct) | (fwd >= s.forwarding.min_forwards_to_competitor)
    out["competitor_hotline"] = col("competitor_hotline_calls") >= s.competitor_hotline.min_calls
    out["complaints"] = col("complaints_90d") >= s.complaints.min_count_90d
    c = s.contract_expiry
    days, left = col("contract_end_in_days"), col("contract_remaining_amount_pct")
    in_window = np.isnan(days) | (days >= -c.expired_grace_days)
    by_days = (days >= 0) & (days < c.max_days_left) | (days < 0)
    by_amount = ~by_days & (left <= c.max_remaining_amount_pct)
    out["contract_expiry"] = in_window & (by_days | by_amount)
    out["arrears"] = col("arrears_days") >= s.arrears.min_days
    t = s.points_unredeemed.min_balance
    out["points_unredeemed"] = np.zeros(len(snap), dtype=bool) if t is None else col("points_balance") >= t
    return pd.DataFrame(out)


def segment_frame(
    subscribers: pd.DataFrame,
    usage: pd.DataFrame | None,
    network_avg_arpu: float,
    spends: np.ndarray | None = None,
    policy: Policy | None = None,
    probability: np.ndarray | None = None,
    low_min_probability: float | None = None,
) -> pd.DataFrame:
    """Value tier, lifecycle stage, rule score, risk label and tenure band for every subscriber row.

    `probability` (a model's churn probabilities, aligned with the rows) replaces the rule score in
    the risk label, and `low_min_probability` (the model's base rate) lifts stable rows at or above
    it to low, as `tools.churn.churn_risk` does. Row order is kept.
    """
    p = policy or load_policy()
    snap = snapshot_frame(subscribers, usage, spends)
    tiers = value_tiers(snap, network_avg_arpu, p)
    sig = signals_frame(snap, tiers, p)
    lc = p.lifecycle
    tenure = snap["tenure_months"].to_numpy()
    sunk = (snap["silent_days"].to_numpy() >= lc.sunk_min_silent_days) \
        | (snap["mou_change_pct"].to_numpy() <= lc.sunk_max_mou_change_pct) \
        | (snap["arpu_change_pct"].to_numpy() <= lc.sunk_max_arpu_change_pct) \
        | (snap["arpu_3m_avg"].to_numpy() <= lc.sunk_max_arpu)
    warning_codes = [c for c in lc.warning_signals if c in sig]
    warning = sig[warning_codes].to_numpy().any(axis=1) & (tenure >= lc.warning_min_tenure_months)
    stage = np.select([tenure < lc.identification_max_tenure_months, sunk, warning,
                       tenure < lc.growth_max_tenure_months],
                      ["identification", "sunk", "warning", "growth"], default="stable").astype(object)
    weights = np.array([getattr(p.signals, c).weight for c in sig.columns])
    passive = snap["arrears_days"].to_numpy() >= p.signals.arrears.passive_churn_days
    log_odds = p.risk.base_log_odds + sig.to_numpy(dtype="float64") @ weights \
        + np.where(passive, p.signals.arrears.passive_churn_weight, 0.0)
    rule_p = np.round(1.0 / (1.0 + np.exp(-log_odds)), 4)
    prob = rule_p if probability is None else np.asarray(probability, dtype="float64")
    any_signal = sig.to_numpy().any(axis=1)
    r = p.risk
    label = np.select(
        [passive, (stage == "sunk") | (prob >= r.high_min_probability), prob >= r.medium_min_probability,
         any_signal], ["churned", "high", "medium", "low"], default="stable").astype(object)
    if probability is not None and low_min_probability is not None:
        label = np.where((label == "stable") & (prob >= low_min_probability), "low", label).astype(object)
    return pd.DataFrame({
        "subscriber_id": snap["subscriber_id"].to_numpy(),
        "value_tier": tiers,
        "lifecycle_stage": stage,
        "risk_label": label,
        "tenure_band": tenure_band(tenure),
        "rule_probability": rule_p.astype("float32"),
        "passive_churn": passive,
        "signal_count": sig.to_numpy().sum(axis=1).astype("int16"),
        # snapshot facts the dispatch rules (6.5) read as well
        "arpu_3m_avg": snap["arpu_3m_avg"].to_numpy(),
        "arpu_change_pct": snap["arpu_change_pct"].to_numpy(),
        "silent_days": snap["silent_days"].to_numpy(),
    })


def segment_store(store: Any, policy: Policy | None = None, probability: np.ndarray | None = None,
                  low_min_probability: float | None = None) -> pd.DataFrame:
    """`segment_frame` over every stored subscriber (network averages and spend ranks from the store)."""
    subs = store.read_table("subscribers", list(SUBSCRIBER_FIELDS))
    usage_path = store.path("usage")
    usage = None
    if usage_path.is_file():
        import pyarrow.parquet as pq

        usage = pq.read_table(usage_path, columns=list(USAGE_FIELDS)).to_pandas()
    spends = np.sort(subs["cumulative_spend"].dropna().to_numpy(dtype="float64"))
    avg = store.network_averages().arpu
    return segment_frame(subs, usage, avg, spends, policy, probability, low_min_probability)


def add_segments_to_scores(path: Any, store: Any, policy: Policy | None = None,
                           low_min_probability: float | None = None) -> None:
    """Add value_tier, lifecycle_stage, risk_label and tenure_band to a batch score file, in place.

    The risk label uses the file's model probabilities (as `churn_risk` does), so reports and
    dispatch lists read one consistent segmentation instead of recomputing it.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pq.read_table(path)
    scores = table.to_pandas()
    subs_ids = store.read_table("subscribers", ["subscriber_id"])["subscriber_id"].astype(str)
    probability = scores.set_index(scores["subscriber_id"].astype(str))["churn_probability"].reindex(subs_ids)
    seg = segment_store(store, policy, probability.to_numpy(dtype="float64"), low_min_probability)
    seg = seg.set_index("subscriber_id").reindex(scores["subscriber_id"].astype(str))
    for column in ("value_tier", "lifecycle_stage", "risk_label", "tenure_band"):
        table = table.append_column(column, pa.array(seg[column].to_numpy(dtype=object), type=pa.string()))
    pq.write_table(table, path)


def snapshots(subscribers: pd.DataFrame, usage: pd.DataFrame | None) -> list[Any]:
    """One `SubscriberSnapshot` per row, built column-wise (as `SubscriberStore.to_snapshot` does
    one at a time), with the network averages and the spend ranks of these rows."""
    import math

    from tools.schemas import SubscriberSnapshot

    frame = snapshot_frame(subscribers, usage, np.sort(_num(subscribers, "cumulative_spend")))
    averages = {"network_avg_arpu": float(np.nanmean(frame["arpu_3m_avg"])),
                "network_avg_tenure_months": float(np.nanmean(frame["tenure_months"]))}
    extra = [c for c in ("brand", "is_student", "age") if c in subscribers]
    records = frame.drop(columns=["subscriber_id"]).join(subscribers[extra]).to_dict("records")
    return [SubscriberSnapshot(**{k: None if v is None or (isinstance(v, float) and math.isnan(v)) else v
                                  for k, v in r.items()}, **averages) for r in records]
