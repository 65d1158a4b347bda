"""The monthly dispatch work list (派单, domain.md 6.5): who to contact in a month, by which team.

Targets, in priority order (one work order per subscriber and month):
1. renewal: the contract ends two months after the dispatch month;
2. high_risk: risk label 高危; 3. revenue_drop: ARPU down 30% (policy) month on month;
4. medium_risk: risk label 中危, mid/high value only (low value has no proactive budget, 3.1/3.2);
5. zero_voice: silent past the 6.5 threshold of the value: diamond 3 days, gold/silver 7, mid/high
   value 10 (policy), others a whole month.
Passive churners (long arrears) go to collection, not to a retention list. A target is skipped when
a work order of the same trigger went out within the policy's no-repeat window (`offers.no_repeat_months`).
Each team (one per province) has `team_size` workers doing `per_worker_per_day` orders (30-50) on
each weekday of the month; orders beyond that capacity are deferred, the most valuable kept first.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pydantic import BaseModel, Field

from tools.errors import InvalidInput
from tools.generate_history import MEASURES, SCENARIO_OF, TRIGGER_ORDER, agent_of, team_of
from tools.policy import Policy, load_policy

SILENT_DAYS_BY_VIP = {"diamond": 3, "gold": 7, "silver": 7}
WORKLIST_COLUMNS = ("dispatch_id", "subscriber_id", "date", "month", "trigger", "scenario", "agent_team", "agent_id",
                    "channel", "measure_codes", "cost", "result", "value_tier", "risk_label", "expected_loss")


class DispatchSummary(BaseModel):
    """What `retention churn dispatch --json` prints."""

    month: str
    as_of: dt.date = Field(..., description="The data's reference date the targets were read from.")
    total: int
    by_trigger: dict[str, int]
    by_team: dict[str, int]
    by_team_trigger: dict[str, dict[str, int]]
    skipped_no_repeat: dict[str, int] = Field(..., description="Targets inside a 6.5 no-repeat window.")
    routed_to_collection: int = Field(..., description="Passive churners (arrears), not retention targets.")
    deferred_over_capacity: dict[str, int]
    team_size: int
    per_worker_per_day: int
    working_days: int
    capacity_per_team: int
    out: str | None = None


def _month(text: str) -> tuple[int, dt.date]:
    try:
        first = dt.date.fromisoformat(f"{text}-01")
    except ValueError:
        raise InvalidInput(f"month {text!r} must look like 2026-07") from None
    return first.year * 12 + first.month - 1, first


def _weekdays(first: dt.date) -> list[dt.date]:
    days = pd.date_range(first, first + pd.offsets.MonthEnd(0), freq="B")
    return [d.date() for d in days]


def _targets(store: Any, seg: pd.DataFrame, month_no: int, policy: Policy) -> tuple[pd.DataFrame, int]:
    subs = store.read_table("subscribers", ["subscriber_id", "region", "vip_level", "contract_end_date", "is_student"])
    end = pd.to_datetime(subs["contract_end_date"])
    end_no = (end.dt.year * 12 + end.dt.month - 1).to_numpy(dtype="float64", na_value=np.nan)
    tier, label = seg["value_tier"].to_numpy(dtype=object), seg["risk_label"].to_numpy(dtype=object)
    silent = seg["silent_days"].to_numpy()
    vip = subs["vip_level"].fillna("none").to_numpy(dtype=object)
    mid_high = np.isin(tier, ["high", "medium", "group"])
    threshold = np.where(mid_high, policy.signals.silent.min_days_mid_high_value, policy.signals.silent.min_days)
    for level, days in SILENT_DAYS_BY_VIP.items():
        threshold = np.where(vip == level, days, threshold)
    drop = policy.offers.no_repeat_months.revenue_drop_min_pct
    hit = {
        "renewal": end_no == month_no + 2,
        "high_risk": label == "high",
        "revenue_drop": seg["arpu_change_pct"].to_numpy() <= -drop,
        "medium_risk": (label == "medium") & mid_high,
        "zero_voice": silent >= threshold,
    }
    passive = label == "churned"
    chosen = np.full(len(seg), "", dtype=object)
    for trig in TRIGGER_ORDER:
        chosen[(chosen == "") & hit[trig] & ~passive] = trig
    frame = pd.DataFrame({
        "subscriber_id": seg["subscriber_id"].astype(str).to_numpy(), "trigger": chosen,
        "region": subs["region"].to_numpy(dtype=object), "value_tier": tier, "risk_label": label,
        "is_student": subs["is_student"].fillna(False).to_numpy(dtype=bool), "vip": vip,
        "expected_loss": seg["churn_probability"].to_numpy() * seg["arpu_3m_avg"].to_numpy() * 12,
    })
    any_hit = np.any(np.vstack(list(hit.values())), axis=0)
    return frame[chosen != ""], int((passive & any_hit).sum())


def _recent(store: Any, month_no: int, policy: Policy) -> pd.DataFrame:
    """(subscriber_id, trigger) pairs still inside their no-repeat window in the dispatch month."""
    past = store.read_table("dispatches", ["subscriber_id", "date", "trigger"]).dropna(subset=["date", "trigger"])
    w = policy.offers.no_repeat_months
    window = {"renewal": w.renewal, "high_risk": w.high_risk, "medium_risk": w.medium_risk,
              "revenue_drop": w.revenue_drop, "zero_voice": w.zero_voice}
    ago = month_no - (past["date"].dt.year * 12 + past["date"].dt.month - 1)
    limit = past["trigger"].map(window).fillna(w.default)
    return past.loc[(ago >= 0) & (ago < limit), ["subscriber_id", "trigger"]].drop_duplicates()


def plan_dispatch(
    store: Any, month: str, policy: Policy | None = None, *, team_size: int = 40, per_worker_per_day: int = 40,
    segmentation: pd.DataFrame | None = None,
) -> tuple[pd.DataFrame, DispatchSummary]:
    """The month's work list and its summary. `segmentation` (from `tools.segment_frame.segment_store`,
    with a `churn_probability` column) may be given to reuse a scored base."""
    from tools.generate import REGIONS
    from tools.segment_frame import segment_store

    if not 1 <= team_size <= 500:
        raise InvalidInput("team_size must be between 1 and 500 workers")
    if not 30 <= per_worker_per_day <= 50:
        raise InvalidInput("per_worker_per_day must be between 30 and 50 (domain.md 6.5)")
    policy = policy or load_policy()
    month_no, first = _month(month)
    store._require()
    seg = segmentation if segmentation is not None else segment_store(store, policy)
    if "churn_probability" not in seg:
        seg = seg.assign(churn_probability=seg["rule_probability"].astype("float64"))
    targets, passive = _targets(store, seg, month_no, policy)
    recent = _recent(store, month_no, policy)
    key = targets["subscriber_id"] + "\x00" + targets["trigger"]
    blocked = key.isin(set(recent["subscriber_id"] + "\x00" + recent["trigger"]))
    skipped = targets.loc[blocked, "trigger"].value_counts().to_dict()
    work = targets.loc[~blocked].copy()
    index = {name: i for i, (name, *_rest) in enumerate(REGIONS)}
    region_no = work["region"].map(index).fillna(len(REGIONS)).astype(int).to_numpy()
    work["agent_team"] = team_of(region_no)
    work["priority"] = work["trigger"].map({t: i for i, t in enumerate(TRIGGER_ORDER)})
    work = work.sort_values(["agent_team", "priority", "expected_loss"], ascending=[True, True, False], kind="stable")
    days = _weekdays(first)
    per_day = team_size * per_worker_per_day
    capacity = per_day * len(days)
    position = work.groupby("agent_team").cumcount().to_numpy()
    deferred = work.loc[position >= capacity, "agent_team"].value_counts().to_dict()
    keep = position < capacity
    work, position = work.loc[keep], position[keep]
    region_no = work["agent_team"].str[1:].astype(int).to_numpy() - 1
    trig = work["trigger"].to_numpy(dtype=object)
    valuable = np.isin(work["value_tier"].to_numpy(dtype=object), ["high", "medium", "group"])
    scenario = np.array([SCENARIO_OF[t] for t in trig], dtype=object)
    out = pd.DataFrame({
        "dispatch_id": work["subscriber_id"].to_numpy() + f"-{month}-" + trig,
        "subscriber_id": work["subscriber_id"].to_numpy(),
        "date": pd.to_datetime([days[p // per_day] for p in position]).astype("datetime64[ms]"),
        "month": month, "trigger": trig,
        "scenario": np.where(work["is_student"].to_numpy() & (scenario == "routine"), "campus", scenario),
        "agent_team": work["agent_team"].to_numpy(), "agent_id": agent_of(region_no, position % team_size + 1),
        "channel": np.where(valuable | np.isin(work["vip"].to_numpy(dtype=object), list(SILENT_DAYS_BY_VIP)),
                            "outbound_call", np.where(trig == "zero_voice", "store", "sms")),
        "measure_codes": [MEASURES[t][1] for t in trig], "cost": 0.0, "result": "pending",
        "value_tier": work["value_tier"].to_numpy(), "risk_label": work["risk_label"].to_numpy(),
        "expected_loss": np.round(work["expected_loss"].to_numpy(dtype="float64"), 2),
    })
    by_team_trigger: dict[str, dict[str, int]] = {}
    for (team, t), count in out.groupby(["agent_team", "trigger"]).size().items():
        by_team_trigger.setdefault(str(team), {})[str(t)] = int(count)
    summary = DispatchSummary(
        month=month, as_of=_as_of(store), total=len(out),
        by_trigger={t: int((out["trigger"] == t).sum()) for t in TRIGGER_ORDER},
        by_team={k: int(v) for k, v in out["agent_team"].value_counts().sort_index().items()},
        by_team_trigger=by_team_trigger, skipped_no_repeat={t: int(skipped.get(t, 0)) for t in TRIGGER_ORDER},
        routed_to_collection=passive, deferred_over_capacity={str(k): int(v) for k, v in deferred.items()},
        team_size=team_size, per_worker_per_day=per_worker_per_day, working_days=len(days),
        capacity_per_team=capacity)
    return out.reset_index(drop=True), summary


def _as_of(store: Any) -> dt.date:
    snap = store.read_table("subscribers", ["snapshot_date"])["snapshot_date"].max()
    return snap.date() if pd.notna(snap) else dt.date.today()


def write_worklist(frame: pd.DataFrame, out: Path) -> Path:
    """Write the work list as Parquet (.parquet) or CSV (.csv, UTF-8 with BOM for spreadsheet tools)."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    if out.suffix.lower() == ".csv":
        frame.to_csv(tmp, index=False, encoding="utf-8-sig")
    elif out.suffix.lower() == ".parquet":
        frame.to_parquet(tmp, index=False)
    else:
        raise InvalidInput(f"--out {out.name}: use a .parquet or .csv file name")
    tmp.replace(out)
    return out
