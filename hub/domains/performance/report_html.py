"""The performance report (绩效统计报告) as one self-contained HTML page: Chinese labels,
inline SVG charts (``hub.quality.charts``: no script, no external asset), the same numbers
as the JSON. Handlers appear by staff number (工号) only; the page never holds a name.

Sections: headline figures; trend per period (received and finished, on-time rate);
departments ranked by on-time rate and by satisfaction; items with the most overdue cases;
the table of every row with the indicators in force."""

from __future__ import annotations

from html import escape
from typing import Any

from hub.domains.performance.query import DIMENSION_COLUMNS
from hub.quality.charts import DUPLICATE, FAIR, GOOD, LINE, POOR, hbars, percent

DIM_LABELS = {
    "region_code": "行政区划",
    "dept_code": "部门",
    "item_code": "事项编码",
    "window_no": "窗口",
    "handler_id": "办理人员工号",
}
HEADLINE = ("received", "finished", "on_time_rate", "overdue", "avg_working_days", "satisfaction_rate")
TABLE = (
    "received",
    "accepted",
    "finished",
    "on_time",
    "overdue",
    "on_time_rate",
    "immediate_rate",
    "online_rate",
    "avg_working_days",
    "satisfaction_rate",
)
STYLE = """
body{margin:0;color:#1d2733;font:14px/1.55 "Noto Sans CJK SC","Source Han Sans SC","PingFang SC","Microsoft YaHei","WenQuanYi Micro Hei",sans-serif}
main{max-width:1120px;margin:0 auto;padding:28px 32px 40px}
header{border-bottom:3px solid #1f4e8c;padding-bottom:12px;margin-bottom:20px}
h1{font-size:26px;margin:0 0 4px}.meta,.note{color:#5d6b7a;margin:0;font-size:13px}
h2{font-size:18px;margin:28px 0 10px;padding-left:10px;border-left:4px solid #1f4e8c}
.kpis{display:grid;grid-template-columns:repeat(6,1fr);gap:10px}
.kpi{background:#f5f7f9;border:1px solid #dde2e8;border-radius:6px;padding:10px 12px}
.kpi .label{font-size:13px;color:#5d6b7a}.kpi .value{font-size:24px;font-weight:bold}
table{width:100%;border-collapse:collapse;font-variant-numeric:tabular-nums}
th,td{padding:5px 8px;border-bottom:1px solid #dde2e8;text-align:left}th{background:#f5f7f9;font-size:13px}
td.num,th.num{text-align:right;white-space:nowrap}.two{display:grid;grid-template-columns:1fr 1fr;gap:20px}
svg.chart{display:block;max-width:100%;height:auto}.empty{background:#f5f7f9;border:1px dashed #c4ccd5;padding:14px;color:#5d6b7a}
footer{margin-top:30px;border-top:1px solid #dde2e8;padding-top:10px;color:#5d6b7a;font-size:12px}
"""


def rate_colour(rate: float | None) -> str:
    """Service rates: green from 95%, amber from 85%, red below (the quality report's 98/95 is for data)."""
    if rate is None:
        return DUPLICATE
    return GOOD if rate >= 0.95 else FAIR if rate >= 0.85 else POOR


def format_value(v: Any, unit: str) -> str:
    if v is None:
        return "—"
    if unit == "rate":
        return percent(v)
    if unit in ("working_days", "seconds"):
        return f"{v:,.1f}"
    return f"{int(v):,}"


def _units(report: dict) -> dict[str, tuple[str, str]]:
    return {i["name"]: (i["label"], i["unit"]) for i in report["indicators"]}


def _group_label(row: dict, names: dict[str, str]) -> str:
    parts = []
    for col in DIM_LABELS:
        if col in row:
            code = row[col] or "（未注明）"
            parts.append(names.get(code, code))
    return " / ".join(parts) or "合计"


def _kpis(report: dict, units: dict) -> str:
    cells = []
    for name in HEADLINE:
        if name in units:
            label, unit = units[name]
            cells.append(
                f'<div class="kpi" id="kpi-{name}"><div class="label">{escape(label)}</div>'
                f'<div class="value">{format_value(report["totals"].get(name), unit)}</div></div>'
            )
    return f'<div class="kpis">{"".join(cells)}</div>'


def _trend(report: dict) -> str:
    rows = report["trend"]
    if not rows:
        return '<p class="empty">本期没有数据 (no figures in this period)</p>'
    top = max(max(r["received"], r["finished"]) for r in rows) or 1
    received = [
        {"label": r["period"], "value": r["received"], "text": f"{r['received']:,}", "colour": LINE} for r in rows
    ]
    finished = [
        {"label": r["period"], "value": r["finished"], "text": f"{r['finished']:,}", "colour": GOOD} for r in rows
    ]
    rate = [
        {
            "label": r["period"],
            "value": r.get("on_time_rate") or 0,
            "text": percent(r.get("on_time_rate")),
            "colour": rate_colour(r.get("on_time_rate")),
        }
        for r in rows
    ]
    return (
        '<div class="two"><div><h3>申请件数 received</h3>'
        + hbars(received, top, width=540, label_em=8, title="申请件数")
        + "<h3>办结件数 finished</h3>"
        + hbars(finished, top, width=540, label_em=8, title="办结件数")
        + "</div><div><h3>按时办结率 on-time rate</h3>"
        + hbars(rate, 1.0, width=540, label_em=8, title="按时办结率")
        + "</div></div>"
    )


def _by(report: dict, col: str) -> dict[str, dict]:
    """Rows summed over periods for one dimension column (the report's rows are per period)."""
    out: dict[str, dict] = {}
    for r in report["rows"]:
        if col in r:
            acc = out.setdefault(r[col], {"limited": 0, "on_time": 0, "evaluations": 0, "satisfied": 0, "overdue": 0})
            for k in acc:
                acc[k] += r.get(k) or 0
    return out


def _rankings(report: dict, names: dict[str, str]) -> str:
    depts = _by(report, "dept_code")
    if not depts:
        return '<p class="note">按部门查看时显示部门排名 (run with --by department for the ranking)</p>'
    on_time = sorted(((k, v["on_time"] / v["limited"]) for k, v in depts.items() if v["limited"]), key=lambda x: -x[1])
    sat = sorted(
        ((k, v["satisfied"] / v["evaluations"]) for k, v in depts.items() if v["evaluations"]), key=lambda x: -x[1]
    )

    def bars(pairs):
        rows = [
            {"label": names.get(k, k or "（未注明）"), "value": v, "text": percent(v), "colour": rate_colour(v)}
            for k, v in pairs[:15]
        ]
        return hbars(rows, 1.0, width=540, label_em=14) or '<p class="empty">无数据</p>'

    return f'<div class="two"><div><h3>按时办结率排名</h3>{bars(on_time)}</div><div><h3>满意率排名</h3>{bars(sat)}</div></div>'


def _overdue_items(report: dict) -> str:
    items = sorted(
        ((k, v["overdue"]) for k, v in _by(report, "item_code").items() if v["overdue"]), key=lambda x: -x[1]
    )
    if not items:
        return '<p class="note">按事项查看时列出超期事项 (run with --by item), 或本期没有超期件</p>'
    top = items[0][1]
    rows = [{"label": k, "value": n, "text": f"{n:,}", "colour": POOR if n == top else FAIR} for k, n in items[:15]]
    return hbars(rows, top, width=1056, label_em=14)


def _table(report: dict, units: dict, names: dict[str, str]) -> str:
    cols = [n for n in TABLE if n in units]
    head = "".join(f'<th class="num">{escape(units[n][0])}</th>' for n in cols)
    body = []
    for r in report["rows"]:
        cells = "".join(f'<td class="num" data-col="{n}">{format_value(r.get(n), units[n][1])}</td>' for n in cols)
        key = escape("|".join(str(r.get(c, "")) for c in DIM_LABELS if c in r))
        body.append(
            f'<tr data-period="{escape(r["period"])}" data-group="{key}"><td>{escape(r["period"])}</td>'
            f"<td>{escape(_group_label(r, names))}</td>{cells}</tr>"
        )
    total = "".join(f'<td class="num">{format_value(report["totals"].get(n), units[n][1])}</td>' for n in cols)
    return (
        f'<table id="perf-table"><thead><tr><th>期间</th><th>分组</th>{head}</tr></thead><tbody>{"".join(body)}</tbody>'
        f"<tfoot><tr><td>合计</td><td></td>{total}</tr></tfoot></table>"
    )


def render_html(report: dict, names: dict[str, str] | None = None) -> str:
    """The page for ``report`` (``query.figures``); ``names`` maps department codes to names."""
    names = names or {}
    units = _units(report)
    p = report["period"]
    every = {"day": "日", "month": "月", "quarter": "季度", "year": "年"}[p["every"]]
    by = "、".join(DIM_LABELS[DIMENSION_COLUMNS[b]] for b in report["by"])
    indicators = "".join(f"<li>{escape(i['label'])}（{escape(i['name'])}）</li>" for i in report["indicators"])
    return (
        '<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8">'
        f"<title>绩效统计报告 {p['from']} 至 {p['to']}</title><style>{STYLE}</style></head><body><main>"
        f'<header><h1>绩效统计报告</h1><p class="meta">统计期间 {p["from"]} 至 {p["to"]}，按{every}汇总'
        f"{'，分组：' + escape(by) if by else ''}。办理时长按法定工作日历（含调休）计算，特别程序时间不计。</p></header>"
        f"<h2>主要指标</h2>{_kpis(report, units)}"
        f"<h2>趋势</h2>{_trend(report)}"
        f"<h2>部门排名</h2>{_rankings(report, names)}"
        f"<h2>超期事项</h2>{_overdue_items(report)}"
        f"<h2>明细</h2>{_table(report, units, names)}"
        f"<footer><p>指标定义见 catalog/performance_indicators.yaml：</p><ul>{indicators}</ul>"
        "<p>办理人员仅以工号显示，不含姓名。</p></footer></main></body></html>"
    )
