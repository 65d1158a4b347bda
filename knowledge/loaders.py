"""Read playbook files (.md, .txt, .docx, .pdf) into text plus front-matter metadata."""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field

import yaml

from knowledge.errors import PlaybookError
from knowledge.normalize import decode_bytes, looks_binary

SUPPORTED = {".md", ".markdown", ".txt", ".docx", ".pdf"}
_FRONT_MATTER = re.compile(r"\A---\s*\n(.*?)\n---\s*\n", re.S)


@dataclass
class LoadedDocument:
    """A document's text (Markdown-like for .md/.docx) and what its front matter says."""

    text: str
    markdown: bool
    encoding: str = "utf-8"
    meta: dict[str, str] = field(default_factory=dict)


def load_document(name: str, data: bytes) -> LoadedDocument:
    """Decode one file by its extension; raise PlaybookError with the reason if unreadable."""
    suffix = "." + name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if suffix not in SUPPORTED:
        raise PlaybookError(f"unsupported file type {suffix or '(none)'}; supported: {sorted(SUPPORTED)}")
    if suffix == ".docx":
        return _load_docx(data)
    if suffix == ".pdf":
        return _load_pdf(data)
    if looks_binary(data):
        raise PlaybookError("binary content in a text file")
    text, encoding = decode_bytes(data)
    meta: dict[str, str] = {}
    markdown = suffix in {".md", ".markdown"}
    match = _FRONT_MATTER.match(text)
    if match:
        try:
            parsed = yaml.safe_load(match.group(1)) or {}
        except yaml.YAMLError as exc:
            raise PlaybookError(f"front matter is not valid YAML: {exc}") from exc
        if not isinstance(parsed, dict):
            raise PlaybookError("front matter must be a mapping of keys to values")
        meta = {str(k): str(v) for k, v in parsed.items() if v is not None}
        text = text[match.end() :]
    return LoadedDocument(text=text, markdown=markdown, encoding=encoding, meta=meta)


def _load_docx(data: bytes) -> LoadedDocument:
    try:
        import docx

        document = docx.Document(io.BytesIO(data))
    except Exception as exc:
        raise PlaybookError(f"not a readable .docx file ({exc.__class__.__name__})") from exc
    lines: list[str] = []
    for paragraph in document.paragraphs:
        text = paragraph.text.strip()
        if not text:
            continue
        style = (paragraph.style.name or "").lower() if paragraph.style is not None else ""
        level = re.search(r"heading\s*(\d)", style) or re.search(r"标题\s*(\d)", style)
        lines.append(f"{'#' * int(level.group(1))} {text}" if level else text)
    for table in document.tables:
        for row in table.rows:
            lines.append("| " + " | ".join(cell.text.strip() for cell in row.cells) + " |")
    meta = {}
    title = document.core_properties.title
    if title:
        meta["title"] = title
    return LoadedDocument(text="\n".join(lines), markdown=True, encoding="docx", meta=meta)


def _load_pdf(data: bytes) -> LoadedDocument:
    try:
        from pypdf import PdfReader

        reader = PdfReader(io.BytesIO(data))
        pages = [page.extract_text() or "" for page in reader.pages]
    except Exception as exc:
        raise PlaybookError(f"not a readable .pdf file ({exc.__class__.__name__})") from exc
    meta = {}
    if reader.metadata and reader.metadata.title:
        meta["title"] = str(reader.metadata.title)
    return LoadedDocument(text="\n".join(pages), markdown=False, encoding="pdf", meta=meta)
