"""Offer drafts: personalised SMS, e-mail and call wording that invents no number and hides the phone."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from tools.catalogue import load_catalogue
from tools.drafts import SMS_LIMIT, SubscriberFacts, build_facts, draft_offer_messages, mask_number
from tools.offers import recommend_offers
from tools.rules import segment
from tools.schemas import Offer, OfferTerms, RecommendedOffer, SubscriberSnapshot
from tools.subscriber_schema import Subscriber
from tools.validate import extract_numbers, validate_polished_text

FULL = "13812345678"
FACTS = SubscriberFacts(masked_msisdn=FULL, name="张", gender="m", tenure_months=40, plan_name="SJF-189",
                        plan_fee=189, arpu=200, contract_end_date=dt.date(2026, 3, 11), contract_end_in_days=70,
                        points_balance=5200)
SNAPSHOT = SubscriberSnapshot(tenure_months=40, arpu_3m_avg=200, network_avg_arpu=50, payment_type="postpaid",
                              contract_end_in_days=70, arpu_change_pct=-30, forwards_to_competitor=3)


def offer_numbers(offer: Offer) -> set[float]:
    """Every number an offer itself states: its costs and the catalogue terms."""
    out = {round(float(v), 2) for v in (offer.monthly_cost, offer.one_off_cost)}
    terms = getattr(offer, "terms", None)
    if terms is not None:
        out |= {float(v) for v in (terms.validity_days, terms.prepay, terms.contract_months) if v is not None}
        for text in (terms.customer_gets_zh, terms.customer_gets_en, *terms.conditions_zh, *terms.conditions_en):
            out |= {round(v, 2) for v in extract_numbers(text)}
    return out


def catalogue_offers() -> list[RecommendedOffer]:
    """One offer per tier of every family in the shipped catalogue."""
    cat = load_catalogue()
    offers = []
    for key, fam in cat.families.items():
        for tier in fam.tiers:
            terms = OfferTerms(customer_gets_zh=tier.gets_zh, customer_gets_en=tier.gets_en,
                               conditions_zh=list(tier.conditions_zh), conditions_en=list(tier.conditions_en),
                               validity_days=tier.validity_days, prepay=tier.prepay,
                               contract_months=tier.contract_months, placeholder=tier.source == "placeholder")
            offers.append(RecommendedOffer(
                measure_code=fam.measure_code, title_zh=fam.title_zh, title_en=fam.title_en,
                monthly_cost=tier.monthly, one_off_cost=tier.one_off, cap_monthly=20, cap_total=600,
                expected_value=0, family=key, tier=tier.name, total_cost=tier.total_cost,
                cost_months=tier.months, value_months=12, uplift=fam.uplift, terms=terms))
    return offers


@pytest.fixture(scope="module")
def renewal_offers() -> list[RecommendedOffer]:
    seg = segment(SNAPSHOT)
    return recommend_offers(SNAPSHOT, seg, churn_probability=0.7, churn_reasons=seg.signals, searcher=None).offers


def test_a_full_number_is_masked_on_input() -> None:
    assert FACTS.masked_msisdn == "138****5678"
    assert mask_number("+86 138-1234-5678") == "138****5678"
    assert mask_number("138****5678") == "138****5678"
    assert FULL not in FACTS.model_dump_json()


def test_facts_from_a_stored_subscriber() -> None:
    sub = Subscriber(subscriber_id="S1", msisdn=FULL, masked_msisdn="138****5678", gender="f", tenure_months=30,
                     plan_id="XSK-99", plan_fee=99, arpu_3m_avg=120.5, contract_end_date=dt.date(2026, 3, 1),
                     snapshot_date=dt.date(2025, 12, 31), points_balance=800, vip_level="gold")
    facts = build_facts(sub, segment(SNAPSHOT))
    assert (facts.masked_msisdn, facts.tenure_months, facts.plan_name, facts.plan_fee) == ("138****5678", 30, "XSK-99", 99)
    assert (facts.contract_end_in_days, facts.value_tier, facts.vip_level) == (60, "high", "gold")
    assert FULL not in facts.model_dump_json()


def test_facts_from_a_snapshot_and_from_a_dict() -> None:
    facts = build_facts(SNAPSHOT, as_of=dt.date(2025, 12, 31))
    assert (facts.tenure_months, facts.arpu, facts.contract_end_in_days) == (40, 200, 70)
    assert facts.contract_end_date == dt.date(2026, 3, 11) and facts.masked_msisdn is None
    assert build_facts({"masked_msisdn": FULL, "tenure_months": 3}).masked_msisdn == "138****5678"
    with pytest.raises(TypeError):
        build_facts(42)


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_drafts_are_personalised_and_cover_the_three_channels(renewal_offers, lang: str) -> None:
    offer = renewal_offers[0]
    drafts = draft_offer_messages(offer, FACTS, lang)
    assert [d.channel for d in drafts] == ["sms", "email", "call"]
    sms, email, call = drafts
    title = offer.title_zh if lang == "zh" else offer.title_en
    for d in drafts:
        assert title in d.body and d.measure_code == offer.measure_code and d.lang == lang
    assert "138****5678" in sms.body and "138****5678" in email.body
    assert ("回复TD退订" if lang == "zh" else "Reply STOP to opt out") in sms.body
    assert ("退订" if lang == "zh" else "UNSUBSCRIBE") in email.body
    assert email.subject and title in email.subject
    assert "SJF-189" in email.body and "189" in email.body and "40" in email.body
    assert ("2026年3月11日" if lang == "zh" else "2026-03-11") in email.body
    assert "张" in call.body and "40" in call.body
    assert str(offer.terms.validity_days) in call.body


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_no_draft_ever_invents_a_number_or_shows_the_full_number(lang: str) -> None:
    allowed_facts = FACTS.numbers()
    for offer in catalogue_offers():
        allowed = allowed_facts | offer_numbers(offer)
        for draft in draft_offer_messages(offer, FACTS, lang):
            text = f"{draft.subject or ''}\n{draft.body}"
            assert FULL not in text and not re.search(r"1\d{10}", text)
            invented = {v for v in extract_numbers(text) if round(v, 2) not in allowed}
            assert not invented, (offer.family, offer.tier, draft.channel, invented, text)
            assert validate_polished_text(text, [offer, draft], lang).ok


def test_sms_fits_one_segment_where_possible_and_never_drops_a_condition(renewal_offers) -> None:
    for lang in ("zh", "en"):
        for offer in renewal_offers:
            sms = draft_offer_messages(offer, FACTS, lang, channels=("sms",))[0]
            assert sms.length == len(sms.body)
            assert sms.within_limit == (len(sms.body) <= SMS_LIMIT[lang])
            conditions = offer.terms.conditions_zh if lang == "zh" else offer.terms.conditions_en
            assert all(c in sms.body for c in conditions)
            if not sms.within_limit:
                assert sms.notes, "a long SMS is flagged for the agent"
    fits = 0
    for offer in catalogue_offers():
        sms = draft_offer_messages(offer, FACTS, "zh", channels=("sms",))[0]
        fits += sms.within_limit
        if not sms.within_limit:  # the greeting and the thanks go first, before giving up
            assert "感谢支持" not in sms.body and not sms.body.startswith("张先生")
    assert fits >= 3


def test_placeholder_amounts_are_flagged_not_sent_as_remarks(renewal_offers) -> None:
    placeholder = next(o for o in renewal_offers if o.terms.placeholder)
    for lang in ("zh", "en"):
        for draft in draft_offer_messages(placeholder, FACTS, lang):
            assert draft.placeholder_amounts and draft.notes
            assert "占位" not in draft.body and "placeholder" not in draft.body


def test_points_offers_state_the_balance() -> None:
    points = next(o for o in catalogue_offers() if o.family == "points_redemption")
    email = draft_offer_messages(points, FACTS, "zh", channels=("email",))[0]
    assert "5200" in email.body


def test_unknown_facts_are_left_out_not_guessed() -> None:
    offer = catalogue_offers()[0]
    bare = SubscriberFacts()
    for lang in ("zh", "en"):
        for draft in draft_offer_messages(offer, bare, lang):
            assert "None" not in draft.body and "*" not in draft.body
    sms = draft_offer_messages(offer, bare, "zh", channels=("sms",))[0]
    assert sms.body.startswith("您") and "号码" not in sms.body


def test_a_plain_offer_without_terms_states_only_its_costs() -> None:
    plain = Offer(measure_code="RM004", title_zh="存费送费", title_en="Store value, get credit", monthly_cost=10,
                  one_off_cost=0, cap_monthly=20, cap_total=600, expected_value=50)
    call = draft_offer_messages(plain, FACTS, "zh", channels=("call",))[0]
    assert "每月优惠10元" in call.body
    assert set(extract_numbers(call.body)) <= FACTS.numbers() | {10.0}


def test_bad_arguments_raise() -> None:
    offer = catalogue_offers()[0]
    with pytest.raises(ValueError):
        draft_offer_messages(offer, FACTS, "fr")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        draft_offer_messages(offer, FACTS, "zh", channels=("fax",))  # type: ignore[arg-type]


def test_a_collection_reminder_is_a_notice_not_an_offer() -> None:
    passive = SubscriberSnapshot(tenure_months=40, arpu_3m_avg=20, network_avg_arpu=50, payment_type="postpaid",
                                 arrears_days=100)
    seg = segment(passive)
    offer = recommend_offers(passive, seg, churn_probability=0.9, searcher=None).offers[0]
    assert offer.measure_code == "DA004"
    for lang, offer_words, notice in (("zh", ("现可办理", "为您准备", "感谢"), "欠费"),
                                      ("en", ("can now get", "prepared", "thank you"), "overdue balance")):
        drafts = {d.channel: d for d in draft_offer_messages(offer, FACTS, lang)}
        assert drafts["email"].subject.startswith("欠费缴费提醒" if lang == "zh" else "Payment reminder")
        for draft in drafts.values():
            assert notice in draft.body
            assert not any(w in draft.body.lower() for w in offer_words), (lang, draft.channel, draft.body)
            assert FULL not in draft.body
            assert draft.channel == "call" or "138****5678" in draft.body  # a call never reads the number out
        assert drafts["sms"].within_limit or drafts["sms"].notes


def test_english_wording_starts_with_a_capital_and_has_no_empty_paragraph() -> None:
    seg = segment(SNAPSHOT)
    offer = recommend_offers(SNAPSHOT, seg, churn_probability=0.7, searcher=None).offers[0]
    bare = SubscriberFacts(tenure_months=12)  # nothing to personalise with but the tenure
    drafts = {d.channel: d for d in draft_offer_messages(offer, bare, "en")}
    assert drafts["call"].body[0].isupper()
    assert "\n\n\n" not in drafts["email"].body
