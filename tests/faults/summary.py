"""Print the figures of the last fault-suite run as a table (for the closing note).

python -m tests.faults.summary            # table of var/faults/*.json
python -m tests.faults.summary --json     # the same, one JSON document
"""

from __future__ import annotations

import json
import sys

from hub.ops.stats import _l, _r, _w
from tests.faults.ledger import FIGURES_DIR

ORDER = [
    "rabbitmq_restart",
    "worker_sigkill_rabbitmq",
    "worker_sigkill_embedded",
    "postgres_restart",
    "slow_peer",
    "redelivery_postgresql",
    "redelivery_sqlite",
    "sftp_full_disk",
]
LABELS = {
    "rabbitmq_restart": "RabbitMQ 重启 restarted mid-stream",
    "worker_sigkill_rabbitmq": "worker SIGKILL ×2 (RabbitMQ)",
    "worker_sigkill_embedded": "worker SIGKILL ×2 (embedded bus)",
    "postgres_restart": "PostgreSQL 重启 ×2 mid-batch",
    "slow_peer": "对端 peer 500s, then slow",
    "redelivery_postgresql": "同一消息 same message ×50 (PG)",
    "redelivery_sqlite": "同一消息 same message ×50 (SQLite)",
    "sftp_full_disk": "SFTP 磁盘满 full disk",
}
COLUMNS = (
    ("故障 fault", 36),
    ("发送 sent", 10),
    ("接收 received", 14),
    ("入库 stored", 12),
    ("重复 duplicate", 15),
    ("隔离 quarantined", 17),
    ("丢失 lost", 10),
    ("双份 doubled", 13),
)
KEYS = ("records_sent", "received", "stored", "duplicate", "quarantined", "lost", "doubled")


def load() -> list[dict]:
    found = {p.stem: json.loads(p.read_text(encoding="utf-8")) for p in sorted(FIGURES_DIR.glob("*.json"))}
    return [found[k] for k in ORDER if k in found] + [v for k, v in found.items() if k not in ORDER]


def _row(cells) -> str:
    first, *rest = zip(cells, (w for _, w in COLUMNS))
    return _l(first[0], first[1]) + "".join(_r(c, w) for c, w in rest)


def detail(f: dict) -> str:
    """The fault-specific line under a row: timing and what the fault did."""
    parts = []
    if "timing" in f:
        parts.append(", ".join(f"{k} {v}" for k, v in f["timing"].items()))
    for key in ("kills", "publish_failures_reported", "govhub_publish", "messages_put_back", "duplicate_by_detail"):
        if f.get(key) not in (None, [], {}):
            parts.append(f"{key} {f[key]}")
    if "delivery" in f:
        d = f["delivery"]
        parts.append(
            f"delivered {d['acknowledged']}/{d['records_to_deliver']} acknowledged once; peer kept "
            f"{d['peer_kept_distinct']} distinct of {d['peer_kept']}; requests per batch {d['peer_requests_per_batch']}"
        )
    if "outbound" in f:
        o = f["outbound"]
        parts.append(
            f"outbound {o['records_delivered']} records in {o['files_delivered']} file(s), "
            f"{o['partial_files_left']} partial; drop file re-read as {f['inbound']['first_file_reread_as']}"
        )
    return "; ".join(parts)


def render(rows: list[dict]) -> str:
    head = _row([c for c, _ in COLUMNS])
    rule = "-" * _w(head)
    lines = [head, rule]
    for f in rows:
        lines.append(_row([LABELS.get(f["fault"], f["fault"]), *(f"{f[k]:,}" for k in KEYS)]))
        lines.append("    " + detail(f))
    ok = all(
        f["lost"] == 0 and f["doubled"] == 0 and f["received"] == f["stored"] + f["duplicate"] + f["quarantined"]
        for f in rows
    )
    lines += [
        rule,
        (
            "✓ 账目平衡 every fault: received = stored + duplicate + quarantined, none lost, none doubled"
            if ok
            else "✗ 账目不平 a fault left lost or doubled records: see var/faults/*.json"
        ),
    ]
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    rows = load()
    if not rows:
        print(f"no figures in {FIGURES_DIR}: run `CI=true python -m pytest -q tests/faults` first", file=sys.stderr)
        return 1
    print(json.dumps(rows, ensure_ascii=False, indent=2) if "--json" in argv else render(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
