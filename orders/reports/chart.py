"""The sales report's bar chart as inline SVG, drawn on the server (no script, no CDN)."""

from __future__ import annotations

from decimal import Decimal

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from orders.reports.sales import SalesRow

WIDTH, HEIGHT, LEFT, BOTTOM, TOP = 760, 260, 70, 60, 20


def sales_chart_svg(rows: list[SalesRow]) -> SafeString:
    """Revenue per group as bars, labelled with the group and the order count."""
    if not rows:
        return mark_safe("")
    peak = max((row.revenue for row in rows), default=Decimal(0)) or Decimal(1)
    plot_width, plot_height = WIDTH - LEFT - 10, HEIGHT - BOTTOM - TOP
    slot = plot_width / len(rows)
    bar = max(2.0, slot * 0.7)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{WIDTH}" '
        f'height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}" font-family="sans-serif" '
        'font-size="11"><title>Revenue by group</title>',
        f'<line x1="{LEFT}" y1="{TOP + plot_height}" x2="{WIDTH - 10}" '
        f'y2="{TOP + plot_height}" stroke="#888"/>',
        f'<text x="{LEFT - 6}" y="{TOP + 4}" text-anchor="end">{escape(peak)}</text>',
        f'<text x="{LEFT - 6}" y="{TOP + plot_height}" text-anchor="end">0</text>',
    ]
    for index, row in enumerate(rows):
        height = float(row.revenue / peak) * plot_height
        x = LEFT + index * slot + (slot - bar) / 2
        y = TOP + plot_height - height
        label = escape(row.group if len(rows) <= 14 or index % 7 == 0 else "")
        parts.append(
            f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar:.1f}" height="{height:.1f}" '
            f'fill="#417690"><title>{escape(row.group)}: {escape(row.revenue)} '
            f"{escape(row.currency)}, {row.orders} orders</title></rect>"
        )
        parts.append(
            f'<text x="{x + bar / 2:.1f}" y="{TOP + plot_height + 14}" text-anchor="end" '
            f'transform="rotate(-35 {x + bar / 2:.1f} {TOP + plot_height + 14})">{label}</text>'
        )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 (every value above is escaped or numeric)
