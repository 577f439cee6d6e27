"""What a fault test sent, and the books it checks afterwards from the database.

A test sends known messages (generated cases, a share of them defective) and, after the
fault and the recovery, ``account`` reads the hub's database and answers:

- per sent record (message id, seq): how many lineage rows say ``stored`` or
  ``quarantined`` — exactly one is right; none is a **lost** record, two or more a
  **doubled** one (any number of ``duplicate`` rows is fine: that is a redelivery seen);
- whether it ended where it should: the defective ones quarantined with a reason, the
  clean ones stored, each clean key exactly once in the case library;
- whether the running totals behind ``govhub stats`` agree with the lineage, and
  ``received = stored + duplicate + quarantined`` holds.

``write_figures`` keeps the result in ``var/faults/<fault>.json`` for the closing note
(``python -m tests.faults.summary`` prints them as a table).
"""

from __future__ import annotations

import io
import json
import time
from collections import Counter
from dataclasses import dataclass, field

from sqlalchemy import func, select

from hub.core.config import ROOT
from hub.db.tables import LIBRARY, lineage, quarantine
from hub.ops.stats import counts
from synth.generator import Generator, write_xml

SYSTEM = "cs-approval"
DEPARTMENT = "常熟市行政审批局"
FIGURES_DIR = ROOT / "var" / "faults"


@dataclass
class Message:
    message_id: str
    body: bytes
    keys: list  # case_no per seq (1-based: keys[seq - 1]); None where a defect removed it
    defective: set = field(default_factory=set)  # seqs carrying a generated defect

    @property
    def size(self) -> int:
        return len(self.keys)


def make_messages(prefix: str, seed: int, n_messages: int, per_message: int, defect_rate: float = 0.1) -> list[Message]:
    """Cases of one department (so a drop's access check passes), from one generator so
    no two messages share a key by chance."""
    g = Generator(seed=seed, departments=[DEPARTMENT])
    stream = g.records("case", n_messages * per_message, defect_rate=defect_rate)
    out = []
    for i in range(n_messages):
        chunk = [next(stream) for _ in range(per_message)]
        mid = f"{prefix}-{i + 1:04d}"
        buf = io.BytesIO()
        write_xml((r for r, _ in chunk), "case", buf, message_id=mid)
        out.append(
            Message(
                mid,
                buf.getvalue(),
                [r.get("case_no") for r, _ in chunk],
                {seq for seq, (_, d) in enumerate(chunk, 1) if d is not None},
            )
        )
    return out


def parent_id(message_id: str) -> str:
    """The sent message a lineage row belongs to: on RabbitMQ a message travels as parts,
    one per inbound partition, with ids ``<parent>#<i>/<P>`` and each record's seq kept."""
    return message_id.split("#", 1)[0]


def settled(engine, messages: list[Message], system: str = SYSTEM) -> bool:
    """Has every sent record got its first outcome (stored or quarantined)?"""
    ids = {m.message_id for m in messages}
    with engine.connect() as conn:
        rows = conn.execute(
            select(lineage.c.message_id, lineage.c.seq)
            .distinct()
            .where(lineage.c.source_system == system, lineage.c.outcome != "duplicate")
        ).all()
    n = len({(parent_id(mid), seq) for mid, seq in rows if parent_id(mid) in ids})
    return n >= sum(m.size for m in messages)


def wait_settled(engine, messages: list[Message], timeout: float, worker=None) -> float:
    """Wait until ``settled``; a ``worker`` (``WorkerProcess``) that exits stops it early."""
    start = time.monotonic()
    while not settled(engine, messages):
        if time.monotonic() - start > timeout:
            raise AssertionError(
                f"not every record had an outcome after {timeout:.0f}s"
                + (f"; worker log: {worker.tail()}" if worker else "")
            )
        if worker is not None and not worker.alive():
            raise AssertionError(f"the worker exited before every record had an outcome: {worker.tail()}")
        time.sleep(0.3)
    return time.monotonic() - start


def account(engine, messages: list[Message], fault: str, system: str = SYSTEM, **extra) -> dict:
    sent = {(m.message_id, seq): (key, seq in m.defective) for m in messages for seq, key in enumerate(m.keys, 1)}
    with engine.connect() as conn:
        rows = conn.execute(
            select(lineage.c.message_id, lineage.c.seq, lineage.c.outcome, lineage.c.record_key).where(
                lineage.c.source_system == system
            )
        ).all()
        reasons = dict(
            conn.execute(
                select(quarantine.c.reason, func.count())
                .where(quarantine.c.source_system == system)
                .group_by(quarantine.c.reason)
            ).all()
        )
        no_reason = conn.execute(
            select(func.count())
            .select_from(quarantine)
            .where(quarantine.c.source_system == system, (quarantine.c.reason == "") | quarantine.c.reason.is_(None))
        ).scalar_one()
        dup_details = dict(
            conn.execute(
                select(lineage.c.detail, func.count())
                .where(lineage.c.source_system == system, lineage.c.outcome == "duplicate")
                .group_by(lineage.c.detail)
            ).all()
        )
        t = LIBRARY["case"]
        per_key = Counter(
            {
                k: n
                for k, n in conn.execute(
                    select(t.c.case_no, func.count())
                    .where(t.c.case_no.in_([v[0] for v in sent.values() if v[0]]))
                    .group_by(t.c.case_no)
                )
            }
        )
    firsts: dict[tuple, list[str]] = {}
    outcome_rows: Counter = Counter()
    stray = 0
    for mid, seq, outcome, _key in rows:
        mid = parent_id(mid)
        outcome_rows[outcome] += 1
        if (mid, seq) not in sent:
            stray += 1  # e.g. a whole message quarantined (seq 0): none expected here
        elif outcome != "duplicate":
            firsts.setdefault((mid, seq), []).append(outcome)
    lost = [k for k in sent if not firsts.get(k)]
    doubled = [k for k, v in firsts.items() if len(v) > 1]
    wrong = [
        k for k, (key, bad) in sent.items() if firsts.get(k) and firsts[k][0] != ("quarantined" if bad else "stored")
    ]
    clean_keys = [key for key, bad in sent.values() if not bad]
    totals = next((s for s in counts(engine)["sources"] if s["system"] == system), {})
    figures = {
        "fault": fault,
        "messages_sent": len(messages),
        "records_sent": len(sent),
        "defective_sent": sum(1 for _, bad in sent.values() if bad),
        "received": totals.get("received", 0),
        "stored": totals.get("stored", 0),
        "duplicate": totals.get("duplicate", 0),
        "quarantined": totals.get("quarantined", 0),
        "lost": len(lost),
        "doubled": len(doubled),
        "misplaced": len(wrong),
        "stray_lineage_rows": stray,
        "quarantined_without_reason": no_reason,
        "library_keys_missing": sum(1 for k in clean_keys if per_key[k] == 0),
        "library_keys_doubled": sum(1 for n in per_key.values() if n > 1),
        "lineage_rows": dict(outcome_rows),
        "quarantined_by_reason": reasons,
        # same_message: the message was already done; same_content / already_quarantined: a copy
        # (or a redelivery after a partial commit) processed before the first copy was finished
        "duplicate_by_detail": dup_details,
        "examples": {
            "lost": [list(k) for k in lost[:5]],
            "doubled": [list(k) for k in doubled[:5]],
            "misplaced": [list(k) for k in wrong[:5]],
        },
        **extra,
    }
    return figures


def check(figures: dict) -> None:
    """The books must balance; figures are written first so a failing run is on record."""
    write_figures(figures)
    f = figures
    assert f["received"] == f["stored"] + f["duplicate"] + f["quarantined"], f
    assert f["lineage_rows"] == {k: f[k] for k in ("stored", "duplicate", "quarantined") if f[k]}, (
        f"the running totals disagree with the lineage: {f}"
    )
    assert f["lost"] == 0 and f["doubled"] == 0, f"lost {f['lost']}, doubled {f['doubled']}: {f['examples']}"
    assert f["misplaced"] == 0, f"records with the wrong outcome: {f['examples']['misplaced']}"
    assert f["stray_lineage_rows"] == 0 and f["quarantined_without_reason"] == 0, f
    assert f["library_keys_missing"] == 0 and f["library_keys_doubled"] == 0, f
    assert f["stored"] == f["records_sent"] - f["defective_sent"] and f["quarantined"] == f["defective_sent"], f


def write_figures(figures: dict) -> None:
    FIGURES_DIR.mkdir(parents=True, exist_ok=True)
    figures = {**figures, "written_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    (FIGURES_DIR / f"{figures['fault']}.json").write_text(
        json.dumps(figures, ensure_ascii=False, indent=2, default=str), encoding="utf-8"
    )
