"""Test hooks for faults that cannot be caused from outside at an exact moment.

``GOVHUB_FAULT_PAUSE=<point>:<seconds>[:<times>]`` makes the process sleep at ``point``
(the first ``times`` arrivals only, when given) so a test can SIGKILL it there, or
restart the database under it; ``GOVHUB_FAULT_MARKER=<path>`` is created on arrival so
the test knows the moment has come. Points: ``before_commit`` (records written,
transaction still open), ``before_ack`` (committed, bus message not yet acknowledged)
and ``drop_before_ack`` (a drop file committed, not yet moved to done). Unset in
production.
"""

from __future__ import annotations

import os
import time

_arrivals: dict[str, int] = {}


def pause_point(name: str) -> None:
    spec = os.environ.get("GOVHUB_FAULT_PAUSE")
    if spec and spec.startswith(name + ":"):
        seconds, _, times = spec[len(name) + 1 :].partition(":")
        _arrivals[name] = _arrivals.get(name, 0) + 1
        if times and _arrivals[name] > int(times):
            return
        marker = os.environ.get("GOVHUB_FAULT_MARKER")
        if marker:
            with open(marker, "w") as f:
                f.write(name)
        time.sleep(float(seconds))
