"""The quality report as one self-contained HTML page (Chinese labels, inline CSS and
SVG, no script and no external asset), from the dict ``hub.quality.report.build`` makes.

The template is ``hub/quality/templates/quality_report.html.j2`` (Jinja2, autoescaped);
the charts come from ``hub.quality.charts``."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from hub.quality import charts

TEMPLATES = Path(__file__).resolve().parent / "templates"
SCOPES = {"daily": "每日", "batch": "批次"}
HALF = 518  # one of two charts side by side on the 1056 px page
STATUS = {"open": "待处理", "retried": "已更正重试", "rejected": "已驳回"}


def _n(v) -> str:
    return "—" if v is None else f"{v:,}"


@lru_cache(maxsize=1)
def _env() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html", "j2"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        n=_n,
        pct=charts.percent,
        rate_colour=charts.rate_colour,
        scope=lambda s: SCOPES.get(s, s),
        status=lambda s: STATUS.get(s, s),
    )
    return env


def _rate_rows(items: list[dict], label) -> list[dict]:
    """Bars of pass rates (items without a rate are left out)."""
    return [
        {
            "label": label(i),
            "value": i["pass_rate"] or 0,
            "text": charts.percent(i["pass_rate"]),
            "colour": charts.rate_colour(i["pass_rate"]),
            "title": f"{label(i)}：合格率 {charts.percent(i['pass_rate'])}（入库 {i['stored']:,}，隔离 {i['quarantined']:,}）",
        }
        for i in items
        if i["pass_rate"] is not None
    ]


def _defect_rows(defects: list[dict]) -> list[dict]:
    """Bars of quarantined records by reason."""
    return [
        {
            "label": d["label_zh"],
            "value": d["count"],
            "text": f"{d['count']:,}",
            "colour": charts.QUARANTINED,
            "title": f"{d['label_zh']}（{d['reason']}）：{d['count']:,} 条",
        }
        for d in defects
    ]


def _worst_rows(worst: list[dict]) -> list[dict]:
    """Bars of the source systems with the highest quarantine rates."""
    return [
        {
            "label": w["system_name"],
            "value": w["quarantine_rate"],
            "text": charts.percent(w["quarantine_rate"]),
            "colour": charts.POOR,
            "title": f"{w['system_name']}：隔离率 {charts.percent(w['quarantine_rate'])}",
        }
        for w in worst
    ]


def _charts(report: dict) -> dict[str, Markup]:
    defects = report["defects"][:12]
    worst = report["worst_sources"]
    return {
        "systems": Markup(
            charts.hbars(
                _rate_rows(report["systems"], lambda s: s["system_name"]),
                1.0,
                width=HALF,
                label_em=12,
                title="各来源系统合格率",
            )
        ),
        "kinds": Markup(
            charts.hbars(
                _rate_rows(report["kinds"], lambda k: f"{k['kind_label']}（{k['kind']}）"),
                1.0,
                width=HALF,
                label_em=12,
                title="各消息类型合格率",
            )
        ),
        "trend": Markup(charts.trend(report["trend"])) if report["totals"]["period"]["received"] else Markup(""),
        "defects": Markup(charts.hbars(_defect_rows(defects), label_em=20, title="按原因统计的隔离记录")),
        "worst": Markup(charts.hbars(_worst_rows(worst), label_em=20, title="隔离率最高的来源系统")),
    }


def render_html(report: dict) -> str:
    return _env().get_template("quality_report.html.j2").render(r=report, chart=_charts(report))
