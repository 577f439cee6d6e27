"""``govhub supervision scan|list|assign|acknowledge|resolve|report``: electronic supervision (电子监察) and 督办."""

from __future__ import annotations

import click

from hub.cli.common import dumps, fail, open_engine, relay

# Every command defers `hub.domains.supervision.scan`: it loads the ingest pipeline
# (psycopg, prometheus_client, lxml: ~170 ms of every start).


@click.group()
def supervision() -> None:
    """Electronic supervision (电子监察): warnings, 督办 workflow, reporting upward."""


@supervision.command("scan")
@click.option("--now", type=click.DateTime(), help="evaluate as of this time (China Standard Time)")
def supervision_scan(now) -> None:
    """Evaluate open cases against catalog/monitoring_rules.yaml; raise each finding once."""
    from hub.domains.supervision.scan import scan  # deferred: the ingest pipeline

    engine = open_engine()
    counts = scan(engine, now)
    relay(engine)
    click.echo(dumps(counts))


@supervision.command("list")
@click.option("--status")
@click.option("--case-no")
@click.option("--limit", default=50, show_default=True)
def supervision_list(status, case_no, limit) -> None:
    from hub.domains.supervision.scan import list_supervision  # deferred: the ingest pipeline

    for r in list_supervision(open_engine(), status=status, case_no=case_no, limit=limit):
        click.echo(
            f"{r['supervision_no']:<40} {r['level']:<6} {r['rule_type']:<4} {r['status']:<4} "
            f"{r['dept_name']:<20} {r['raised_time']}"
        )


def workflow_command(action: str) -> click.Command:
    """``govhub supervision ACTION SUPERVISION_NO --actor A [--note N]``, one 督办 step."""

    @click.argument("supervision_no")
    @click.option("--actor", required=True)
    @click.option("--note")
    def command(supervision_no, actor, note) -> None:
        from hub.domains.supervision.scan import WorkflowError, workflow  # deferred: the ingest pipeline

        try:
            click.echo(dumps(workflow(open_engine(), supervision_no, action, actor, note)))
        except WorkflowError as exc:
            fail(str(exc))

    command.__doc__ = f"督办: {action} a supervision record."
    return supervision.command(action)(command)


for action in ("assign", "acknowledge", "resolve"):
    workflow_command(action)


@supervision.command("report")
@click.argument("peer")
def supervision_report(peer) -> None:
    """Report supervision records to PEER (the province) by watermark."""
    from hub.domains.supervision.scan import report  # deferred: the ingest pipeline

    click.echo(dumps(report(open_engine(), peer)))
