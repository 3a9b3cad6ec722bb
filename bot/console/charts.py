"""Server-side SVG charts for the dashboard: no script, no internet, readable in any browser and in print."""

from __future__ import annotations

from markupsafe import Markup, escape

COLORS = ("#2b6cb0", "#c05621", "#2f855a", "#b7791f", "#6b46c1", "#c53030", "#2c7a7b", "#718096")


def _svg(width: int, height: int, body: str, title: str) -> Markup:
    head = f'<svg xmlns="http://www.w3.org/2000/svg" role="img" viewBox="0 0 {width} {height}" '
    head += f'style="width:100%;max-width:{width}px" class="chart"><title>{escape(title)}</title>'
    return Markup(head + body + "</svg>")  # noqa: S704  (every label in body is escaped)


def bar_chart(items: list[tuple], title: str, unit: str = "") -> Markup:
    """Horizontal bars, one per (label, value) or (label, value, unit), the value and its unit printed at the end
    of each bar (`unit` for the items that do not name their own)."""
    if not items:
        return Markup('<p class="muted">本期没有数据。</p>')
    width, label_w, row_h = 560, 150, 26
    top = max(item[1] for item in items) or 1
    parts = []
    for i, (label, value, *own) in enumerate(items):
        unit_i = own[0] if own else unit
        y = i * row_h + 4
        w = (width - label_w - 70) * value / top
        parts.append(
            f'<text x="{label_w - 8}" y="{y + 15}" text-anchor="end" class="label">{escape(str(label)[:12])}</text>'
            f'<rect x="{label_w}" y="{y}" width="{w:.1f}" height="{row_h - 8}" fill="{COLORS[0]}"/>'
            f'<text x="{label_w + w + 6:.1f}" y="{y + 15}" class="value">{_with_unit(value, unit_i)}</text>'
        )
    return _svg(width, len(items) * row_h + 8, "".join(parts), title)


def column_chart(items: list[tuple[str, float]], title: str) -> Markup:
    """Vertical columns over time (e.g. leads per week), labels under the columns."""
    if not items:
        return Markup('<p class="muted">本期没有数据。</p>')
    width, height, base = 560, 220, 190
    top = max(v for _, v in items) or 1
    step = (width - 20) / len(items)
    col = max(4.0, step * 0.7)
    parts = [f'<line x1="10" y1="{base}" x2="{width - 10}" y2="{base}" stroke="#999"/>']
    every = max(1, len(items) // 8)
    for i, (label, value) in enumerate(items):
        x = 10 + i * step + (step - col) / 2
        h = (base - 30) * value / top
        parts.append(f'<rect x="{x:.1f}" y="{base - h:.1f}" width="{col:.1f}" height="{h:.1f}" fill="{COLORS[0]}"/>')
        parts.append(f'<text x="{x + col / 2:.1f}" y="{base - h - 4:.1f}" class="value" text-anchor="middle">')
        parts.append(f"{_num(value)}</text>")
        if i % every == 0:
            parts.append(f'<text x="{x + col / 2:.1f}" y="{base + 16}" class="label" text-anchor="middle">')
            parts.append(f"{escape(label)}</text>")
    return _svg(width, height, "".join(parts), title)


def share_bar(items: list[tuple[str, float]], title: str, unit: str = "") -> Markup:
    """One bar split into shares (e.g. complaints vs reports), with a legend giving counts and percentages."""
    total = sum(v for _, v in items)
    if not total:
        return Markup('<p class="muted">本期没有数据。</p>')
    width, x = 560, 0.0
    parts = []
    for i, (label, value) in enumerate(items):
        w = width * value / total
        color = COLORS[i % len(COLORS)]
        parts.append(f'<rect x="{x:.1f}" y="0" width="{w:.1f}" height="28" fill="{color}"/>')
        lx = 10 + i * 180
        parts.append(f'<rect x="{lx}" y="40" width="12" height="12" fill="{color}"/>')
        share = 100 * value / total
        text = f"{escape(label)} {_with_unit(value, unit)}（{share:.0f}%）"
        parts.append(f'<text x="{lx + 18}" y="51" class="label">{text}</text>')
        x += w
    return _svg(width, 62, "".join(parts), title)


def _with_unit(value: float, unit: str) -> Markup:
    """A figure and its unit, escaped: 12 条, 3.5 个工作日."""
    return escape(f"{_num(value)} {unit}".strip())


def _num(value: float) -> str:
    return f"{value:.1f}" if isinstance(value, float) and not value.is_integer() else f"{int(value)}"
