"""The ingest's process-local instruments (Prometheus default registry).

Defined here, under the pipeline that times itself; ``hub.ops.metrics`` serves them
beside the figures it reads from the database and the bus.
"""

from __future__ import annotations

from prometheus_client import Histogram
from prometheus_client.context_managers import Timer

BATCH_SECONDS = Histogram(
    "govhub_batch_duration_seconds",
    "One store transaction (a batch of records) in this process",
    ["kind"],
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
)


def timed_batch(kind: str) -> Timer:
    """Context manager timing one store transaction."""
    return BATCH_SECONDS.labels(kind=kind).time()
