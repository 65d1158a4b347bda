"""The LLM engine end to end: the real ChatOpenAI and LangChain agent loop against a scripted fake.

Most tests inject `httpx.MockTransport(fake)`; streaming, the 500 and the timeout go through a
live fake server on 127.0.0.1. Retrieval is a real knowledge base (MiniLM), subscribers are real
generated data; assertions are about outcomes: which tools ran with which arguments, what the
model was sent, what was cited and what the user got.
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import logging
import time
from typing import Any

import httpx
import pytest

from assistant.agent import Assistant, EngineAnswer
from assistant.config import Settings
from assistant.errors import LLMUnavailable
from assistant.llm import PLACEHOLDER_API_KEY, make_chat_model
from assistant.llm_agent import LLMEngine
from assistant.privacy import find_phones
from assistant.roles import REAL_DATA_TOOLS, allowed_tools
from assistant.tool_specs import TOOL_SPECS
from fakes import FakeLLM, LiveFakeLLM, call, text, tool_call, tool_calls, tool_results

OFFLINE_READY = importlib.util.find_spec("assistant.offline") is not None

MAX_MODEL_CALLS = Settings.model_fields["llm_max_steps"].default


def mock_engine(services: Any, fake: FakeLLM, **kwargs: Any) -> LLMEngine:
    """An LLMEngine whose ChatOpenAI talks to `fake` in process."""
    transport = httpx.MockTransport(fake)
    return LLMEngine(services.settings, http_client=httpx.Client(transport=transport),
                     http_async_client=httpx.AsyncClient(transport=transport), **kwargs)


def by_turn(*answers: Any):
    """A script answering model call i with answers[i] (None: the fake's default behaviour)."""
    def script(messages: list[dict], tools: list[dict], index: int) -> dict | None:
        return answers[index] if index < len(answers) else None
    return script


class StubOffline:
    """Stands in for the offline engine where only the fallback wiring is under test."""

    name = "offline"

    def answer(self, request: Any) -> EngineAnswer:
        return EngineAnswer(text="offline answer")


def last_tool_contents(body: dict) -> dict[str, str]:
    """tool_call_id -> content of the tool messages at the end of a request."""
    return {m["tool_call_id"]: m["content"] for m in tool_results(body["messages"])}


# --- the happy path ------------------------------------------------------------------------------
def test_correct_tool_and_arguments_then_an_answer_citing_a_retrieved_passage(make_services, subscriber_row):
    sid = subscriber_row["subscriber_id"]
    fake = FakeLLM(by_turn(tool_call("churn_risk", {"subscriber": sid}, id="c1"),
                           tool_call("search_playbooks", {"query": "contract renewal call"}, id="c2")))
    services = make_services()
    reply = Assistant(services, llm_engine=mock_engine(services, fake)).ask(f"How likely is {sid} to leave?")

    assert reply.engine == "llm"
    assert [(c.name, c.args, c.ok) for c in reply.tool_calls] == [
        ("churn_risk", {"subscriber": sid}, True),
        ("search_playbooks", {"query": "contract renewal call"}, True),
    ]
    assert reply.subscriber_id == sid
    risk = json.loads(last_tool_contents(fake.requests[1])["c1"])["result"]
    assert risk["subscriber_id"] == sid and "risk_label" in risk
    assert [c.source for c in reply.citations] == ["renewal.en.md"]
    assert f"[{reply.citations[0].id.replace('-', '')[:8]}]" in reply.answer
    assert len(fake.requests) == 3


def test_parallel_tool_calls_in_one_message_both_run(make_services, subscriber_row):
    sid = subscriber_row["subscriber_id"]
    fake = FakeLLM(first=tool_calls(call("get_subscriber", {"subscriber": sid}, id="p1"),
                                    call("search_playbooks", {"query": "repeated complaints churn warning"}, id="p2")))
    services = make_services()
    reply = Assistant(services, llm_engine=mock_engine(services, fake)).ask(f"{sid} keeps complaining, what now?")

    assert {(c.name, c.ok) for c in reply.tool_calls} == {("get_subscriber", True), ("search_playbooks", True)}
    answered = last_tool_contents(fake.requests[1])
    assert set(answered) == {"p1", "p2"}
    assert json.loads(answered["p1"])["result"]["subscriber_id"] == sid
    assert reply.citations[0].source == "complaints.en.md"


def test_history_of_the_conversation_is_sent_as_prior_messages(make_services, subscriber_row):
    sid = subscriber_row["subscriber_id"]
    fake = FakeLLM(lambda messages, tools, i: text(f"Answer number {i}."))
    services = make_services()
    assistant = Assistant(services, llm_engine=mock_engine(services, fake))
    first = assistant.ask("Tell me about this customer.", subscriber_id=sid)
    assistant.ask("And his points?", conversation_id=first.conversation_id)

    chat = [(m["role"], m["content"]) for m in fake.requests[1]["messages"][1:]]
    assert chat == [("user", "Tell me about this customer."), ("assistant", "Answer number 0."),
                    ("user", "And his points?")]
    assert sid in fake.requests[1]["messages"][0]["content"]  # the focus subscriber carried over


# --- what goes wrong with real models ------------------------------------------------------------
def test_a_hallucinated_tool_name_is_reported_back_and_the_model_recovers(make_services, subscriber_row):
    sid = subscriber_row["subscriber_id"]

    def script(messages: list[dict], tools: list[dict], index: int) -> dict | None:
        if index == 0:
            return tool_call("get_customer_lifetime_value", {"subscriber": sid}, id="h1")
        if index == 1 and messages[-1]["content"].startswith("Error: there is no tool named"):
            return tool_call("churn_risk", {"subscriber": sid}, id="h2")
        return text(f"{sid} is scored; see the risk label.")

    fake = FakeLLM(script)
    services = make_services()
    reply = Assistant(services, llm_engine=mock_engine(services, fake)).ask(f"Lifetime value of {sid}?")

    assert [(c.name, c.ok) for c in reply.tool_calls] == [("get_customer_lifetime_value", False), ("churn_risk", True)]
    error = last_tool_contents(fake.requests[1])["h1"]
    assert "get_customer_lifetime_value" in error and "churn_risk" in error  # names the real tools
    assert reply.answer == f"{sid} is scored; see the risk label."


@pytest.mark.parametrize(("arguments", "error"), [
    ('{"subscriber": "S0000', "not valid JSON"),           # truncated JSON
    ('{"customer": "S000000007"}', "invalid arguments for churn_risk"),  # valid JSON, wrong field
])
def test_bad_arguments_are_reported_back_and_the_loop_continues(make_services, subscriber_row, arguments, error):
    sid = subscriber_row["subscriber_id"]
    fake = FakeLLM(by_turn(tool_call("churn_risk", arguments, id="j1"),
                           tool_call("churn_risk", {"subscriber": sid}, id="j2"),
                           text("Recovered after fixing the arguments.")))
    services = make_services()
    reply = Assistant(services, llm_engine=mock_engine(services, fake)).ask(f"Risk of {sid}?")

    assert [(c.name, c.ok) for c in reply.tool_calls] == [("churn_risk", False), ("churn_risk", True)]
    assert error in reply.tool_calls[0].error
    sent = fake.requests[1]["messages"]
    assert sent[-2]["tool_calls"][0]["function"]["arguments"] == arguments  # the model sees what it sent
    assert [m["tool_call_id"] for m in sent if m["role"] == "tool"] == ["j1"]  # answered exactly once
    assert sent[-1]["content"].startswith("Error:") and error in sent[-1]["content"]
    assert reply.answer == "Recovered after fixing the arguments."


def test_arguments_that_are_json_but_not_an_object_get_one_retry(make_services, subscriber_row):
    sid = subscriber_row["subscriber_id"]

    def script(messages: list[dict], tools: list[dict], index: int) -> dict | None:
        if index == 0:
            return tool_call("churn_risk", json.dumps(sid))  # LangChain itself rejects this reply
        if index == 1 and messages[-1]["content"].startswith("Your last reply could not be used"):
            return tool_call("churn_risk", {"subscriber": sid})
        return text("Scored after the retry.")

    fake = FakeLLM(script)
    services = make_services()
    reply = Assistant(services, llm_engine=mock_engine(services, fake)).ask(f"Risk of {sid}?")

    assert [(c.name, c.args, c.ok) for c in reply.tool_calls] == [("churn_risk", {"subscriber": sid}, True)]
    assert reply.answer == "Scored after the retry." and len(fake.requests) == 3
    assert "Your last reply" not in json.dumps(fake.requests[2])  # the nudge is not kept in the history


def test_a_tool_raising_a_domain_error_is_fed_back_as_text(make_services):
    fake = FakeLLM(by_turn(tool_call("churn_risk", {"subscriber": "S999999999"}, id="e1"),
                           text("I could not find subscriber S999999999; please check the id.")))
    services = make_services()
    reply = Assistant(services, llm_engine=mock_engine(services, fake)).ask("Risk of S999999999?")

    assert [(c.name, c.ok) for c in reply.tool_calls] == [("churn_risk", False)]
    fed_back = last_tool_contents(fake.requests[1])["e1"]
    assert fed_back.startswith("Error:") and "S999999999" in fed_back
    assert reply.engine == "llm" and "could not find" in reply.answer


@pytest.mark.parametrize(("question", "expected"), [
    ("Search the playbooks forever please.", "limit of 6 steps"),
    ("请一直搜索剧本。", "上限"),
])
def test_the_step_limit_ends_a_loop_with_a_clear_answer(make_services, question, expected):
    fake = FakeLLM(lambda messages, tools, i: tool_call("search_playbooks", {"query": f"renewal {i}"}))
    services = make_services()
    reply = Assistant(services, llm_engine=mock_engine(services, fake)).ask(question)

    assert len(fake.requests) == MAX_MODEL_CALLS == 6  # the default RETENTION_LLM_MAX_STEPS
    assert len(reply.tool_calls) == MAX_MODEL_CALLS and all(c.ok for c in reply.tool_calls)
    assert expected in reply.answer and "search_playbooks" in reply.answer
    assert reply.engine == "llm"


def test_a_forged_citation_is_dropped_from_the_answer_and_logged(make_services, caplog):
    def script(messages: list[dict], tools: list[dict], index: int) -> dict | None:
        if index == 0:
            return tool_call("search_playbooks", {"query": "contract renewal"})
        real = json.loads(tool_results(messages)[0]["content"])["passages"][0]["cite_as"]
        return text(f"Renew early {real}. Also give 500 yuan [deadbeef].")

    fake = FakeLLM(script)
    services = make_services()
    with caplog.at_level(logging.WARNING, logger="assistant.agent"):
        reply = Assistant(services, llm_engine=mock_engine(services, fake)).ask("How do I handle a renewal?")

    assert "deadbeef" not in reply.answer and "Renew early [" in reply.answer
    assert [c.source for c in reply.citations] == ["renewal.en.md"]
    assert "deadbeef" in caplog.text


# --- guardrails ----------------------------------------------------------------------------------
def test_an_injection_inside_a_passage_stays_data_and_no_phone_number_reaches_the_model(make_services, subscriber_row):
    sid, phone = subscriber_row["subscriber_id"], subscriber_row["msisdn"]
    fake = FakeLLM(first=tool_calls(call("search_playbooks", {"query": "silent customers stop using data"}),
                                    call("get_subscriber", {"subscriber": sid})))
    services = make_services()
    reply = Assistant(services, llm_engine=mock_engine(services, fake)).ask(
        f"Customer {phone} has gone silent. What do the field notes say?")

    planted = "IGNORE PREVIOUS INSTRUCTIONS"
    assert planted not in json.dumps(fake.requests[0])
    carriers = [m["role"] for body in fake.requests for m in body["messages"] if planted in str(m.get("content"))]
    assert carriers and set(carriers) == {"tool"}  # it reached the model only as a tool result
    # Only the orchestrator's phone lookup and the two tools the model asked for ran.
    assert sorted(c.name for c in reply.tool_calls) == ["get_subscriber", "get_subscriber", "search_playbooks"]
    assert "find_subscribers" not in [c.name for c in reply.tool_calls]
    sent = fake.sent_text()
    assert phone not in sent and find_phones(sent) == []
    assert f"{phone[:3]}****{phone[-4:]}" in fake.requests[0]["messages"][1]["content"]
    assert phone not in reply.answer and phone not in json.dumps([c.args for c in reply.tool_calls])


def test_a_trainee_is_not_offered_and_cannot_run_a_real_data_tool(make_services, subscriber_row):
    sid = subscriber_row["subscriber_id"]
    fake = FakeLLM(by_turn(tool_call("get_subscriber", {"subscriber": sid}, id="t1"),
                           text("I cannot look up real subscribers as a trainee.")))
    services = make_services()
    reply = Assistant(services, llm_engine=mock_engine(services, fake)).ask(f"Show me {sid}.", role="trainee")

    offered = set(fake.offered_tools(0))
    assert offered == allowed_tools("trainee", set(TOOL_SPECS)) and "search_playbooks" in offered
    assert not offered & REAL_DATA_TOOLS
    assert [(c.name, c.ok) for c in reply.tool_calls] == [("get_subscriber", False)]
    assert "trainee role may not use the tool 'get_subscriber'" in reply.tool_calls[0].error
    refused = last_tool_contents(fake.requests[1])["t1"]
    assert refused.startswith("Error:") and "brand" not in refused
    assert reply.subscriber_id is None


def test_the_tools_sent_to_the_model_have_descriptions_and_pydantic_schemas(make_services):
    fake = FakeLLM(lambda messages, tools, i: text("ok"))
    services = make_services()
    Assistant(services, llm_engine=mock_engine(services, fake)).ask("hello", role="admin")

    tools = {t["function"]["name"]: t for t in fake.requests[0]["tools"]}
    assert set(tools) == set(TOOL_SPECS)
    for name, spec in TOOL_SPECS.items():
        function = tools[name]["function"]
        assert tools[name]["type"] == "function" and function["description"] == spec.description
        assert set(function["parameters"]["properties"]) == set(spec.args.model_json_schema()["properties"])
    assert tools["search_playbooks"]["function"]["parameters"]["required"] == ["query"]
    assert tools["churn_risk"]["function"]["parameters"]["properties"]["subscriber"]["type"] == "string"
    assert "You are Retention Assistant" in fake.requests[0]["messages"][0]["content"]


def test_make_chat_model_uses_the_injected_client_and_a_placeholder_key(make_services):
    seen: list[httpx.Request] = []
    fake = FakeLLM(lambda messages, tools, i: text("pong"))

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return fake(request)

    services = make_services(llm_model="qwen2.5-7b-instruct", llm_temperature=0.0)
    model = make_chat_model(services.settings, http_client=httpx.Client(transport=httpx.MockTransport(handler)))
    assert model.invoke("ping").content == "pong"
    assert str(seen[0].url) == "http://llm.invalid/v1/chat/completions"
    assert seen[0].headers["authorization"] == f"Bearer {PLACEHOLDER_API_KEY}"
    assert fake.requests[0]["model"] == "qwen2.5-7b-instruct" and fake.requests[0]["temperature"] == 0.0


# --- endpoint failures (live server) -------------------------------------------------------------
@pytest.fixture()
def live_fake():
    """A FakeLLM served on 127.0.0.1; yields (fake, base_url)."""
    fake = FakeLLM()
    with LiveFakeLLM(fake) as server:
        yield fake, server.base_url


def test_a_500_raises_llm_unavailable_when_fallback_is_off(make_services, live_fake):
    fake, url = live_fake
    fake.status = 500
    services = make_services(llm_base_url=url, llm_fallback_offline=False)
    with pytest.raises(LLMUnavailable, match="HTTP 500"):
        Assistant(services, llm_engine=LLMEngine(services.settings)).ask("hello")
    assert len(fake.requests) == 2  # one retry, then a clear error


def test_a_500_falls_back_to_the_offline_engine_when_configured(make_services, live_fake):
    fake, url = live_fake
    fake.status = 500
    services = make_services(llm_base_url=url, llm_fallback_offline=True)
    reply = Assistant(services, llm_engine=LLMEngine(services.settings), offline_engine=StubOffline()).ask("hello")
    assert reply.engine == "offline" and reply.answer == "offline answer"


@pytest.mark.xfail(not OFFLINE_READY, reason="assistant/offline.py is not written yet", strict=False)
def test_a_500_falls_back_to_the_real_offline_engine(make_services, live_fake):
    fake, url = live_fake
    fake.status = 500
    services = make_services(llm_base_url=url)  # the orchestrator builds the LLM engine itself
    reply = Assistant(services).ask("What does the playbook say about contract renewal?")
    assert reply.engine == "offline" and reply.answer
    assert len(fake.requests) == 2


@pytest.mark.parametrize("fallback", [False, True])
def test_a_timeout_is_a_clear_error_or_a_fallback(make_services, live_fake, fallback):
    fake, url = live_fake
    fake.delay = 10.0
    services = make_services(llm_base_url=url, llm_timeout=1.0, llm_fallback_offline=fallback)
    assistant = Assistant(services, llm_engine=LLMEngine(services.settings), offline_engine=StubOffline())
    started = time.perf_counter()
    if fallback:
        assert assistant.ask("hello").engine == "offline"
    else:
        with pytest.raises(LLMUnavailable, match=r"did not answer within 1s"):
            assistant.ask("hello")
    assert time.perf_counter() - started < 8  # two 1 s attempts and a short back-off, not 10 s each


def test_an_unreachable_endpoint_is_a_clear_error(make_services, unused_port):
    services = make_services(llm_base_url=f"http://127.0.0.1:{unused_port}/v1", llm_fallback_offline=False)
    with pytest.raises(LLMUnavailable, match="cannot reach the LLM endpoint"):
        Assistant(services, llm_engine=LLMEngine(services.settings)).ask("hello")


@pytest.fixture()
def unused_port() -> int:
    """A loopback port nothing listens on."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- streaming -----------------------------------------------------------------------------------
def test_streaming_sends_tool_events_citations_then_tokens_that_make_the_answer(make_services, live_fake):
    fake, url = live_fake

    def script(messages: list[dict], tools: list[dict], index: int) -> dict | None:
        if index == 0:
            return tool_call("search_playbooks", {"query": "contract renewal"})
        handle = json.loads(tool_results(messages)[0]["content"])["passages"][0]["cite_as"]
        return text(f"Call the customer before the contract ends {handle} and confirm the renewal in writing "
                    "(a number the model made up, 13812345678, must not leak).")

    fake.script = script
    services = make_services(llm_base_url=url)
    assistant = Assistant(services, llm_engine=LLMEngine(services.settings))

    async def collect() -> list[Any]:
        return [event async for event in assistant.stream("How do I handle a contract renewal?")]

    events = asyncio.run(collect())
    kinds = [e.event for e in events]
    assert kinds[0] == "tool" and events[0].data["name"] == "search_playbooks"
    assert kinds.index("citations") < kinds.index("token") and kinds[-1] == "done"
    tokens = [e.data for e in events if e.event == "token"]
    done = events[-1].data
    assert len(tokens) > 5 and "".join(tokens) == done["answer"]
    assert "13812345678" not in "".join(tokens) and "138****5678" in done["answer"]
    assert done["answer"].startswith("Call the customer") and done["engine"] == "llm"
    assert [c["source"] for c in done["citations"]] == ["renewal.en.md"]
    candidates = next(e.data for e in events if e.event == "citations")
    assert done["citations"][0]["id"] in {c["id"] for c in candidates}
    assert all(body.get("stream") for body in fake.requests) and len(fake.requests) == 2


def test_streaming_a_failing_endpoint_falls_back_or_reports_an_error(make_services, live_fake):
    fake, url = live_fake
    fake.status = 500
    results = {}
    for fallback in (True, False):
        services = make_services(llm_base_url=url, llm_fallback_offline=fallback)
        assistant = Assistant(services, llm_engine=LLMEngine(services.settings), offline_engine=StubOffline())

        async def collect() -> list[Any]:
            return [event async for event in assistant.stream("hello")]

        results[fallback] = asyncio.run(collect())
    assert results[True][-1].event == "done" and results[True][-1].data["engine"] == "offline"
    assert [e.event for e in results[False]] == ["error"] and "HTTP 500" in results[False][0].data["message"]


def test_streaming_keeps_the_guards_bad_arguments_and_the_step_limit(make_services, subscriber_row):
    sid = subscriber_row["subscriber_id"]

    def script(messages: list[dict], tools: list[dict], index: int) -> dict | None:
        if index == 0:
            return tool_call("churn_risk", json.dumps(sid))  # streamed: kept aside as an invalid call
        return tool_call("search_playbooks", {"query": f"renewal {index}"})

    fake = FakeLLM(script)
    services = make_services()
    assistant = Assistant(services, llm_engine=mock_engine(services, fake))

    async def collect() -> list[Any]:
        return [event async for event in assistant.stream("Keep searching.")]

    events = asyncio.run(collect())
    tools = [e.data for e in events if e.event == "tool"]
    tokens = [e.data for e in events if e.event == "token"]
    done = events[-1].data
    assert len(fake.requests) == MAX_MODEL_CALLS and all(body.get("stream") for body in fake.requests)
    assert [t["ok"] for t in tools] == [False] + [True] * (MAX_MODEL_CALLS - 1)
    assert "JSON object" in tools[0]["error"]
    assert "JSON object" in tool_results(fake.requests[1]["messages"])[0]["content"]
    assert tokens == [done["answer"]] and "limit of 6 steps" in done["answer"]
    assert done["tool_calls"] == tools


def test_offline_stream_sends_sources_while_the_answer_is_still_being_composed(make_services):
    """The engine thread is held after composing until the consumer has the `citations` event: the
    stream must deliver sources from inside the turn, not after it (else the gate times out)."""
    import threading

    services = make_services(llm_base_url=None)
    assistant = Assistant(services)
    gate, real = threading.Event(), assistant.offline.answer

    def held(request: Any) -> Any:
        answer = real(request)
        assert gate.wait(10), "the citations event did not reach the consumer before the answer was done"
        return answer

    assistant.offline.answer = held  # the real engine, paused at its end

    async def collect() -> list[Any]:
        events = []
        async for event in assistant.stream("What do the playbooks say about contract renewal?"):
            events.append(event)
            if event.event == "citations":
                gate.set()
        return events

    events = asyncio.run(collect())
    kinds = [e.event for e in events]
    assert kinds[0] in ("citations", "tool") and kinds[-1] == "done" and "error" not in kinds
    assert kinds.count("citations") == 1 and kinds.index("citations") < kinds.index("token")
    assert any(e.event == "tool" and e.data["name"] == "search_playbooks" for e in events)
    assert events[-1].data["engine"] == "offline" and events[-1].data["citations"]


def test_the_step_limit_and_retries_come_from_the_settings(make_services):
    fake = FakeLLM(lambda messages, tools, i: tool_call("search_playbooks", {"query": f"renewal {i}"}))
    services = make_services(llm_max_steps=2, llm_max_retries=3)
    reply = Assistant(services, llm_engine=mock_engine(services, fake)).ask("Search the playbooks forever please.")
    assert len(fake.requests) == 2 and "limit of 2 steps" in reply.answer
    assert make_chat_model(services.settings).max_retries == 3
