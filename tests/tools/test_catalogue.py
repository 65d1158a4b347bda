"""The measure catalogue: every coded measure of domain.md 4.1, the offer families, and bad operator files."""

from __future__ import annotations

from pathlib import Path

import pytest

from tools.catalogue import REQUIRED_CODES, load_catalogue
from tools.errors import PolicyError

FAMILY_CODES = {
    "store_value_get_credit": {"RM004"},
    "credit_subsidy_renewal": {"RM002", "DM002"},
    "handset_subsidy_renewal": {"RM002", "DM002"},
    "data_for_voice": {"DM003", "RS002"},
    "voice_for_data": {"DM003", "RS002"},
    "points_redemption": {"RM001"},
    "tenure_reward": {"RM004"},
    "plan_migration": {"DM003", "RS002"},
    "collection_reminder": {"DA004"},
    "one_to_one_callback": {"DS001"},
    "counter_save": {"DS002"},
}


def test_every_coded_measure_of_the_framework_is_present() -> None:
    catalogue = load_catalogue()
    assert len(REQUIRED_CODES) == 38
    assert set(REQUIRED_CODES) <= set(catalogue.measures)
    for code, measure in catalogue.measures.items():
        stage = {"P": "prevention", "R": "maintenance", "D": "win_back"}[code[0]]
        kind = {"M": "marketing", "S": "service", "A": "management"}[code[1]]
        assert (measure.stage, measure.type) == (stage, kind), code
        assert measure.title_zh and measure.title_en and measure.description_zh and measure.description_en
        assert measure.citation_query


def test_management_measures_are_not_customer_offers_except_collection() -> None:
    measures = load_catalogue().measures
    assert not any(measures[c].customer_offer for c in ("PM001", "PA003", "RA002", "DA002"))
    assert measures["DA004"].customer_offer
    assert all(measures[c].one_off_cost == 0 and measures[c].monthly_cost == 0
               for c in measures if c[1] == "A")


def test_offer_families_map_to_their_measure_codes() -> None:
    catalogue = load_catalogue()
    for family, codes in FAMILY_CODES.items():
        f = catalogue.families[family]
        assert {f.measure_code, *f.measure_code_by_stage.values()} <= codes | {f.measure_code}, family
        assert {f.measure_code, *f.measure_code_by_stage.values()} & codes, family
    assert catalogue.family_code("credit_subsidy_renewal", "win_back") == "DM002"
    assert catalogue.family_code("credit_subsidy_renewal", "maintenance") == "RM002"
    silent = [k for k, f in catalogue.families.items() if "silent" in f.eligibility.scenarios and f.costs_money]
    assert silent and all(catalogue.families[k].measure_code == "DM004" for k in silent)
    campus = [k for k, f in catalogue.families.items() if f.eligibility.student]
    assert campus


def test_tenure_reward_tiers_follow_the_160_100_30_bands() -> None:
    tiers = {t.name: t for t in load_catalogue().families["tenure_reward"].tiers}
    assert (tiers["four_years_plus"].one_off, tiers["four_years_plus"].min_tenure_months) == (160, 48)
    assert (tiers["one_to_four_years"].one_off, tiers["one_to_four_years"].min_tenure_months,
            tiers["one_to_four_years"].max_tenure_months) == (100, 12, 48)
    assert (tiers["under_one_year"].one_off, tiers["under_one_year"].max_tenure_months) == (30, 12)
    assert all(t.prepay == 160 and t.source == "domain" for t in tiers.values())


def test_only_the_silent_plan_discount_is_a_base_price_cut() -> None:
    families = load_catalogue().families
    assert [k for k, f in families.items() if f.base_price_cut] == ["silent_plan_fee_discount"]
    assert [k for k, f in families.items() if f.walk_in_ok] == ["store_value_get_credit"]


def test_every_paid_tier_states_its_source_and_terms() -> None:
    for key, family in load_catalogue().families.items():
        for tier in family.tiers:
            assert tier.gets_zh and tier.gets_en, key
            if tier.source == "placeholder":
                assert "占位" in tier.gets_zh and "placeholder" in tier.gets_en, (key, tier.name)


def test_an_operator_file_only_needs_the_keys_it_changes(tmp_path: Path) -> None:
    override = tmp_path / "measures.yaml"
    override.write_text("families:\n  store_value_get_credit:\n    uplift: 0.3\n", encoding="utf-8")
    catalogue = load_catalogue(override)
    assert catalogue.families["store_value_get_credit"].uplift == 0.3
    shipped = load_catalogue().families["credit_subsidy_renewal"]
    assert catalogue.families["credit_subsidy_renewal"].uplift == shipped.uplift


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("families:\n  store_value_get_credit:\n    uplift: lots\n", "families.store_value_get_credit.uplift"),
        ("families:\n  store_value_get_credit:\n    uplfit: 0.2\n", "families.store_value_get_credit.uplfit"),
        ("measures:\n  RM004:\n    customer_offer: maybe\n", "measures.RM004.customer_offer"),
        ("families:\n  care:\n    measure_code: RM999\n", "families.care.measure_code"),
        ("families:\n  care:\n    measure_code: PA001\n", "PA001 is not a customer offer"),
        ("measures:\n  RM004:\n    stage: prevention\n", "measures.RM004"),
        ("families:\n  tenure_reward:\n    tiers:\n      - name: x\n        monthly: 5\n"
         "        gets_zh: a\n        gets_en: b\n        source: domain\n", "families.tenure_reward.tiers.0"),
    ],
)
def test_a_malformed_operator_file_is_refused_naming_the_entry_and_key(
    tmp_path: Path, text: str, named: str
) -> None:
    bad = tmp_path / "measures.yaml"
    bad.write_text(text, encoding="utf-8")
    with pytest.raises(PolicyError) as error:
        load_catalogue(bad)
    assert named in str(error.value)
    assert str(bad) in str(error.value)


def test_a_missing_code_or_unreadable_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match="not found"):
        load_catalogue(tmp_path / "nope.yaml")
    broken = tmp_path / "broken.yaml"
    broken.write_text("families: [\n", encoding="utf-8")
    with pytest.raises(PolicyError, match="not valid YAML"):
        load_catalogue(broken)
