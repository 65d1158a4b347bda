"""Services: the stores and models the CLI and the API share, built once from one Settings."""

from __future__ import annotations

import threading
from functools import cached_property
from pathlib import Path
from typing import Any

from assistant.config import Settings, get_settings
from knowledge.base import KnowledgeBase
from knowledge.embeddings import make_embedder


class Services:
    """Everything heavy, opened lazily on first use and then reused."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self._lock = threading.Lock()

    @cached_property
    def knowledge(self) -> KnowledgeBase:
        """The playbook knowledge base (manifest, Chroma, lexical index, embedder)."""
        s = self.settings
        return KnowledgeBase(
            s.knowledge_dir,
            make_embedder(s.embedding_model, batch_size=s.embedding_batch_size),
            collection=s.chroma_collection,
            chroma_url=s.chroma_url,
            chunk_size=s.chunk_size,
            chunk_overlap=s.chunk_overlap,
            max_file_bytes=int(s.max_file_mb * 1_000_000),
            batch_size=s.embedding_batch_size,
        )


    @cached_property
    def store(self) -> Any:
        """Subscriber data (Parquet under the data dir, queried with DuckDB)."""
        from tools.subscribers import SubscriberStore

        return SubscriberStore(self.settings.data_dir)

    @property
    def model_dir(self) -> Path:
        """Where the trained churn model lives (absent: the transparent rule score is used)."""
        return self.settings.churn_model_dir or self.settings.data_dir / "models" / "churn"

    @property
    def policy(self) -> Any:
        """The operator policy (the shipped default, or RETENTION_POLICY_FILE merged over it)."""
        from tools.policy import load_policy

        return load_policy(self.settings.policy_file)

    @cached_property
    def conversations(self) -> Any:
        """Conversation memory (SQLite under the data dir unless RETENTION_DATABASE_URL is set)."""
        from assistant.memory import ConversationStore

        url = self.settings.database_url
        if not url:
            self.settings.data_dir.mkdir(parents=True, exist_ok=True)
            url = f"sqlite:///{(self.settings.data_dir / 'assistant.sqlite').resolve()}"
        return ConversationStore(url)

    @cached_property
    def outcome_log(self) -> Any:
        """Retention contacts (same database as the conversations); tied to the store for offer budgets."""
        from tools.outcomes import OutcomeLog, default_database_url, register_outcome_log

        url = self.settings.database_url
        if not url:
            self.settings.data_dir.mkdir(parents=True, exist_ok=True)
            url = default_database_url(self.settings.data_dir)
        log = OutcomeLog(url)
        register_outcome_log(self.store, log)
        return log

    @cached_property
    def report_engine(self) -> Any:
        """Supervisor reports over the store, its history, the outcome log, `<data_dir>/scores.parquet` and
        the graded role-play sessions (the same session store the training API and CLI write to)."""
        from assistant.roleplay_llm import roleplay_store
        from tools.reports.engine import ReportEngine

        return ReportEngine(self.store, outcome_log=self.outcome_log,
                            scores_path=self.settings.data_dir / "scores.parquet", policy=self.policy,
                            training_log=roleplay_store(self.settings))

    def ensure_knowledge(self) -> None:
        """Ingest the configured playbook folders if the knowledge base is empty."""
        if self.knowledge.manifest.chunk_count() == 0:
            self.knowledge.ingest(list(self.settings.playbook_dirs))

    def warm_knowledge(self, progress: bool = False) -> int:
        """Load the index and the embedder, and the vectors of every fixed query the tools and the
        offline engine search for; returns how many of those had to be computed (first start only)."""
        from assistant.offline import template_queries

        self.knowledge.warm()
        return self.knowledge.warm_queries(template_queries(), progress=progress)


_services: Services | None = None
_services_lock = threading.Lock()


def get_services(settings: Settings | None = None) -> Services:
    """The process-wide Services for the default settings, or new ones for explicit settings."""
    global _services
    if settings is not None:
        return Services(settings)
    with _services_lock:
        if _services is None:
            _services = Services(get_settings())
        return _services
