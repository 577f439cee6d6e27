"""``govhub notify collect|send``: case milestone and supervision messages for the SMS gateway (短信网关)."""

from __future__ import annotations

import click

from hub.cli.common import dumps, open_engine
from hub.domains.notifications import collect, send


@click.group()
def notify() -> None:
    """Case milestone and supervision messages for the SMS gateway (短信网关)."""


@notify.command("collect")
@click.option("--since", type=click.DateTime(), help="only cases changed since (China Standard Time)")
def notify_collect(since) -> None:
    click.echo(dumps(collect(open_engine(), since=since)))


@notify.command("send")
@click.option("--gateway", required=True, help="rest://host:port/?push_path=/sms&api_key_env=GOVHUB_SMS_KEY")
@click.option("--per-phone-per-day", default=3, show_default=True)
@click.option("--per-minute", default=60, show_default=True)
def notify_send(gateway, per_phone_per_day, per_minute) -> None:
    click.echo(dumps(send(open_engine(), gateway, per_phone_per_day=per_phone_per_day, per_minute=per_minute)))
