"""The playbook rules against the tables of domain.md (1.1, 1.4, 2.1, 3.1, 5.4, 6.1)."""

from __future__ import annotations

import math

import pytest

from tools.errors import InvalidInput
from tools.policy import Policy, load_policy
from tools.rules import (
    RISK_PRIORITY,
    cost_caps,
    detect_signals,
    is_passive_churner,
    lifecycle_stage,
    monthly_cap,
    risk_label,
    rule_churn_score,
    segment,
    total_cap,
    value_tier,
    worst_risk_label,
)
from tools.schemas import SubscriberSnapshot


def snap(**fields: object) -> SubscriberSnapshot:
    """A quiet post-paid medium-value subscriber (ARPU 100 vs network 60), 12 months in."""
    base: dict[str, object] = {
        "tenure_months": 12,
        "arpu_3m_avg": 100,
        "network_avg_arpu": 60,
        "payment_type": "postpaid",
        "network_avg_tenure_months": 14,
    }
    return SubscriberSnapshot(**{**base, **fields})


def with_policy(**sections: dict[str, object]) -> Policy:
    """The shipped policy with some values of some sections replaced."""
    policy = load_policy()
    updates = {name: getattr(policy, name).model_copy(update=values)
               for name, values in sections.items()}
    return policy.model_copy(update=updates)


def codes(reasons) -> list[str]:  # type: ignore[no-untyped-def]
    return [reason.code for reason in reasons]


# --- lifecycle stage (1.1) ---------------------------------------------------------------------


def test_first_month_is_identification_even_with_signals() -> None:
    stage, reasons = lifecycle_stage(snap(tenure_months=0.5, competitor_hotline_calls=2))
    assert (stage.code, stage.zh, stage.en) == ("identification", "识别期", "identification")
    assert codes(reasons) == ["lifecycle_identification"]


@pytest.mark.parametrize("tenure", [1, 2, 2.99])
def test_under_three_months_without_warning_is_growth(tenure: float) -> None:
    stage, reasons = lifecycle_stage(snap(tenure_months=tenure))
    assert (stage.code, stage.zh) == ("growth", "成长期")
    assert reasons[0].code == "lifecycle_growth"


def test_growth_customer_with_a_warning_indicator_is_in_warning() -> None:
    stage, _ = lifecycle_stage(snap(tenure_months=2, mou_change_pct=-40))
    assert stage.code == "warning"  # "decline can happen in any stage" (1.2)


def test_above_three_months_below_average_tenure_is_stable() -> None:
    stage, reasons = lifecycle_stage(snap(tenure_months=3, network_avg_tenure_months=14))
    assert (stage.code, stage.zh) == ("stable", "稳定期")
    assert "not above the network average 14" in reasons[0].en


def test_above_average_tenure_without_warning_signs_is_stable() -> None:
    stage, reasons = lifecycle_stage(snap(tenure_months=40, network_avg_tenure_months=14))
    assert stage.code == "stable"
    assert "above the network average 14" in reasons[0].en
    assert "高于全网平均14个月" in reasons[0].zh


@pytest.mark.parametrize(
    "fields",
    [
        {"contract_end_in_days": 60},
        {"contract_remaining_amount_pct": 20},
        {"arpu_change_pct": -25},
        {"mou_change_pct": -35},
        {"distinct_called_numbers_change_pct": -25},
        {"called_calling_ratio_change_pct": 30},
        {"forward_share_pct": 15},
        {"forwards_to_competitor": 2},
        {"complaints_90d": 3},
        {"competitor_hotline_calls": 1},
        {"silent_days": 12},  # medium value: 10 days (6.1)
    ],
)
def test_each_warning_indicator_of_the_table_gives_warning(fields: dict[str, object]) -> None:
    stage, reasons = lifecycle_stage(snap(tenure_months=30, **fields))
    assert (stage.code, stage.zh, stage.en) == ("warning", "预警期", "warning")
    assert reasons[0].code == "lifecycle_warning"


def test_arrears_alone_do_not_move_the_stage() -> None:
    stage, _ = lifecycle_stage(snap(arrears_days=10))
    assert stage.code == "stable"


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"silent_days": 30}, "sunk_silent"),
        ({"mou_change_pct": -95}, "sunk_mou"),
        ({"arpu_change_pct": -90}, "sunk_arpu_change"),
        ({"arpu_3m_avg": 0}, "sunk_arpu"),
    ],
)
def test_ultra_low_or_zero_usage_is_sunk(fields: dict[str, object], reason: str) -> None:
    stage, reasons = lifecycle_stage(snap(**fields))
    assert (stage.code, stage.zh) == ("sunk", "沉没期")
    assert codes(reasons) == ["lifecycle_sunk", reason]


def test_a_young_customer_can_die_young_into_sunk() -> None:
    assert lifecycle_stage(snap(tenure_months=2, silent_days=45))[0].code == "sunk"


def test_just_above_sunk_thresholds_is_warning_not_sunk() -> None:
    stage, _ = lifecycle_stage(snap(mou_change_pct=-89, arpu_3m_avg=1.01))
    assert stage.code == "warning"


# --- value tier (2.1) --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("arpu", "tier"),
    [(180.01, "high"), (180, "medium"), (60, "medium"), (59.99, "low")],
)
def test_arpu_multiple_of_network_average_sets_the_tier(arpu: float, tier: str) -> None:
    label, reasons = value_tier(snap(arpu_3m_avg=arpu))
    assert label.code == tier
    assert codes(reasons) == ["tier_arpu"]


def test_tier_labels_carry_chinese_and_english_names() -> None:
    assert value_tier(snap(arpu_3m_avg=200))[0].model_dump() == {
        "code": "high", "zh": "高价值", "en": "high value"
    }
    assert value_tier(snap(arpu_3m_avg=10))[0].zh == "低价值"


@pytest.mark.parametrize(
    ("arpu", "rank", "tier"),
    [
        (30, 20, "high"),  # low by ARPU, top 20% by spend: the higher tier wins
        (30, 21, "medium"),
        (30, 50, "medium"),
        (30, 51, "low"),
        (200, 80, "high"),  # high by ARPU, bottom 50% by spend: still the higher
    ],
)
def test_spend_rank_and_arpu_combine_by_taking_the_higher_tier(
    arpu: float, rank: float, tier: str
) -> None:
    label, reasons = value_tier(snap(arpu_3m_avg=arpu, cumulative_spend_rank_pct=rank))
    assert label.code == tier
    assert "tier_spend_rank" in codes(reasons)


def test_combined_tier_explains_which_criterion_won() -> None:
    label, reasons = value_tier(
        snap(payment_type="quasi_prepaid", arpu_3m_avg=30, cumulative_spend_rank_pct=10)
    )
    assert label.code == "high"
    assert codes(reasons) == ["tier_arpu", "tier_spend_rank", "tier_combined"]


def test_operator_can_combine_criteria_by_the_lower_tier_or_ignore_the_rank() -> None:
    subscriber = snap(arpu_3m_avg=200, cumulative_spend_rank_pct=80)
    assert value_tier(subscriber, with_policy(value_tier={"spend_rank_combine": "lower"}))[
        0
    ].code == "low"
    assert value_tier(subscriber, with_policy(value_tier={"spend_rank_combine": "arpu_only"}))[
        0
    ].code == "high"


def test_prepaid_is_low_by_default_whatever_the_spend() -> None:
    label, reasons = value_tier(
        snap(payment_type="prepaid", arpu_3m_avg=500, cumulative_spend_rank_pct=1)
    )
    assert label.code == "low"
    assert codes(reasons) == ["tier_prepaid_default"]


@pytest.mark.parametrize("payment_type", ["postpaid", "prepaid"])
def test_special_customers_are_high_value(payment_type: str) -> None:
    label, reasons = value_tier(snap(payment_type=payment_type, arpu_3m_avg=10, is_special=True))
    assert label.code == "high"
    assert "tier_special" in codes(reasons)


@pytest.mark.parametrize("lines", [10, 12, 250])
def test_ten_or_more_lines_with_agreement_and_arpu_above_average_is_group(lines: int) -> None:
    label, reasons = value_tier(snap(is_group=True, group_size=lines, arpu_3m_avg=61))
    assert (label.code, label.zh) == ("group", "集团")
    assert codes(reasons) == ["tier_group"]


def test_an_eight_line_company_is_not_a_group_customer() -> None:
    label, reasons = value_tier(snap(is_group=True, group_size=8, arpu_3m_avg=100))
    assert label.code == "medium"  # tiered as an individual by its ARPU
    assert codes(reasons)[0] == "group_too_small"
    assert "8" in reasons[0].en and "10" in reasons[0].en


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"is_group": True, "group_size": 20, "arpu_3m_avg": 60}, "group_arpu_too_low"),
        ({"is_group": False, "group_size": 20}, "group_no_agreement"),
        ({"is_group": True}, "group_size_unknown"),
    ],
)
def test_group_needs_lines_agreement_and_arpu(fields: dict[str, object], reason: str) -> None:
    label, reasons = value_tier(snap(**fields))
    assert label.code != "group"
    assert reason in codes(reasons)


def test_group_takes_precedence_over_special_and_prepaid() -> None:
    subscriber = snap(payment_type="prepaid", is_special=True, is_group=True, group_size=15)
    assert value_tier(subscriber)[0].code == "group"


# --- cost caps (3.1) ---------------------------------------------------------------------------


def test_high_value_caps_are_ten_percent_of_arpu_and_twice_acpu() -> None:
    caps, reasons = cost_caps(snap(arpu_3m_avg=180, network_avg_arpu=50))
    assert (caps.monthly, caps.total) == (18.0, 600.0)
    assert caps.rule == "high value: monthly = ARPU 180.00 × 10% = 18.00; total = ACPU 300 × 2 = 600.00"
    assert codes(reasons) == ["cost_caps_high"]
    assert "月维系成本上限" in reasons[0].zh


def test_medium_value_caps_are_ten_percent_of_arpu_and_one_and_a_half_acpu() -> None:
    caps, _ = cost_caps(snap(arpu_3m_avg=100))
    assert (caps.monthly, caps.total) == (10.0, 450.0)
    assert caps.rule.startswith("medium value: monthly = ARPU 100.00 × 10% = 10.00")


def test_group_caps_scale_with_the_number_of_lines() -> None:
    caps, _ = cost_caps(snap(is_group=True, group_size=12, arpu_3m_avg=150))
    assert (caps.monthly, caps.total) == (360.0, 5400.0)  # 12×150×20%, 12×300×1.5
    assert caps.rule == (
        "group (n = 12): monthly = 12 × ARPU 150.00 × 20% = 360.00; "
        "total = 12 × ACPU 300 × 1.5 = 5400.00"
    )


def test_low_value_has_no_proactive_budget() -> None:
    caps, _ = cost_caps(snap(arpu_3m_avg=30))
    assert (caps.monthly, caps.total) == (0.0, 0.0)
    assert "no proactive retention budget" in caps.rule


def test_total_caps_follow_the_operator_acpu_and_monthly_ratio() -> None:
    policy = load_policy().model_copy(update={"acpu": 500.0})
    assert total_cap("high", policy) == 1000.0
    assert total_cap("medium", policy) == 750.0
    assert total_cap("group", policy, group_size=10) == 7500.0
    assert total_cap("low", policy) == 0.0
    ratio = with_policy(cost_caps={"monthly_cap_arpu_ratio": 0.05})
    assert monthly_cap("high", 200, ratio) == 10.0
    assert monthly_cap("medium", 200, ratio) == 10.0


def test_group_caps_without_the_number_of_lines_are_refused() -> None:
    with pytest.raises(InvalidInput, match="group_size"):
        total_cap("group")


# --- early-warning signals (6.1) ---------------------------------------------------------------

# (fields just below the threshold, fields just above or at it, signal code)
THRESHOLDS = [
    ({"arpu_change_pct": -19.9}, {"arpu_change_pct": -20}, "arpu_drop"),
    ({"mou_change_pct": -29.9}, {"mou_change_pct": -30}, "mou_drop"),
    ({"distinct_called_numbers_change_pct": -19.9}, {"distinct_called_numbers_change_pct": -20},
     "distinct_called_drop"),
    ({"called_calling_ratio_change_pct": 19.9}, {"called_calling_ratio_change_pct": 20},
     "called_ratio_rise"),
    ({"silent_days": 9}, {"silent_days": 10}, "silent"),  # medium value: 10 days
    ({"arpu_3m_avg": 30, "silent_days": 29}, {"arpu_3m_avg": 30, "silent_days": 30}, "silent"),
    ({"forward_share_pct": 10}, {"forward_share_pct": 10.1}, "forwarding"),
    ({"forwards_to_competitor": 0}, {"forwards_to_competitor": 1}, "forwarding"),
    ({"competitor_hotline_calls": 0}, {"competitor_hotline_calls": 1}, "competitor_hotline"),
    ({"complaints_90d": 1}, {"complaints_90d": 2}, "complaints"),
    ({"contract_end_in_days": 90}, {"contract_end_in_days": 89}, "contract_expiry"),
    ({"contract_end_in_days": -61}, {"contract_end_in_days": -60}, "contract_expiry"),
    ({"contract_remaining_amount_pct": 20.1}, {"contract_remaining_amount_pct": 20},
     "contract_expiry"),
    ({"arrears_days": 0}, {"arrears_days": 1}, "arrears"),
]


@pytest.mark.parametrize(("below", "above", "code"), THRESHOLDS)
def test_each_signal_fires_at_its_threshold_and_not_below(
    below: dict[str, object], above: dict[str, object], code: str
) -> None:
    assert code not in [s.code for s in detect_signals(snap(**below))]
    fired = [s for s in detect_signals(snap(**above)) if s.code == code]
    assert len(fired) == 1
    assert fired[0].zh and fired[0].en and fired[0].value is not None


def test_signal_texts_carry_the_value_and_the_threshold() -> None:
    (signal,) = detect_signals(snap(arpu_change_pct=-32))
    assert (signal.code, signal.value, signal.threshold) == ("arpu_drop", -32, -20)
    assert signal.zh == "ARPU环比下降32%（阈值20%）"
    assert signal.en == "ARPU down 32% month on month (threshold 20%)"


def test_silent_threshold_is_shorter_for_mid_high_value() -> None:
    assert [s.code for s in detect_signals(snap(silent_days=12), tier="low")] == []
    (signal,) = detect_signals(snap(silent_days=12), tier="high")
    assert "mid/high-value" in signal.en and "中高端" in signal.zh


def test_points_signal_is_off_by_default_and_follows_the_policy() -> None:
    assert detect_signals(snap(points_balance=50_000)) == []
    policy = with_policy(signals={"points_unredeemed": load_policy().signals.points_unredeemed
                                  .model_copy(update={"min_balance": 1000})})
    assert detect_signals(snap(points_balance=999), policy) == []
    assert [s.code for s in detect_signals(snap(points_balance=1000), policy)] == [
        "points_unredeemed"
    ]


def test_a_contract_that_ended_long_ago_is_no_expiry_signal() -> None:
    assert detect_signals(snap(contract_end_in_days=-400, contract_remaining_amount_pct=0)) == []


# --- passive churn (5.4) and risk labels (1.4) -------------------------------------------------


def test_long_arrears_make_a_passive_churner_who_is_labelled_churned() -> None:
    assert is_passive_churner(snap(arrears_days=29)) == (False, [])
    passive, reasons = is_passive_churner(snap(arrears_days=30))
    assert passive and codes(reasons) == ["passive_churn"]
    assert "DA004" in reasons[0].en and "催缴" in reasons[0].zh
    result = segment(snap(arrears_days=45, arpu_3m_avg=200))
    assert result.passive_churn is True
    assert result.risk_label == "churned"
    assert "passive_churn" in codes(result.reasons)


@pytest.mark.parametrize(
    ("labels", "winner"),
    [
        ({"low", "medium", "high", "churned"}, "churned"),
        ({"low", "medium", "high"}, "high"),
        ({"low", "medium"}, "medium"),
        ({"low", "stable"}, "low"),
        (set(), "stable"),
    ],
)
def test_risk_priority_is_churned_high_medium_low(labels: set[str], winner: str) -> None:
    assert worst_risk_label(labels) == winner
    assert RISK_PRIORITY == ("churned", "high", "medium", "low", "stable")


def test_unknown_risk_label_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown"):
        worst_risk_label(["dangerous"])


@pytest.mark.parametrize(
    ("fields", "label"),
    [
        ({}, "stable"),
        ({"arpu_change_pct": -25}, "low"),
        ({"arpu_change_pct": -25, "mou_change_pct": -35}, "medium"),
        ({"competitor_hotline_calls": 3, "forwards_to_competitor": 2}, "high"),
        ({"arpu_3m_avg": 0}, "high"),  # sunk: the high-risk churn group (1.1)
        ({"arrears_days": 60, "competitor_hotline_calls": 3, "forwards_to_competitor": 2},
         "churned"),
    ],
)
def test_risk_label_from_signals_stage_and_passive_churn(
    fields: dict[str, object], label: str
) -> None:
    result, reasons = risk_label(snap(**fields))
    assert result == label
    assert reasons and all(reason.code.startswith("risk_") for reason in reasons)


def test_model_probability_replaces_the_rule_score() -> None:
    label, reasons = risk_label(snap(), probability=0.7)
    assert label == "high" and "churn probability 0.7" in reasons[0].en
    assert risk_label(snap(), probability=0.4)[0] == "medium"
    assert risk_label(snap(), probability=0.1)[0] == "stable"


# --- rule score (12 item 35) -------------------------------------------------------------------


def test_rule_score_without_signals_is_the_base_rate() -> None:
    score = rule_churn_score(snap())
    assert score.factors == []
    assert score.probability == pytest.approx(1 / (1 + math.exp(3)), abs=1e-4)


def test_rule_score_is_the_sigmoid_of_the_weights_sorted_by_contribution() -> None:
    score = rule_churn_score(snap(arpu_change_pct=-25, competitor_hotline_calls=2, arrears_days=40))
    assert [f.factor for f in score.factors] == [
        "competitor_hotline", "passive_churn", "arpu_drop", "arrears"
    ]
    contributions = [f.contribution for f in score.factors]
    assert contributions == sorted(contributions, reverse=True)
    expected = 1 / (1 + math.exp(-(score.base_log_odds + sum(contributions))))
    assert score.probability == pytest.approx(expected, abs=1e-4)
    assert 0 <= score.probability <= 1
    assert score.factors[0].zh.startswith("拨打其他运营商客服热线2次")


def test_rule_score_weights_come_from_the_policy() -> None:
    policy = with_policy(signals={"arpu_drop": load_policy().signals.arpu_drop
                                  .model_copy(update={"weight": 4.0})})
    assert rule_churn_score(snap(arpu_change_pct=-25), policy).probability == pytest.approx(
        1 / (1 + math.exp(-1.0)), abs=1e-4
    )


# --- segment -----------------------------------------------------------------------------------


def test_segment_combines_every_rule_with_its_reasons() -> None:
    result = segment(snap(tenure_months=20, arpu_3m_avg=180, network_avg_arpu=50,
                          arpu_change_pct=-32, contract_end_in_days=45))
    assert result.lifecycle_stage.code == "warning"
    assert result.value_tier.code == "high"
    assert result.risk_label == "medium"
    assert (result.cost_caps.monthly, result.cost_caps.total) == (18.0, 600.0)
    assert result.signals == ["arpu_drop", "contract_expiry"]
    assert codes(result.reasons) == [
        "lifecycle_warning", "tier_arpu", "arpu_drop", "contract_expiry", "risk_medium",
        "cost_caps_high",
    ]
    assert result.rule_score is not None and result.rule_score.probability == pytest.approx(0.5)


def test_segment_accepts_the_minimal_snapshot() -> None:
    result = segment(SubscriberSnapshot(tenure_months=5, arpu_3m_avg=40, network_avg_arpu=60,
                                        payment_type="prepaid"))
    assert (result.lifecycle_stage.code, result.value_tier.code, result.risk_label) == (
        "stable", "low", "stable"
    )
    assert result.cost_caps.total == 0.0
