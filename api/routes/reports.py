"""`POST /v1/reports`: a supervisor report from a question (zh or en) or a spec, as JSON, CSV, XLSX or PNG.

Supervisors and admins only. The question is read into a typed ReportSpec (LLM structured output or the
offline parser); only the spec's closed vocabularies reach SQL text, values are bound as parameters.
A spec with unknown fields or names is a 422 whose body lists the valid ones.
"""

from __future__ import annotations

import json
from typing import Any, Literal

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.concurrency import run_in_threadpool

from api.deps import PrincipalDep, RecordsDep, ServicesDep, SettingsDep, request_id
from api.errors import APIError, error_body
from api.observability import stage
from api.routes.chat import ERRORS
from api.security import check_message, require_role
from tools.reports.spec import ReportResult, valid_fields

router = APIRouter(prefix="/v1", tags=["reports"])
REPORT_ROLES = ("supervisor", "admin")
MEDIA = {"csv": "text/csv; charset=utf-8", "png": "image/png",
         "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}
RESPONSES: dict[int | str, dict[str, Any]] = {
    **{k: v for k, v in ERRORS.items() if k in (401, 403, 413, 429, 502)},
    422: {**ERRORS[422], "description": "Malformed body, a question with no metric, or an invalid spec: the "
                                         "error lists the valid metrics, dimensions and filter ops."},
    200: {"description": "The ReportResult as JSON (chart PNG inline as base64), or the CSV / XLSX / PNG file.",
          "content": {"text/csv": {}, "image/png": {}, MEDIA["xlsx"]: {}}},
}


class ReportRequest(BaseModel):
    """A question or a spec (exactly one), the answer's language and the format."""

    question: str | None = Field(None, description="e.g. 上季度各价值等级的流失率 / churn rate by value tier last quarter")
    spec: dict[str, Any] | None = Field(None, description="A ReportSpec: metrics, dimensions, filters, period, "
                                                          "sort, limit.")
    lang: Literal["zh", "en"] | None = Field(None, description="Default: the question's language.")
    format: Literal["json", "csv", "xlsx", "png"] = "json"

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"question": "上季度各价值等级的流失率", "lang": "zh"},
        {"spec": {"metrics": ["retention_success_rate"], "dimensions": ["agent"],
                  "period": {"start": "2025-10-01", "end": "2025-12-31"},
                  "sort": {"by": "retention_success_rate", "desc": True}, "limit": 10}, "format": "csv"},
    ]})


def invalid_spec(exc: ValidationError) -> JSONResponse:
    """422 naming the spec fields at fault and listing every valid name."""
    errors = exc.errors()
    fields = sorted({"spec." + ".".join(map(str, e["loc"])) if e["loc"] else "spec" for e in errors})
    valid = valid_fields()
    message = ("; ".join(f"{f}: {e['msg']}" for f, e in zip(fields, errors))
               + f". Valid metrics: {', '.join(valid['metrics'])}; dimensions: {', '.join(valid['dimensions'])}")
    body = error_body("invalid_spec", message, fields)
    body["error"]["valid"] = valid
    return JSONResponse(body, 422)


@router.post("/reports", responses=RESPONSES, summary="A supervisor report (JSON, CSV, XLSX or PNG)")
async def create_report(body: ReportRequest, principal: PrincipalDep, services: ServicesDep, settings: SettingsDep,
                        records: RecordsDep) -> Any:
    """KPIs (domain.md 8.1) by dimension over a period; the interpreted spec and definitions come back with it."""
    require_role(principal, REPORT_ROLES, "run supervisor reports")
    if (body.question is None) == (body.spec is None):
        raise APIError(422, "validation_error", "give exactly one of question or spec", fields=["question", "spec"])
    if body.question is not None:
        check_message(body.question, settings.api_max_message_chars, field="question")

    def run() -> ReportResult:
        from assistant.report_llm import build_report
        from tools.reports.charts import with_chart

        with stage("tools"):
            result = build_report(services.report_engine, question=body.question, spec=body.spec, lang=body.lang,
                                  settings=settings)
            if body.format == "json":
                result = with_chart(result, png_base64=True)
        records.audit(principal.key_id, principal.role, "report.run", request_id=request_id(),
                      detail=json.dumps(result.spec.model_dump(mode="json"), ensure_ascii=False)[:1000])
        return result

    try:
        result = await run_in_threadpool(run)
    except ValidationError as exc:
        return invalid_spec(exc)
    if body.format == "json":
        return result.model_dump(mode="json")
    return Response(await run_in_threadpool(_file, result, body.format), media_type=MEDIA[body.format],
                    headers={"Content-Disposition": f'attachment; filename="report.{body.format}"'})


def _file(result: ReportResult, fmt: str) -> bytes:
    from tools.reports.charts import chart_for, render_png
    from tools.reports.export import to_csv, to_xlsx

    if fmt == "csv":
        return to_csv(result)
    if fmt == "xlsx":
        return to_xlsx(result)
    return render_png(chart_for(result), result.spec.lang)
