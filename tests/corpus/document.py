"""Write docs/corpus.md from the manifest: ``python -m tests.corpus.document``."""

from __future__ import annotations

from collections import Counter

from hub.core.config import ROOT
from tests.corpus.manifest import CATEGORIES, load_manifest

INTRO = """# The bad-input corpus

`tests/corpus/` holds {n} hostile or broken inputs (issue #7 part 4): XML, JSON, CSV, SOAP
envelopes, hall-device messages and SFTP file names. `tests/corpus/manifest.yaml` says,
per input, the channel it goes through, the source system and what must become of it;
`tests/corpus/test_corpus.py` sends every one through its real channel and checks it:

```sh
CI=true .venv/bin/python -m pytest -q tests/corpus
```

Every input runs twice: with SQLite and with PostgreSQL as the hub's database (PostgreSQL
refuses what SQLite lets pass — NUL in text, values longer than their column); the bus
is the embedded transport.

| channel | how the input travels |
|---|---|
| file | `govhub ingest --json` (in process) |
| bus | published on `govhub.inbound` (embedded bus), consumed by a running `govhub worker` process |
| rest | `POST /api/v1/{{kind}}` with the system's API key |
| soap | `POST /soap/push` with a WS-Security UsernameToken |
| sftp | `poll_drop` over a real SFTP server (the sandbox one; `rogue_names` for names no disk can hold) |
| device | `POST /devices/{{vendor}}` with the hall's key |

For each input the test checks: the expected refusal (status, error code, message
fragment) or quarantine (reason codes); that nothing is silently dropped — the channel's
own report, the lineage and quarantine rows and `govhub stats` all move by the expected
stored / duplicate / quarantined counts (`received = stored + duplicate + quarantined`;
nothing stored on a refusal); that no answer, CLI output, quarantine message or worker
log holds an ID number of the input unmasked, and that `govhub quarantine show` (with
no terminal escape sequences), `quarantine list --json` and `stats --json` work on what
was quarantined; that nothing answers 500 without a clear code. Injection strings are valid text: they are stored verbatim, the tables are still
there, and the province's pull API returns them verbatim as JSON (there is no HTML
output on this branch; SOAP answers escape them). Entity text (`root:x:0:0`, `lollol…`)
must reach the database nowhere. After the bus inputs the same worker process is alive,
never gave up on a message as poison, logged no traceback and no unmasked ID number,
and stores a good message.

## Bugs the corpus found (fixed)

| input | was | now |
|---|---|---|
| JSON nested 10,000 deep (file, bus, REST, device) | `RecursionError`: `govhub ingest` crashed, the worker retried it 10 times as poison, REST and the device gateway answered 500 | `json_malformed` / 400 "nested too deeply" |
| the same payload in `govhub quarantine show` | `RecursionError` while masking it | masked by pattern |
| a UTF-8 BOM before the first JSON line | the first record quarantined as `json_malformed` (the CSV reader already skipped a BOM) | read |
| NUL in a CSV cell or a JSON string (PostgreSQL) | `DataError` failed the whole batch; the worker gave up after 10 deliveries | `field_format` (control characters in text); payloads with NUL kept as base64 |
| billion laughs in UTF-16 | the DOCTYPE check searched raw bytes and missed it; libxml2 expanded entities until its amplification limit | `xml_forbidden` before parsing |
| a batch in namespace `urn:govhub:case:2` | read as zero records: silently dropped | `schema_invalid`, one quarantined record |
| a JSON object where text belongs | stored as its Python repr (`{{'nested': 'object'}}` as the case number) | `field_type` |
| a REST `message_id` over 128 characters (PostgreSQL) | 500 | 400 |
| SFTP names `/etc/passwd.xml`, `sub/../../x.xml` listed by a hostile server | fetched from outside the drop and moved into `done/`; `../x` names skipped silently as dot-files | `file_name_unsafe`, quarantined once, never read or moved |

Huge inputs (10 MiB fields, 21 MiB bodies, 1,000,000-element arrays, 10,000 levels of
nesting) are made at test time by `tests/corpus/generators.py`. At the end pytest prints
the number of inputs per channel and outcome.

Outcomes: **refused** — the sender is told no and nothing is stored (the device gateway
also quarantines the unreadable payload); **quarantined** — every record kept with its
reason; **stored** — valid data, kept verbatim; **mixed** — the good records stored,
the bad ones quarantined. Status is the HTTP status, or `govhub ingest`'s exit code.

By channel and outcome:

{summary}
"""


def render() -> str:
    entries = load_manifest()
    counts = Counter((e.channel, e.expect.outcome) for e in entries)
    summary = "| channel | outcome | inputs |\n|---|---|---|\n" + "\n".join(
        f"| {c} | {o} | {n} |" for (c, o), n in sorted(counts.items())
    )
    out = [INTRO.format(n=len(entries), summary=summary)]
    for cat in CATEGORIES:
        group = [e for e in entries if e.category == cat]
        if not group:
            continue
        out.append(f"\n## {cat.replace('_', ' ')}\n")
        out.append("| id | channel | system | input | expected |\n|---|---|---|---|---|")
        for e in group:
            x = e.expect
            what = x.outcome
            if x.status is not None:
                what += f" (exit {x.status})" if e.channel == "file" else f" {x.status}"
            if x.error:
                what += f" `{x.error}`"
            if x.reasons:
                what += " — " + ", ".join(f"{r} {n}" for r, n in x.reasons.items())
            if x.stored:
                what += f"; stored {x.stored}"
            source = (
                e.input or f"generated: {e.generate.name}({', '.join(f'{k}={v}' for k, v in e.generate.args.items())})"
            )
            if e.remote_name is not None:
                source += f" listed as `{ascii(e.remote_name)[1:-1][:60]}`"
            desc = e.description.replace("|", "\\|")
            out.append(f"| {e.id} | {e.channel} | {e.system} | {desc} ({source}) | {what} |")
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    path = ROOT / "docs" / "corpus.md"
    path.write_text(render(), encoding="utf-8")
    print(f"wrote {path}")
