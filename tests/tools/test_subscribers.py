"""SubscriberStore on real Parquet + DuckDB in tmp_path, with a hand-built subscriber base."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from tools.errors import InvalidInput, SubscriberNotFound
from tools.masking import mask_msisdn, normalize_phone
from tools.subscriber_schema import SUBSCRIBER_COLUMNS, USAGE_COLUMNS
from tools.subscribers import SubscriberFilter, SubscriberStore, find_subscribers, get_subscriber

AS_OF = "2025-12-31"


def _subscribers() -> pd.DataFrame:
    return pd.DataFrame({
        "subscriber_id": ["S1", "S2", "S3", "S4", "O'Brien"],
        "msisdn": ["13812345678", "13900001111", "13700002222", "18600003333", "15500004444"],
        "brand": ["新时空", "如意通", "如意通", "世界风", "新时空"],
        "payment_type": ["postpaid", "quasi_prepaid", "prepaid", "postpaid", "postpaid"],
        "region": ["广东", "广东", "河北", "北京", "广东"],
        "tenure_months": [24, 5, 40, 60, 11],
        "arpu_3m_avg": [100.0, 50.0, 30.0, 400.0, 20.0],
        "cumulative_spend": [2400.0, 5000.0, 1200.0, 24000.0, 220.0],
        "contract_end_date": ["2026-02-01", None, None, "2027-06-30", None],
        "contract_remaining_amount_pct": [15.0, None, None, 70.0, None],
        "complaints_90d": [2, 0, 1, 0, 0],
        "silent_days": [0, 12, 0, 0, 40],
        "arrears_amount": [0.0, 0.0, 35.5, 0.0, 0.0],
        "arrears_days": [0, 0, 45, 0, 0],
        "is_group": [False, False, False, True, False],
        "group_size": [0, 0, 0, 25, 0],
        "unit_guarantee": [False, False, False, True, False],
        "points_balance": [300.0, 0.0, 10.0, 5000.0, 0.0],
        "age": [35, 21, 70, 50, 28],
        "is_student": [False, True, False, False, False],
        "snapshot_date": [AS_OF] * 5,
        "churned_next_3m": [True, False, None, False, True],
    })


def _usage() -> pd.DataFrame:
    months = ["2025-10", "2025-11", "2025-12"]
    return pd.DataFrame({
        "subscriber_id": ["S1"] * 3,
        "month": months,
        "arpu": [100.0, 110.0, 88.0],
        "mou": [300.0, 320.0, 160.0],
        "sms": [10, 12, 8],
        "data_mb": [500.0, 520.0, 300.0],
        "distinct_called": [20, 25, 15],
        "calling_count": [100, 100, 50],
        "called_count": [80, 100, 100],
        "fwd_count": [0, 2, 15],
        "fwd_offnet_share_pct": [0.0, 1.0, 9.1],
        "competitor_hotline_calls": [0, 0, 3],
        "complaints": [0, 1, 1],
        "suspensions": [0, 0, 0],
        "billed_amount": [101.0, 111.0, 89.0],
    })


@pytest.fixture()
def store(tmp_path) -> SubscriberStore:
    store = SubscriberStore(tmp_path)
    store.write({"subscribers": _subscribers(), "usage": _usage()})
    return store


def test_tables_are_stored_with_the_schema_dtypes(store):
    subs = store.read_table("subscribers")
    assert {c: str(t) for c, t in subs.dtypes.items()} == SUBSCRIBER_COLUMNS
    usage = store.usage_history("S1")
    assert {c: str(t) for c, t in usage.dtypes.items()} == USAGE_COLUMNS
    assert list(usage["month"]) == ["2025-10", "2025-11", "2025-12"]
    assert store.read_table("dispatches").empty and store.read_table("outcomes").empty


def test_get_by_id_returns_the_record_with_a_masked_phone(store):
    sub = store.get("S1")
    assert sub.brand == "新时空" and sub.tenure_months == 24
    assert sub.contract_end_date == date(2026, 2, 1)
    assert sub.masked_msisdn == "138****5678"
    assert "13812345678" not in repr(sub) and "13812345678" not in sub.model_dump_json()


@pytest.mark.parametrize(
    "phone", ["13812345678", "138 1234 5678", "138-1234-5678", "+86 138 1234 5678", "008613812345678"]
)
def test_lookup_by_phone_accepts_common_formats(store, phone):
    assert store.get_by_phone(phone).subscriber_id == "S1"
    assert get_subscriber(store, phone).subscriber_id == "S1"


def test_unknown_subscriber_raises_not_found_without_the_raw_number(store):
    with pytest.raises(SubscriberNotFound, match="S999"):
        store.get("S999")
    with pytest.raises(SubscriberNotFound) as err:
        get_subscriber(store, "+86 135 0000 9999")
    assert "13500009999" not in str(err.value) and "135****9999" in str(err.value)


def test_injection_like_ids_are_treated_as_data(store):
    with pytest.raises(SubscriberNotFound):
        store.get("' OR '1'='1")
    assert store.find(SubscriberFilter(brand="x' OR 1=1 --")).total == 0
    assert store.find(SubscriberFilter(region="广东'; DROP TABLE t; --")).total == 0
    assert store.get("O'Brien").subscriber_id == "O'Brien"
    assert store.usage_history("S1' OR '1'='1").empty


def test_find_filters_and_pages(store):
    page = store.find(SubscriberFilter(region="广东"), offset=0, limit=2)
    assert page.total == 3 and [s.subscriber_id for s in page.items] == ["O'Brien", "S1"]
    assert [s.subscriber_id for s in store.find(SubscriberFilter(region="广东"), 2, 2).items] == ["S2"]
    assert store.find(SubscriberFilter(min_silent_days=10)).total == 2
    assert store.find(SubscriberFilter(in_arrears=True)).items[0].subscriber_id == "S3"
    assert store.find(SubscriberFilter(contract_expiring_within_days=90)).items[0].subscriber_id == "S1"
    assert store.find(SubscriberFilter(min_tenure_months=20, max_tenure_months=50)).total == 2
    assert store.find(SubscriberFilter(payment_type="postpaid", min_arpu=90)).total == 2


def test_value_tier_filter_follows_the_domain_table(store):
    # network average ARPU = (100 + 50 + 30 + 400 + 20) / 5 = 120
    tiers = {t: [s.subscriber_id for s in store.find(SubscriberFilter(value_tier=t)).items]
             for t in ("high", "medium", "low", "group")}
    assert tiers["group"] == ["S4"]  # 25 lines with a unit guarantee
    assert tiers["medium"] == ["S2"]  # quasi-prepaid, 2nd of 5 by cumulative spend = top 40%
    assert tiers["high"] == []
    # post-paid S1 (100 < 120) and O'Brien are below the average; prepaid S3 is low by default
    assert sorted(tiers["low"]) == ["O'Brien", "S1", "S3"]


def test_find_subscribers_tool_validates_its_arguments(store):
    assert find_subscribers(store, brand="如意通").total == 2
    with pytest.raises(InvalidInput, match="payment_type"):
        find_subscribers(store, payment_type="monthly")  # type: ignore[arg-type]
    with pytest.raises(InvalidInput):
        find_subscribers(store, limit=0)


def test_network_averages_come_from_the_data_and_follow_rewrites(store):
    avg = store.network_averages()
    assert avg.arpu == pytest.approx(120.0) and avg.tenure_months == pytest.approx(28.0)
    frame = _subscribers()
    frame["arpu_3m_avg"] = 10.0
    store.write({"subscribers": frame})
    assert store.network_averages().arpu == pytest.approx(10.0)


def test_to_snapshot_computes_changes_and_ranks(store):
    snap = store.to_snapshot("S1")
    assert snap.payment_type == "postpaid" and snap.tenure_months == 24
    assert snap.arpu_3m_avg == pytest.approx((100 + 110 + 88) / 3, abs=0.01)
    assert snap.arpu_change_pct == pytest.approx(-20.0)  # 110 -> 88
    assert snap.mou_change_pct == pytest.approx(-50.0)  # 320 -> 160
    assert snap.distinct_called_numbers_change_pct == pytest.approx(-40.0)  # 25 -> 15
    assert snap.called_calling_ratio_change_pct == pytest.approx(100.0)  # 1.0 -> 2.0
    assert snap.forwards_to_competitor == 15 and snap.forward_share_pct == pytest.approx(9.1)
    assert snap.competitor_hotline_calls == 3  # not in the row: last month's usage
    assert snap.contract_end_in_days == 32  # 2025-12-31 -> 2026-02-01
    assert snap.contract_remaining_amount_pct == 15.0
    assert snap.network_avg_arpu == pytest.approx(120.0)
    assert snap.network_avg_tenure_months == pytest.approx(28.0)
    assert snap.cumulative_spend_rank_pct == pytest.approx(60.0)  # 3rd of 5 spends
    assert snap.complaints_90d == 2 and snap.age == 35
    later = store.to_snapshot("S1", as_of=date(2026, 1, 31))
    assert later.contract_end_in_days == 1


def test_to_snapshot_without_usage_uses_the_row(store):
    snap = store.to_snapshot("S3")
    assert snap.arpu_3m_avg == 30.0 and snap.arpu_change_pct is None
    assert snap.arrears_days == 45 and snap.contract_end_in_days is None
    assert store.to_snapshot("S4").is_group is True and store.to_snapshot("S4").group_size == 25


def test_failed_write_leaves_the_previous_store_intact(store):
    with pytest.raises(RuntimeError):
        with store.batch_writer() as writer:
            writer.append("subscribers", _subscribers().head(1))
            raise RuntimeError("crash halfway")
    assert len(store.read_table("subscribers")) == 5
    assert not [p for p in store.root.iterdir() if ".tmp-" in p.name]


def test_empty_store_explains_what_to_do(tmp_path):
    store = SubscriberStore(tmp_path)
    assert store.find().total == 0
    with pytest.raises(SubscriberNotFound, match="retention data generate"):
        store.get("S1")


def test_phone_helpers():
    assert normalize_phone("+86 (138) 1234-5678") == "13812345678"
    assert mask_msisdn("13812345678") == "138****5678"
