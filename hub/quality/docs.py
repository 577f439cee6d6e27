"""Great Expectations Data Docs (数据质量规则文档): a static HTML site of every suite and,
per kind, a validation of the latest stored records, in ``$GOVHUB_HOME/quality/data_docs``.

Each expectation is shown with its Chinese label and rule id (the suite's ``description``).
The validation pages come from a fresh run on up to ``sample`` most recently updated
library rows of each kind (across sources): ``quality_run`` keeps govhub's compact
results, not GE's full result objects, so the site re-validates instead of replaying.
Personal fields are replaced by short one-way tokens before GE sees them, and no
unexpected values are kept (``partial_unexpected_count`` 0).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import Engine, select

from hub.db.tables import LIBRARY
from hub.model.dictionary import kind as dictionary_kind
from hub.quality import frame, gx
from hub.quality.checks import env_for
from hub.quality.suites import suites

SITE = "govhub"


def _token(value) -> str:
    return "#" + hashlib.blake2b(str(value).encode("utf-8"), digest_size=5).hexdigest()


def latest_records(engine: Engine, kind: str, limit: int) -> list[dict]:
    t = LIBRARY[kind]
    k = dictionary_kind(kind)
    with engine.connect() as conn:
        rows = conn.execute(
            select(*[t.c[f.name] for f in k.fields]).order_by(t.c.updated_at.desc(), t.c.id.desc()).limit(limit)
        )
        return [{n: v for n, v in r._mapping.items() if v is not None} for r in rows]


def build(
    out_dir: Path, engine: Engine | None = None, sample: int = 2000, on_kind: Callable[[str], None] | None = None
) -> Path:
    """Write the site; returns the path of its ``index.html``."""
    import great_expectations as gx_pkg  # deferred: GE takes seconds and ~150 MB; only Data Docs need it
    from great_expectations.checkpoint import UpdateDataDocsAction

    out_dir.mkdir(parents=True, exist_ok=True)
    ctx = gx.context()
    ctx.add_data_docs_site(
        SITE,
        {
            "class_name": "SiteBuilder",
            "show_how_to_buttons": False,
            "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(out_dir)},
            "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
        },
    )
    source = ctx.data_sources.add_pandas("govhub")
    env = env_for(engine)
    for kind, loaded in suites().items():
        suite = ctx.suites.add(loaded.gx_suite())
        records = latest_records(engine, kind, sample) if engine is not None else []
        if records:
            batch_definition = source.add_dataframe_asset(kind).add_batch_definition_whole_dataframe("latest")
            vd = ctx.validation_definitions.add(
                gx_pkg.ValidationDefinition(name=f"{kind}-latest", data=batch_definition, suite=suite)
            )
            checkpoint = ctx.checkpoints.add(
                gx_pkg.Checkpoint(
                    name=f"{kind}-docs",
                    validation_definitions=[vd],
                    actions=[UpdateDataDocsAction(name="docs", site_names=[SITE])],
                    result_format={"result_format": "SUMMARY", "partial_unexpected_count": 0},
                )
            )
            df = frame.build(loaded, records, env)
            for col in dictionary_kind(kind).scalars:
                if col.pii:  # personal data never goes into the site; nulls and repeats still show
                    df[col.name] = df[col.name].map(_token, na_action="ignore")
            checkpoint.run(batch_parameters={"dataframe": df})
        if on_kind:
            on_kind(kind)
    ctx.build_data_docs(site_names=[SITE])
    return out_dir / "index.html"
