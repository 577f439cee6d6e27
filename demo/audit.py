"""The demo's exchange-log step (存证, issue #21): the hub signs the chain's head with its own
key (a development key in the demo's home), the sandbox TSA time-stamps the signature over
RFC 3161, one message's evidence package is exported, and the standalone verifier
(``python -m govhub_verify``, no database) accepts it — what a third party would run."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import click
from sqlalchemy import Engine, select

from hub.audit import checkpoint
from hub.audit.export import export
from hub.audit.objects import ObjectStore
from hub.audit.signing import generate_identity
from hub.audit.timestamp import Tsa
from hub.core.config import ROOT
from hub.db.tables import exchange_log
from sandbox.server import run_in_thread
from sandbox.tsa import TsaState, make_app


def _message(engine: Engine) -> str:
    """A message pushed over REST if the demo has one, else the first logged."""
    with engine.connect() as conn:
        q = select(exchange_log.c.message_id).order_by(exchange_log.c.seq).limit(1)
        mid = conn.execute(q.where(exchange_log.c.channel == "rest")).scalar()
        return str(mid or conn.execute(q).scalar_one())


def run(engine: Engine, home: Path, say) -> dict:
    say(
        "9.", "存证: the hub signs its exchange log's head, the sandbox TSA time-stamps it, and one message is exported"
    )
    folder = home / "audit"
    identity = generate_identity("govhub-demo", folder)  # production: the department CA's certificate
    tsa_state = TsaState()
    (folder / "tsa.pem").write_bytes(tsa_state.certificate_pem)
    base, stop = run_in_thread(make_app(tsa_state))
    try:
        sealer = checkpoint.Sealer(identity, Tsa(base + "/tsa", tsa_state.certificate), "govhub-demo")
        cp = checkpoint.take(engine, sealer)
    finally:
        stop()
    assert cp is not None, "the demo exchanged messages: the log has a head"
    stamped = (
        "time-stamped by the sandbox TSA" if "timestamp" in cp["signed"] else f"NOT time-stamped: {cp['stamp_error']}"
    )
    click.echo(f"   checkpoint #{cp['id']}: seq {cp['seq']} head {cp['head'][:16]}… signed by 'govhub-demo', {stamped}")
    mid = _message(engine)
    data, summary = export(engine, mid, ObjectStore(home / "objects"))
    package = home / "evidence" / "package.zip"
    package.parent.mkdir(exist_ok=True)
    package.write_bytes(data)
    click.echo(f"   govhub audit export {mid} --out {package}: entries {summary['seq']}–{summary['checkpoint_seq']}")
    cmd = [sys.executable, "-m", "govhub_verify", str(package), "--cert", str(folder / "audit-cert.pem")]
    cmd += ["--tsa-cert", str(folder / "tsa.pem"), "--require-timestamp"]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, timeout=120)
    verdict = (proc.stdout.strip().splitlines() or ["(no output)"])[-1].strip()
    click.echo(f"   python -m govhub_verify package.zip --cert audit-cert.pem --tsa-cert tsa.pem: {verdict}")
    return {"checkpoint_seq": cp["seq"], "package": str(package), "verified": proc.returncode == 0}
