"""The offline report parser: accuracy on the 51-question set, and focused behaviours."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from tools.reports.nl import describe_spec, evaluate_questions, parse_question
from tools.reports.spec import Dimension, Metric

QUESTIONS = Path(__file__).resolve().parents[2] / "bench" / "data" / "report_questions.jsonl"
AS_OF = dt.date(2025, 12, 31)


def parse(question: str, as_of: dt.date = AS_OF, **kwargs):
    return parse_question(question, as_of=as_of, **kwargs)


def test_question_set_accuracy_is_at_least_90_percent():
    report = evaluate_questions(QUESTIONS)
    assert report["total"] == 51
    assert report["accuracy"] >= 0.9, report["failures"]


def test_question_set_is_bilingual_with_traditional_chinese():
    import json

    cases = [json.loads(line) for line in QUESTIONS.read_text(encoding="utf-8").splitlines() if line.strip()]
    zh = [c for c in cases if c["lang"] == "zh"]
    assert 0.35 <= len(zh) / len(cases) <= 0.65
    assert sum(1 for c in zh if any(ch in c["question"] for ch in "價級個續維繫")) >= 3


@pytest.mark.parametrize("question, metric", [
    ("次次月续约率", Metric.renewal_rate_month_after),
    ("次月续约率", Metric.renewal_rate_next_month),
    ("当月续约率", Metric.renewal_rate),
    ("单位挽留成本", Metric.cost_per_retained),
    ("平均流失概率", Metric.mean_predicted_risk),
    ("高危客户数", Metric.high_risk_count),
    ("沉默激活率", Metric.silent_activation_rate),
    ("离网率", Metric.churn_rate),
    ("attrition rate", Metric.churn_rate),
    ("reach rate", Metric.reach_rate),
    ("cost per retained subscriber", Metric.cost_per_retained),
    ("mean predicted risk", Metric.mean_predicted_risk),
])
def test_longer_metric_phrases_win_over_their_parts(question, metric):
    assert parse(question).spec.metrics == [metric]


def test_relative_periods_resolve_against_as_of():
    as_of = dt.date(2026, 2, 10)
    cases = {
        "本月流失率": ("2026-02-01", "2026-02-10"), "上月流失率": ("2026-01-01", "2026-01-31"),
        "本季度流失率": ("2026-01-01", "2026-02-10"), "上季度流失率": ("2025-10-01", "2025-12-31"),
        "近3个月流失率": ("2025-12-01", "2026-02-10"), "今年流失率": ("2026-01-01", "2026-02-10"),
        "去年流失率": ("2025-01-01", "2025-12-31"), "churn rate last quarter": ("2025-10-01", "2025-12-31"),
        "churn rate in the last three months": ("2025-12-01", "2026-02-10"),
        "churn rate in July 2025": ("2025-07-01", "2025-07-31"), "2025年7月流失率": ("2025-07-01", "2025-07-31"),
        "churn rate Q3 2025": ("2025-07-01", "2025-09-30"), "7月流失率": ("2025-07-01", "2025-07-31"),
    }
    for question, (start, end) in cases.items():
        period = parse(question, as_of).spec.period
        assert (str(period.start), str(period.end)) == (start, end), question


def test_top_n_sorts_and_limits_by_the_first_metric():
    spec = parse("top 10 agents by retention success rate").spec
    assert spec.dimensions == [Dimension.agent]
    assert (spec.sort.by, spec.sort.desc, spec.limit) == ("retention_success_rate", True, 10)
    spec = parse("哪个渠道续约率最低").spec
    assert spec.dimensions == [Dimension.channel] and spec.sort.desc is False and spec.limit is None
    spec = parse("worst 3 regions by churn rate").spec  # worst churn = the highest
    assert spec.sort.desc is True and spec.limit == 3


def test_two_dimensions_keep_their_order():
    assert parse("各地区各品牌的客户数").spec.dimensions == [Dimension.region, Dimension.brand]
    assert parse("churn rate by brand and month").spec.dimensions == [Dimension.brand, Dimension.month]


def test_filters_from_words_data_values_and_agent_ids():
    spec = parse("高价值客户在江苏和浙江的流失率").spec
    by_field = {f.field: f for f in spec.filters}
    assert by_field[Dimension.value_tier].value == "high"
    assert by_field[Dimension.region].op == "in" and by_field[Dimension.region].value == ["江苏", "浙江"]
    spec = parse("churn rate for agent ag0123").spec
    assert spec.filters[0].field == Dimension.agent and spec.filters[0].value == "AG0123"


class FakeValues:
    """Stands in for the engine's data values (dimension_values / as_of) in a parser unit test."""

    def as_of(self) -> dt.date:
        return AS_OF

    def dimension_values(self, dim, limit=200):
        return {"region": ["江苏", "火星特区"], "brand": ["星河卡"], "channel": ["outbound_call", "sms"]}.get(str(dim.value), [])


def test_data_values_from_the_engine_are_recognised():
    spec = parse_question("火星特区星河卡客户的流失率，按渠道", engine=FakeValues()).spec
    assert {(f.field.value, f.value) for f in spec.filters} == {("region", "火星特区"), ("brand", "星河卡")}
    assert spec.dimensions == [Dimension.channel]


def test_no_metric_gives_a_message_listing_what_can_be_asked():
    for question, word in (("今天天气怎么样", "流失率"), ("what's the weather like", "churn rate")):
        parsed = parse(question)
        assert parsed.spec is None
        assert word in parsed.message and ("by" in parsed.message or "按" in parsed.message or "维度" in parsed.message)


def test_what_is_not_understood_is_reported():
    parsed = parse("churn rate by weather last week")
    assert parsed.spec is not None
    assert "by weather" in parsed.unknown and any("week" in u for u in parsed.unknown)
    parsed = parse("各渠道续约率同比下降了多少")  # a comparison is understood now
    assert parsed.unknown == [] and parsed.spec.compare == "previous_year"
    parsed = parse("哪个渠道的续约率变化最大")  # by the size of a change either way: not supported
    assert "变化最大" in parsed.unknown


def test_injection_text_never_becomes_a_value():
    parsed = parse("churn rate by region'; DROP TABLE subscribers; -- for brand x' OR 1=1")
    dumped = parsed.spec.model_dump_json()
    assert "DROP" not in dumped.upper() and "1=1" not in dumped


def test_describe_spec_reads_back_in_both_languages():
    spec = parse("上季度各价值等级的流失率").spec
    assert "流失率" in describe_spec(spec) and "价值等级" in describe_spec(spec) and "2025-07-01" in describe_spec(spec)
    assert "churn rate" in describe_spec(spec, "en") and "value tier" in describe_spec(spec, "en")


def test_trend_without_a_period_shows_six_months():
    spec = parse("流失率趋势").spec
    assert spec.dimensions == [Dimension.month]
    assert (str(spec.period.start), str(spec.period.end)) == ("2025-07-01", "2025-12-31")


@pytest.mark.parametrize("question, metrics, dims", [
    ("每个坐席本月的挽留成功率是多少", ["retention_success_rate"], ["agent"]),
    ("Show me retention success by agent for last month", ["retention_success_rate"], ["agent"]),
    ("各生命周期阶段的高危客户有多少", ["high_risk_count"], ["lifecycle_stage"]),
    ("Which brand had the most churn last quarter?", ["churn_rate"], ["brand"]),
    ("列出上个月到达率最低的三个渠道", ["reach_rate"], ["channel"]),
    ("cost per save by scenario this quarter", ["cost_per_retained"], ["scenario"]),
    ("high risk customers by tenure", ["high_risk_count"], ["tenure_band"]),
    ("retention spend per agent in June 2026", ["retention_cost"], ["agent"]),
    ("各网龄段的平均离网概率", ["mean_predicted_risk"], ["tenure_band"]),
    ("How many subscribers do we have per lifecycle stage?", ["subscribers"], ["lifecycle_stage"]),
    ("Churn by plan type and tier", ["churn_rate"], ["plan", "value_tier"]),
    ("上海和北京的流失率对比", ["churn_rate"], ["region"]),
    ("number of contacts by channel and scenario this year", ["contacts"], ["channel", "scenario"]),
])
def test_phrasings_outside_the_question_set(question, metrics, dims):
    spec = parse(question).spec
    assert [m.value for m in spec.metrics] == metrics and [d.value for d in spec.dimensions] == dims


def test_an_english_question_naming_a_chinese_brand_stays_english():
    parsed = parse("ARPU trend for 世界风 over the past 12 months")
    assert parsed.lang == "en" and parsed.spec.filters[0].value == "世界风"
    assert parsed.spec.dimensions == [Dimension.month]


@pytest.mark.parametrize("question, metrics, dims", [
    ("各学员的平均训练得分", ["training_score"], ["trainee"]),
    ("按学员统计练习得分", ["training_score"], ["trainee"]),
    ("培训成绩按场景分布", ["training_score"], ["scenario"]),
    ("每个学员的练习次数", ["training_sessions"], ["trainee"]),
    ("各月培训次数", ["training_sessions"], ["month"]),
    ("role-play score by trainee", ["training_score"], ["trainee"]),
    ("training score per trainee", ["training_score"], ["trainee"]),
    ("average practice score by scenario", ["training_score"], ["scenario"]),
    ("how many practice sessions per trainee", ["training_sessions"], ["trainee"]),
    ("practice sessions and training score by trainee", ["training_sessions", "training_score"], ["trainee"]),
])
def test_practice_session_phrasings(question, metrics, dims):
    spec = parse(question).spec
    assert [m.value for m in spec.metrics] == metrics and [d.value for d in spec.dimensions] == dims


def test_practice_metrics_without_a_period_cover_every_graded_session():
    parsed = parse("各学员的平均训练得分")
    assert parsed.spec.period is None and any("全部已评分的练习" in n for n in parsed.notes)
    trend = parse("training score trend")  # no six-month window from the subscriber data's date
    assert trend.spec.dimensions == [Dimension.month] and trend.spec.period is None
    ranked = parse("哪个学员训练得分最低").spec  # a higher score is better: the lowest first
    assert ranked.sort.by == "training_score" and ranked.sort.desc is False
    mixed = parse("各场景的接触数和练习次数")  # with a subscriber-data metric the usual default stands
    assert mixed.spec.dimensions == [Dimension.scenario] and "最近一个完整月份" in " ".join(mixed.notes)


class TraineeValues(FakeValues):
    """The engine's data values with two trainees' key ids."""

    def dimension_values(self, dim, limit=200):
        return ["1a2b3c4d", "9f8e7d6c"] if dim == Dimension.trainee else super().dimension_values(dim, limit)


def test_a_trainee_key_id_in_the_question_becomes_a_filter():
    spec = parse_question("training score by scenario for trainee 9f8e7d6c", engine=TraineeValues()).spec
    assert [(f.field, f.value) for f in spec.filters] == [(Dimension.trainee, "9f8e7d6c")]
    assert spec.dimensions == [Dimension.scenario]


# --- period-over-period comparison ------------------------------------------------------------

@pytest.mark.parametrize("question, compare", [
    ("各渠道续约率环比", "previous_period"),
    ("本月各坐席的挽留成功率比上月", "previous_period"),
    ("本季度各渠道续约率比上季度", "previous_period"),
    ("各地区流失率较上期", "previous_period"),
    ("本月各价值等级的流失率与上月相比", "previous_period"),
    ("本月各渠道續約率環比上月", "previous_period"),
    ("churn rate by region compared with last month", "previous_period"),
    ("retention cost by channel vs the previous period", "previous_period"),
    ("renewal rate by channel month over month", "previous_period"),
    ("ARPU by brand quarter over quarter", "previous_period"),
    ("各渠道续约率同比", "previous_year"),
    ("各价值等级的流失率比去年同期", "previous_year"),
    ("churn rate by value tier year over year", "previous_year"),
    ("retention cost by channel, yoy", "previous_year"),
    ("retention cost by channel vs the same month last year", "previous_year"),
])
def test_comparison_words(question, compare):
    parsed = parse(question, dt.date(2026, 7, 15))
    assert parsed.spec.compare == compare and parsed.unknown == [], (parsed.spec, parsed.unknown)
    assert parsed.spec.sort is None and parsed.spec.dimensions  # no direction: no sort


def test_a_comparison_phrase_is_not_taken_for_the_period():
    as_of = dt.date(2026, 7, 15)
    spec = parse("本月各坐席的挽留成功率与上月相比", as_of).spec
    assert (str(spec.period.start), str(spec.period.end)) == ("2026-07-01", "2026-07-15")
    assert parse("各渠道续约率比去年同期", as_of).spec.period is None  # the latest complete month, year over year
    assert parse("churn rate by region compared with last month", as_of).spec.period is None
    spec = parse("各渠道续约率比上季度下降了多少", as_of).spec  # this quarter (to the last full month) vs the last
    assert (str(spec.period.start), str(spec.period.end)) == ("2026-04-01", "2026-06-30")


@pytest.mark.parametrize("question, metric, dim, desc, limit", [
    ("哪个渠道的续约率下降了", "renewal_rate", "channel", False, None),
    ("which channel's renewals fell last month", "renewal_rate", "channel", False, None),
    ("上个月挽留成功率下降最多的5个坐席", "retention_success_rate", "agent", False, 5),
    ("降幅最大的3个坐席的挽留成功率", "retention_success_rate", "agent", False, 3),
    ("各地区流失率下滑情况", "churn_rate", "region", False, None),
    ("which agents' retention success rate dropped the most", "retention_success_rate", "agent", False, None),
    ("retention cost by channel: which declined?", "retention_cost", "channel", False, None),
    ("哪个地区的ARPU增长最多", "arpu", "region", True, None),
    ("续约率上升的渠道", "renewal_rate", "channel", True, None),
    ("which brands' ARPU rose the most", "arpu", "brand", True, None),
    ("top 3 regions where churn rate increased", "churn_rate", "region", True, 3),
])
def test_fell_and_rose_compare_with_the_previous_period_sorted_by_the_change(question, metric, dim, desc, limit):
    parsed = parse(question)
    spec = parsed.spec
    assert [m.value for m in spec.metrics] == [metric] and [d.value for d in spec.dimensions] == [dim]
    assert spec.compare == "previous_period" and parsed.unknown == [], (spec, parsed.unknown)
    assert (spec.sort.by, spec.sort.desc, spec.limit) == (f"{metric}_change", desc, limit)


def test_which_channels_renewals_fell_reads_the_same_in_both_languages():
    as_of = dt.date(2026, 7, 15)
    zh = parse("哪个渠道的续约率上个月下降了", as_of).spec
    en = parse("which channel's renewals fell last month", as_of).spec
    drop = {"lang": True, "period": {"label"}}
    assert zh.model_dump(exclude=drop) == en.model_dump(exclude=drop)
    assert (str(en.period.start), str(en.period.end)) == ("2026-06-01", "2026-06-30")
    assert "续约率变化" in describe_spec(zh) and "环比" in describe_spec(zh)
    assert "the change in same-month renewal rate" in describe_spec(en) and "previous period" in describe_spec(en)


def test_year_over_year_with_a_fall_sorts_by_the_change():
    spec = parse("各渠道续约率同比下降最多").spec
    assert spec.compare == "previous_year" and (spec.sort.by, spec.sort.desc) == ("renewal_rate_change", False)


def test_a_monthly_breakdown_is_not_also_compared():
    parsed = parse("每月流失率环比")
    assert parsed.spec.dimensions == [Dimension.month] and parsed.spec.compare is None and parsed.spec.sort is None
    assert any("按月" in n for n in parsed.notes)
    total = parse("流失率环比下降了吗").spec  # a single total: compared, nothing to rank
    assert total.compare == "previous_period" and total.dimensions == [] and total.sort is None
