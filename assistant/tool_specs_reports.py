"""The `run_report` tool: supervisor KPIs by dimension over a period, from a question or a typed spec.

The lead registers REPORT_TOOL_SPECS beside TOOL_SPECS and grants the tool to supervisors and admins.
Inside the tool a question is read by the offline parser (deterministic, no second model call); a
model that wants full control passes `spec`, which pydantic validates before anything runs.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from assistant.tool_specs import ToolSpec
from tools.reports.spec import ReportSpec
from tools.schemas import Citation

MAX_ROWS_FOR_MODEL = 50  # the model reads at most this many rows; row_count says how many there were


class ReportArgs(BaseModel):
    """A report question, or a ReportSpec (exactly one)."""

    model_config = ConfigDict(extra="forbid")

    question: str | None = Field(None, min_length=1, max_length=500,
                                 description="The supervisor's question, zh or en, e.g. 上季度各价值等级的流失率.")
    spec: ReportSpec | None = Field(None, description="A report spec instead of a question: metrics, dimensions, "
                                                      "filters, period {start, end}, sort, limit.")
    lang: Literal["zh", "en"] | None = Field(None, description="Language of labels and definitions.")

    @model_validator(mode="after")
    def _one(self) -> ReportArgs:
        if (self.question is None) == (self.spec is None):
            raise ValueError("give exactly one of question or spec")
        return self


def report_payload(result: Any, max_rows: int = MAX_ROWS_FOR_MODEL) -> dict[str, Any]:
    """What a model (or the web page) reads of a ReportResult: rows capped, the chart as a spec."""
    from tools.reports.charts import chart_for

    body = result.model_dump(mode="json", exclude={"chart", "sql"})
    body["row_count"] = len(result.rows)
    body["rows"] = body["rows"][:max_rows]
    body["chart"] = chart_for(result).model_dump(mode="json")
    return body


def _run_report(services: Any, args: ReportArgs, turn: Any) -> tuple[Any, list[Citation]]:
    from assistant.report_llm import build_report

    result = build_report(services.report_engine, question=args.question, spec=args.spec, lang=args.lang)
    return report_payload(result), []


REPORT_TOOL_SPECS: list[ToolSpec] = [
    ToolSpec(
        "run_report",
        "Supervisor report: KPIs (churn rate, retention success rate, renewal rates, reach rate, silent "
        "activation rate, high-risk count, mean predicted risk, ARPU, retention cost, cost per retained, "
        "subscribers, contacts) by value tier, lifecycle stage, risk label, brand, plan, tenure band, "
        "region, channel, agent, month or scenario, filtered, over a period, sorted and limited. Pass the "
        "question, or a spec. Returns the interpreted spec, the table, each metric's definition and a chart "
        "spec; quote numbers only from it and show the interpretation so the supervisor can check it.",
        ReportArgs, _run_report,
    ),
]
