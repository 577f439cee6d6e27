"""``govhub stats``: records received, stored, duplicate and quarantined."""

from __future__ import annotations

import json

import click

from hub.cli.common import json_option, open_engine
from hub.ops import stats as counters


@click.command()
@json_option()
def stats(as_json) -> None:
    """Records received, stored, duplicate and quarantined, per source system."""
    data = counters.counts(open_engine())
    click.echo(json.dumps(data, ensure_ascii=False, indent=2) if as_json else counters.render(data))
