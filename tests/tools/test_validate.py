"""The validator of LLM-polished wording: nothing the engine did not output gets through."""

from __future__ import annotations

import pytest

from knowledge.retrieve import Passage
from tools.drafts import SubscriberFacts, draft_offer_messages
from tools.offers import recommend_offers
from tools.rules import segment
from tools.schemas import Offer, SubscriberSnapshot
from tools.scripts import draft_call_script
from tools.validate import accept_polished, extract_numbers, extract_quantities, validate_polished_text

# domain.md 7.1: high value, contract ends in 70 days, ARPU down 30%, forwarding off-net.
SNAPSHOT = SubscriberSnapshot(tenure_months=40, arpu_3m_avg=200, network_avg_arpu=50, payment_type="postpaid",
                              contract_end_in_days=70, arpu_change_pct=-30, forwards_to_competitor=3)
FACTS = SubscriberFacts(masked_msisdn="13812345678", name="张", gender="m", tenure_months=40,
                        plan_name="SJF-189", plan_fee=189, contract_end_in_days=70, arpu=200)


class OnePassage:
    """A searcher that always finds the same passage (the validator never looks at citations)."""

    def search(self, query, k=5, *, sources=None, topics=None):  # noqa: ANN001, ANN201
        return [Passage(id="p1", text="text", source="13-call-structure.zh.md", section="s", score=1.0)]


@pytest.fixture(scope="module")
def plan():
    seg = segment(SNAPSHOT)
    return seg, recommend_offers(SNAPSHOT, seg, churn_probability=0.7, churn_reasons=seg.signals, searcher=None)


@pytest.fixture(scope="module")
def scripts(plan):
    seg, p = plan
    return {lang: draft_call_script(FACTS, seg, p.offers, scenario=p.scenario, lang=lang,
                                    churn_reasons=seg.signals, searcher=OnePassage())
            for lang in ("zh", "en")}


def kinds(result) -> set[str]:  # noqa: ANN001
    return {p.kind for p in result.problems}


# --- number extraction -------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "expected"), [
    ("预存100元，赠送50元分5个月返还", [(100, "yuan"), (50, "yuan"), (5, "month")]),
    ("三个月内有效，百分之二十，八折，一百二十元，两年，半年",
     [(3, "month"), (20, "percent"), (8, "discount"), (120, "yuan"), (2, "year"), (0.5, "year")]),
    ("twenty percent off for twenty-four months, 24-month term, ¥30, RMB 40",
     [(20, "percent"), (24, "month"), (24, "month"), (30, "yuan"), (40, "yuan")]),
    ("half price, 半价", [(50, "percent"), (50, "percent")]),
    ("in 2 weeks, 48 hours, 15分钟, 2+ years, 10多年", [(2, "week"), (48, "hour"), (15, "minute"), (2, "year"),
                                                     (10, "year")]),
])
def test_quantities_are_read_with_their_units(text: str, expected: list[tuple[float, str]]) -> None:
    assert sorted((q.value, q.unit) for q in extract_quantities(text)) == sorted(expected)


def test_words_that_only_look_like_numbers_are_ignored() -> None:
    assert extract_quantities("十分感谢，帮您看一下，一起办理，第一步，第2位，5G网络，one of them, one-off") == []


def test_dates_and_masked_numbers() -> None:
    found = {(q.value, q.unit) for q in extract_quantities("号码138****5678，协议于2026年3月31日到期，3月31日")}
    assert found == {(20260331, "date"), (331, "date"), (138, ""), (5678, "")}
    assert extract_numbers("RM004 and RYT-19") == [19]  # measure codes are not numbers


# --- the checks ---------------------------------------------------------------------------------


def test_a_faithful_rephrasing_passes_in_both_languages(scripts) -> None:
    zh = "张先生，您在网40个月了，特别感谢！给您推荐存费送费：预存100元，送50元，分5个月到账，每个月10元，30天内可以办理。"
    en = ("Mr 张, after 40 months with us, I'd suggest Store value, get credit: prepay 100 yuan and get "
          "10 yuan back each month for 5 months - you have 30 days to take it up.")
    assert validate_polished_text(zh, scripts["zh"], "zh").ok
    assert validate_polished_text(en, scripts["en"], "en").ok


def test_equivalent_durations_and_dates_pass() -> None:
    offer_text = "续签24个月协议，协议期内每月补贴话费10元"
    assert validate_polished_text("协议期两年，每月补贴话费10元", offer_text, "zh").ok
    assert not validate_polished_text("协议期三年，每月补贴话费10元", offer_text, "zh").ok
    dated = "您当前的协议将于2026年3月11日到期。"
    assert validate_polished_text("您的协议3月11日到期", dated, "zh").ok
    assert validate_polished_text("您的协议3月到期", dated, "zh").ok
    assert not validate_polished_text("您的协议4月到期", dated, "zh").ok
    assert validate_polished_text("Your agreement ends on 2026-03-11.", "ends on 2026-03-11", "en").ok


def test_the_engines_own_script_passes(scripts) -> None:
    for lang, script in scripts.items():
        for section in script.sections:
            for line in section.lines:
                assert validate_polished_text(line, script, lang).ok, line
        for objection in script.objections:
            assert validate_polished_text(objection.response, script, lang).ok, objection.response


def test_an_over_cap_amount_is_rejected(scripts) -> None:
    result = validate_polished_text("我们可以补贴您1000元购机款。", scripts["zh"], "zh")
    assert not result.ok and kinds(result) == {"amount"}
    assert "exceeds the total cost cap 600" in result.problems[0].detail


def test_an_invented_amount_is_rejected(scripts) -> None:
    result = validate_polished_text("给您推荐存费送费：预存100元送500元。", scripts["zh"], "zh")
    assert [(p.kind, p.text) for p in result.problems] == [("amount", "500元")]


@pytest.mark.parametrize(("text", "lang"), [
    ("这个方案可以给您打八折。", "zh"),
    ("享受百分之二十的优惠。", "zh"),
    ("I can give you 20% off.", "en"),
    ("That's twenty percent off your plan.", "en"),
])
def test_an_invented_discount_is_rejected(scripts, text: str, lang: str) -> None:
    assert "percentage" in kinds(validate_polished_text(text, scripts[lang], lang))


@pytest.mark.parametrize(("text", "lang", "fragment"), [
    ("另外还可以给您办理网龄回馈。", "zh", "网龄回馈"),
    ("我再给您加一个积分兑换。", "zh", "积分兑换"),
    ("You could also get a Tenure reward.", "en", "Tenure reward"),
    ("I'll add measure RM001 for you.", "en", "RM001"),
    ("再送您一部新手机。", "zh", "新手机"),
    ("We'll throw in a free phone.", "en", "free phone"),
])
def test_an_invented_offer_is_rejected(scripts, text: str, lang: str, fragment: str) -> None:
    result = validate_polished_text(text, scripts[lang], lang)
    assert ("offer", fragment) in {(p.kind, p.text) for p in result.problems}


@pytest.mark.parametrize(("text", "lang"), [
    ("我保证这个方案最划算。", "zh"),
    ("办了以后永久免费。", "zh"),
    ("这个方案一定适合您。", "zh"),
    ("流量无限，随便用。", "zh"),
    ("明天之前我帮您办好。", "zh"),
    ("We guarantee you'll save money.", "en"),
    ("It's free forever.", "en"),
    ("You get unlimited data.", "en"),
])
def test_a_forbidden_promise_is_rejected(scripts, text: str, lang: str) -> None:
    assert "promise" in kinds(validate_polished_text(text, scripts[lang], lang))


def test_an_invented_time_limit_is_rejected(scripts) -> None:
    assert kinds(validate_polished_text("这个方案三个月内都可以办理。", scripts["zh"], "zh")) == {"time_limit"}
    assert kinds(validate_polished_text("It's open for three weeks.", scripts["en"], "en")) == {"time_limit"}
    assert kinds(validate_polished_text("24小时内给您答复。", scripts["zh"], "zh")) == {"time_limit"}


def test_a_full_phone_number_is_rejected_and_never_echoed(scripts) -> None:
    result = validate_polished_text("您的号码138 1234 5678已经登记。", scripts["zh"], "zh")
    assert kinds(result) == {"phone_number"}
    assert "5678" not in result.model_dump_json()
    assert validate_polished_text("您的号码138****5678已经登记。", scripts["zh"], "zh").ok
    assert not validate_polished_text("您的号码139****0000已经登记。", scripts["zh"], "zh").ok


def test_internal_notes_do_not_whitelist_amounts(scripts) -> None:
    text = "这次最多可以给您600元的优惠。"  # 600 = the total cap, only in the agent's notes
    assert not validate_polished_text(text, scripts["zh"], "zh").ok
    assert validate_polished_text(text, scripts["zh"], "zh", include_notes=True).ok


def test_offers_drafts_and_plain_text_are_references(plan) -> None:
    _, p = plan
    offer = p.offers[0]
    assert validate_polished_text("存费送费：预存100元，每月返还10元", p.offers, "zh").ok
    assert not validate_polished_text("存费送费：预存200元", [offer], "zh").ok
    draft = draft_offer_messages(offer, FACTS, "en", channels=("sms",))[0]
    assert validate_polished_text(draft.body.replace("can now get", "is eligible for"), draft, "en").ok
    plain = Offer(measure_code="RM004", title_zh="存费送费", title_en="Store value, get credit", monthly_cost=10,
                  one_off_cost=0, cap_monthly=20, cap_total=600, expected_value=50)
    assert validate_polished_text("每月优惠10元", plain, "zh").ok
    assert not validate_polished_text("每月优惠15元", plain, "zh").ok
    with pytest.raises(TypeError):
        validate_polished_text("x", 42, "zh")


def test_accept_polished_falls_back_to_the_engines_text(scripts) -> None:
    engine = scripts["zh"].sections[4].lines[0]
    good = engine.replace("根据您的情况，", "结合您的使用情况，")
    text, verdict = accept_polished(good, engine, scripts["zh"], "zh")
    assert text == good and verdict.ok
    text, verdict = accept_polished(good + "保证您满意。", engine, scripts["zh"], "zh")
    assert text == engine and not verdict.ok
