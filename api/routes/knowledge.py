"""`GET /v1/knowledge/search` and `POST /v1/knowledge/ingest` (admin: upload playbooks, then ingest)."""

from __future__ import annotations

import re
from email import policy as email_policy
from email.parser import BytesParser
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Query, Request
from starlette.concurrency import run_in_threadpool

from api.deps import PrincipalDep, RecordsDep, ServicesDep, SettingsDep, request_id
from api.errors import APIError
from api.observability import stage
from api.routes.chat import ERRORS
from api.schemas import ErrorBody, PassageOut
from api.security import check_message, require_role
from knowledge.ingest import IngestReport

router = APIRouter(prefix="/v1/knowledge", tags=["knowledge"])
UPLOAD_TYPES = {".md", ".markdown", ".txt", ".docx", ".pdf"}
_SAFE_NAME = re.compile(r"[^\w.\-\u4e00-\u9fff]+")
UPLOAD_DOC = {"requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
    "type": "object", "required": ["files"],
    "properties": {"files": {"type": "array", "items": {"type": "string", "format": "binary"},
                             "description": ".md .txt .docx .pdf playbooks"}},
}}}}}


@router.get("/search", response_model=list[PassageOut], summary="Search the playbooks",
            responses={k: v for k, v in ERRORS.items() if k in (401, 422, 429)})
def search(principal: PrincipalDep, services: ServicesDep, settings: SettingsDep,
           q: str = Query(..., min_length=1, description="Question or keywords (zh or en)."),
           k: int = Query(5, ge=1, le=50, description="How many passages.")) -> list[PassageOut]:
    """Hybrid search (multilingual vectors + Chinese BM25); passages with their citation ids."""
    check_message(q, settings.api_max_message_chars, field="q")
    with stage("retrieval"):
        passages = services.knowledge.search(q, k=k)
    return [PassageOut(id=p.id, text=p.text, source=p.source, section=p.section, score=p.score) for p in passages]


def safe_filename(name: str) -> str:
    """A file name safe to write under the uploads folder (no directories, no odd characters)."""
    base = Path(name.replace("\\", "/")).name
    cleaned = _SAFE_NAME.sub("_", base).strip("._")[:120]
    if not cleaned or Path(cleaned).suffix.lower() not in UPLOAD_TYPES:
        raise APIError(422, "unsupported_file", f"{base or 'a file'}: upload .md, .txt, .docx or .pdf files",
                       fields=["files"])
    return cleaned


def parse_files(content_type: str, body: bytes) -> list[tuple[str, bytes]]:
    """(file name, bytes) of each file part of a multipart/form-data body."""
    if not content_type.lower().startswith("multipart/form-data") or "boundary=" not in content_type:
        raise APIError(415, "unsupported_media_type", "send the playbooks as multipart/form-data (field 'files')")
    message = BytesParser(policy=email_policy.HTTP).parsebytes(
        b"Content-Type: " + content_type.encode("latin-1") + b"\r\nMIME-Version: 1.0\r\n\r\n" + body)
    files = []
    for part in message.iter_parts() if message.is_multipart() else []:
        filename = part.get_filename()
        if filename:
            files.append((filename, part.get_payload(decode=True) or b""))
    if not files:
        raise APIError(422, "validation_error", "files: no file in the upload", fields=["files"])
    return files


@router.post("/ingest", response_model=IngestReport, summary="Upload and ingest playbooks (admin)",
             openapi_extra=UPLOAD_DOC, responses={**{k: v for k, v in ERRORS.items() if k in (401, 403, 413, 422, 429)},
                                 409: {"model": ErrorBody, "description": "Several workers without a Chroma server."}})
async def ingest(request: Request, principal: PrincipalDep, services: ServicesDep, settings: SettingsDep,
                 records: RecordsDep) -> Any:
    """Save the uploaded files under <data_dir>/uploads and ingest them; returns the IngestReport."""
    require_role(principal, ("admin",), "ingest playbooks")
    if settings.api_workers > 1 and not settings.chroma_url:
        # Each worker keeps its own in-memory vector index of the embedded Chroma: the others would
        # not see the new passages until restarted. A Chroma server is shared by all of them.
        raise APIError(409, "needs_chroma_server", "with several API workers, uploads need a Chroma server "
                       "(RETENTION_CHROMA_URL); or run `retention ingest` and restart `retention serve`")
    files = parse_files(request.headers.get("content-type", ""), await request.body())
    folder = settings.data_dir / "uploads"
    named = [(safe_filename(name), data) for name, data in files]

    def save_and_ingest() -> IngestReport:
        folder.mkdir(parents=True, exist_ok=True)
        paths = []
        for name, data in named:
            path = folder / name
            path.write_bytes(data)
            paths.append(path)
        with stage("retrieval"):
            report = services.knowledge.ingest(paths, progress=False)
        records.audit(principal.key_id, principal.role, "knowledge.ingest",
                      detail="uploaded " + ", ".join(n for n, _ in named), request_id=request_id())
        return report

    return (await run_in_threadpool(save_and_ingest)).model_dump(mode="json")
