"""The `retention` command line. Each capability registers its commands from its own module.

Conventions every command follows:
- `--json` prints exactly one JSON document on stdout; logs and progress go to stderr.
- A domain error prints one line on stderr and exits 1 (never a traceback).
"""

from __future__ import annotations

import importlib
import json
import logging
import sys
from typing import Any, NoReturn

import typer

app = typer.Typer(
    name="retention",
    help="Retention Assistant: playbook search, churn risk, offers and scripts for retention teams.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

# Modules that define `register(app)`. A new capability adds its module here.
COMMAND_MODULES = [
    "assistant.cli_knowledge",
    "assistant.cli_segment",
    "assistant.cli_data",
    "assistant.cli_churn",
    "assistant.cli_offers",
    "assistant.cli_outcomes",
    "assistant.cli_script",
    "assistant.cli_drafts",
    "assistant.cli_ask",
    "assistant.cli_report",
    "assistant.cli_train",
    "assistant.cli_keys",
    "assistant.cli_serve",
]


def emit_json(payload: Any) -> None:
    """Write one JSON document to stdout (pydantic models and paths are serialised)."""
    if hasattr(payload, "model_dump"):
        payload = payload.model_dump(mode="json")
    sys.stdout.write(json.dumps(payload, ensure_ascii=False, default=str) + "\n")
    sys.stdout.flush()


def fail(message: str, code: int = 1) -> NoReturn:
    """Print one clear line on stderr and exit with `code`."""
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def setup_logging(level: str = "INFO") -> None:
    """Log to stderr so that stdout stays clean for --json."""
    logging.basicConfig(
        level=getattr(logging, level, logging.INFO),
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    for noisy in ("chromadb", "httpx", "jieba", "bm25s", "urllib3"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def _register_commands() -> None:
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(app)


_register_commands()


def main() -> None:
    """Entry point of the `retention` script."""
    from assistant.config import get_settings
    from knowledge.errors import RetentionError

    try:
        setup_logging(get_settings().log_level)
    except Exception as exc:  # a bad RETENTION_* value must not produce a traceback
        sys.stderr.write(f"error: invalid configuration: {exc}\n")
        sys.exit(1)
    try:
        app()
    except RetentionError as exc:
        sys.stderr.write(f"error: {exc}\n")
        sys.exit(1)


if __name__ == "__main__":
    main()
