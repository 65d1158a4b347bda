"""Small English playbooks shared by the API and assistant tests (tests/data/playbooks/*.md)."""

from __future__ import annotations

from pathlib import Path

FOLDER = Path(__file__).resolve().parent / "data" / "playbooks"
SHARED_PLAYBOOKS = {path.name: path.read_text(encoding="utf-8") for path in sorted(FOLDER.glob("*.md"))}


def shipped_subset_kb(root: Path, stems: tuple[str, ...], embedder: object) -> object:
    """A real knowledge base (Chroma under `root`) over the shipped playbooks whose names start with `stems`."""
    import shutil

    from knowledge.base import KnowledgeBase

    shipped = Path(__file__).resolve().parents[1] / "knowledge" / "playbooks"
    folder = root / "playbooks"
    folder.mkdir(parents=True, exist_ok=True)
    for path in shipped.glob("*.md"):
        if path.name.split(".")[0] in stems:
            shutil.copy(path, folder / path.name)
    kb = KnowledgeBase(root / "knowledge", embedder)
    assert not kb.ingest([folder], progress=False).errors
    return kb
