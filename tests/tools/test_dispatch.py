"""`retention churn dispatch`: the month's work list honours the 6.5 triggers, windows and capacity."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from assistant.cli import app
from tools.dispatch import plan_dispatch
from tools.errors import InvalidInput
from tools.generate import write_generated
from tools.policy import load_policy
from tools.subscribers import SubscriberStore

WINDOWS = {"renewal": 3, "high_risk": 2, "medium_risk": 3, "revenue_drop": 2, "zero_voice": 3}


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> SubscriberStore:
    store = SubscriberStore(tmp_path_factory.mktemp("dispatch") / "data")
    write_generated(store, rows=3000, seed=5, as_of=date(2025, 12, 31), progress=False)
    return store


def _months_since(past: pd.Series, month: str) -> pd.Series:
    y, m = int(month[:4]), int(month[5:])
    return (y * 12 + m) - (past.dt.year * 12 + past.dt.month)


@pytest.mark.parametrize("month", ["2025-12", "2026-01", "2026-02"])
def test_no_repeat_windows_are_honoured(store: SubscriberStore, month: str) -> None:
    frame, summary = plan_dispatch(store, month)
    past = store.read_table("dispatches")
    assert {k: v for k, v in WINDOWS.items()} == {k: getattr(load_policy().offers.no_repeat_months, k) for k in WINDOWS}
    merged = frame.merge(past[["subscriber_id", "trigger", "date"]], on=["subscriber_id", "trigger"],
                         suffixes=("", "_past"))
    ago = _months_since(merged["date_past"], month)
    assert not ((ago >= 0) & (ago < merged["trigger"].map(WINDOWS))).any()
    assert frame["subscriber_id"].is_unique  # one work order per subscriber and month
    assert summary.total == len(frame) and sum(summary.by_trigger.values()) == len(frame)
    if month == "2025-12":  # the generated history already worked December: most targets are skipped
        assert summary.skipped_no_repeat["renewal"] > 0 and summary.skipped_no_repeat["high_risk"] > 0
    # renewal targets: the contract ends two months after the dispatch month
    subs = store.read_table("subscribers", ["subscriber_id", "contract_end_date"]).set_index("subscriber_id")
    ends = subs.loc[frame.loc[frame["trigger"] == "renewal", "subscriber_id"], "contract_end_date"]
    y, m = int(month[:4]), int(month[5:])
    assert ((ends.dt.year * 12 + ends.dt.month) == y * 12 + m + 2).all()
    assert frame["date"].dt.strftime("%Y-%m").eq(month).all()
    assert not frame["risk_label"].eq("churned").any()  # passive churners go to collection


def test_far_months_have_no_window_left(store: SubscriberStore) -> None:
    _, summary = plan_dispatch(store, "2026-07")
    assert sum(summary.skipped_no_repeat.values()) == 0 and summary.total > 0


def test_capacity_per_worker_and_day(tmp_path: Path) -> None:
    from tools.generate import generate

    frames = generate(5000, seed=8, as_of=date(2025, 12, 31))
    frames["subscribers"]["region"] = "广东"  # one team gets every target
    one = SubscriberStore(tmp_path)
    one.write(frames)
    frame, summary = plan_dispatch(one, "2026-07", team_size=1, per_worker_per_day=30)
    assert set(frame["agent_team"]) == {"T01"} and summary.working_days == 23
    assert summary.capacity_per_team == 30 * 23 and len(frame) == 30 * 23
    assert summary.deferred_over_capacity["T01"] > 0
    assert frame.groupby(["agent_id", "date"]).size().max() <= 30
    kept = frame["trigger"].map({"renewal": 0, "high_risk": 1, "revenue_drop": 2, "medium_risk": 3, "zero_voice": 4})
    assert kept.is_monotonic_increasing  # the highest-priority triggers are kept first


def test_bad_arguments(store: SubscriberStore) -> None:
    with pytest.raises(InvalidInput, match="2026-07"):
        plan_dispatch(store, "July")
    with pytest.raises(InvalidInput, match="30 and 50"):
        plan_dispatch(store, "2026-07", per_worker_per_day=80)


def test_cli_writes_the_work_list_and_prints_one_json_summary(store: SubscriberStore, tmp_path: Path) -> None:
    runner = CliRunner()
    data_dir = str(store.root.parent)
    for name in ("list.csv", "list.parquet"):
        out = tmp_path / name
        result = runner.invoke(app, ["churn", "dispatch", "--month", "2026-01", "--team-size", "3", "--out", str(out),
                                     "--data-dir", data_dir, "--json"])
        assert result.exit_code == 0, result.stderr
        assert result.stdout.count("\n") == 1
        summary = json.loads(result.stdout)
        written = pd.read_csv(out) if name.endswith(".csv") else pd.read_parquet(out)
        assert len(written) == summary["total"] > 0 and summary["out"] == str(out)
        assert set(summary["by_team"]) == set(written["agent_team"])
        assert "msisdn" not in written.columns
    text = runner.invoke(app, ["churn", "dispatch", "--month", "2026-01", "--data-dir", data_dir])
    assert text.exit_code == 0 and "skipped (no-repeat window)" in text.stdout
    bad = runner.invoke(app, ["churn", "dispatch", "--month", "13-2026", "--data-dir", data_dir])
    assert bad.exit_code == 1 and bad.stderr.startswith("error: ")


def test_generated_history_follows_the_dispatch_rules(store: SubscriberStore) -> None:
    from tools.rules import monthly_cap
    from tools.segment_frame import segment_store

    past = store.read_table("dispatches")
    assert set(past["trigger"]) == set(WINDOWS) and past["month"].nunique() == 12
    assert not past.duplicated(["subscriber_id", "month"]).any()  # one work order per subscriber and month
    past = past.sort_values("date")
    gaps = past.groupby(["subscriber_id", "trigger"])["date"].apply(
        lambda d: (d.dt.year * 12 + d.dt.month).diff().min())
    limit = gaps.index.get_level_values("trigger").map(WINDOWS)
    assert (gaps.isna() | (gaps.to_numpy() >= limit.to_numpy())).all()
    outcomes = store.read_table("outcomes")
    assert set(outcomes["result"]) == {"retained", "renewed", "declined", "no_answer", "callback"}
    assert outcomes["dispatch_id"].isin(past["dispatch_id"]).all()
    assert (outcomes["date"] <= pd.Timestamp("2026-01-01")).all()
    # money only where the value tier has a budget, never above its monthly cap (3.1; a group per line)
    seg = segment_store(store).set_index("subscriber_id")
    paid = outcomes[outcomes["cost"] > 0].join(seg[["value_tier", "arpu_3m_avg"]], on="subscriber_id")
    caps = [monthly_cap(t, a, None, 1) for t, a in zip(paid["value_tier"], paid["arpu_3m_avg"])]
    assert len(paid) and (paid["cost"].to_numpy() <= pd.Series(caps).to_numpy() + 1e-9).all()
    assert not paid["value_tier"].eq("low").any()


def test_generated_churn_dates_match_the_label_and_the_leavers(store: SubscriberStore) -> None:
    subs = store.read_table("subscribers", ["churned_next_3m", "churn_date", "snapshot_date"])
    churned = subs["churned_next_3m"].astype(bool)
    assert subs.loc[churned, "churn_date"].notna().all() and subs.loc[~churned, "churn_date"].isna().all()
    days = (subs.loc[churned, "churn_date"] - subs.loc[churned, "snapshot_date"]).dt.days
    assert days.between(1, 92).all()
    leavers = store.read_table("leavers")
    assert len(leavers) > 0 and not leavers["subscriber_id"].isin(store.read_table("subscribers")["subscriber_id"]).any()
    assert leavers["churn_date"].dt.strftime("%Y-%m").nunique() == 12
    assert (leavers["churn_date"] <= pd.Timestamp("2025-12-31")).all()
    assert (leavers["activation_date"] < leavers["churn_date"]).all()
