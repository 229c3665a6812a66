"""A service report as PDF: WeasyPrint lays out HTML whose charts are SVG drawn here, on the server, with a
CJK font from Debian (WenQuanYi Micro Hei), so no browser and no script is involved.

`render_pdf(figures, commentary, meta)` is the one entry point (the archive and bench/reports.py call it).
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from html import escape
from typing import Any

from forms.catalogue.common import (
    BUSINESS_LINE_CHOICES,
    CATEGORY_CHOICES,
    CUSTOMER_TYPE_CHOICES,
    DEVICE_TYPE_CHOICES,
    FAULT_LEVEL_CHOICES,
)
from forms.catalogue.service_report import REPORT_CLASS_CHOICES

FONT = "WenQuanYi Micro Hei"
_LABELS = {name: {c.value: c.label_zh for c in choices} for name, choices in (
    ("category", CATEGORY_CHOICES), ("fault_level", FAULT_LEVEL_CHOICES), ("device_type", DEVICE_TYPE_CHOICES),
    ("customer_type", CUSTOMER_TYPE_CHOICES), ("business_line", BUSINESS_LINE_CHOICES))}
CLASS_NAMES = {choice.value: choice.label_zh for choice in REPORT_CLASS_CHOICES}
CYCLE_NAMES = {"monthly": "月度", "quarterly": "季度", "annual": "年度"}
_BREAKDOWNS = (("fault_level", "按故障级别"), ("category", "按事件类别"), ("process_id", "按服务流程"),
               ("device_type", "按设备类型"), ("customer_type", "按客户属性"), ("business_line", "按业务类别"))
_TARGETS = {"respond": "响应", "resolve": "解决"}
_CSS = f"""
@page {{ size: A4; margin: 18mm 16mm 20mm 16mm;
        @bottom-center {{ content: "第 " counter(page) " 页 / 共 " counter(pages) " 页";
                          font-size: 8pt; color: #666; }} }}
body {{ font-family: "{FONT}", sans-serif; font-size: 10pt; color: #222; line-height: 1.5; }}
h1 {{ font-size: 18pt; margin: 0 0 4pt; }} h2 {{ font-size: 12.5pt; border-bottom: 1px solid #999;
      margin: 14pt 0 6pt; padding-bottom: 2pt; }}
table {{ border-collapse: collapse; width: 100%; margin: 4pt 0; }}
th, td {{ border: 1px solid #bbb; padding: 3pt 5pt; text-align: left; vertical-align: top; }}
th {{ background: #eef2f7; }} td.n {{ text-align: right; }}
.meta td:first-child {{ width: 28%; background: #f6f6f6; }}
.commentary {{ white-space: pre-wrap; border: 1px solid #ccc; padding: 6pt; background: #fafafa; }}
.chart {{ display: inline-block; width: 49%; vertical-align: top; page-break-inside: avoid; }}
"""


def attribute_label(kind: str, value: str | None) -> str:
    """A recorded attribute (device type, customer type, ...) by its Chinese name."""
    return _LABELS.get(kind, {}).get(value, value) if value else ""


def _label(kind: str, value: str, names: dict[str, str]) -> str:
    if not value:
        return "未记录"
    if kind == "process_id":
        return names.get(value, value)
    return _LABELS.get(kind, {}).get(value, value)


def bar_chart(title: str, items: Sequence[tuple[str, int | float]], *, width: int = 330) -> str:
    """A horizontal bar chart as inline SVG (one bar per item, its value at the end)."""
    items = list(items)[:8]
    row, left, top = 20, 92, 22
    height = top + row * max(len(items), 1) + 6
    peak = max((value for _, value in items), default=0) or 1
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" font-family="{FONT}" font-size="10">',
             f'<text x="0" y="13" font-size="11" font-weight="bold">{escape(title)}</text>']
    if not items:
        parts.append(f'<text x="0" y="{top + 12}" fill="#888">无数据</text>')
    for i, (label, value) in enumerate(items):
        y = top + i * row
        bar = (width - left - 40) * value / peak
        parts.append(f'<text x="{left - 6}" y="{y + 12}" text-anchor="end">{escape(label[:8])}</text>'
                     f'<rect x="{left}" y="{y + 2}" width="{bar:.1f}" height="{row - 6}" fill="#3b6fb6"/>'
                     f'<text x="{left + bar + 4:.1f}" y="{y + 12}">{value:g}</text>')
    parts.append("</svg>")
    return "".join(parts)


def line_chart(title: str, points: Sequence[tuple[str, int | float]], *, width: int = 680, height: int = 160) -> str:
    """A line chart of a daily series as inline SVG, with the first, middle and last dates on the axis."""
    points = list(points)
    left, right, top, bottom = 34, 10, 22, 24
    plot_w, plot_h = width - left - right, height - top - bottom
    peak = max((value for _, value in points), default=0) or 1
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" font-family="{FONT}" font-size="9">',
             f'<text x="0" y="13" font-size="11" font-weight="bold">{escape(title)}</text>',
             f'<line x1="{left}" y1="{top + plot_h}" x2="{left + plot_w}" y2="{top + plot_h}" stroke="#888"/>',
             f'<line x1="{left}" y1="{top}" x2="{left}" y2="{top + plot_h}" stroke="#888"/>',
             f'<text x="{left - 4}" y="{top + 8}" text-anchor="end">{peak:g}</text>',
             f'<text x="{left - 4}" y="{top + plot_h}" text-anchor="end">0</text>']
    if points:
        step = plot_w / max(len(points) - 1, 1)
        xy = [(left + i * step, top + plot_h - plot_h * value / peak) for i, (_, value) in enumerate(points)]
        parts.append('<polyline fill="none" stroke="#d0602a" stroke-width="1.5" points="'
                     + " ".join(f"{x:.1f},{y:.1f}" for x, y in xy) + '"/>')
        for i in sorted({0, len(points) // 2, len(points) - 1}):
            parts.append(f'<text x="{xy[i][0]:.1f}" y="{height - 8}" text-anchor="middle">'
                         f'{escape(points[i][0][5:])}</text>')
    parts.append("</svg>")
    return "".join(parts)


def breakdown_charts(figures: dict[str, Any]) -> list[str]:
    """One bar chart (SVG) per breakdown of the figures: level, category, process, device, customer, business."""
    by, names = figures.get("by", {}), figures.get("process_names") or {}
    return [bar_chart(title, [(_label(kind, value, names), count) for value, count in by.get(kind, ())])
            for kind, title in _BREAKDOWNS]


def trend_chart(figures: dict[str, Any]) -> str:
    return line_chart("每日受理事件数", figures.get("trend", []))


def _rate(value: Any) -> str:
    return "—" if value is None else f"{value}%"


def _html(figures: dict[str, Any], commentary: str, meta: dict[str, Any]) -> str:
    names = figures.get("process_names") or {}
    meta_rows = "".join(f"<tr><td>{escape(str(label))}</td><td>{escape(str(value))}</td></tr>"
                        for label, value in meta.get("rows", []) if value not in (None, ""))
    sla = figures.get("sla", {})
    sla_rows = "".join(f'<tr><td>{_TARGETS[target]}</td><td class="n">{sla[target]["met"]}</td>'
                       f'<td class="n">{sla[target]["missed"]}</td><td class="n">{_rate(sla[target]["rate"])}</td></tr>'
                       for target in _TARGETS if target in sla)
    summary = [("受理事件数", figures.get("opened", 0)), ("已解决", figures.get("resolved", 0)),
               ("已关闭", figures.get("closed", 0)), ("期末未关闭", figures.get("open_at_end", 0)),
               ("解决率", _rate(figures.get("resolution_rate"))),
               ("平均解决时长（小时）", figures.get("mean_resolution_hours") or "—"),
               ("满意度平均分", (figures.get("satisfaction") or {}).get("average") or "—"),
               ("投诉", figures.get("complaints", 0)), ("督促次数", figures.get("chases", 0)),
               ("SLA 违约事件", figures.get("breach_count", 0))]
    summary_rows = "".join(f'<tr><td>{escape(label)}</td><td class="n">{escape(str(value))}</td></tr>'
                           for label, value in summary)
    charts = "".join(f'<div class="chart">{svg}</div>' for svg in breakdown_charts(figures))
    breaches = "".join(f'<tr><td class="n">{b["instance_id"]}</td><td>{escape(b.get("title") or "")}</td>'
                       f'<td>{escape(_label("fault_level", b.get("fault_level") or "", names))}</td>'
                       f'<td>{"、".join(_TARGETS[t] for t in b["targets"])}</td></tr>'
                       for b in figures.get("breaches", []))
    systems = "".join(f'<tr><td>{escape(system)}</td><td class="n">{count}</td></tr>'
                      for system, count in figures.get("top_systems", []))
    generated = (meta.get("generated_at") or dt.datetime.now(dt.UTC)).astimezone(meta.get("zone"))
    breach_table = (f'<table><tr><th>编号</th><th>事件</th><th>级别</th><th>未达成目标</th></tr>{breaches}</table>'
                    if breaches else "<p>本期无 SLA 违约事件。</p>")
    title = escape(meta.get("title") or "服务报告")
    return f"""<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8"><title>{title}</title>
<style>{_CSS}</style></head><body>
<h1>{title}</h1>
<table class="meta">{meta_rows}<tr><td>生成时间</td><td>{generated:%Y-%m-%d %H:%M %Z}</td></tr></table>
<h2>一、服务概况</h2><table>{summary_rows}</table>
<h2>二、SLA 达成情况</h2>
<table><tr><th>目标</th><th>达成</th><th>未达成</th><th>达成率</th></tr>{sla_rows}</table>
{breach_table}
<h2>三、工作量分布</h2><div class="charts">{charts}</div>
<h2>四、趋势</h2>{trend_chart(figures)}
<h2>五、最常见的问题（按系统）</h2>
{f'<table><tr><th>系统/设备</th><th>事件数</th></tr>{systems}</table>' if systems else '<p>无。</p>'}
<h2>六、分析与评述</h2><div class="commentary">{escape(commentary or '（尚未撰写）')}</div>
</body></html>"""


def render_pdf(figures: dict[str, Any], commentary: str, meta: dict[str, Any]) -> bytes:
    """The report as PDF bytes. `meta`: title, rows [(label, value)] for the header table, generated_at, zone."""
    from weasyprint import HTML  # imported when first needed: it loads Pango and fonts (about a second)

    pdf: bytes = HTML(string=_html(figures, commentary, meta)).write_pdf()
    return pdf
