"""Small English playbooks shared by the API and assistant tests (tests/data/playbooks/*.md)."""

from __future__ import annotations

from pathlib import Path

FOLDER = Path(__file__).resolve().parent / "data" / "playbooks"
SHARED_PLAYBOOKS = {path.name: path.read_text(encoding="utf-8") for path in sorted(FOLDER.glob("*.md"))}
