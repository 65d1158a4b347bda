"""`retention keys create|list|revoke`: API keys per user, with a role, stored hashed in the data dir."""

from __future__ import annotations

from typing import Optional

import typer

from assistant.cli import emit_json, fail

keys_app = typer.Typer(help="API keys for `retention serve` (one per user, with a role).", no_args_is_help=True)


def _records():  # type: ignore[no-untyped-def]
    from assistant.records import open_records
    from assistant.services import get_services

    return open_records(get_services())


@keys_app.command("create")
def create(
    role: str = typer.Option(..., "--role", help="trainee | agent | supervisor | admin"),
    name: Optional[str] = typer.Option(None, "--name", help="Who the key is for."),
    as_json: bool = typer.Option(False, "--json", help="Print {key, role, id} as one JSON document."),
) -> None:
    """Create an API key; it is shown once and only its salted hash is stored."""
    from assistant.records import ROLES

    if role not in ROLES:
        fail(f"unknown role {role!r}; choose one of {', '.join(ROLES)}")
    new = _records().create_key(role, name or "")
    if as_json:
        emit_json({"key": new.key, "role": new.role, "id": new.id, "name": new.name})
        return
    typer.echo(new.key)
    typer.echo(f"role {new.role}, id {new.id}. Store it now: it cannot be shown again.", err=True)


@keys_app.command("list")
def list_keys(as_json: bool = typer.Option(False, "--json", help="Print a JSON list.")) -> None:
    """List API keys (ids, names, roles, created and revoked dates; never the keys)."""
    keys = _records().list_keys()
    if as_json:
        emit_json([k.model_dump() for k in keys])
        return
    if not keys:
        typer.echo("No API keys yet. Create one: retention keys create --role agent --name NAME")
        return
    for k in keys:
        state = f"revoked {k.revoked_at}" if k.revoked_at else "active"
        typer.echo(f"{k.id}  {k.role:<10}  {k.name or '-':<20}  created {k.created_at}  {state}")


@keys_app.command("revoke")
def revoke(key_id: str = typer.Argument(..., help="The key id shown by `retention keys list`.")) -> None:
    """Revoke an API key: requests with it get 401 from now on."""
    from knowledge.errors import RetentionError

    try:
        key = _records().revoke(key_id)
    except RetentionError as exc:
        fail(str(exc))
    typer.echo(f"revoked {key.id} ({key.role}{', ' + key.name if key.name else ''})")


def register(app: typer.Typer) -> None:
    """Add the `keys` command group to `app`."""
    app.add_typer(keys_app, name="keys")
