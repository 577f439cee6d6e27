"""What the benchmark stages share: the record count of a data set and the progress bar."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from tqdm import tqdm


def bar(total: int, desc: str):
    return tqdm(
        total=total,
        desc=desc,
        unit="rec",
        unit_scale=True,
        file=sys.stderr,
        leave=False,
        mininterval=1.0,
        disable=os.environ.get("GOVHUB_BENCH_QUIET") == "1",
    )


def count_records(data: Path) -> int:
    return int((data / "count").read_text())
