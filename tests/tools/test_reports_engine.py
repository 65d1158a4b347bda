"""The report engine equals an independent pandas computation for every metric and dimension, and no
value (a filter, a data value) ever reaches the SQL text. Practice-session metrics are checked against
real role-play sessions played and graded through tools/training/practice.py on the same SQLite file."""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from tools.errors import InvalidInput
from tools.generate import write_generated
from tools.outcomes import OutcomeLog, default_database_url, parse_outcome
from tools.reports.engine import ReportEngine, load_spec
from tools.reports.spec import Dimension, Metric, Period, ReportSpec
from tools.reports.sql import FAMILY_OF, valid_dimensions
from tools.segment_frame import segment_store, tenure_band
from tools.subscribers import SubscriberStore
from tools.training import sessions as session_module
from tools.training.practice import Practice
from tools.training.sessions import RoleplayStore

START, END = dt.date(2025, 10, 1), dt.date(2025, 12, 31)
EVIL = "x'; DROP TABLE subscribers; --"
SUCCESS = ("retained", "renewed")
TRANSCRIPTS = Path(__file__).resolve().parents[1] / "data" / "transcripts"
# (trainee key id, transcript, graded at): two in October, two in November, two in December, one before
# the period; the EVIL trainee id checks that a data value never becomes SQL text
PRACTICE = [
    ("k-alice", "renewal-en-2-flawed", "2025-10-15T09:00:00.000+00:00"),
    ("k-alice", "silent-en-2-good", "2025-11-03T23:30:00.000+00:00"),
    ("k-bob", "routine-en-3-good", "2025-11-20T10:00:00.000+00:00"),
    ("k-bob", "renewal-en-2-good", "2025-12-05T08:00:00.000+00:00"),
    ("k-bob", "routine-en-3-flawed", "2025-12-31T23:59:59.000+00:00"),
    (EVIL, "campus-en-3-flawed", "2025-10-02T07:00:00.000+00:00"),
    ("k-carol", "port_out-en-2-good", "2025-09-30T12:00:00.000+00:00"),
]


def play(practice: Practice, trainee: str, transcript: str, when: str, grade: bool = True) -> str:
    """One role-play session played line by line (and graded) with the session store's clock at `when`."""
    doc = yaml.safe_load((TRANSCRIPTS / f"{transcript}.yaml").read_text(encoding="utf-8"))
    setup = doc["setup"]
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(session_module, "_now", lambda: when)
        started = practice.start(owner=trainee, role="trainee", scenario=setup["scenario"], seed=setup["seed"],
                                 lang=setup["lang"])
        for turn in (t for t in doc["turns"] if t["speaker"] == "trainee"):
            if practice.turn(started.session_id, trainee, turn["text"]).finished:
                break
        if grade:
            practice.finish(started.session_id, trainee)
    return started.session_id


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> dict:
    data_dir = tmp_path_factory.mktemp("reports")
    store = SubscriberStore(data_dir)
    write_generated(store, rows=1500, seed=11, progress=False)
    log = OutcomeLog(default_database_url(data_dir))
    subs = store.read_table("subscribers", ["subscriber_id"])["subscriber_id"].tolist()
    renewal = store.read_table("dispatches").query("trigger == 'renewal' and month == '2025-11'").iloc[0]
    contacts = [
        dict(subscriber_id=subs[3], agent_id="AG0101", scenario="routine", measure_codes=["RS001"], cost=12,
             channel="wechat", result="retained", contact_time="2025-11-12T10:00:00"),
        dict(subscriber_id=subs[4], agent_id=EVIL, agent_team="T99", scenario="silent", cost=0, channel="sms",
             result="declined", reason=f"said {EVIL}; call 13812345678", contact_time="2025-12-02T09:00:00"),
        dict(subscriber_id=renewal["subscriber_id"], agent_id="AG0102", scenario="renewal",
             measure_codes=["DM002"], cost=20, channel="outbound_call", result="renewed",
             dispatch_id=renewal["dispatch_id"], contact_time="2025-12-20T15:00:00"),
    ]
    for c in contacts:
        log.log(parse_outcome(c))
    sessions = RoleplayStore(default_database_url(data_dir))
    practice = Practice(sessions)
    for trainee, transcript, when in PRACTICE:
        play(practice, trainee, transcript, when)
    play(practice, "k-carol", "silent-en-2-flawed", "2025-11-11T11:00:00.000+00:00", grade=False)  # never graded
    engine = ReportEngine(store, outcome_log=log, training_log=sessions)
    return {"store": store, "log": log, "engine": engine, "sessions": sessions, "practice": practice,
            "ref": _reference_tables(store, log, sessions)}


def _reference_tables(store: SubscriberStore, log: OutcomeLog, sessions: RoleplayStore) -> dict:
    """The same data read and joined with pandas only (segmentation from the vectorised rules)."""
    subs = store.read_table("subscribers")
    seg = segment_store(store)
    pop = pd.DataFrame({
        "subscriber_id": subs["subscriber_id"].astype(str), "value_tier": seg["value_tier"],
        "lifecycle_stage": seg["lifecycle_stage"], "risk_label": seg["risk_label"], "tenure_band": seg["tenure_band"],
        "brand": subs["brand"].astype(object), "plan": subs["plan_type"].astype(object),
        "region": subs["region"].astype(object), "activation": subs["activation_date"],
        "churn": subs["churn_date"], "in_base": True, "p": seg["rule_probability"].astype(float)})
    lv = store.read_table("leavers")
    pop = pd.concat([pop, pd.DataFrame({
        "subscriber_id": lv["subscriber_id"].astype(str), "value_tier": lv["value_tier"].astype(object),
        "lifecycle_stage": lv["lifecycle_stage"].astype(object), "risk_label": lv["risk_label"].astype(object),
        "tenure_band": tenure_band(lv["tenure_months"]), "brand": lv["brand"].astype(object),
        "plan": lv["plan_type"].astype(object), "region": lv["region"].astype(object),
        "activation": lv["activation_date"], "churn": lv["churn_date"], "in_base": False, "p": np.nan})],
        ignore_index=True)
    logged = log.frame()
    contacts = pd.concat([store.read_table("outcomes"), logged], ignore_index=True)
    contacts["day"] = contacts["date"].dt.normalize()
    contacts["month"] = contacts["date"].dt.strftime("%Y-%m")
    usage = store.read_table("usage")
    usage["active"] = usage["mou"] >= 20  # calling again after a zero-voice work order
    d = store.read_table("dispatches")
    d["month"] = d["date"].dt.strftime("%Y-%m")
    reached = contacts[contacts["result"] != "no_answer"]["dispatch_id"].dropna().unique()
    d["reached"] = d["dispatch_id"].isin(reached)
    renewed = contacts[contacts["result"] == "renewed"].dropna(subset=["dispatch_id"])
    first = renewed.groupby("dispatch_id")["month"].min()

    def num(month: pd.Series) -> pd.Series:
        return month.str[:4].astype(int) * 12 + month.str[5:7].astype(int)

    d["renew_lag"] = num(d["dispatch_id"].map(first).fillna("0000-00")) - num(d["month"])
    d.loc[~d["dispatch_id"].isin(first.index), "renew_lag"] = np.nan
    def num1(month: str) -> int:
        return int(month[:4]) * 12 + int(month[5:7])

    months = usage.groupby("subscriber_id")[["month", "active"]].apply(lambda g: list(zip(g["month"], g["active"])))
    d["activated"] = [
        (lambda nxt: (any(nxt) if nxt else None))([a for m, a in months.get(s, []) if num1(m) == num1(dm) + 1])
        if t == "zero_voice" else None
        for s, dm, t in zip(d["subscriber_id"], d["month"], d["trigger"])]
    listed = pd.DataFrame([s.model_dump() for s in sessions.list(limit=1000)])  # the supervisor's list view
    graded = listed[listed["status"] == "finished"].copy()
    graded["when"] = pd.to_datetime(graded["updated_at"], utc=True).dt.tz_convert(None)
    graded["month"] = graded["when"].dt.strftime("%Y-%m")
    graded["trainee"] = graded["owner"]
    return {"pop": pop, "contacts": contacts, "usage": usage, "dispatches": d, "training": graded}


def _rate(num: float, den: float, digits: int = 4) -> float | None:
    return None if not den else round(num / den, digits)


def _expected(ref: dict, metric: Metric, dim: Dimension | None, start: dt.date = START, end: dt.date = END) -> dict:
    """{dimension value (or None): metric value} computed with pandas."""
    pop, family = ref["pop"], FAMILY_OF[metric].name
    key = None if dim is None else dim.value
    attr = {Dimension.agent: "agent_id"}.get(dim, key)
    out: dict = {}
    if family == "base":
        frames = []
        months = pd.date_range(start, end, freq="MS") if dim == Dimension.month else [pd.Timestamp(start)]
        for m in months:
            nxt = m + pd.offsets.MonthBegin(1) if dim == Dimension.month else pd.Timestamp(end) + pd.Timedelta(days=1)
            base = pop[(pop["activation"] < m) & (pop["churn"].isna() | (pop["churn"] >= m))].copy()
            base["month"], base["left"] = m.strftime("%Y-%m"), base["churn"] < nxt
            frames.append(base)
        rows = pd.concat(frames)
        for k, g in (rows.groupby(attr) if key else [(None, rows)]):
            out[k] = _rate(g["left"].sum(), len(g)) if metric == Metric.churn_rate else len(g)
    elif family == "usage":
        u = ref["usage"][ref["usage"]["month"].between(f"{start:%Y-%m}", f"{end:%Y-%m}")]
        u = u.merge(pop.drop(columns=["churn"]), on="subscriber_id")
        for k, g in (u.groupby(attr) if key else [(None, u)]):
            out[k] = round(g["arpu"].mean(), 2)
    elif family == "snapshot":
        base = pop[pop["in_base"]].assign(month="2025-12")
        for k, g in (base.groupby(attr) if key else [(None, base)]):
            out[k] = int((g["risk_label"] == "high").sum()) if metric == Metric.high_risk_count else round(g["p"].mean(), 4)
    elif family == "training":
        t = ref["training"]
        t = t[(t["when"].dt.normalize() >= pd.Timestamp(start)) & (t["when"].dt.normalize() <= pd.Timestamp(end))]
        for k, g in (t.groupby(attr) if key else [(None, t)]):
            out[k] = (round(g["total"].mean(), 1) if len(g) else None) if metric == Metric.training_score else len(g)
    elif family == "contacts":
        c = ref["contacts"]
        c = c[(c["day"] >= pd.Timestamp(start)) & (c["day"] <= pd.Timestamp(end))]
        c = c.merge(pop, on="subscriber_id", how="left", suffixes=("", "_p"))
        for k, g in (c.groupby(attr, dropna=False) if key else [(None, c)]):
            won = g["result"].isin(SUCCESS).sum()
            out[None if isinstance(k, float) else k] = {
                Metric.retention_success_rate: _rate(won, (g["result"] != "no_answer").sum()),
                Metric.retention_cost: round(g["cost"].sum(), 2),
                Metric.cost_per_retained: _rate(g["cost"].sum(), won, 2),
                Metric.contacts: len(g)}[metric]
    else:
        d = ref["dispatches"]
        d = d[(d["date"] >= pd.Timestamp(start)) & (d["date"] <= pd.Timestamp(end))]
        d = d.merge(pop, on="subscriber_id", how="left", suffixes=("", "_p"))
        for k, g in (d.groupby(attr, dropna=False) if key else [(None, d)]):
            ren = g[g["trigger"] == "renewal"]
            silent = g[(g["trigger"] == "zero_voice") & g["activated"].notna()]
            lag = {Metric.renewal_rate: 0, Metric.renewal_rate_next_month: 1, Metric.renewal_rate_month_after: 2}
            if metric in lag:
                value = _rate((ren["renew_lag"] <= lag[metric]).sum(), len(ren))
            elif metric == Metric.reach_rate:
                value = _rate(g["reached"].sum(), len(g))
            else:
                value = _rate(silent["activated"].astype(bool).sum(), len(silent))
            out[None if isinstance(k, float) else k] = value
    return out


CASES = [(m, None) for m in Metric] + [(m, Dimension(d)) for m in Metric for d in valid_dimensions(m)]


@pytest.mark.parametrize(("metric", "dim"), CASES, ids=[f"{m.value}-{d.value if d else 'total'}" for m, d in CASES])
def test_every_metric_and_dimension_equals_pandas(world, metric, dim):
    spec = ReportSpec(metrics=[metric], dimensions=[dim] if dim else [], period=Period(start=START, end=END))
    result = world["engine"].run(spec)
    got = {(tuple(r[:-1])[0] if dim else None): r[-1] for r in result.rows}
    expected = _expected(world["ref"], metric, dim)
    if dim is not None:  # groups without rows are absent from both
        expected = {k: v for k, v in expected.items() if k in got or v not in (None, 0)}
    assert set(got) == set(expected), (sorted(map(str, got)), sorted(map(str, expected)))
    for k, value in expected.items():
        if value is None:
            assert got[k] is None, k
        else:
            tol = 0.011 if metric in (Metric.arpu, Metric.retention_cost, Metric.cost_per_retained) else \
                0.051 if metric == Metric.training_score else 1e-4  # money to 2 decimals, scores to 1
            assert got[k] is not None and math.isclose(got[k], value, abs_tol=tol if isinstance(value, float) else 1e-4), \
                (k, got[k], value)
    assert result.columns == ([dim.value] if dim else []) + [metric.value]
    assert metric.value in result.definitions and result.interpretation


def test_grouped_report_joins_families_and_sorts(world):
    spec = ReportSpec(metrics=["churn_rate", "retention_success_rate", "arpu"], dimensions=["value_tier", "month"],
                      period=Period(start=START, end=END), sort={"by": "churn_rate", "desc": True}, limit=5)
    result = world["engine"].run(spec)
    assert result.columns == ["value_tier", "month", "churn_rate", "retention_success_rate", "arpu"]
    assert len(result.rows) == 5
    rates = [r[2] for r in result.rows]
    assert rates == sorted(rates, reverse=True)
    assert result.sql.count("?") >= 1 and "LIMIT ?" in result.sql


def test_long_periods_give_the_same_monthly_churn_as_short_ones(world):
    engine = world["engine"]
    spec = dict(metrics=["churn_rate", "subscribers"], dimensions=["value_tier", "month"])
    year = engine.run(ReportSpec(**spec, period=Period(start="2025-01-01", end="2025-12-31")))
    quarter = engine.run(ReportSpec(**spec, period=Period(start=START, end=END)))
    assert len({r[1] for r in year.rows}) == 12
    assert [r for r in year.rows if r[1] >= "2025-10"] == sorted(quarter.rows, key=lambda r: (r[0], r[1]))


def test_default_period_is_the_latest_complete_month(world):
    engine = world["engine"]
    assert engine.as_of() == dt.date(2025, 12, 31)
    default = engine.run(ReportSpec(metrics=["churn_rate", "contacts"]))
    explicit = engine.run(ReportSpec(metrics=["churn_rate", "contacts"],
                                     period=Period(start="2025-12-01", end="2025-12-31")))
    assert default.rows == explicit.rows


def test_a_metric_without_meaning_for_a_dimension_names_the_valid_ones(world):
    with pytest.raises(InvalidInput, match="high_risk_count.*channel.*valid dimensions for high_risk_count: "
                                           "value_tier"):
        world["engine"].run(ReportSpec(metrics=["high_risk_count"], dimensions=["channel"]))
    with pytest.raises(InvalidInput, match="churn_rate.*agent"):
        world["engine"].run(ReportSpec(metrics=["churn_rate"], filters=[{"field": "agent", "value": "AG0101"}]))


def test_unknown_fields_list_the_valid_ones():
    with pytest.raises(InvalidInput, match="churn_rate.*retention_success_rate") as info:
        load_spec({"metrics": ["churn"], "dimensions": ["value_tier"]})
    assert "metrics.0" in str(info.value)
    with pytest.raises(InvalidInput, match="valid dimensions: value_tier"):
        load_spec({"metrics": ["arpu"], "dimensions": ["planet"]})
    with pytest.raises(InvalidInput, match="extra|not permitted"):
        load_spec({"metrics": ["arpu"], "sql": "DROP TABLE pop"})


@pytest.mark.parametrize("value", [EVIL, "1 OR 1=1", "' OR '1'='1", "广东\"; SELECT 1; --"])
def test_injection_in_filter_values_never_reaches_sql(world, value):
    engine = world["engine"]
    before = engine.run(ReportSpec(metrics=["subscribers", "contacts"], period=Period(start=START, end=END)))
    for op, v in (("eq", value), ("in", [value, "nowhere"])):
        spec = ReportSpec(metrics=["subscribers", "contacts", "arpu"], dimensions=["region"],
                          filters=[{"field": "region", "op": op, "value": v}], period=Period(start=START, end=END))
        result = engine.run(spec)
        assert result.rows == []
        assert value not in result.sql and "DROP" not in result.sql and "1=1" not in result.sql
    total = engine.run(ReportSpec(metrics=["subscribers", "contacts"], filters=[{"field": "brand", "value": value}],
                                  period=Period(start=START, end=END)))
    assert total.rows == [[0, 0]]
    after = engine.run(ReportSpec(metrics=["subscribers", "contacts"], period=Period(start=START, end=END)))
    assert after.rows == before.rows  # nothing was dropped or changed


def test_injection_in_data_values_stays_data(world):
    engine = world["engine"]
    by_agent = engine.run(ReportSpec(metrics=["contacts"], dimensions=["agent"], period=Period(start=START, end=END)))
    assert [EVIL, 1] in by_agent.rows
    assert EVIL not in by_agent.sql
    one = engine.run(ReportSpec(metrics=["contacts", "retention_cost"], filters=[{"field": "agent", "value": EVIL}],
                                period=Period(start=START, end=END)))
    assert one.rows == [[1, 0.0]] and EVIL not in one.sql
    assert EVIL in engine.dimension_values("agent", limit=10_000)
    assert "13812345678" not in str(world["log"].list())  # the reason was stored masked


def test_dimension_values_for_the_parser(world):
    engine = world["engine"]
    assert "广东" in engine.dimension_values("region")
    assert set(engine.dimension_values("value_tier")) <= {"high", "medium", "low", "group"}
    assert engine.dimension_values("month")[-1] == "2025-12"
    assert {"outbound_call", "sms"} <= set(engine.dimension_values("channel"))
    assert "renewal" in engine.dimension_values("scenario")
    assert engine.dimension_values("tenure_band") and len(engine.dimension_values("agent", limit=3)) == 3
    with pytest.raises(InvalidInput, match="unknown dimension"):
        engine.dimension_values("planet")


def test_new_outcomes_show_up_without_rebuilding_the_store(world, tmp_path: Path):
    engine, log, store = world["engine"], world["log"], world["store"]
    spec = ReportSpec(metrics=["contacts"], filters=[{"field": "agent", "value": "AG-NEW"}],
                      period=Period(start=START, end=END))
    assert engine.run(spec).rows == [[0]]
    sid = store.read_table("subscribers", ["subscriber_id"])["subscriber_id"].iloc[9]
    log.log(parse_outcome(dict(subscriber_id=sid, agent_id="AG-NEW", scenario="routine", channel="app",
                               result="callback", contact_time="2025-10-05T08:00:00")))
    assert engine.run(spec).rows == [[1]]



# --- practice (role-play) sessions --------------------------------------------------------------

def test_practice_metrics_by_trainee_scenario_and_month(world):
    spec = ReportSpec(metrics=["training_score", "training_sessions"], dimensions=["trainee", "month"],
                      period=Period(start=START, end=END), sort={"by": "trainee", "desc": False})
    result = world["engine"].run(spec)
    ref = world["ref"]["training"]
    ref = ref[ref["when"].dt.strftime("%Y-%m").between("2025-10", "2025-12")]
    expected = {(k[0], k[1]): [round(g["total"].mean(), 1), len(g)] for k, g in ref.groupby(["trainee", "month"])}
    got = {(r[0], r[1]): r[2:] for r in result.rows}
    assert set(got) == set(expected) and ("k-bob", "2025-12") in got and ("k-carol", "2025-09") not in got
    for k, (score, count) in expected.items():
        assert math.isclose(got[k][0], score, abs_tol=0.051) and got[k][1] == count, k
    assert got[("k-bob", "2025-12")][1] == 2  # graded at 23:59:59 UTC on the period's last day: inside
    assert "training_score" in result.definitions and "0 to 100" in result.definitions["training_score"]
    assert EVIL not in result.sql and "?" in result.sql


def test_practice_metrics_join_other_families_on_scenario(world):
    spec = ReportSpec(metrics=["training_sessions", "contacts"], dimensions=["scenario"],
                      period=Period(start=START, end=END))
    rows = {r[0]: r[1:] for r in world["engine"].run(spec).rows}
    assert rows["campus"][0] == 1 and rows["renewal"][0] == 2 and rows["routine"][0] == 2
    assert rows["silent"][0] == 1  # the ungraded silent session does not count


def test_practice_filters_are_parameters(world):
    engine = world["engine"]
    spec = ReportSpec(metrics=["training_sessions"], filters=[{"field": "trainee", "value": EVIL}],
                      period=Period(start=START, end=END))
    result = engine.run(spec)
    assert result.rows == [[1]] and EVIL not in result.sql
    assert EVIL in engine.dimension_values("trainee")
    two = engine.run(ReportSpec(metrics=["training_sessions"], dimensions=["trainee"],
                                filters=[{"field": "trainee", "op": "in", "value": ["k-alice", "k-bob"]},
                                         {"field": "scenario", "op": "ne", "value": "renewal"}],
                                period=Period(start=START, end=END)))
    assert two.rows == [["k-alice", 1], ["k-bob", 2]]


def test_practice_metrics_without_a_period_cover_every_graded_session(world):
    result = world["engine"].run(ReportSpec(metrics=["training_sessions"], dimensions=["trainee"]))
    assert dict(map(tuple, result.rows)) == {"k-alice": 2, "k-bob": 3, "k-carol": 1, EVIL: 1}
    assert "2025-09-30" in result.interpretation and "2025-12-31" in result.interpretation
    mixed = world["engine"].run(ReportSpec(metrics=["training_sessions", "contacts"]))
    assert "2025-12-01" in mixed.interpretation  # with a subscriber-data metric: the latest complete month


def test_practice_metrics_by_a_subscriber_dimension_name_the_valid_ones(world):
    with pytest.raises(InvalidInput, match="training_score.*graded practice.*value_tier.*valid dimensions for "
                                           "training_score: trainee, scenario, month"):
        world["engine"].run(ReportSpec(metrics=["training_score"], dimensions=["value_tier"]))
    with pytest.raises(InvalidInput, match="churn_rate.*trainee"):
        world["engine"].run(ReportSpec(metrics=["churn_rate"], filters=[{"field": "trainee", "value": "k-bob"}]))


def test_the_session_frame_and_a_new_grade_show_up_without_a_rebuild(world):
    engine, sessions, practice = world["engine"], world["sessions"], world["practice"]
    frame = sessions.frame()
    assert list(frame.columns) == ["session_id", "trainee", "scenario", "lang", "total", "finished_at", "flags"]
    assert len(frame) == len(PRACTICE) and frame["total"].between(0, 100).all()
    flawed = frame[frame["trainee"] == "k-alice"].sort_values("finished_at").iloc[0]
    assert "missing_verification" in flawed["flags"].split(",")
    spec = ReportSpec(metrics=["training_sessions"], filters=[{"field": "trainee", "value": "k-dave"}],
                      period=Period(start=START, end=END))
    assert engine.run(spec).rows == [[0]]
    before = sessions.version()
    sid = play(practice, "k-dave", "campus-en-3-good", "2025-12-10T10:00:00.000+00:00", grade=False)
    assert sessions.version() == before and engine.run(spec).rows == [[0]]  # not graded yet
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(session_module, "_now", lambda: "2025-12-10T10:05:00.000+00:00")
        practice.finish(sid, "k-dave")
    assert sessions.version() != before
    assert engine.run(spec).rows == [[1]]


def test_without_a_session_store_practice_metrics_are_empty(world):
    engine = ReportEngine(world["store"])
    result = engine.run(ReportSpec(metrics=["training_sessions", "training_score"], period=Period(start=START, end=END)))
    assert result.rows == [[0, None]]
    assert engine.dimension_values("trainee") == []


# --- period-over-period comparison ---------------------------------------------------------------

NOV = (dt.date(2025, 11, 1), dt.date(2025, 11, 30))
PREVIOUS = {"previous_period": (dt.date(2025, 10, 1), dt.date(2025, 10, 31)),
            "previous_year": (dt.date(2024, 11, 1), dt.date(2024, 11, 30))}
COMPARED = [(m, d, mode) for m in (Metric.churn_rate, Metric.retention_success_rate, Metric.renewal_rate,
                                   Metric.retention_cost)
            for d in (None, Dimension.channel, Dimension.value_tier, Dimension.agent)
            if d is None or d.value in valid_dimensions(m) for mode in ("previous_period", "previous_year")]


@pytest.fixture(scope="module")
def ref_now(world) -> dict:
    """The pandas reference read again: tests above log outcomes (AG-NEW in October) after `world` was built."""
    return _reference_tables(world["store"], world["log"], world["sessions"])


@pytest.mark.parametrize(("metric", "dim", "mode"), COMPARED,
                         ids=[f"{m.value}-{d.value if d else 'total'}-{mode}" for m, d, mode in COMPARED])
def test_a_comparison_equals_two_pandas_periods_joined(world, ref_now, metric, dim, mode):
    spec = ReportSpec(metrics=[metric], dimensions=[dim] if dim else [], period=Period(start=NOV[0], end=NOV[1]),
                      compare=mode)
    result = world["engine"].run(spec)
    name = metric.value
    assert result.columns == ([dim.value] if dim else []) + [name, f"{name}_previous", f"{name}_change"]
    now = _expected(ref_now, metric, dim, *NOV)
    before = _expected(ref_now, metric, dim, *PREVIOUS[mode])
    got = {(r[0] if dim else None): r[-3:] for r in result.rows}
    keys = set(now) | set(before)
    if dim is not None:  # groups without rows in either period are absent from both
        keys = {k for k in keys if k in got or now.get(k) not in (None, 0) or before.get(k) not in (None, 0)}
    assert set(got) == keys, (sorted(map(str, got)), sorted(map(str, keys)))
    money = metric == Metric.retention_cost
    tol = 0.011 if money else 1e-4
    for k in keys:
        current, previous, change = got[k]
        want_now, want_before = now.get(k), before.get(k)
        for have, want in ((current, want_now), (previous, want_before)):
            assert (have is None) == (want is None) and (want is None or math.isclose(have, want, abs_tol=tol)), \
                (k, got[k], want_now, want_before)
        if want_now is None or want_before is None:
            assert change is None, (k, got[k])
        else:
            assert math.isclose(change, want_now - want_before, abs_tol=2 * tol), (k, got[k])
    assert result.previous_period is not None
    assert (result.previous_period.start, result.previous_period.end) == PREVIOUS[mode]
    assert (result.period.start, result.period.end) == NOV
    assert str(PREVIOUS[mode][0]) in result.interpretation and "2025-11-01" in result.interpretation
    assert "this period minus" in result.definitions["comparison"]


def test_a_comparison_sorts_by_the_change_and_keeps_one_period_groups(world):
    spec = ReportSpec(metrics=["renewal_rate", "retention_cost"], dimensions=["channel"],
                      period=Period(start=NOV[0], end=NOV[1]), compare="previous_period",
                      sort={"by": "renewal_rate_change", "desc": False}, lang="zh")
    result = world["engine"].run(spec)
    assert result.columns == ["channel", "renewal_rate", "renewal_rate_previous", "renewal_rate_change",
                              "retention_cost", "retention_cost_previous", "retention_cost_change"]
    changes = [r[3] for r in result.rows]
    known = [c for c in changes if c is not None]
    assert known == sorted(known) and changes == known + [None] * (len(changes) - len(known))  # nulls last
    assert "本期 - 上期" in result.definitions["comparison"] and "2025-10-01" in result.interpretation
    top = world["engine"].run(spec.model_copy(update={"limit": 2}))
    assert top.rows == result.rows[:2] and top.sql.endswith("LIMIT ?")
    by_agent = world["engine"].run(ReportSpec(metrics=["contacts"], dimensions=["agent"], compare="previous_period",
                                              period=Period(start=dt.date(2025, 12, 1), end=dt.date(2025, 12, 31))))
    rows = {r[0]: r[1:] for r in by_agent.rows}
    assert rows[EVIL] == [1, None, None]  # contacted in December only: nothing to compare with
    assert rows["AG0101"][0] is None and rows["AG0101"][1] >= 1 and rows["AG0101"][2] is None  # November only


def test_previous_periods_follow_the_calendar():
    from tools.reports.compare import previous_range

    d = dt.date
    cases = {
        (d(2025, 12, 1), d(2025, 12, 31), "previous_period"): (d(2025, 11, 1), d(2025, 11, 30)),
        (d(2025, 3, 1), d(2025, 3, 31), "previous_period"): (d(2025, 2, 1), d(2025, 2, 28)),
        (d(2025, 10, 1), d(2025, 12, 31), "previous_period"): (d(2025, 7, 1), d(2025, 9, 30)),
        (d(2026, 1, 1), d(2026, 3, 31), "previous_period"): (d(2025, 10, 1), d(2025, 12, 31)),
        (d(2026, 7, 1), d(2026, 7, 15), "previous_period"): (d(2026, 6, 1), d(2026, 6, 15)),  # month to date
        (d(2025, 12, 2), d(2025, 12, 31), "previous_period"): (d(2025, 11, 2), d(2025, 12, 1)),  # 30 days
        (d(2025, 11, 10), d(2025, 11, 19), "previous_period"): (d(2025, 10, 31), d(2025, 11, 9)),
        (d(2025, 10, 1), d(2025, 12, 31), "previous_year"): (d(2024, 10, 1), d(2024, 12, 31)),
        (d(2024, 2, 1), d(2024, 2, 29), "previous_year"): (d(2023, 2, 1), d(2023, 2, 28)),
        (d(2025, 2, 1), d(2025, 2, 28), "previous_year"): (d(2024, 2, 1), d(2024, 2, 29)),
    }
    for (start, end, mode), expected in cases.items():
        assert previous_range(start, end, mode) == expected, (start, end, mode)


def test_the_default_period_is_compared_with_the_month_before(world):
    result = world["engine"].run(ReportSpec(metrics=["churn_rate", "contacts"], compare="previous_period"))
    december = world["engine"].run(ReportSpec(metrics=["churn_rate", "contacts"],
                                              period=Period(start="2025-12-01", end="2025-12-31")))
    november = world["engine"].run(ReportSpec(metrics=["churn_rate", "contacts"], period=Period(start=NOV[0], end=NOV[1])))
    (now_churn, prev_churn, churn_change, now_contacts, prev_contacts, contacts_change), = result.rows
    assert [now_churn, now_contacts] == december.rows[0] and [prev_churn, prev_contacts] == november.rows[0]
    assert contacts_change == now_contacts - prev_contacts
    assert math.isclose(churn_change, now_churn - prev_churn, abs_tol=1e-4)
    yoy = world["engine"].run(ReportSpec(metrics=["contacts"], compare="previous_year"))
    assert yoy.previous_period.start == dt.date(2024, 12, 1) and any("2025-01" in n for n in yoy.notes)


@pytest.mark.parametrize("spec, message", [
    ({"metrics": ["churn_rate"], "dimensions": ["month"], "compare": "previous_period"}, "month"),
    ({"metrics": ["contacts"], "dimensions": ["channel"], "compare": "previous_year",
      "filters": [{"field": "month", "value": "2025-11"}]}, "month"),
    ({"metrics": ["renewal_rate"], "dimensions": ["channel"], "sort": {"by": "renewal_rate_change"}},
     "renewal_rate_change"),
    ({"metrics": ["renewal_rate"], "dimensions": ["channel"], "compare": "previous_period",
      "sort": {"by": "churn_rate_change"}}, "renewal_rate_change"),
    ({"metrics": ["renewal_rate"], "compare": "previous_week"}, "previous_period"),
])
def test_invalid_comparisons_say_what_is_wrong(spec, message):
    with pytest.raises(InvalidInput, match=message):
        load_spec(spec)


def test_sorting_by_a_derived_column_needs_compare_and_snapshots_cannot_be_compared(world):
    ok = load_spec({"metrics": ["renewal_rate"], "dimensions": ["channel"], "compare": "previous_period",
                    "sort": {"by": "renewal_rate_previous", "desc": True}})
    assert ok.sort.by == "renewal_rate_previous"
    with pytest.raises(InvalidInput, match="high_risk_count is a snapshot.*cannot be compared"):
        world["engine"].run(ReportSpec(metrics=["high_risk_count"], dimensions=["value_tier"], compare="previous_period"))


@pytest.mark.parametrize("value", [EVIL, "1 OR 1=1", "' OR '1'='1"])
def test_injection_never_reaches_the_comparison_sql(world, value):
    engine = world["engine"]
    for mode in ("previous_period", "previous_year"):
        spec = ReportSpec(metrics=["contacts", "retention_success_rate"], dimensions=["agent"], compare=mode,
                          filters=[{"field": "agent", "op": "in", "value": [value, "AG0101"]}],
                          period=Period(start=START, end=END), sort={"by": "contacts_change", "desc": True}, limit=5)
        result = engine.run(spec)
        assert value not in result.sql and "DROP" not in result.sql and "1=1" not in result.sql
        assert result.sql.count("?") >= 6
    evil = engine.run(ReportSpec(metrics=["contacts"], dimensions=["agent"], compare="previous_period",
                                 filters=[{"field": "agent", "value": EVIL}],
                                 period=Period(start=dt.date(2025, 12, 1), end=dt.date(2025, 12, 31))))
    assert evil.rows == [[EVIL, 1, None, None]] and EVIL not in evil.sql
