"""``govhub evaluations follow-ups|close|overdue|show``: 好差评 follow-ups of bad reviews."""

from __future__ import annotations

import click

from hub.cli.common import dumps, fail, open_engine, relay
from hub.domains.evaluations import close_follow_up, linked, open_follow_ups, overdue


@click.group()
def evaluations() -> None:
    """好差评: follow-ups of bad reviews."""


@evaluations.command("follow-ups")
@click.option("--days", default=5, show_default=True, help="working days to close a 差评 follow-up")
def evaluations_follow_ups(days) -> None:
    click.echo(dumps(open_follow_ups(open_engine(), days=days)))


@evaluations.command("close")
@click.argument("eval_no")
@click.option("--actor", required=True)
@click.option("--note", required=True)
@click.option("--source")
def evaluations_close(eval_no, actor, note, source) -> None:
    try:
        click.echo(dumps(close_follow_up(open_engine(), eval_no, actor, note, source_system=source)))
    except (LookupError, ValueError) as exc:
        fail(str(exc))


@evaluations.command("overdue")
def evaluations_overdue() -> None:
    """Follow-ups past due: flagged once, with an evaluation.follow_up_overdue event."""
    engine = open_engine()
    rows = overdue(engine)
    relay(engine)
    click.echo(dumps(rows, indent=2))


@evaluations.command("show")
@click.argument("eval_no")
def evaluations_show(eval_no) -> None:
    try:
        click.echo(dumps(linked(open_engine(), eval_no), indent=2))
    except LookupError as exc:
        fail(str(exc))
