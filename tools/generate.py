"""Seeded synthetic subscribers, 12 months of usage and a 3-month churn label, fully vectorised.

The population imitates a Chinese operator (brands, provinces, plans, payment types roughly as
domain.md 2.2 and 5.3). Churn is driven by the playbook signals (domain.md 1.1 and 6.1): a hidden
"disengagement" onset makes ARPU, MOU and distinct called numbers fall over the last months, and
brings forwarding to competitors, competitor-hotline calls, complaints and silence; static risks
(short tenure, contract ending, arrears, prepaid, social channel, 2G handset, students) add to it,
and unobserved noise keeps a good model around ROC-AUC 0.85 rather than 1.0.

Each chunk also gets a year of retention history (`tools.generate_history`): monthly work orders by
the 6.5 dispatch rules and no-repeat windows, the contacts that answered them (channels, results whose
odds depend on risk and offer, costs within the tier caps), the subscribers who left during the window
(`leavers`, for churn rate over time) and a `churn_date` for every labelled churner.

Data is generated in chunks of `CHUNK` subscribers, each from its own seeded stream, so a
million rows stream to Parquet with bounded memory and the same seed always gives the same rows.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
from pydantic import BaseModel

from tools.errors import InvalidInput
from tools.policy import Policy, load_policy
from tools.subscriber_schema import LABEL_COLUMN, SUBSCRIBER_COLUMNS, TABLES, USAGE_COLUMNS, conform

HISTORY_TABLES = ("dispatches", "outcomes", "leavers")

log = logging.getLogger(__name__)

CHUNK = 100_000
DEFAULT_AS_OF = date(2025, 12, 31)  # fixed, so that a seed means the same data on any day

# (province, weight, churn shift, cities)
REGIONS = [
    ("广东", 12, 0.10, ["广州", "深圳", "东莞", "佛山"]),
    ("江苏", 9, 0.15, ["南京", "苏州", "无锡"]),
    ("山东", 9, 0.05, ["济南", "青岛", "烟台"]),
    ("浙江", 8, 0.20, ["杭州", "宁波", "温州"]),
    ("河南", 8, -0.05, ["郑州", "洛阳"]),
    ("四川", 7, 0.15, ["成都", "绵阳"]),
    ("河北", 6, -0.25, ["石家庄", "邯郸", "保定"]),
    ("湖北", 5, -0.05, ["武汉", "宜昌"]),
    ("湖南", 5, -0.10, ["长沙", "株洲"]),
    ("福建", 4, 0.10, ["福州", "厦门"]),
    ("辽宁", 4, 0.20, ["沈阳", "大连"]),
    ("北京", 5, -0.10, ["北京"]),
    ("上海", 5, 0.00, ["上海"]),
    ("陕西", 3, -0.35, ["西安"]),
    ("云南", 3, 0.10, ["昆明"]),
]
# (plan_id, brand, plan_type, monthly fee)
PLANS = [
    ("RYT-19", "如意通", "single", 19.0),
    ("RYT-39", "如意通", "single", 39.0),
    ("RYT-59", "如意通", "single", 59.0),
    ("UP-29", "UP新势力", "single", 29.0),
    ("UP-49", "UP新势力", "single", 49.0),
    ("XSK-69", "新时空", "single", 69.0),
    ("XSK-99", "新时空", "single", 99.0),
    ("XSK-139", "新时空", "converged", 139.0),
    ("SJF-189", "世界风", "single", 189.0),
    ("SJF-289", "世界风", "converged", 289.0),
    ("SJF-389", "世界风", "converged", 389.0),
]
CHANNELS = np.array(["own_store", "partner_store", "agent", "online", "direct_sales", "campus"])
MOBILE_PREFIXES = np.array([130, 131, 132, 155, 156, 185, 186, 145, 166, 175, 176])


class GenerateReport(BaseModel):
    """What `retention data generate` wrote."""

    rows: int
    usage_rows: int
    dispatch_rows: int = 0
    outcome_rows: int = 0
    leaver_rows: int = 0
    churn_rate: float
    seed: int
    months: int
    as_of: date
    files: dict[str, Path]
    seconds: float


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _month_labels(as_of: date, months: int) -> list[str]:
    end = as_of.year * 12 + as_of.month - 1
    return [f"{m // 12:04d}-{m % 12 + 1:02d}" for m in range(end - months + 1, end + 1)]


def _groups(rng: np.random.Generator, n: int, start: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Company accounts inside the chunk: group ids, sizes, and whether each is a group customer."""
    target = int(n * 0.10)
    sizes = rng.choice([3, 5, 8, 8, 12, 15, 20, 30, 50], size=max(1, target // 8 + 1))
    sizes = sizes[np.cumsum(sizes) <= target]
    member = rng.permutation(n)[: sizes.sum()]
    gid = np.full(n, -1, dtype=np.int64)
    size = np.zeros(n, dtype=np.int64)
    owner = np.repeat(np.arange(len(sizes)), sizes)
    gid[member] = owner
    size[member] = sizes[owner]
    guarantee = rng.random(len(sizes)) < 0.85
    has_guarantee = np.zeros(n, dtype=bool)
    has_guarantee[member] = guarantee[owner]
    names = np.where(gid >= 0, pd.Series(gid + start).astype(str).str.zfill(7).radd("G").to_numpy(), None)
    return names, size, has_guarantee


def _chunk(seed: int, index: int, n: int, start: int, months: int, as_of: date,
           policy: Policy | None = None) -> dict[str, pd.DataFrame]:
    rng = np.random.default_rng([seed, index])
    u = rng.random

    # --- who they are ---
    ids = pd.Series(np.arange(start, start + n)).astype(str).str.zfill(9).radd("S").to_numpy()
    suffix = (np.arange(start, start + n, dtype=np.int64) * 7_919_393 + seed * 104_729) % 100_000_000
    prefix = MOBILE_PREFIXES[rng.integers(0, len(MOBILE_PREFIXES), n)]
    msisdn = (prefix.astype(np.int64) * 100_000_000 + suffix).astype(str)
    is_student = u(n) < 0.06
    age = np.where(is_student, rng.integers(17, 25, n), np.clip(rng.normal(40, 12, n), 16, 80)).astype(int)
    gender = np.where(u(n) < 0.53, "m", "f")
    reg_w = np.array([r[1] for r in REGIONS], dtype=float)
    reg = rng.choice(len(REGIONS), n, p=reg_w / reg_w.sum())
    region = np.array([r[0] for r in REGIONS])[reg]
    city_pick = u(n)
    city = np.empty(n, dtype=object)
    for r, (_, _, _, cities) in enumerate(REGIONS):  # 15 provinces, not one loop per row
        sel = reg == r
        city[sel] = np.array(cities)[(city_pick[sel] * len(cities)).astype(int)]
    region_shift = np.array([r[2] for r in REGIONS])[reg]

    pay = rng.choice(3, n, p=[0.36, 0.34, 0.30])  # postpaid, quasi_prepaid, prepaid
    payment_type = np.array(["postpaid", "quasi_prepaid", "prepaid"])[pay]
    group_id, group_size, guarantee = _groups(rng, n, start)
    in_company = group_size > 0
    is_group = (group_size >= 10) & guarantee
    is_special = u(n) < 0.01

    # plan: students mostly UP新势力, prepaid mostly 如意通, companies and special lines richer plans
    plan_p = np.select(
        [is_student, pay == 2, in_company | is_special, pay == 0],
        [0, 1, 2, 3],
        default=4,
    )
    plan_probs = np.array([
        [0.05, 0.05, 0.0, 0.45, 0.35, 0.05, 0.05, 0.0, 0.0, 0.0, 0.0],
        [0.35, 0.35, 0.15, 0.05, 0.05, 0.05, 0.0, 0.0, 0.0, 0.0, 0.0],
        [0.0, 0.0, 0.0, 0.0, 0.0, 0.15, 0.25, 0.25, 0.15, 0.12, 0.08],
        [0.03, 0.07, 0.10, 0.03, 0.05, 0.20, 0.20, 0.13, 0.10, 0.06, 0.03],
        [0.12, 0.18, 0.15, 0.05, 0.08, 0.17, 0.13, 0.06, 0.04, 0.02, 0.0],
    ])
    cum = plan_probs.cumsum(axis=1)
    plan = (u(n)[:, None] > cum[plan_p]).sum(axis=1).clip(0, len(PLANS) - 1)
    plan_id = np.array([p[0] for p in PLANS])[plan]
    brand = np.array([p[1] for p in PLANS])[plan]
    plan_type = np.array([p[2] for p in PLANS])[plan]
    plan_fee = np.array([p[3] for p in PLANS])[plan]
    converged = plan_type == "converged"

    channel = CHANNELS[rng.choice(5, n, p=[0.35, 0.20, 0.30, 0.10, 0.05])]
    channel = np.where(is_student & (u(n) < 0.6), "campus", channel)
    channel = np.where(in_company & (u(n) < 0.5), "direct_sales", channel)
    social = channel == "agent"

    tenure = np.where(
        is_student,
        rng.integers(1, 48, n),
        np.clip(rng.gamma(1.3, 26, n), 1, 200).astype(int),
    )
    as_of_ts = pd.Timestamp(as_of)
    start_month = (as_of.year - 1970) * 12 + as_of.month - 1 - tenure
    activation = start_month.astype("datetime64[M]").astype("datetime64[D]") + rng.integers(0, 28, n)

    ctype_i = rng.choice(5, n, p=[0.42, 0.22, 0.14, 0.08, 0.14])  # none, handset, credit, mixed, plan
    ctype_i = np.where(converged & (ctype_i == 0), 4, ctype_i)
    contract_type = np.array(["none", "handset_subsidy", "credit_subsidy", "mixed", "plan"])[ctype_i]
    has_contract = ctype_i > 0
    end_days = rng.integers(-90, 720, n)
    contract_end = np.where(has_contract, as_of_ts + pd.to_timedelta(end_days, unit="D"), pd.NaT)
    remaining_pct = np.where(
        has_contract, np.clip(end_days / 7.3 + rng.normal(0, 8, n), 0, 100).round(1), np.nan
    )
    expiring = has_contract & (end_days >= -30) & (end_days <= 90)

    hgen_i = np.where(u(n) < np.where(age > 60, 0.45, 0.12), 0, rng.choice([1, 2], n, p=[0.22, 0.78]))
    handset_gen = np.array(["2g", "3g_basic", "smart"])[hgen_i]
    band_i = np.where(hgen_i == 2, rng.choice(3, n, p=[0.25, 0.45, 0.30]), rng.choice(2, n, p=[0.8, 0.2]))
    handset_price_band = np.array(["low", "mid", "high"])[band_i]

    arrears = u(n) < np.where(pay == 0, 0.05, 0.03)
    arrears_days = np.where(arrears, rng.integers(1, 150, n), 0)
    arrears_amount = np.where(arrears, (plan_fee * (1 + arrears_days / 30) * u(n)).round(2) + 5, 0.0)

    # --- hidden state: who disengages, when and how hard ---
    static = (
        0.9 * (tenure <= 6) + 0.4 * (tenure <= 12) - 0.25 * (tenure > 36)
        + 0.5 * (pay == 2) + 0.45 * (pay == 1) + 0.3 * social + 0.35 * (hgen_i == 0)
        + 0.8 * expiring - 0.5 * (has_contract & ~expiring) + 0.5 * is_student - 0.5 * converged
        - 0.6 * is_group - 0.6 * is_special + region_shift
    )
    disengaged = u(n) < _sigmoid(-2.3 + 0.6 * static)
    severity = np.where(disengaged, rng.uniform(0.25, 0.95, n), 0.0)
    onset = rng.integers(1, 5, n)  # months before the end where the decline starts
    t = np.arange(months)[None, :]
    ramp = np.clip((t - (months - 1 - onset[:, None]) ) / onset[:, None], 0, 1)  # 0 → 1 over onset
    decline = 1.0 - severity[:, None] * ramp
    forwards = disengaged & (u(n) < 0.45)
    hotline = disengaged & (u(n) < 0.35)
    complainer = (disengaged & (u(n) < 0.30)) | (u(n) < 0.03)
    silent = disengaged & (severity > 0.75) & (u(n) < 0.5)

    # --- months ---
    base_arpu = plan_fee * np.exp(rng.normal(0.05, 0.25, n)) * np.where(pay == 2, 0.85, 1.0)
    season = 1 + 0.04 * np.sin(2 * np.pi * (t + as_of.month) / 12)
    noise_sd = np.where(pay == 2, 0.14, 0.08)[:, None]
    # growth stage (domain.md 1.1): spend and traffic rise over the first months after activation
    growth = np.clip(0.6 + 0.2 * (t - (months - tenure[:, None])), 0.6, 1.0)
    arpu = base_arpu[:, None] * season * growth * decline * np.exp(rng.normal(0, 1, (n, months)) * noise_sd)
    base_mou = base_arpu * rng.uniform(2.0, 4.5, n)
    mou = base_mou[:, None] * season * growth * decline**1.3 * np.exp(rng.normal(0, 0.15, (n, months)))
    silent_days = np.where(silent, rng.integers(10, 75, n), rng.poisson(0.8, n) * (u(n) < 0.2))
    mou[:, -1] = np.where(silent_days >= 30, 0.0, mou[:, -1] * (1 - silent_days / 31))
    data_base = np.where(hgen_i == 2, rng.lognormal(6.8, 0.8, n), np.where(hgen_i == 1, 60.0, 2.0))
    data_mb = data_base[:, None] * decline * np.exp(rng.normal(0, 0.3, (n, months)))
    sms = rng.poisson(np.clip(20 * (age < 30) + 8, 1, None)[:, None] * decline)
    dc_base = np.clip(base_mou / 8, 3, 120)
    distinct_called = rng.poisson(dc_base[:, None] * decline**0.8)
    calling = rng.poisson(base_mou[:, None] / 3.0 * decline**1.2)
    called = rng.poisson(base_mou[:, None] / 3.2 * (0.8 + 0.2 * decline))
    fwd_rate = np.where(forwards, rng.uniform(0.08, 0.45, n), 0.0)[:, None] * ramp
    fwd_count = rng.poisson((calling + called) * fwd_rate + 0.1)
    records = calling + called + fwd_count
    fwd_share = np.where(records > 0, 100.0 * fwd_count / np.maximum(records, 1), 0.0)
    hotline_calls = rng.poisson(0.02 + np.where(hotline, rng.uniform(0.8, 3.0, n), 0)[:, None] * ramp)
    complaints = rng.poisson(0.01 + np.where(complainer, rng.uniform(0.2, 1.0, n), 0)[:, None] * (ramp + 0.3))
    suspend_rate = np.where(arrears, 0.5, np.where(pay == 0, 0.01, 0.08))
    suspensions = rng.poisson(suspend_rate[:, None] + 0.3 * ramp * disengaged[:, None], (n, months))
    billed = arpu * rng.uniform(1.0, 1.06, (n, months))

    alive = t >= (months - tenure[:, None])  # no usage before activation
    arpu_live = np.where(alive, arpu, np.nan)
    last3 = np.nanmean(arpu_live[:, -3:], axis=1)

    # --- the label: signals as the playbooks name them, plus unobserved causes ---
    logit = (
        -3.7 + 0.7 * static + 4.6 * severity * disengaged
        + 0.9 * (fwd_share[:, -1] > 10) + 0.6 * (hotline_calls[:, -2:].sum(axis=1) > 0)
        + 0.5 * np.minimum(complaints[:, -3:].sum(axis=1), 3)
        + 0.8 * (silent_days >= 30) + 1.6 * (arrears_days >= 60) + 0.5 * (arrears_days >= 30)
        + rng.normal(0, 0.6, n)
    )
    churned = u(n) < _sigmoid(logit)
    churn_date = np.where(churned, as_of_ts + pd.to_timedelta(rng.integers(1, 91, n), unit="D"), pd.NaT)

    vip = np.select([last3 > 320, last3 > 200, last3 > 130], ["diamond", "gold", "silver"], "none")
    agents = pd.Series(rng.integers(1, 400, n)).astype(str).str.zfill(4).radd("AG").to_numpy()
    cumulative = (base_arpu * tenure * rng.uniform(0.85, 1.1, n)).round(2)
    subscribers = pd.DataFrame({
        "subscriber_id": ids, "msisdn": msisdn, "gender": gender, "age": age, "brand": brand,
        "customer_group": np.select([is_student, in_company], ["campus", "enterprise"], "public"),
        "payment_type": payment_type, "bank_collection": (pay == 0) & (u(n) < 0.4),
        "region": region, "city": city, "channel": channel, "plan_id": plan_id,
        "plan_type": plan_type, "plan_fee": plan_fee, "activation_date": activation,
        "tenure_months": tenure, "contract_type": contract_type, "contract_end_date": contract_end,
        "contract_remaining_amount_pct": remaining_pct, "is_group": is_group, "group_id": group_id,
        "group_size": np.where(in_company, group_size, 0),
        "unit_guarantee": np.where(in_company, guarantee, False),
        "is_special": is_special, "is_student": is_student, "vip_level": vip,
        "handset_gen": handset_gen, "handset_price_band": handset_price_band,
        "points_balance": (cumulative * u(n) * 0.5).round(0), "arrears_amount": arrears_amount,
        "arrears_days": arrears_days,
        "suspensions_6m": np.where(alive, suspensions, 0)[:, -6:].sum(axis=1),
        "complaints_90d": np.where(alive, complaints, 0)[:, -3:].sum(axis=1),
        "competitor_hotline_calls": hotline_calls[:, -1], "silent_days": silent_days,
        "cumulative_spend": cumulative,
        "assigned_agent": np.where((vip != "none") | is_special, agents, None),
        "arpu_month": arpu[:, -1].round(2), "arpu_3m_avg": last3.round(2), "mou_month": mou[:, -1].round(1),
        "sms_month": sms[:, -1].astype(float), "data_mb_month": data_mb[:, -1].round(1),
        "fwd_offnet_share_pct": fwd_share[:, -1].round(2), "snapshot_date": as_of_ts,
        LABEL_COLUMN: churned, "churn_date": churn_date,
    })
    mask = alive.ravel()
    labels = np.array(_month_labels(as_of, months), dtype=object)
    usage = pd.DataFrame({
        "subscriber_id": np.repeat(ids, months)[mask],
        "month": np.tile(labels, n)[mask],
        "arpu": arpu.ravel()[mask].round(2), "mou": mou.ravel()[mask].round(1),
        "sms": sms.ravel()[mask], "data_mb": data_mb.ravel()[mask].round(1),
        "distinct_called": distinct_called.ravel()[mask], "calling_count": calling.ravel()[mask],
        "called_count": called.ravel()[mask], "fwd_count": fwd_count.ravel()[mask],
        "fwd_offnet_share_pct": fwd_share.ravel()[mask].round(2),
        "competitor_hotline_calls": hotline_calls.ravel()[mask], "complaints": complaints.ravel()[mask],
        "suspensions": suspensions.ravel()[mask], "billed_amount": billed.ravel()[mask].round(2),
    })
    subscribers = conform(subscribers, SUBSCRIBER_COLUMNS)
    usage = conform(usage, USAGE_COLUMNS)
    ctx = dict(n=n, months=months, as_of=as_of, labels=labels, arpu=arpu, mou=mou, alive=alive, ramp=ramp,
               static=static, severity=severity * disengaged, has_contract=has_contract, end_days=end_days,
               region_index=reg, is_student=is_student, ids=ids, churned=churned, tenure=tenure, start=start,
               brand=brand, region=region, city=city, channel=channel, payment_type=payment_type,
               plan_id=plan_id, plan_type=plan_type, last3=np.nan_to_num(last3), propensity=_sigmoid(logit))
    tables = _history(rng, ctx, subscribers, usage, policy or load_policy())
    return {"subscribers": subscribers, "usage": usage, **tables}


def _history(rng: np.random.Generator, ctx: dict, subscribers: pd.DataFrame, usage: pd.DataFrame,
             policy: Policy) -> dict[str, pd.DataFrame]:
    """Dispatch, outcome and leaver rows of a chunk; costs stay within the rules' tier caps (3.1)."""
    from tools.generate_history import history
    from tools.rules import monthly_cap
    from tools.segment_frame import segment_frame

    spends = np.sort(subscribers["cumulative_spend"].dropna().to_numpy(dtype="float64"))
    avg = float(subscribers["arpu_3m_avg"].mean())
    seg = segment_frame(subscribers, usage, avg, spends, policy)
    tier = seg["value_tier"].to_numpy(dtype=object)
    arpu3 = subscribers["arpu_3m_avg"].to_numpy(dtype="float64", na_value=0.0)
    ratio = {name: monthly_cap(name, 1.0, policy, 1) for name in ("high", "medium", "group", "low")}
    cap = np.array([ratio[t] for t in tier]) * arpu3  # per line: a work order is for one subscriber
    tables = history(rng, {**ctx, "tier": tier, "monthly_cap": np.round(cap, 2)}, policy)
    return {name: conform(tables[name], TABLES[name], keep_extras=False) for name in HISTORY_TABLES}


def iter_generate(
    rows: int, seed: int, months: int = 12, as_of: date | None = None, chunk: int = CHUNK,
    policy: Policy | None = None,
) -> Iterator[dict[str, pd.DataFrame]]:
    """Yield the generated tables chunk by chunk (same seed and chunk size → same rows)."""
    if rows < 1 or months < 3 or months > 36:
        raise InvalidInput("rows must be >= 1 and months between 3 and 36")
    as_of = as_of or DEFAULT_AS_OF
    policy = policy or load_policy()
    for index, start in enumerate(range(0, rows, chunk)):
        yield _chunk(seed, index, min(chunk, rows - start), start, months, as_of, policy)


def generate(rows: int, seed: int, months: int = 12, as_of: date | None = None) -> dict[str, pd.DataFrame]:
    """Generate `rows` subscribers with `months` of usage and the churn label, in memory."""
    parts = list(iter_generate(rows, seed, months, as_of))
    return {
        name: pd.concat([p[name] for p in parts], ignore_index=True)
        for name in ("subscribers", "usage", *HISTORY_TABLES)
    }


def write_generated(
    store: object, rows: int, seed: int, months: int = 12, as_of: date | None = None, progress: bool = True
) -> GenerateReport:
    """Generate into `store` (a SubscriberStore) chunk by chunk, with a progress bar on stderr."""
    from tqdm import tqdm

    started = time.perf_counter()
    churned = usage_rows = 0
    counts = dict.fromkeys(HISTORY_TABLES, 0)
    with store.batch_writer() as writer, tqdm(
        total=rows, unit="sub", desc="generating", disable=not progress, unit_scale=True
    ) as bar:
        for part in iter_generate(rows, seed, months, as_of):
            writer.append("subscribers", part["subscribers"])
            writer.append("usage", part["usage"])
            for name in HISTORY_TABLES:
                writer.append(name, part[name])
                counts[name] += len(part[name])
            churned += int(part["subscribers"][LABEL_COLUMN].sum())
            usage_rows += len(part["usage"])
            bar.update(len(part["subscribers"]))
    report = GenerateReport(
        rows=rows, usage_rows=usage_rows, dispatch_rows=counts["dispatches"], outcome_rows=counts["outcomes"],
        leaver_rows=counts["leavers"], churn_rate=round(churned / rows, 4), seed=seed,
        months=months, as_of=as_of or DEFAULT_AS_OF,
        files={t: store.path(t) for t in TABLES},
        seconds=round(time.perf_counter() - started, 2),
    )
    log.info("generated %d subscribers, churn rate %.3f", rows, report.churn_rate)
    return report
