"""`POST /v1/reports`: roles, questions and specs, formats, and the 422 that lists the valid names."""

from __future__ import annotations

import base64

import pytest

from tests.api.conftest import auth

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
SPEC = {"metrics": ["subscribers", "high_risk_count"], "dimensions": ["value_tier"]}


def post(client, keys, role, body):
    return client.post("/v1/reports", json=body, headers=auth(keys[role]))


def test_supervisor_question_returns_the_result_with_an_inline_png(client, keys):
    response = post(client, keys, "supervisor", {"question": "上季度各价值等级的流失率"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["columns"] == ["value_tier", "churn_rate"] and body["rows"]
    assert body["spec"]["lang"] == "zh" and body["parser"] == "offline" and body["interpretation"]
    assert "churn_rate" in body["definitions"]
    assert body["chart"]["spec"]["kind"] == "bar"
    assert base64.b64decode(body["chart"]["png_base64"]).startswith(PNG_MAGIC)


@pytest.mark.parametrize("fmt, media, magic", [
    ("csv", "text/csv", b"\xef\xbb\xbf"), ("xlsx", "application/vnd.openxmlformats", b"PK"), ("png", "image/png", PNG_MAGIC),
])
def test_admin_spec_in_each_file_format(client, keys, fmt, media, magic):
    response = post(client, keys, "admin", {"spec": SPEC, "format": fmt, "lang": "en"})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith(media)
    assert response.content.startswith(magic)
    assert f"report.{fmt}" in response.headers["content-disposition"]


@pytest.mark.parametrize("role", ["agent", "trainee"])
def test_agents_and_trainees_may_not_run_reports(client, keys, role):
    response = post(client, keys, role, {"question": "churn rate by region"})
    assert response.status_code == 403 and response.json()["error"]["code"] == "forbidden"


@pytest.mark.parametrize("spec, field", [
    ({"metrics": ["profit"]}, "spec.metrics.0"),
    ({"metrics": ["churn_rate"], "dimensions": ["weather"]}, "spec.dimensions.0"),
    ({"metrics": ["churn_rate"], "colour": "red"}, "spec.colour"),
])
def test_an_invalid_spec_is_422_listing_the_valid_names(client, keys, spec, field):
    response = post(client, keys, "supervisor", {"spec": spec})
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "invalid_spec" and field in error["fields"]
    assert "churn_rate" in error["valid"]["metrics"] and "value_tier" in error["valid"]["dimensions"]
    assert "between" in error["valid"]["filter_ops"]


def test_question_and_spec_are_exclusive_and_one_is_needed(client, keys):
    for body in ({"question": "churn rate", "spec": SPEC}, {}, {"lang": "zh"}):
        response = post(client, keys, "supervisor", body)
        assert response.status_code == 422, body
    response = post(client, keys, "supervisor", {"question": "churn rate", "colour": "red"})
    assert response.status_code == 422 and "colour" in response.json()["error"]["fields"]


def test_a_question_without_a_metric_says_what_can_be_asked(client, keys):
    response = post(client, keys, "supervisor", {"question": "what's the weather like?"})
    assert response.status_code == 422
    assert "churn rate" in response.json()["error"]["message"]


def test_injection_in_a_question_never_reaches_sql(client, keys):
    question = "churn rate by region where brand = 'x'; DROP TABLE subscribers; --"
    response = post(client, keys, "supervisor", {"question": question})
    assert response.status_code == 200, response.text
    sql = response.json()["sql"]
    assert sql and "DROP" not in sql.upper() and "'x'" not in sql


def test_supervisor_sees_each_trainees_mean_training_score(client, keys):
    from tests.api.test_api_training import _play

    for role, name, scenario, seed in (("trainee", "renewal-en-2-flawed", "renewal", 2),
                                       ("trainee", "silent-en-2-good", "silent", 2),
                                       ("agent", "routine-en-3-good", "routine", 3)):
        sid, _ = _play(client, keys[role], name, scenario, seed, "en")
        assert client.post(f"/v1/training/roleplay/{sid}/finish", headers=auth(keys[role])).status_code == 200
    response = post(client, keys, "supervisor", {"question": "各学员的平均训练得分"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["columns"] == ["trainee", "training_score"] and body["chart"]["spec"]["kind"] == "bar"
    assert "训练得分" in body["definitions"]["training_score"] and "全部已评分的练习" in " ".join(body["notes"])
    scores = dict(map(tuple, body["rows"]))
    listed = client.get("/v1/training/sessions", params={"limit": 200}, headers=auth(keys["supervisor"])).json()
    for role in ("trainee", "agent"):
        me = client.get("/v1/me", headers=auth(keys[role])).json()["key_id"]
        totals = [s["total"] for s in listed if s["owner"] == me and s["status"] == "finished"]
        assert len(totals) >= (2 if role == "trainee" else 1)
        assert scores[me] == pytest.approx(sum(totals) / len(totals), abs=0.051)
    assert set(scores) == {s["owner"] for s in listed if s["status"] == "finished"}


def test_reports_are_in_the_openapi_document(client):
    document = client.get("/openapi.json").json()
    assert "post" in document["paths"]["/v1/reports"]
    assert document["components"]["schemas"]["ReportRequest"]["examples"]


# --- the web page draws a report answer --------------------------------------------------------
from tests.api.test_web_page import SHOTS, browser_context, page  # noqa: E402,F401  (browser fixtures)


def test_web_page_draws_report_charts_and_table(client, keys, live_url, page):  # noqa: F811
    import json

    payloads = {}
    for name, question in {"bar": "各价值等级的客户数", "stacked": "subscribers by value tier and brand",
                           "line": "churn rate by month over the last 6 months",
                           "compare": "哪个渠道的续约率下降了"}.items():
        body = post(client, keys, "supervisor", {"question": question}).json()
        payloads[name] = {"columns": body["columns"], "rows": body["rows"], "chart": body["chart"]["spec"]}
    assert payloads["stacked"]["chart"]["kind"] == "stacked_bar" and payloads["line"]["chart"]["kind"] == "line"
    page.goto(live_url)
    drawn = page.evaluate("""async (payloads) => {
      document.querySelectorAll('dialog[open]').forEach((d) => d.close());
      const { reportBlock } = await import('/report.js');
      const i18n = await import('/i18n.js');
      const out = {};
      for (const lang of ['zh', 'en']) {
        i18n.setLang(lang);
        for (const [name, report] of Object.entries(payloads)) {
          const el = reportBlock(report);
          el.id = `report-${name}-${lang}`;
          document.body.append(el);
          out[`${name}-${lang}`] = {
            bars: el.querySelectorAll('rect.bar').length, lines: el.querySelectorAll('polyline').length,
            rows: el.querySelectorAll('tbody tr').length, head: [...el.querySelectorAll('th')].map((x) => x.textContent),
            title: el.querySelector('h3').textContent,
          };
        }
      }
      return out;
    }""", payloads)
    page.locator("#report-stacked-en").screenshot(path=str(SHOTS / "report-stacked.png"))
    assert drawn["bar-zh"]["bars"] == len(payloads["bar"]["rows"]) and drawn["bar-zh"]["head"][0] == "价值等级"
    assert drawn["bar-en"]["head"] == ["value tier", "Subscribers"]
    assert drawn["stacked-en"]["bars"] >= len({r[0] for r in payloads["stacked"]["rows"]})
    assert drawn["line-en"]["lines"] == 1 and drawn["line-en"]["rows"] == len(payloads["line"]["rows"])
    assert "Churn rate" in drawn["line-en"]["title"] and "流失率" in drawn["line-zh"]["title"]
    assert payloads["compare"]["chart"]["kind"] == "grouped_bar"
    assert drawn["compare-zh"]["head"] == ["接触渠道", "当月续约率", "当月续约率（上期）", "当月续约率变化"]
    assert drawn["compare-en"]["head"][3] == "Same-month renewal rate change"
    assert drawn["compare-en"]["rows"] == len(payloads["compare"]["rows"])
    drawn_values = sum(v is not None for r in payloads["compare"]["rows"] for v in r[1:3])
    assert drawn["compare-en"]["bars"] == drawn_values  # this period's bar beside the previous one's
    assert json.dumps(drawn)  # everything came back as plain data


def test_with_an_llm_configured_the_question_is_read_by_the_model(api_data_dir, minilm_embedder, keys):
    """The model at a real loopback endpoint fills the spec; a 500 from it falls back to the offline parser."""
    from fastapi.testclient import TestClient

    from api.app import create_app
    from tests.api.conftest import make_services, make_settings
    from tests.fakes import FakeLLM, LiveFakeLLM, tool_call

    spec = {"metrics": ["arpu"], "dimensions": ["brand"], "period": {"start": "2025-10-01", "end": "2025-12-31"}}
    fake = FakeLLM(lambda messages, tools, i: tool_call("ReportSpec", spec))
    with LiveFakeLLM(fake) as live:
        settings = make_settings(api_data_dir, api_rate_limit_per_minute=10_000).model_copy(
            update={"llm_base_url": live.base_url})
        with TestClient(create_app(services=make_services(settings, minilm_embedder))) as llm_client:
            body = post(llm_client, keys, "supervisor", {"question": "ARPU per brand last quarter", "lang": "en"}).json()
            assert body["parser"] == "llm" and body["columns"] == ["brand", "arpu"]
            assert fake.offered_tools(0) == ["ReportSpec"]
            fake.status = 500
            body = post(llm_client, keys, "supervisor", {"question": "ARPU per brand last quarter"}).json()
            assert body["parser"] == "offline" and any("offline parser" in n for n in body["notes"])


def test_which_channels_renewals_fell_is_compared_with_the_previous_period(client, keys):
    response = post(client, keys, "supervisor", {"question": "哪个渠道的续约率下降了"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["spec"]["compare"] == "previous_period"
    assert body["spec"]["sort"] == {"by": "renewal_rate_change", "desc": False}
    assert body["columns"] == ["channel", "renewal_rate", "renewal_rate_previous", "renewal_rate_change"]
    changes = [row[3] for row in body["rows"]]
    known = [c for c in changes if c is not None]
    assert body["rows"] and changes == sorted(known) + [None] * (len(changes) - len(known))
    for _, now, before, change in body["rows"]:
        if change is not None:
            assert change == pytest.approx(now - before, abs=1e-4)
    assert body["previous_period"]["end"] < body["period"]["start"]
    assert body["previous_period"]["start"] in body["interpretation"] and "本期 - 上期" in body["definitions"]["comparison"]
    assert body["unknown"] == [] and body["chart"]["spec"]["kind"] == "grouped_bar"
    assert base64.b64decode(body["chart"]["png_base64"]).startswith(PNG_MAGIC)
    csv = post(client, keys, "supervisor", {"question": "which channel's renewals fell", "format": "csv"})
    assert csv.status_code == 200 and "renewal rate change" in csv.content.decode("utf-8-sig").splitlines()[0]
