"""Which tools each role may run. Enforced when a tool executes, not only in the prompt."""

from __future__ import annotations

from assistant.schemas import Role

# Tools that read real subscriber records (ids, phones, usage): never for trainees.
REAL_DATA_TOOLS = {"get_subscriber", "find_subscribers", "churn_risk", "high_risk_list"}

ROLE_TOOLS: dict[str, set[str]] = {
    "agent": {
        "search_playbooks", "get_subscriber", "find_subscribers", "segment_snapshot", "churn_risk",
        "recommend_offers", "draft_call_script", "draft_offer_messages", "high_risk_list",
        "training_lesson", "training_quiz",
    },
    "supervisor": {
        "search_playbooks", "get_subscriber", "find_subscribers", "segment_snapshot", "churn_risk",
        "recommend_offers", "draft_call_script", "draft_offer_messages", "high_risk_list", "run_report",
        "training_lesson", "training_quiz", "roleplay_sessions",
    },
    # Trainees practise on playbooks and synthetic snapshots they supply, never on real records.
    "trainee": {"search_playbooks", "segment_snapshot", "recommend_offers", "draft_call_script",
                "training_lesson", "training_quiz"},
    "admin": set(),  # filled below: everything
}


class ToolNotAllowed(PermissionError):
    """A role asked for a tool it may not run."""


def allowed_tools(role: Role, available: set[str]) -> set[str]:
    """The tools of `available` that `role` may run."""
    if role == "admin":
        return set(available)
    return ROLE_TOOLS.get(role, set()) & set(available)


def check_allowed(role: Role, tool: str) -> None:
    """Raise ToolNotAllowed unless `role` may run `tool`."""
    if role == "admin":
        return
    if tool not in ROLE_TOOLS.get(role, set()):
        raise ToolNotAllowed(f"the {role} role may not use the tool {tool!r}")
