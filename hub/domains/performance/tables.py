"""Tables of the performance figures (绩效统计): ``perf_day``, ``perf_case``, ``perf_watermark``.

| table | one row per | written by |
|---|---|---|
| ``perf_day`` | day × region × department × item × window × handler (staff number, never a name) | ``refresh``: the affected days are deleted and aggregated again, set-based |
| ``perf_case`` | case in the library (``lib_case.id``): its days, dimensions and time-limit verdict on the working-day calendar | ``refresh``: the cases changed since the watermark |
| ``perf_watermark`` | source (``case``, ``evaluation``, ``supervision``, ``hall``) | ``refresh``: how far each source has been read |

A dimension that does not apply is ``''`` (a case has no window; a hall ticket no
department), so the key can be a primary key and the upsert a plain ``ON CONFLICT``.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import BigInteger, Column, Date, DateTime, Index, Integer, String, Table, text

from hub.db.tables import metadata

DIMENSIONS = ("region_code", "dept_code", "item_code", "window_no", "handler_id")
# Case measures counted on the application day, then on the finish day.
APPLY_MEASURES = ("received", "accepted", "not_accepted", "immediate", "online", "express")
FINISH_MEASURES = (
    "finished",
    "withdrawn",
    "limited",
    "on_time",
    "overdue",
    "past_legal",
    "early",
    "wd_sum",
    "wd_n",
    "speed_n",
    "promised_sum",
    "legal_sum",
    "actual_sum",
    "steps",
    "special",
    "bundles",
)
EVALUATION_MEASURES = ("evaluations", "satisfied", "bad", "follow_ups", "followed_in_time")
SUPERVISION_MEASURES = ("yellow", "red", "supervised", "supervised_closed")
HALL_MEASURES = ("tickets", "wait_sum_s", "wait_n", "served")
MEASURES = APPLY_MEASURES + FINISH_MEASURES + EVALUATION_MEASURES + SUPERVISION_MEASURES + HALL_MEASURES


def _dim(name: str, length: int, label: str) -> Column[Any]:
    return Column(name, String(length), primary_key=True, server_default="", comment=label)


def _measure(name: str) -> Column[Any]:
    return Column(name, BigInteger(), nullable=False, server_default=text("0"))


perf_day = Table(
    "perf_day",
    metadata,
    Column("day", Date(), primary_key=True),
    _dim("region_code", 12, "行政区划代码"),
    _dim("dept_code", 64, "部门统一社会信用代码"),
    _dim("item_code", 64, "事项编码"),
    _dim("window_no", 32, "窗口编号"),
    _dim("handler_id", 64, "办理人员工号"),
    *(_measure(m) for m in MEASURES),
    comment="绩效统计: day-level sums per region, department, item, window and handler",
)

_CASE_FLAGS = tuple(m for m in APPLY_MEASURES + FINISH_MEASURES)
perf_case = Table(
    "perf_case",
    metadata,
    Column("case_id", BigInteger(), primary_key=True, autoincrement=False, comment="lib_case.id"),
    Column("apply_day", Date(), nullable=False),
    Column("finish_day", Date(), nullable=True),
    Column("region_code", String(12), nullable=False),
    Column("dept_code", String(64), nullable=False),
    Column("item_code", String(64), nullable=False),
    Column("handler_id", String(64), nullable=False, comment="受理 step's staff number, '' if none"),
    Column("working_days", Integer(), nullable=True, comment="working days to finish, special procedures excluded"),
    *(Column(m, Integer(), nullable=False, server_default=text("0")) for m in _CASE_FLAGS),
    Column("computed_at", DateTime(), nullable=False),
    Index("ix_perf_case_apply_day", "apply_day"),
    Index("ix_perf_case_finish_day", "finish_day"),
    comment="绩效统计: one row per case, what perf_day sums",
)

perf_watermark = Table(
    "perf_watermark",
    metadata,
    Column("source", String(16), primary_key=True),
    Column("read_at", DateTime(), nullable=True, comment="rows changed up to here are counted"),
    Column("read_id", BigInteger(), nullable=True, comment="append-only sources: the last id counted"),
    Column("updated_at", DateTime(), nullable=False),
    comment="绩效统计: how far the performance refresh has read each source",
)

CASE_MEASURES = _CASE_FLAGS
