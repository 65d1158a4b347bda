"""The report engine's working tables: the stored Parquet data loaded once into an in-memory DuckDB.

`ReportData` builds, per data version, five tables the compiled SQL reads:

- `pop`: one row per subscriber ever in the base (current subscribers and the leavers of the history
  window) with an integer key `sk`, the segmentation (value tier, lifecycle stage, risk label,
  tenure band: from the scores file when it carries them, else computed with `tools.segment_frame`),
  brand, plan type, region, activation and churn dates, and the predicted churn probability.
- `usage_k`: monthly ARPU and whether there was any call, SMS or data, per `sk` and month.
- `contacts`: the outcome history of the store plus the records of the outcome log.
- `dispatch_k`: the work orders with, per order, whether it reached the customer, the month of the
  renewal it produced and, for zero-voice orders, whether the customer was active afterwards.
- `training_k`: the graded practice (role-play) sessions of the session store, with the day and month
  they were graded (empty, with the same columns, when there is no store).

Nothing here takes user input: the only SQL text is fixed, and file paths are bound as parameters.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from tools.segment_frame import segment_store, tenure_band
from tools.subscriber_schema import OUTCOME_COLUMNS, conform

log = logging.getLogger(__name__)
SEGMENT_COLUMNS = ("value_tier", "lifecycle_stage", "risk_label", "tenure_band")
DIM_COLUMNS = (*SEGMENT_COLUMNS, "brand", "plan", "region")  # the subscriber dimensions of a report
TRAINING_COLUMNS = ("session_id", "trainee", "scenario", "lang", "total", "finished_at", "flags")  # session store frame()
_UNLOADED = object()
_MONTH_NUM = "(CAST(substr({0}, 1, 4) AS INTEGER) * 12 + CAST(substr({0}, 6, 2) AS INTEGER))"


# A zero-voice (silent) customer counts as reactivated when the month after the work order has real
# calling again: at least this many minutes (the generator's zero-voice trigger is below 20).
ACTIVE_VOICE_MINUTES = 20


def month_num(expr: str) -> str:
    """SQL for the month number (year x 12 + month) of a 'YYYY-MM' column expression."""
    return _MONTH_NUM.format(expr)


class ReportData:
    """The DuckDB connection and its tables, rebuilt when the store, scores, outcome or training log change."""

    def __init__(self, store: Any, outcome_log: Any = None, scores_path: Path | None = None,
                 policy: Any = None, threads: int | None = None, training_log: Any = None):
        self.store, self.outcome_log, self.policy, self.threads = store, outcome_log, policy, threads
        self.training_log = training_log
        self.scores_path = Path(scores_path) if scores_path else None
        self._lock = threading.Lock()
        self._db: Any = None
        self._version: tuple | None = None
        self._log_version: Any = _UNLOADED
        self._training_version: Any = _UNLOADED
        self.as_of: dt.date | None = None

    def _versions(self) -> tuple[tuple, Any, Any]:
        scores = None
        if self.scores_path is not None and self.scores_path.is_file():
            st = self.scores_path.stat()
            scores = (st.st_mtime_ns, st.st_size)
        log_version = self.outcome_log.version() if self.outcome_log is not None else None
        training_version = self.training_log.version() if self.training_log is not None else None
        return (self.store.version(), scores), log_version, training_version

    def connection(self) -> Any:
        """The DuckDB connection with up-to-date tables (a cursor per caller is taken from it)."""
        version, log_version, training_version = self._versions()
        with self._lock:
            if self._db is None or version != self._version:
                self._build(version)
                self._log_version = self._training_version = _UNLOADED
            if self._log_version is _UNLOADED or log_version != self._log_version:
                self._load_contacts()
                self._log_version = log_version
            if self._training_version is _UNLOADED or training_version != self._training_version:
                self._load_training()
                self._training_version = training_version
            return self._db

    # --- building ------------------------------------------------------------------------------

    def _build(self, version: tuple) -> None:
        import duckdb

        if not self.store.exists():
            from tools.errors import SubscriberNotFound

            raise SubscriberNotFound(f"no subscriber data under {self.store.root}: run `retention data generate` "
                                     "or `retention data import` first")
        db = duckdb.connect()
        if self.threads:
            db.execute(f"SET threads = {int(self.threads)}")
        pop = self._population()
        db.register("pop_df", pop)
        db.execute(
            "CREATE TABLE pop AS SELECT * EXCLUDE (activation_date, churn_date), "
            "CAST(activation_date AS DATE) AS activation_date, CAST(churn_date AS DATE) AS churn_date, "
            "year(activation_date) * 12 + month(activation_date) - 1 AS act_m, "
            "year(churn_date) * 12 + month(churn_date) - 1 AS churn_m FROM pop_df")
        db.unregister("pop_df")
        usage = self.store.path("usage")
        dims = ", ".join(f"p.{c}" for c in DIM_COLUMNS)
        if usage.is_file():
            # the subscriber's dimensions ride along (no join per report); sorted by month, so a
            # period filter skips whole row groups
            db.execute(
                f"CREATE TABLE usage_k AS SELECT u.month, u.arpu, p.sk, {dims}, "
                f"coalesce(u.mou, 0) >= {ACTIVE_VOICE_MINUTES} AS active "
                "FROM read_parquet(?) u JOIN pop p USING (subscriber_id) ORDER BY u.month", [str(usage)])
        else:
            db.execute(f"CREATE TABLE usage_k AS SELECT CAST(NULL AS VARCHAR) AS month, CAST(NULL AS DOUBLE) AS arpu, "
                       f"p.sk, {dims}, CAST(NULL AS BOOLEAN) AS active FROM pop p WHERE false")
        dispatches = self.store.read_table("dispatches")  # conformed: older stores lack some columns
        dispatches = dispatches.drop(columns=["measure_codes", "cost", "result"])
        db.register("dispatch_df", dispatches)
        db.execute(
            "CREATE TABLE dispatch_raw AS SELECT p.sk, d.dispatch_id, CAST(d.date AS DATE) AS day, "
            "strftime(CAST(d.date AS DATE), '%Y-%m') AS month, d.trigger, d.scenario, d.channel, d.agent_id, "
            "d.agent_team FROM dispatch_df d LEFT JOIN pop p USING (subscriber_id)")
        db.unregister("dispatch_df")
        self._db, self._version = db, version
        self.as_of = self._reference_date(db)

    def _population(self) -> pd.DataFrame:
        subs = self.store.read_table("subscribers", ["subscriber_id", "brand", "plan_type", "region",
                                                     "activation_date", "churn_date", "tenure_months"])
        seg = self._segmentation(subs)
        current = pd.DataFrame({
            "subscriber_id": subs["subscriber_id"].astype(str).to_numpy(),
            **{c: seg[c].to_numpy(dtype=object) for c in SEGMENT_COLUMNS},
            "brand": subs["brand"].to_numpy(dtype=object), "plan": subs["plan_type"].to_numpy(dtype=object),
            "region": subs["region"].to_numpy(dtype=object),
            "activation_date": subs["activation_date"].to_numpy(), "churn_date": subs["churn_date"].to_numpy(),
            "in_base": True, "churn_probability": seg["churn_probability"].to_numpy(dtype="float64"),
        })
        leavers = self.store.read_table("leavers")
        if len(leavers):
            left = pd.DataFrame({
                "subscriber_id": leavers["subscriber_id"].astype(str).to_numpy(),
                "value_tier": leavers["value_tier"].to_numpy(dtype=object),
                "lifecycle_stage": leavers["lifecycle_stage"].to_numpy(dtype=object),
                "risk_label": leavers["risk_label"].to_numpy(dtype=object),
                "tenure_band": tenure_band(leavers["tenure_months"]),
                "brand": leavers["brand"].to_numpy(dtype=object), "plan": leavers["plan_type"].to_numpy(dtype=object),
                "region": leavers["region"].to_numpy(dtype=object),
                "activation_date": leavers["activation_date"].to_numpy(), "churn_date": leavers["churn_date"].to_numpy(),
                "in_base": False, "churn_probability": np.nan,
            })
            current = pd.concat([current, left], ignore_index=True)
        current.insert(0, "sk", np.arange(len(current), dtype=np.int64))
        for column in ("activation_date", "churn_date"):
            current[column] = pd.to_datetime(current[column]).dt.normalize()
        return current

    def _segmentation(self, subs: pd.DataFrame) -> pd.DataFrame:
        """Segment columns and churn probability aligned with `subs` (scores file, else the rules)."""
        scores = None
        if self.scores_path is not None and self.scores_path.is_file():
            import pyarrow.parquet as pq

            names = pq.read_schema(self.scores_path).names
            wanted = [c for c in ("subscriber_id", "churn_probability", *SEGMENT_COLUMNS) if c in names]
            scores = pq.read_table(self.scores_path, columns=wanted).to_pandas()
            scores = scores.set_index("subscriber_id").reindex(subs["subscriber_id"].astype(str)).reset_index()
        if scores is not None and all(c in scores for c in SEGMENT_COLUMNS) and scores["risk_label"].notna().all():
            return scores
        probability = None
        if scores is not None and "churn_probability" in scores and scores["churn_probability"].notna().all():
            probability = scores["churn_probability"].to_numpy(dtype="float64")
        seg = segment_store(self.store, self.policy, probability)
        seg["churn_probability"] = probability if probability is not None else seg["rule_probability"].astype("float64")
        return seg

    def _load_contacts(self) -> None:
        """(Re)build `contacts` and `dispatch_k` from the stored history and the outcome log."""
        db = self._db
        frames = []
        outcomes = self.store.path("outcomes")
        if outcomes.is_file():
            import pyarrow.parquet as pq

            frames.append(conform(pq.read_table(outcomes).to_pandas(), OUTCOME_COLUMNS, keep_extras=False))
        if self.outcome_log is not None:
            frames.append(conform(self.outcome_log.frame(), OUTCOME_COLUMNS, keep_extras=False))
        frame = pd.concat(frames, ignore_index=True) if frames else conform(pd.DataFrame(), OUTCOME_COLUMNS)
        frame = frame.drop(columns=["reason"])
        db.register("contacts_df", frame)
        db.execute("DROP TABLE IF EXISTS contacts")
        db.execute(
            "CREATE TABLE contacts AS SELECT p.sk, c.outcome_id, c.dispatch_id, CAST(c.date AS DATE) AS day, "
            "strftime(CAST(c.date AS DATE), '%Y-%m') AS month, c.scenario, c.agent_team, c.agent_id, c.channel, "
            "c.measure_codes, coalesce(c.cost, 0) AS cost, c.result FROM contacts_df c LEFT JOIN pop p USING (subscriber_id)")
        db.unregister("contacts_df")
        db.execute("DROP TABLE IF EXISTS dispatch_k")
        db.execute(
            "CREATE TABLE dispatch_k AS WITH oc AS ("
            " SELECT dispatch_id, bool_or(result <> 'no_answer') AS reached,"
            f" min(CASE WHEN result = 'renewed' THEN {month_num('month')} END) AS renew_month"
            " FROM contacts WHERE dispatch_id IS NOT NULL GROUP BY dispatch_id),"
            " act AS (SELECT d.dispatch_id, bool_or(u.active) AS activated FROM dispatch_raw d"
            f" JOIN usage_k u ON u.sk = d.sk AND {month_num('u.month')} = {month_num('d.month')} + 1"
            " WHERE d.trigger = 'zero_voice'"
            " GROUP BY d.dispatch_id)"
            " SELECT d.*, coalesce(oc.reached, false) AS reached,"
            f" oc.renew_month - {month_num('d.month')} AS renew_lag, act.activated"
            " FROM dispatch_raw d LEFT JOIN oc USING (dispatch_id) LEFT JOIN act USING (dispatch_id)")

    def _load_training(self) -> None:
        """(Re)build `training_k` from the session store's graded sessions."""
        frame = self.training_log.frame() if self.training_log is not None else None
        if frame is None or not len(frame):
            frame = pd.DataFrame({c: pd.Series(dtype=object) for c in TRAINING_COLUMNS})
        frame = frame[list(TRAINING_COLUMNS)].astype({"total": "float64"})
        frame["finished_at"] = pd.to_datetime(frame["finished_at"])
        db = self._db
        db.register("training_df", frame)
        db.execute(
            "CREATE OR REPLACE TABLE training_k AS SELECT CAST(t.session_id AS VARCHAR) AS session_id, "
            "CAST(t.trainee AS VARCHAR) AS trainee, CAST(t.scenario AS VARCHAR) AS scenario, "
            "CAST(t.lang AS VARCHAR) AS lang, CAST(t.total AS DOUBLE) AS total, CAST(t.flags AS VARCHAR) AS flags, "
            "CAST(t.finished_at AS TIMESTAMP) AS finished_at, CAST(t.finished_at AS DATE) AS day, "
            "strftime(CAST(t.finished_at AS DATE), '%Y-%m') AS month FROM training_df t")
        db.unregister("training_df")

    def training_range(self) -> tuple[dt.date, dt.date] | None:
        """The first and last day a practice session was graded, or None without any."""
        cursor = self.connection().cursor()
        try:
            first, last = cursor.execute("SELECT min(day), max(day) FROM training_k").fetchall()[0]
        finally:
            cursor.close()
        return (first, last) if first is not None else None

    def first_month(self) -> dt.date | None:
        """The first day of the earliest usage month (where the subscriber history starts), or None."""
        cursor = self.connection().cursor()
        try:
            month = cursor.execute("SELECT min(month) FROM usage_k").fetchall()[0][0]
        finally:
            cursor.close()
        return dt.date(int(month[:4]), int(month[5:7]), 1) if month else None

    def _reference_date(self, db: Any) -> dt.date:
        """The end of the latest usage month, else the latest snapshot date, else today."""
        month = db.execute("SELECT max(month) FROM usage_k").fetchall()[0][0]
        if month:
            first = dt.date(int(month[:4]), int(month[5:7]), 1)
            return (pd.Timestamp(first) + pd.offsets.MonthEnd(0)).date()
        snap = self.store.read_table("subscribers", ["snapshot_date"])["snapshot_date"].max()
        return snap.date() if pd.notna(snap) else dt.date.today()
