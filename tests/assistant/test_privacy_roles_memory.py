"""Masking, role rules and conversation memory."""

from __future__ import annotations

import pytest

from assistant.memory import ConversationStore
from assistant.privacy import find_phones, mask_phone, mask_text
from assistant.roles import ToolNotAllowed, allowed_tools, check_allowed


def test_phone_and_id_numbers_are_masked_in_free_text():
    text = "客户13812345678（身份证110101199003071234）说 +86 139-1234-5678 也是他的"
    masked = mask_text(text)
    assert "13812345678" not in masked and "110101199003071234" not in masked
    assert "138****5678" in masked and "139****5678" in masked
    assert find_phones(text) == ["13812345678", "13912345678"]
    assert mask_phone("13812345678") == "138****5678"


def test_ordinary_numbers_are_not_masked():
    assert mask_text("ARPU 180 元，合约 70 天后到期，ACPU 300") == "ARPU 180 元，合约 70 天后到期，ACPU 300"


def test_trainee_may_not_read_real_subscribers():
    with pytest.raises(ToolNotAllowed):
        check_allowed("trainee", "get_subscriber")
    check_allowed("trainee", "search_playbooks")
    check_allowed("admin", "anything")
    assert "churn_risk" not in allowed_tools("trainee", {"churn_risk", "search_playbooks"})


def test_conversations_keep_messages_focus_and_owner(tmp_path):
    store = ConversationStore(f"sqlite:///{tmp_path / 'c.sqlite'}")
    convo = store.get_or_create(None, owner="alice", role="agent")
    store.append(convo.id, "user", "S000001 怎么处理?")
    store.append(convo.id, "assistant", "先看风险", {"citations": []})
    store.set_focus(convo.id, "S000001")
    again = ConversationStore(f"sqlite:///{tmp_path / 'c.sqlite'}")  # a new process sees the same
    loaded = again.get(convo.id, owner="alice")
    assert loaded is not None and loaded.focus_subscriber == "S000001"
    assert [m.role for m in loaded.messages] == ["user", "assistant"]
    assert loaded.title == "S000001 怎么处理?"
    assert again.get(convo.id, owner="bob") is None
    bobs = again.get_or_create(convo.id, owner="bob", role="agent")  # cannot hijack alice's id
    assert bobs.id != convo.id
    assert [c.id for c in again.list("alice")] == [convo.id]
    assert not again.delete(convo.id, owner="bob")
    assert again.delete(convo.id, owner="alice") and again.get(convo.id) is None
