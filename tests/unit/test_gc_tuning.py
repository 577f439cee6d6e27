"""hub.ingest.gc_tuning: the collector's thresholds are raised while an ingest runs and put
back when the last one ends, also when ingests overlap or one fails."""

from __future__ import annotations

import gc

import pytest

from hub.ingest.gc_tuning import THRESHOLDS, throughput_gc


def test_raised_while_ingesting_and_restored_after_overlapping_and_failing_ones():
    before = gc.get_threshold()
    assert before != THRESHOLDS
    with throughput_gc():
        assert gc.get_threshold() == THRESHOLDS
        with pytest.raises(RuntimeError):
            with throughput_gc():  # a second ingest in another request thread, which fails
                raise RuntimeError("boom")
        assert gc.get_threshold() == THRESHOLDS  # the first one still runs
    assert gc.get_threshold() == before
