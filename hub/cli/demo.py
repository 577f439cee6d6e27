"""``govhub demo``: the whole flow on the embedded default (SQLite + embedded bus)."""

from __future__ import annotations

import click

from hub.cli.common import fail

CHECKOUT_PACKAGES = ("demo", "synth", "sandbox")  # beside `hub` in the repository, not in the wheel


@click.command()
@click.option("--records", default=2000, show_default=True, help="case records per department")
@click.option("--keep", is_flag=True, help="keep the previous demo database instead of starting fresh")
def demo(records, keep) -> None:
    """Run the main job end to end on the embedded default (SQLite + embedded bus)."""
    # Imported here, not at the top: `demo` (and the `synth` and `sandbox` packages it
    # uses) belong to a development checkout and are not in the wheel, so an installed
    # hub must still start and list this command.
    try:
        from demo.run import run
    except ModuleNotFoundError as exc:
        if (exc.name or "").partition(".")[0] not in CHECKOUT_PACKAGES:
            raise  # a missing dependency of the demo itself: its own message says which
        fail(
            f"govhub demo needs a source checkout: the `{exc.name}` package is not installed with govhub; "
            "run `make demo` (or `python -m hub.cli demo`) in a clone of the repository"
        )
    run(records=records, keep=keep)
