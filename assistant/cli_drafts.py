"""`retention drafts`: SMS, e-mail and in-call wording of a subscriber's top offers, zh or en."""

from __future__ import annotations

from typing import Annotated

import typer

from assistant.cli_offers import (
    CatalogueOption,
    DataDirOption,
    JsonOption,
    PolicyOption,
    SnapshotOption,
    SubscriberOption,
)

CHANNELS = ("sms", "email", "call")  # tools.drafts.Channel


def register(app: typer.Typer) -> None:
    """Add the `drafts` command to `app`."""
    app.command("drafts")(drafts_command)


def drafts_command(
    subscriber: SubscriberOption = None,
    subscriber_json: SnapshotOption = None,
    channel: Annotated[
        list[str] | None, typer.Option("--channel", "-c", help="sms, email or call; repeat for several (default: all).")
    ] = None,
    lang: Annotated[str, typer.Option("--lang", help="zh or en.")] = "zh",
    top: Annotated[int, typer.Option("--top", min=1, max=5, help="Draft for the first N offers of the plan.")] = 1,
    json_output: JsonOption = False,
    policy: PolicyOption = None,
    catalogue: CatalogueOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Messages for the subscriber's next-best offers: the engine's terms only, the number masked."""
    from assistant.cli import emit_json, fail
    from assistant.cli_offers import plan_for, subscriber_facts
    from knowledge.errors import RetentionError
    from tools.drafts import draft_offer_messages

    if lang not in ("zh", "en"):
        fail(f"unknown language {lang!r}; expected zh or en")
    channels = tuple(channel or CHANNELS)
    unknown = [c for c in channels if c not in CHANNELS]
    if unknown:
        fail(f"unknown channel {unknown[0]!r}; expected one of {', '.join(CHANNELS)}")
    inputs, plan, _ = plan_for(subscriber, subscriber_json, policy, catalogue, data_dir)
    try:
        facts = subscriber_facts(subscriber, data_dir, inputs)
    except RetentionError as exc:
        fail(str(exc))
    messages = [
        {"measure_code": offer.measure_code, "title": offer.title_zh if lang == "zh" else offer.title_en,
         "drafts": [d.model_dump(mode="json") for d in draft_offer_messages(offer, facts, lang, channels)],  # type: ignore[arg-type]
         "citations": [c.model_dump(mode="json") for c in offer.citations]}
        for offer in plan.offers[:top]
    ]
    if json_output:
        emit_json({"scenario": plan.scenario, "lang": lang, "messages": messages})
        return
    if not messages:
        notes = plan.notes_zh if lang == "zh" else plan.notes_en
        typer.echo(f"no offer to draft (scenario {plan.scenario}): " + "; ".join(notes[:2]))
        return
    for message in messages:
        typer.echo(f"{message['measure_code']}  {message['title']}")
        for draft in message["drafts"]:
            heading = draft["channel"] + (f" — {draft['subject']}" if draft.get("subject") else "")
            typer.echo(f"  [{heading}]")
            for line in draft["body"].splitlines():
                typer.echo(f"    {line}")
            for note in draft.get("notes") or []:
                typer.echo(f"    ! {note}")
        typer.echo("")
