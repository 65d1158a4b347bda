"""The role-play tool for supervisors: practice sessions, scores and the most frequent flaws.

`roleplay_sessions` reads the sessions saved by tools/training/practice.py (CLI, API, web page and
chat). A tool call does not know the caller's key, so it is meant for supervisors and admins
(trainees see their own sessions with `GET /v1/training/sessions` or `retention train sessions`).
"""

from __future__ import annotations

from collections import Counter
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from assistant.tool_specs import ToolSpec
from tools.schemas import Citation


class RoleplaySessionsArgs(BaseModel):
    """Arguments of roleplay_sessions."""

    model_config = ConfigDict(extra="forbid")

    trainee: str | None = Field(None, max_length=128, description="Only this trainee's API key id.")
    scenario: Literal["renewal", "routine", "campus", "silent", "port_out", "complaint_recovery",
                      "new_customer"] | None = Field(None, description="Only this scenario.")
    limit: int = Field(20, ge=1, le=200, description="Most recent sessions considered.")


def roleplay_summary(services: Any, args: RoleplaySessionsArgs) -> dict[str, Any]:
    """Recent sessions, the mean score of the graded ones, and the flaws flagged most often."""
    from assistant.roleplay_llm import roleplay_store

    store = roleplay_store(services.settings)
    rows = [r for r in store.list(owner=args.trainee, limit=args.limit) if args.scenario in (None, r.scenario)]
    graded = [r for r in rows if r.total is not None]
    flags: Counter[str] = Counter()
    for row in graded:
        record = store.get(row.id)
        if record is not None and record.grade is not None:
            flags.update(dict.fromkeys(record.grade.flags, 1))
    return {
        "sessions": [r.model_dump(include={"id", "owner", "scenario", "lang", "status", "outcome", "total",
                                           "turns", "updated_at"}) for r in rows],
        "graded": len(graded),
        "mean_total": round(sum(r.total for r in graded) / len(graded), 1) if graded else None,
        "common_flags": [{"flag": flag, "sessions": n} for flag, n in flags.most_common(5)],
    }


def _sessions(services: Any, args: RoleplaySessionsArgs, turn: Any) -> tuple[Any, list[Citation]]:
    return roleplay_summary(services, args), []


ROLEPLAY_TOOL_SPECS: list[ToolSpec] = [
    ToolSpec(
        "roleplay_sessions",
        "Trainees' role-play practice sessions (synthetic customers, graded on the playbook's call-quality "
        "rubric): recent sessions with scenario, outcome and score, the mean score, and the flaws flagged "
        "most often (e.g. over_cap, missing_verification, base_price_cut, wrong_scenario). Use it to coach.",
        RoleplaySessionsArgs, _sessions,
    ),
]
