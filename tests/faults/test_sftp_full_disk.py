"""Fault 6: the SFTP server's disk is full — a real one: the server's root is a small
tmpfs (``mount -t tmpfs -o size=…,nr_inodes=…``) filled to the last block and inode.

The hub has two SFTP paths, and both meet the full disk:

- **inbound drop** (``govhub poll``): the hub reads each file into memory (it keeps no
  local spool), ingests it, and only then acknowledges it by moving it to ``done/`` —
  which needs a new folder on the full disk and fails (SSH_FX_FAILURE). The file must
  stay in the drop (not marked done), committed whole, and count once when it is read
  again after space returns (its records then are duplicates of the same message);
- **outbound file drop** (delivery to an ``sftp://`` peer): the upload fails mid-file;
  the partial ``.NAME.part`` must be gone, the delivery retried, and the file delivered
  once when space returns.
"""

from __future__ import annotations

import errno
import os
import re
import shutil
import subprocess
import tempfile
import time
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import func, select

from adapters.errors import TransientError
from adapters.registry import open_adapter
from hub.db.tables import delivery, lineage
from hub.ingest.drop import poll_drop
from hub.outbound.delivery import Deliverer
from hub.wiring import standard_pipeline
from sandbox.sftp_server import start_sftp_server
from tests.conftest import CI
from tests.faults.ledger import account, check, make_messages
from tests.integration.conftest import catalog

SYSTEM = "dept-a"  # the test catalogue's 常熟市行政审批局 system


class SmallDisk:
    """A tmpfs of ``size`` with ``inodes`` inodes; ``fill()`` takes every free block and
    inode with filler files, ``free()`` gives them back."""

    def __init__(self, size: str = "4m", inodes: int = 48):
        self.path = Path(tempfile.mkdtemp(prefix="govhub-faults-disk-"))
        proc = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={size},nr_inodes={inodes},mode=0755", "tmpfs", str(self.path)],
            capture_output=True,
            text=True,
        )
        if proc.returncode != 0:
            self.path.rmdir()
            raise OSError(f"mount -t tmpfs failed ({proc.stderr.strip() or proc.returncode}); needs root")
        self.fillers: list[Path] = []

    def fill(self) -> None:
        n = 0
        try:
            with open(self.path / ".filler-blocks", "wb") as f:
                self.fillers.append(self.path / ".filler-blocks")
                while True:
                    f.write(b"\0" * 65536)
                    f.flush()
        except OSError as exc:
            assert exc.errno == errno.ENOSPC, exc
        while True:
            try:
                p = self.path / f".filler-inode-{n}"
                p.touch()
                self.fillers.append(p)
                n += 1
            except OSError as exc:
                assert exc.errno == errno.ENOSPC, exc
                break

    def free(self) -> None:
        for p in self.fillers:
            p.unlink(missing_ok=True)
        self.fillers.clear()

    def close(self) -> None:
        subprocess.run(["umount", str(self.path)], capture_output=True)
        shutil.rmtree(self.path, ignore_errors=True)


@pytest.fixture
def small_disk():
    try:
        disk = SmallDisk()
    except OSError as exc:
        if CI:
            pytest.fail(f"the full-disk fault needs a tmpfs it can fill: {exc}")
        pytest.skip(f"cannot mount a tmpfs here: {exc}")
    yield disk
    disk.close()


def _lineage(engine, message_id: str) -> Counter:
    with engine.connect() as conn:
        return Counter(
            dict(
                conn.execute(
                    select(lineage.c.outcome, func.count())
                    .where(lineage.c.message_id == message_id)
                    .group_by(lineage.c.outcome)
                ).all()
            )
        )


def test_sftp_full_disk(small_disk, catalog, fault_engine, monkeypatch):
    root = small_disk.path
    (root / "drop").mkdir()
    (root / "inbox").mkdir()
    messages = make_messages("sftp", seed=601, n_messages=3, per_message=25)
    for m in messages:
        (root / "drop" / f"{m.message_id}.xml").write_bytes(m.body)
    server = start_sftp_server(root, "dept", "dept-sftp-password")
    try:
        catalog.add(
            {
                "id": "dept-sftp",
                "name": "常熟市档案馆文件交换",
                "level": "department",
                "region_code": "320581",
                "endpoint": server.url("/inbox", timeout=5),
            }
        )
        catalog.update("dept-a", report_to=["dept-sftp"])
        pipe = standard_pipeline(fault_engine)
        drop_url = server.url("/drop", stable_seconds=0, pattern="*.xml")
        small_disk.fill()
        t0 = time.monotonic()

        # inbound: the first file is committed, its move to done/ fails on the full disk
        with open_adapter(drop_url) as drop, pytest.raises(TransientError) as failed_ack:
            poll_drop(drop, SYSTEM, pipe)
        first = messages[0]
        assert sorted(p.name for p in (root / "drop").iterdir()) == [f"{m.message_id}.xml" for m in messages]
        assert not (root / "drop" / "done").exists(), "nothing may be marked done"
        assert sum(_lineage(fault_engine, first.message_id).values()) == first.size, "committed whole"
        assert not any(_lineage(fault_engine, m.message_id) for m in messages[1:])

        # outbound: the upload of the stored cases fails; no partial file is left
        d = Deliverer(fault_engine, batch_size=100, base_backoff=0.05, max_backoff=0.2, max_attempts=100)
        outbound_while_full = d.run_once()
        assert outbound_while_full.get("retry") and not outbound_while_full.get("acknowledged")
        assert list((root / "inbox").iterdir()) == [], "a failed upload must leave no partial file"
        with fault_engine.connect() as conn:
            last_error = conn.execute(select(delivery.c.last_error).limit(1)).scalar_one()

        small_disk.free()  # space returns
        freed_at = time.monotonic() - t0
        with open_adapter(drop_url) as drop:
            counts = poll_drop(drop, SYSTEM, pipe)
        assert counts["files"] == 3
        assert sorted(p.name for p in (root / "drop" / "done").iterdir()) == [f"{m.message_id}.xml" for m in messages]
        assert [p.name for p in (root / "drop").iterdir()] == ["done"]
        for _ in range(100):
            d.run_once()
            with fault_engine.connect() as conn:
                if not conn.execute(select(func.count()).where(delivery.c.status == "pending")).scalar_one():
                    break
            time.sleep(0.05)
        d.close()
    finally:
        server.stop()
    delivered = sorted((root / "inbox").iterdir())
    received = [k for f in delivered for k in re.findall(r"<(?:\w+:)?case_no>([^<]+)<", f.read_text("utf-8"))]
    expected = [k for m in messages for seq, k in enumerate(m.keys, 1) if seq not in m.defective]
    figures = account(
        fault_engine,
        messages,
        "sftp_full_disk",
        system=SYSTEM,
        disk="tmpfs size=4m nr_inodes=48, filled to ENOSPC (real, not a fake)",
        inbound={
            "ack_error": failed_ack.value.message[:200],
            "files_done": 3,
            "first_file_reread_as": dict(_lineage(fault_engine, first.message_id)),
        },
        outbound={
            "upload_error": (last_error or "")[:200],
            "files_delivered": len(delivered),
            "records_delivered": len(received),
            "records_delivered_distinct": len(set(received)),
            "partial_files_left": sum(1 for f in delivered if f.name.endswith(".part")),
        },
        timing={"space_freed_after_s": round(freed_at, 2)},
    )
    check(figures)
    assert sorted(received) == sorted(expected) and len(received) == len(set(received))
    assert figures["inbound"]["first_file_reread_as"] == {
        "stored": first.size - len(first.defective),
        "quarantined": len(first.defective),
        "duplicate": first.size,
    }
    assert os.listdir(root / "inbox") and not any(n.startswith(".") for n in os.listdir(root / "inbox"))
