"""Files -> clean text -> chunks -> embeddings -> upsert, incrementally, with a report.

A file is prepared completely (read, cleaned, chunked, embedded) before anything is written, so
a corrupt, empty, binary or oversized file is reported and skipped and never touches the index.
"""

from __future__ import annotations

import hashlib
import logging
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Iterable, Literal

from pydantic import BaseModel, Field

from knowledge.chunking import chunk_text
from knowledge.errors import PlaybookError
from knowledge.loaders import SUPPORTED, load_document
from knowledge.manifest import ChunkRow, FileRow
from knowledge.normalize import clean_text, index_form

if TYPE_CHECKING:
    from knowledge.base import KnowledgeBase

log = logging.getLogger(__name__)
_NAMESPACE = uuid.UUID("6b1f4a52-3c1e-4b8e-9a55-1f0c2d7e9a10")


class FileOutcome(BaseModel):
    """What happened to one file."""

    source: str
    path: str
    status: Literal["ingested", "unchanged", "skipped", "error", "removed"]
    chunks: int = 0
    reason: str | None = None


class IngestReport(BaseModel):
    """Summary of one ingest run (the `retention ingest --json` document)."""

    files: int = Field(0, description="Files (re)indexed in this run.")
    chunks: int = Field(0, description="Chunks written in this run.")
    unchanged: int = 0
    skipped: list[FileOutcome] = Field(default_factory=list)
    errors: list[FileOutcome] = Field(default_factory=list)
    removed: list[str] = Field(default_factory=list)
    embedded: int = Field(0, description="Chunks whose vectors were computed (not cached).")
    total_chunks: int = 0
    seconds: float = 0.0
    details: list[FileOutcome] = Field(default_factory=list)


@dataclass
class PreparedFile:
    """A file fully read, cleaned and chunked, ready to embed and write."""

    row: FileRow
    chunks: list[ChunkRow]
    embed_texts: list[str]


def discover(paths: Iterable[Path]) -> tuple[list[Path], list[FileOutcome]]:
    """Expand folders into supported files; explicit files of other types are reported."""
    found: list[Path] = []
    problems: list[FileOutcome] = []
    for path in paths:
        path = Path(path)
        if path.is_dir():
            found.extend(
                p for p in sorted(path.rglob("*"))
                if p.is_file() and p.suffix.lower() in SUPPORTED and not p.name.startswith(".")
            )
        elif path.is_file():
            found.append(path)
        else:
            problems.append(FileOutcome(source=path.name, path=str(path), status="error",
                                        reason="no such file or folder"))
    return found, problems


def chunk_id(source: str, text: str, occurrence: int) -> str:
    """Stable id from the source name and the chunk's content hash (uuid5)."""
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    return str(uuid.uuid5(_NAMESPACE, f"{source}\x00{digest}\x00{occurrence}"))


def prepare(path: Path, data: bytes, *, size: int, overlap: int) -> PreparedFile:
    """Read and chunk one file; raises PlaybookError when it cannot be used."""
    document = load_document(path.name, data)
    cleaned = clean_text(document.text)
    if not cleaned.text.strip():
        raise PlaybookError("empty after removing page furniture")
    meta = document.meta
    title = meta.get("title")
    pieces = chunk_text(cleaned.text, markdown=document.markdown, size=size, overlap=overlap)
    if not pieces:
        raise PlaybookError("no text to index")
    source = path.name
    seen: dict[str, int] = {}
    rows: list[ChunkRow] = []
    embed_texts: list[str] = []
    for piece in pieces:
        occurrence = seen.get(piece.text, 0)
        seen[piece.text] = occurrence + 1
        section = piece.section_path
        # The heading path usually starts with the document title already (its H1).
        heading = section if not title or section.startswith(title) else f"{title} > {section}".rstrip(" >")
        rows.append(ChunkRow(
            id=chunk_id(source, piece.text, occurrence), source=source, ordinal=piece.ordinal,
            section=section, text=piece.text,
            index_text=index_form(f"{heading}\n{piece.text}" if heading else piece.text),
            title=title, topic=meta.get("topic"), lang=meta.get("lang"),
        ))
        # The heading path travels with the passage into the vector, so a passage under
        # "Renewal > Offer order" is found by questions about renewal offers.
        embed_texts.append(f"{heading}\n{piece.text}" if heading else piece.text)
    row = FileRow(
        source=source, path=str(path.resolve()), sha256=hashlib.sha256(data).hexdigest(),
        size=len(data), chunks=len(rows), title=title, topic=meta.get("topic"),
        lang=meta.get("lang"), encoding=document.encoding,
    )
    return PreparedFile(row=row, chunks=rows, embed_texts=embed_texts)


def ingest(kb: "KnowledgeBase", paths: Iterable[Path], *, prune: bool = False,
           progress: bool | None = None) -> IngestReport:
    """Bring the index in line with `paths`: new and changed files in, unchanged skipped."""
    started = time.perf_counter()
    report = IngestReport()
    files, problems = discover(paths)
    report.errors.extend(problems)
    known = kb.manifest.files()
    seen_sources: set[str] = set()
    todo: list[tuple[Path, bytes]] = []
    for path in files:
        source = path.name
        if source in seen_sources:
            report.errors.append(FileOutcome(source=source, path=str(path), status="error",
                                             reason="another file with the same name was ingested in this run"))
            continue
        seen_sources.add(source)
        try:
            size = path.stat().st_size
            if size > kb.max_file_bytes:
                report.skipped.append(FileOutcome(
                    source=source, path=str(path), status="skipped",
                    reason=f"too large: {size / 1e6:.1f} MB > limit {kb.max_file_bytes / 1e6:.1f} MB"))
                continue
            data = path.read_bytes()
        except OSError as exc:
            report.errors.append(FileOutcome(source=source, path=str(path), status="error",
                                             reason=f"cannot read: {exc.strerror or exc}"))
            continue
        if not data.strip():
            report.skipped.append(FileOutcome(source=source, path=str(path), status="skipped",
                                              reason="empty file"))
            continue
        old = known.get(source)
        if old is not None and old.sha256 == hashlib.sha256(data).hexdigest():
            report.unchanged += 1
            report.details.append(FileOutcome(source=source, path=str(path), status="unchanged",
                                              chunks=old.chunks))
            continue
        todo.append((path, data))

    show = sys.stderr.isatty() if progress is None else progress
    bar = None
    if todo and show:
        from tqdm import tqdm

        bar = tqdm(total=len(todo), desc="ingest", unit="file", file=sys.stderr)
    for path, data in todo:
        outcome = _ingest_one(kb, path, data, report)
        report.details.append(outcome)
        if bar is not None:
            bar.set_postfix_str(path.name[:30])
            bar.update(1)
    if bar is not None:
        bar.close()

    if prune:
        for source in sorted(set(known) - seen_sources):
            ids = kb.manifest.remove_source(source)
            kb.vectors.delete(ids)
            report.removed.append(source)
            report.details.append(FileOutcome(source=source, path=known[source].path, status="removed",
                                              chunks=len(ids)))
    kb.refresh()
    report.total_chunks = kb.manifest.chunk_count()
    report.seconds = round(time.perf_counter() - started, 3)
    return report


def _ingest_one(kb: "KnowledgeBase", path: Path, data: bytes, report: IngestReport) -> FileOutcome:
    source = path.name
    try:
        prepared = prepare(path, data, size=kb.chunk_size, overlap=kb.chunk_overlap)
        vectors, computed = kb.embed_passages(prepared.embed_texts)
    except PlaybookError as exc:
        outcome = FileOutcome(source=source, path=str(path), status="skipped"
                              if "binary" in str(exc) or "empty" in str(exc) else "error", reason=str(exc))
        (report.skipped if outcome.status == "skipped" else report.errors).append(outcome)
        log.warning("skipped %s: %s", source, exc)
        return outcome
    old_ids = set(kb.manifest.chunk_ids(source))
    new_ids = [c.id for c in prepared.chunks]
    metadatas = [{"source": c.source, "section": c.section, "topic": c.topic or "", "lang": c.lang or ""}
                 for c in prepared.chunks]
    kb.vectors.upsert(new_ids, vectors, [c.text for c in prepared.chunks], metadatas)
    kb.manifest.replace_source(prepared.row, prepared.chunks)
    stale = old_ids - set(new_ids)
    if stale:
        kb.vectors.delete(sorted(stale))
    report.files += 1
    report.chunks += len(new_ids)
    report.embedded += computed
    return FileOutcome(source=source, path=str(path), status="ingested", chunks=len(new_ids))
