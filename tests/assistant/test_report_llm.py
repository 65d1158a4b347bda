"""Report questions through the LLM (scripted OpenAI-compatible fake over HTTP), the offline fallback,
the run_report tool and the offline engine's report answer, on a generated store."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import httpx
import pytest

from tests.fakes import FakeLLM, text, tool_call

GOOD = {"metrics": ["churn_rate"], "dimensions": ["value_tier"],
        "period": {"start": "2025-07-01", "end": "2025-09-30", "label": "last quarter"}}
AS_OF = dt.date(2025, 12, 31)


@pytest.fixture(scope="module")
def report_services(tmp_path_factory):
    from assistant.config import Settings
    from assistant.services import Services
    from tools.generate import write_generated
    from tools.subscribers import SubscriberStore

    data_dir = tmp_path_factory.mktemp("report-llm-data")
    write_generated(SubscriberStore(data_dir), rows=300, seed=7, progress=False)
    return Services(Settings(data_dir=data_dir, llm_base_url=None, _env_file=None))


def llm_settings(tmp_path: Path, **overrides):
    from assistant.config import Settings

    return Settings(data_dir=tmp_path, llm_base_url="http://llm.invalid/v1", _env_file=None, **overrides)


def client(fake: FakeLLM) -> httpx.Client:
    return httpx.Client(transport=httpx.MockTransport(fake))


def test_the_model_fills_the_spec_through_a_tool_call(tmp_path):
    from assistant.report_llm import interpret

    fake = FakeLLM(lambda messages, tools, i: tool_call("ReportSpec", GOOD))
    reading = interpret("churn rate by value tier last quarter", as_of=AS_OF, settings=llm_settings(tmp_path),
                        http_client=client(fake))
    assert reading.parser == "llm" and reading.spec.metrics[0].value == "churn_rate"
    assert str(reading.spec.period.start) == "2025-07-01" and reading.spec.lang == "en"
    assert fake.offered_tools(0) == ["ReportSpec"]
    assert "2025-12-31" in fake.requests[0]["messages"][0]["content"]


def test_invalid_output_is_retried_once_with_the_error(tmp_path):
    from assistant.report_llm import interpret

    answers = [tool_call("ReportSpec", {"metrics": ["profit"]}), tool_call("ReportSpec", GOOD)]
    fake = FakeLLM(lambda messages, tools, i: answers[i])
    reading = interpret("利润按价值等级", as_of=AS_OF, settings=llm_settings(tmp_path), http_client=client(fake))
    assert reading.parser == "llm" and len(fake.requests) == 2
    assert "profit" in fake.requests[1]["messages"][-1]["content"]
    assert reading.spec.lang == "zh"


def test_twice_invalid_falls_back_to_the_offline_parser_and_says_so(tmp_path):
    from assistant.report_llm import interpret

    fake = FakeLLM(lambda messages, tools, i: text("I think churn is high.") if i == 0 else
                   tool_call("ReportSpec", {"metrics": ["churn_rate"], "dimensions": ["weather"]}))
    reading = interpret("上季度各价值等级的流失率", as_of=AS_OF, settings=llm_settings(tmp_path),
                        http_client=client(fake))
    assert len(fake.requests) == 2 and reading.parser == "offline"
    assert reading.spec.dimensions[0].value == "value_tier"
    assert any("离线" in note for note in reading.notes)


def test_a_failing_endpoint_falls_back_or_raises_as_configured(tmp_path):
    from assistant.errors import LLMUnavailable
    from assistant.report_llm import interpret

    fake = FakeLLM()
    fake.status = 500
    reading = interpret("churn rate by region", as_of=AS_OF, settings=llm_settings(tmp_path), http_client=client(fake))
    assert reading.parser == "offline" and reading.spec is not None
    assert any("offline parser" in note for note in reading.notes)
    with pytest.raises(LLMUnavailable):
        interpret("churn rate by region", as_of=AS_OF, http_client=client(fake),
                  settings=llm_settings(tmp_path, llm_fallback_offline=False))


def test_injection_from_the_question_or_the_model_never_reaches_sql(tmp_path, report_services):
    from assistant.report_llm import build_report

    evil = "x'); DROP TABLE subscribers; --"
    spec = {**GOOD, "filters": [{"field": "region", "op": "eq", "value": evil}]}
    fake = FakeLLM(lambda messages, tools, i: tool_call("ReportSpec", spec))
    engine = report_services.report_engine
    result = build_report(engine, question=f"churn rate by tier for region {evil}", settings=llm_settings(tmp_path),
                          http_client=client(fake))
    assert result.parser == "llm" and result.spec.filters[0].value == evil
    assert result.sql and "DROP" not in result.sql.upper() and evil not in result.sql
    assert result.rows == [] or all(row[0] != evil for row in result.rows)
    offline = build_report(engine, question=f"churn rate by region{evil} 1=1")
    assert "DROP" not in (offline.sql or "").upper() and "1=1" not in (offline.sql or "")


def test_run_report_tool_runs_through_the_toolkit(report_services):
    from assistant.tool_specs import TOOL_SPECS
    from assistant.tool_specs_reports import REPORT_TOOL_SPECS
    from assistant.toolkit import Toolkit, Turn

    specs = {**TOOL_SPECS, **{s.name: s for s in REPORT_TOOL_SPECS}}
    kit = Toolkit(report_services, Turn(role="admin"), specs=specs)
    ok = kit.execute("run_report", {"question": "top 3 agents by retention success rate this year"})
    assert ok.ok, ok.content
    assert ok.value["spec"]["limit"] == 3 and ok.value["chart"]["kind"] == "bar" and "sql" not in ok.value
    bad = kit.execute("run_report", {"spec": {"metrics": ["profit"]}})
    assert not bad.ok and "metrics" in bad.content
    both = kit.execute("run_report", {"question": "churn", "spec": GOOD})
    assert not both.ok and "exactly one" in both.content


def test_offline_answer_has_table_definitions_and_chart_data(report_services):
    from assistant.offline_reports import answer_report

    text_zh, data = answer_report(report_services, "上季度各价值等级的流失率", "zh", {"run_report"})
    assert "理解为" in text_zh and "| 价值等级 | 流失率 |" in text_zh and "客户流失率 =" in text_zh
    assert "换成按地区" in text_zh
    assert data["report"]["chart"]["kind"] == "bar" and data["report"]["columns"] == ["value_tier", "churn_rate"]
    text_en, data = answer_report(report_services.report_engine, "what's the weather", "en", {"run_report"})
    assert "churn rate" in text_en and "problems" in data
    refused, data = answer_report(report_services, "churn rate by region", "en", {"search_playbooks"})
    assert "supervisors" in refused and data["problems"][0]["tool"] == "run_report"


def test_offline_answer_through_the_toolkit_is_in_the_tool_trace(report_services):
    from assistant.offline_reports import answer_report
    from assistant.tool_specs import TOOL_SPECS
    from assistant.tool_specs_reports import REPORT_TOOL_SPECS
    from assistant.toolkit import Toolkit, Turn

    kit = Toolkit(report_services, Turn(role="admin"), specs={**TOOL_SPECS, **{s.name: s for s in REPORT_TOOL_SPECS}})
    text_en, data = answer_report(kit, "churn rate by region last quarter", "en", {"run_report"})
    assert "| region | churn rate |" in text_en and "To change it" in text_en
    assert [c.name for c in kit.turn.tool_calls] == ["run_report"] and data["report"]["chart"]["kind"] == "bar"
    text_none, data = answer_report(kit, "tell me a joke", "en", {"run_report"})
    assert "could not find a metric" in text_none and kit.turn.tool_calls[-1].ok is False


def test_the_model_may_ask_for_a_period_comparison(tmp_path):
    from assistant.report_llm import interpret

    wanted = {**GOOD, "compare": "previous_year", "sort": {"by": "churn_rate_change", "desc": False}}
    fake = FakeLLM(lambda messages, tools, i: tool_call("ReportSpec", wanted))
    reading = interpret("各价值等级的流失率同比下降了多少", as_of=AS_OF, settings=llm_settings(tmp_path),
                        http_client=client(fake))
    assert reading.parser == "llm" and reading.spec.compare == "previous_year"
    assert reading.spec.sort.by == "churn_rate_change"
    prompt = fake.requests[0]["messages"][0]["content"]
    assert "previous_period" in prompt and "同比" in prompt and "_change" in prompt


def test_offline_answer_to_a_comparison_shows_both_periods_and_the_change(report_services):
    from assistant.offline_reports import answer_report

    text, data = answer_report(report_services, "哪个渠道的续约率下降了", "zh", {"run_report"})
    assert "| 接触渠道 | 当月续约率 | 当月续约率（上期） | 当月续约率变化 |" in text
    assert "环比" in text and "本期 - 上期" in text
    report = data["report"]
    assert report["spec"]["compare"] == "previous_period" and report["chart"]["kind"] == "grouped_bar"
    if any(r[3] is not None for r in report["rows"]):
        assert "个百分点" in text
