"""First-start bootstrap for `retention run`: demo subscribers, a churn model, playbooks and API keys.

Each step runs only when its result is absent, so later starts take seconds. Demo keys (one per
role) are created and returned only when no active key exists: the raw keys are never stored,
so they are shown once.
"""

from __future__ import annotations

from typing import Any, Callable

from pydantic import BaseModel, Field

from assistant.records import ROLES, NewKey, open_records

DEMO_ROWS = 20_000
DEMO_SEED = 42


class BootstrapReport(BaseModel):
    """What the bootstrap did, and the demo keys it created (empty when keys already existed)."""

    generated: int = 0
    trained: bool = False
    ingested_files: int = 0
    passages: int = 0
    new_keys: list[NewKey] = Field(default_factory=list)
    existing_keys: int = 0


def _echo(message: str) -> None:
    import sys

    sys.stderr.write(message + "\n")
    sys.stderr.flush()


def bootstrap(services: Any, *, rows: int = DEMO_ROWS, seed: int = DEMO_SEED, progress: bool = True,
              echo: Callable[[str], None] = _echo) -> BootstrapReport:
    """Create whatever demo data is missing under the data dir, with progress on stderr."""
    report = BootstrapReport()
    settings = services.settings
    store = services.store
    if not store.exists():
        from tools.generate import write_generated

        echo(f"[1/4] generating {rows:,} demo subscribers (seed {seed}) in {store.root}")
        write_generated(store, rows=rows, seed=seed, progress=progress)
        report.generated = rows
    else:
        echo(f"[1/4] subscriber data present in {store.root}")
    if not (services.model_dir / "metadata.json").is_file():
        from tools.churn import train_from_store

        echo(f"[2/4] training the churn model into {services.model_dir} (first start only)")
        trained = train_from_store(store, services.model_dir, threads=settings.churn_threads or None)
        echo(f"      {trained.model} on {trained.n:,} subscribers in {trained.seconds:.0f} s")
        report.trained = True
    else:
        echo(f"[2/4] churn model present in {services.model_dir}")
    echo("[3/4] indexing the playbooks")
    ingest = services.knowledge.ingest(list(settings.playbook_dirs), progress=progress)
    report.ingested_files, report.passages = ingest.files, ingest.total_chunks
    echo(f"      {ingest.total_chunks} passages ({ingest.files} file(s) indexed now, {ingest.unchanged} unchanged)")
    computed = services.warm_knowledge(progress=progress)  # the tools' fixed queries, stored for next starts
    if computed:
        echo(f"      {computed} citation query vectors computed and stored")
    records = open_records(services)
    report.existing_keys = records.count_active_keys()
    if report.existing_keys == 0:
        report.new_keys = [records.create_key(role, name=f"demo {role}") for role in ROLES]
        echo("[4/4] demo API keys (shown once; only their hashes are stored):")
        for key in report.new_keys:
            echo(f"      {key.role:<10} {key.key}")
    else:
        echo(f"[4/4] {report.existing_keys} API key(s) exist; create more with "
             "`retention keys create --role agent --name NAME` (see `retention keys list`)")
    return report
