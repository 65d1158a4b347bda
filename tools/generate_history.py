"""Synthetic retention history for the generator: 12 months of dispatches, contacts and leavers.

Dispatches follow domain.md 6.5: each month the contract-expiry customers two months ahead, the
high- and medium-risk customers, those whose revenue fell 30% month on month and the zero-voice
members are selected, one work order per customer and month, honouring the no-repeat windows of the
operator policy. Agents work in teams (one per province); mid/high-value customers are called,
others mostly get an SMS. Whether a contact is answered and whether the customer stays depends on
the customer's risk that month and on the money offered, which never exceeds the value tier's
monthly cap (3.1). Subscribers who left during the window become `leavers` rows, so churn rate over
time has a denominator and a numerator. Everything is vectorised per month and seeded per chunk.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from tools.policy import Policy

# Priority when several 6.5 triggers apply in one month: one work order per customer and month.
TRIGGER_ORDER = ("renewal", "high_risk", "revenue_drop", "medium_risk", "zero_voice")
SCENARIO_OF = {"renewal": "renewal", "high_risk": "routine", "revenue_drop": "routine",
               "medium_risk": "routine", "zero_voice": "silent"}
# Measure codes (tools/data/measures.yaml): with money / without money.
MEASURES = {"renewal": ("DM002", "RS001"), "high_risk": ("DM001", "DS001"), "revenue_drop": ("DM003", "DS001"),
            "medium_risk": ("RM001", "RS001"), "zero_voice": ("DM004", "RS001")}
AGENTS_PER_TEAM = 8
CONTRACT_MONTHS = 24
ZERO_VOICE_MOU = 20  # minutes in the month: next to nothing
LEAVER_ID_OFFSET = 500_000_000


def team_of(region_index: np.ndarray) -> np.ndarray:
    """Agent team code of each province index of `tools.generate.REGIONS` (one team per province)."""
    return np.char.add("T", np.char.zfill((np.asarray(region_index) + 1).astype(str), 2))


def agent_of(region_index: np.ndarray, number: np.ndarray) -> np.ndarray:
    """Agent id: the team's number and the agent's number in the team (AG0305 = team 3, agent 5)."""
    team = np.char.zfill((np.asarray(region_index) + 1).astype(str), 2)
    return np.char.add(np.char.add("AG", team), np.char.zfill(np.asarray(number).astype(str), 2))


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _month_index(days: np.ndarray, as_of: pd.Timestamp, first: int) -> np.ndarray:
    """Month number (first history month = 0) of `as_of + days` (NaN days stay very negative)."""
    when = as_of + pd.to_timedelta(np.nan_to_num(days, nan=-10**5), unit="D")
    return (when.year * 12 + when.month - 1).to_numpy() - first


def history(rng: np.random.Generator, ctx: dict[str, Any], policy: Policy) -> dict[str, pd.DataFrame]:
    """Dispatches, outcomes and leavers for one generated chunk (`ctx`: the chunk's arrays)."""
    n, months, as_of = ctx["n"], ctx["months"], pd.Timestamp(ctx["as_of"])
    labels = ctx["labels"]
    first = as_of.year * 12 + as_of.month - 1 - (months - 1)
    arpu, mou, alive = ctx["arpu"], ctx["mou"], ctx["alive"]
    tier, cap = ctx["tier"], ctx["monthly_cap"]
    end_month = np.where(ctx["has_contract"], _month_index(ctx["end_days"], as_of, first), -99)
    windows = policy.offers.no_repeat_months
    window = {"renewal": windows.renewal, "high_risk": windows.high_risk, "medium_risk": windows.medium_risk,
              "revenue_drop": windows.revenue_drop, "zero_voice": windows.zero_voice}
    last = {t: np.full(n, -100) for t in TRIGGER_ORDER}
    risk_noise = rng.normal(0, 0.5, n)
    # a renewed contract started when the previous one (CONTRACT_MONTHS long) expired
    prior_end = np.where(end_month > -50, end_month - CONTRACT_MONTHS, -99)
    rows: list[pd.DataFrame] = []
    for t in range(months):
        risk = _sigmoid(-2.4 + 0.7 * ctx["static"] + 4.6 * ctx["severity"] * ctx["ramp"][:, t] + risk_noise
                        + rng.normal(0, 0.8, n))
        prev = arpu[:, t - 1] if t else np.full(n, np.nan)
        hit = {
            "renewal": (end_month == t + 2) | (prior_end == t + 2),
            "high_risk": risk >= policy.risk.high_min_probability,
            "revenue_drop": (prev > 0) & (arpu[:, t] < prev * (1 - windows.revenue_drop_min_pct / 100)),
            "medium_risk": (risk >= policy.risk.medium_min_probability) & (tier != "low"),
            "zero_voice": mou[:, t] < ZERO_VOICE_MOU,
        }
        chosen = np.full(n, "", dtype=object)
        for trig in TRIGGER_ORDER:
            ok = hit[trig] & alive[:, t] & (chosen == "") & (t - last[trig] >= window[trig])
            chosen[ok] = trig
            last[trig][ok] = t
        idx = np.flatnonzero(chosen != "")
        if idx.size:
            rows.append(pd.DataFrame({"i": idx, "t": t, "trigger": chosen[idx], "risk": risk[idx],
                                  "renewed_before": prior_end[idx] == t + 2}))
    if not rows:
        return {"dispatches": pd.DataFrame(), "outcomes": pd.DataFrame(), "leavers": _leavers(rng, ctx)}
    d = pd.concat(rows, ignore_index=True)
    i, trig = d["i"].to_numpy(), d["trigger"].to_numpy(dtype=object)
    k = len(d)
    day = rng.integers(1, 6, k)  # work orders go out in the first working days of the month
    epoch = np.asarray(first - 1970 * 12 + d["t"].to_numpy(), dtype="int64")
    month_start = epoch.astype("datetime64[M]").astype("datetime64[D]")
    date = month_start + (day - 1)
    reg = ctx["region_index"][i]
    team = team_of(reg)
    agent = agent_of(reg, rng.integers(1, AGENTS_PER_TEAM + 1, k))
    t_of = tier[i]
    valuable = np.isin(t_of, ["high", "group"])
    u = rng.random(k)
    # mid/high value is called by its manager; mass customers mostly get an SMS or an app push (6.5)
    high = np.select([u < 0.8, u < 0.9], ["outbound_call", "wechat"], "home_visit")
    medium = np.select([u < 0.7, u < 0.85], ["outbound_call", "wechat"], "sms")
    mass = np.select([u < 0.55, u < 0.75, u < 0.9], ["sms", "app", "store"], "outbound_call")
    channel = np.where(valuable, high, np.where(t_of == "medium", medium, mass))
    spend_share = rng.uniform(0.3, 1.0, k) * (rng.random(k) < 0.7)
    cost = np.floor(cap[i] * spend_share)
    money = cost > 0
    codes = np.array([MEASURES[x][0 if m else 1] for x, m in zip(trig, money)], dtype=object)
    scenario = np.array([SCENARIO_OF[x] for x in trig], dtype=object)
    scenario = np.where(ctx["is_student"][i] & (scenario == "routine"), "campus", scenario)
    ids = ctx["ids"][i]
    dispatch_id = np.char.add(np.char.add(ids.astype(str), "-"), np.char.zfill(d["t"].to_numpy().astype(str), 2))
    # the contact: answered or not, then the customer's answer
    reach_p = np.select([channel == "outbound_call", channel == "home_visit", channel == "sms"], [0.75, 0.9, 0.45], 0.6)
    reached = rng.random(k) < reach_p
    success_p = _sigmoid(0.4 + 1.5 * cost / (cap[i] + 1.0) - 2.2 * d["risk"].to_numpy()
                         - 1.0 * ctx["churned"][i] + 2.0 * d["renewed_before"].to_numpy())
    stays = rng.random(k) < success_p
    callback = rng.random(k) < 0.08
    result = np.where(~reached, "no_answer", np.where(callback, "callback", np.where(
        stays, np.where(trig == "renewal", "renewed", "retained"), "declined")))
    lag = np.where(result == "renewed", rng.choice([0, 30, 60], k, p=[0.55, 0.3, 0.15]) + rng.integers(0, 25, k),
                   rng.integers(0, 6, k))
    contact = date + lag
    spent = np.where(np.isin(result, ["retained", "renewed"]), cost, 0.0)
    seen = contact <= np.datetime64(as_of.date())
    dispatches = pd.DataFrame({
        "dispatch_id": dispatch_id, "subscriber_id": ids, "date": date, "month": labels[d["t"].to_numpy()],
        "trigger": trig, "scenario": scenario, "agent_team": team, "agent_id": agent, "channel": channel,
        "measure_codes": codes, "cost": cost,
        "result": np.where(~seen, "pending", np.where(reached, "contacted", "unreachable")),
    })
    outcomes = pd.DataFrame({
        "outcome_id": np.char.add("H-", dispatch_id.astype(str)), "dispatch_id": dispatch_id, "subscriber_id": ids,
        "date": contact.astype("datetime64[ms]") + rng.integers(9 * 3600, 20 * 3600, k).astype("timedelta64[s]"),
        "scenario": scenario, "agent_team": team, "agent_id": agent, "channel": channel,
        "measure_codes": codes, "cost": spent, "result": result, "reason": None,
    })[seen]
    return {"dispatches": dispatches, "outcomes": outcomes, "leavers": _leavers(rng, ctx)}


def _leavers(rng: np.random.Generator, ctx: dict[str, Any]) -> pd.DataFrame:
    """Subscribers who left during the window, drawn like the base but weighted by churn propensity."""
    n, months, as_of = ctx["n"], ctx["months"], pd.Timestamp(ctx["as_of"])
    monthly = float(np.mean(ctx["churned"])) / 3.0
    count = min(n, int(rng.binomial(n * months, monthly))) if n else 0
    if count == 0:
        return pd.DataFrame()
    weight = ctx["propensity"] / ctx["propensity"].sum()
    src = rng.choice(n, count, p=weight)
    back = rng.integers(0, months, count)  # months before the snapshot month
    first_day = ((as_of.year - 1970) * 12 + as_of.month - 1 - back).astype("datetime64[M]").astype("datetime64[D]")
    churn_date = first_day + rng.integers(0, 28, count)
    tenure = np.maximum(1, ctx["tenure"][src] - back)
    activation = (churn_date.astype("datetime64[M]") - tenure).astype("datetime64[D]") + rng.integers(0, 28, count)
    start = ctx["start"]
    ids = pd.Series(LEAVER_ID_OFFSET + start + np.arange(count)).astype(str).str.zfill(9).radd("S").to_numpy()
    return pd.DataFrame({
        "subscriber_id": ids, "brand": ctx["brand"][src], "region": ctx["region"][src], "city": ctx["city"][src],
        "channel": ctx["channel"][src], "payment_type": ctx["payment_type"][src], "plan_id": ctx["plan_id"][src],
        "plan_type": ctx["plan_type"][src], "activation_date": activation, "tenure_months": tenure,
        "arpu_3m_avg": np.round(ctx["last3"][src] * rng.uniform(0.4, 0.9, count), 2),
        "value_tier": ctx["tier"][src],
        "lifecycle_stage": rng.choice(["sunk", "warning", "stable"], count, p=[0.4, 0.5, 0.1]),
        "risk_label": rng.choice(["high", "medium", "churned", "low", "stable"], count, p=[0.5, 0.22, 0.13, 0.1, 0.05]),
        "churn_date": churn_date,
    })
