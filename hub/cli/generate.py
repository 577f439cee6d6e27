"""``govhub generate KIND N FILE``: synthetic records for tests and demos.

The command imports ``synth`` when it runs: the generator belongs to a development
checkout and is not in the wheel, so an installed hub must still start without it."""

from __future__ import annotations

from pathlib import Path

import click

from hub.cli.common import fail


@click.command()
@click.argument("kind")
@click.argument("n", type=int)
@click.argument("out", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["xml", "jsonl", "dept_b_csv", "dept_c_jsonl"]),
    default="xml",
    show_default=True,
)
@click.option("--defect-rate", type=float, default=0.0, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--encoding", default="utf-8", show_default=True, help="for XML: utf-8, gbk or gb18030")
@click.option(
    "--department", help="only this department: credit code or name, e.g. 11320581MBL65F0H1L (常熟市行政审批局)"
)
@click.option("--region", help="only this GB2260 county (e.g. 320581) or prefecture (default 320500 苏州市)")
def generate(kind, n, out, fmt, defect_rate, seed, encoding, department, region) -> None:
    """Write N synthetic records of KIND (with a share of defective ones)."""
    from synth import generator
    from synth.scope import scoped_generator

    try:
        g = scoped_generator(kind, seed, department=department, region=region)
    except ValueError as e:
        fail(str(e))
    records = (r for r, _d in g.records(kind, n, defect_rate=defect_rate))
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out, "wb") as f:
        if fmt == "xml":
            count = generator.write_xml(records, kind, f, encoding=encoding)
        elif fmt == "jsonl":
            count = generator.write_jsonl(records, f)
        elif fmt == "dept_b_csv":
            count = generator.write_dept_b_csv(records, f)
        else:
            count = generator.write_dept_c_jsonl(records, f)
    click.echo(f"wrote {count:,} {kind} records to {out}")
