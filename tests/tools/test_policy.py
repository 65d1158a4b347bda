"""The operator policy file: shipped default, operator overrides, and errors that name the key."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tools.errors import PolicyError
from tools.policy import DEFAULT_POLICY_PATH, load_policy
from tools.rules import detect_signals, segment
from tools.schemas import SubscriberSnapshot

SUBSCRIBER = SubscriberSnapshot(
    tenure_months=20, arpu_3m_avg=180, network_avg_arpu=50, payment_type="postpaid",
    arpu_change_pct=-32,
)


def write(tmp_path: Path, text: str, name: str = "policy.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_shipped_default_has_the_playbook_values() -> None:
    policy = load_policy()
    assert policy.acpu == 300
    assert policy.cost_caps.monthly_cap_arpu_ratio == 0.10
    assert policy.cost_caps.high_total_acpu_multiple == 2.0
    assert policy.cost_caps.group_total_acpu_multiple == 1.5
    assert policy.value_tier.group_min_lines == 10
    assert policy.signals.arpu_drop.min_drop_pct == 20
    assert policy.signals.mou_drop.min_drop_pct == 30
    assert policy.signals.silent.min_days == 30
    assert policy.signals.silent.min_days_mid_high_value == 10
    assert policy.signals.arrears.passive_churn_days == 30


def test_shipped_default_explains_the_arpu_times_ten_reading_and_the_acpu() -> None:
    text = DEFAULT_POLICY_PATH.read_text(encoding="utf-8")
    assert "ARPU × 10" in text and "lost" in text
    assert "MUST set its own ACPU" in text


def test_policy_is_cached_per_path() -> None:
    assert load_policy() is load_policy()
    assert load_policy(DEFAULT_POLICY_PATH) is load_policy()


def test_operator_file_overrides_only_the_keys_it_names(tmp_path: Path) -> None:
    path = write(tmp_path, "acpu: 450\nsignals:\n  arpu_drop:\n    min_drop_pct: 40\n")
    policy = load_policy(path)
    assert policy.acpu == 450
    assert policy.signals.arpu_drop.min_drop_pct == 40
    assert policy.signals.arpu_drop.weight == load_policy().signals.arpu_drop.weight
    assert policy.signals.mou_drop.min_drop_pct == 30


def test_operator_threshold_changes_the_verdict(tmp_path: Path) -> None:
    assert segment(SUBSCRIBER).lifecycle_stage.code == "warning"
    path = write(tmp_path, "signals:\n  arpu_drop:\n    min_drop_pct: 40\n")
    result = segment(SUBSCRIBER, load_policy(path))
    assert result.signals == []
    assert result.lifecycle_stage.code == "stable"
    assert result.cost_caps.total == 600.0


def test_edited_operator_file_is_read_again(tmp_path: Path) -> None:
    path = write(tmp_path, "acpu: 400\n")
    assert load_policy(path).acpu == 400
    path.write_text("acpu: 4000\n", encoding="utf-8")
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    assert load_policy(path).acpu == 4000


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("acpu: lots\n", "acpu"),
        ("acpu: null\n", "acpu"),
        ("acpuu: 300\n", "acpuu"),
        ("signals:\n  arpu_drop:\n    min_drop_pct: twenty\n", "signals.arpu_drop.min_drop_pct"),
        ("signals:\n  arpu_drop: 20\n", "signals.arpu_drop"),
        ("lifecycle:\n  warning_signals: [arpu_drop, horoscope]\n", "lifecycle.warning_signals.1"),
        ("value_tier:\n  spend_rank_combine: average\n", "value_tier.spend_rank_combine"),
        ("cost_caps:\n  monthly_cap_arpu_ratio: 10\n", "cost_caps.monthly_cap_arpu_ratio"),
        ("risk:\n  medium_min_probability: 0.9\n", "risk"),
    ],
)
def test_malformed_policy_names_the_key(tmp_path: Path, text: str, key: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(PolicyError) as caught:
        load_policy(path)
    assert f"{key}:" in str(caught.value)
    assert str(path) in str(caught.value)


@pytest.mark.parametrize(
    ("text", "message"),
    [("acpu: [1, 2\n", "not valid YAML"), ("- 1\n- 2\n", "must be a mapping")],
)
def test_unreadable_policy_is_a_policy_error(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(PolicyError, match=message):
        load_policy(write(tmp_path, text))


def test_missing_policy_file_is_a_policy_error(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match="not found"):
        load_policy(tmp_path / "absent.yaml")


def test_empty_operator_file_keeps_the_default(tmp_path: Path) -> None:
    policy = load_policy(write(tmp_path, "# nothing changed\n"))
    assert policy == load_policy()
    assert detect_signals(SUBSCRIBER, policy)[0].code == "arpu_drop"
