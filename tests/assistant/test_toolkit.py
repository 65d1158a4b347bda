"""Toolkit.execute: validation, roles, errors as readable results, masking, citation tracking."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from assistant.config import Settings
from assistant.services import Services
from assistant.toolkit import Toolkit, Turn, short_id

PLAYBOOK = """---
title: Silent subscribers
topic: silent
lang: en
version: 1.0
---
# Silent subscribers
## Dispatch thresholds
A diamond-card subscriber with three days of zero activity is dispatched to a front-line manager.
"""


@pytest.fixture(scope="module")
def services(tmp_path_factory, minilm_embedder) -> Services:
    from tools.generate import write_generated
    from tools.subscribers import SubscriberStore

    data_dir = tmp_path_factory.mktemp("toolkit")
    folder = data_dir / "playbooks"
    folder.mkdir()
    (folder / "silent.md").write_text(PLAYBOOK, encoding="utf-8")
    settings = Settings(data_dir=data_dir, playbook_dirs=[folder], _env_file=None)
    services = Services(settings)
    from knowledge.base import KnowledgeBase

    services.__dict__["knowledge"] = KnowledgeBase(settings.knowledge_dir, minilm_embedder)
    services.knowledge.ingest([folder])
    write_generated(SubscriberStore(data_dir), rows=200, seed=3, progress=False)
    return services


def _toolkit(services, role="agent") -> Toolkit:
    return Toolkit(services, Turn(role=role))


def test_search_makes_passages_citable(services):
    kit = _toolkit(services)
    result = kit.execute("search_playbooks", {"query": "diamond card zero activity"})
    assert result.ok
    payload = json.loads(result.content)
    handle = payload["passages"][0]["cite_as"].strip("[]")
    assert handle in kit.turn.passages
    assert kit.turn.passages[handle].source == "silent.md"
    assert kit.turn.tool_calls[-1].ok


def test_unknown_tool_and_bad_arguments_are_readable_errors(services):
    kit = _toolkit(services)
    unknown = kit.execute("delete_everything", {})
    assert not unknown.ok and unknown.content.startswith("Error:") and "search_playbooks" in unknown.content
    bad_json = kit.execute("search_playbooks", "{not json")
    assert not bad_json.ok and "not valid JSON" in bad_json.content
    bad_args = kit.execute("search_playbooks", {"query": "", "k": 99})
    assert not bad_args.ok and "query" in bad_args.content and "k" in bad_args.content
    extra = kit.execute("search_playbooks", {"query": "x", "drop_table": True})
    assert not extra.ok and "drop_table" in extra.content
    assert [c.ok for c in kit.turn.tool_calls] == [False, False, False, False]


def test_role_is_enforced_when_the_tool_executes(services):
    kit = _toolkit(services, role="trainee")
    refused = kit.execute("get_subscriber", {"subscriber": "S0000001"})
    assert not refused.ok and "trainee" in refused.content
    assert "get_subscriber" not in {s.name for s in kit.available()}


def test_domain_errors_come_back_as_results_and_numbers_are_masked(services):
    kit = _toolkit(services)
    missing = kit.execute("get_subscriber", {"subscriber": "13800000000"})
    assert not missing.ok and "13800000000" not in missing.content
    assert "138****0000" in kit.turn.tool_calls[-1].args["subscriber"]
    page = services.store.find(limit=1)
    found = kit.execute("get_subscriber", {"subscriber": page.items[0].subscriber_id})
    assert found.ok
    assert kit.turn.focus_subscriber == page.items[0].subscriber_id
    raw = services.store.read_table("subscribers", ["msisdn"])["msisdn"].iloc[0]
    assert raw not in found.content


def test_short_ids_are_stable_prefixes():
    assert short_id("6b1f4a52-3c1e-4b8e-9a55-1f0c2d7e9a10") == "6b1f4a52"


def test_offer_messages_are_drafted_for_the_plan_and_masked(services):
    kit = _toolkit(services)
    sid = services.store.find(limit=1).items[0].subscriber_id
    result = kit.execute("draft_offer_messages", {"subscriber": sid, "channels": ["sms", "call"], "lang": "zh"})
    assert result.ok, result.content
    value = kit.turn.results["draft_offer_messages"]
    plan = kit.execute("recommend_offers", {"subscriber": sid}).value
    assert [m["measure_code"] for m in value["messages"]] == [o.measure_code for o in plan.offers[:1]]
    for message in value["messages"]:
        assert [d.channel for d in message["drafts"]] == ["sms", "call"]
    raw = services.store.read_table("subscribers", ["subscriber_id", "msisdn"]).set_index("subscriber_id").loc[sid, "msisdn"]
    assert raw not in result.content
    refused = _toolkit(services, role="trainee").execute("draft_offer_messages", {"subscriber": sid})
    assert not refused.ok
