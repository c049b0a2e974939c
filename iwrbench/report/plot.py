"""The charts of a judge folder: leaderboard.png (grouped bars of Final, IFS, VFS and Final_all per model
with their 95% intervals, drawn with Pillow, no matplotlib) and the per-category chart of index.html
(inline SVG: mean Final per category and model, with intervals)."""

from __future__ import annotations

import html
import io
from collections.abc import Sequence
from functools import cache
from typing import TYPE_CHECKING

from PIL import Image, ImageDraw, ImageFont

if TYPE_CHECKING:
    from iwrbench.report.rows import ModelResult

FINAL, FINAL_ALL = ("Final", (31, 119, 180)), ("Final_all", (148, 103, 189))
IFS, VFS = ("IFS", (255, 127, 14)), ("VFS", (44, 160, 44))
SERIES = (FINAL, IFS, VFS)  # (model, Final, IFS, VFS) entries
SERIES_ALL = (FINAL, FINAL_ALL, IFS, VFS)  # (model, Final, Final_all, IFS, VFS) entries
Interval = Sequence[float | None] | None
BAR_W, GAP_IN, GAP_OUT = 26, 4, 36
LEFT, RIGHT, TOP, BOTTOM = 64, 24, 70, 112
PLOT_H = 360
INK, GRID, MUTED = (33, 33, 33), (225, 225, 225), (120, 120, 120)


@cache
def font(size: int, bold: bool = False) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    """DejaVu Sans when installed (it is on these machines), else Pillow's own scalable font."""
    name = "DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf"
    for candidate in (name, f"/usr/share/fonts/truetype/dejavu/{name}"):
        try:
            return ImageFont.truetype(candidate, size)
        except OSError:
            continue
    return ImageFont.load_default(size=size)


def _text_w(draw: ImageDraw.ImageDraw, text: str, f) -> float:
    return draw.textlength(text, font=f)


def wrap_label(draw: ImageDraw.ImageDraw, text: str, width: float, f, max_lines: int = 3) -> list[str]:
    """Break a model name at / _ - or anywhere so it fits under its bar group."""
    lines: list[str] = []
    rest = text
    while rest and len(lines) < max_lines:
        if _text_w(draw, rest, f) <= width:
            lines.append(rest)
            rest = ""
            break
        cut = len(rest)
        while cut > 1 and _text_w(draw, rest[:cut], f) > width:
            cut -= 1
        soft = max(rest.rfind(ch, 0, cut) for ch in "/_-. ")
        if soft > 0:
            cut = soft + 1
        lines.append(rest[:cut])
        rest = rest[cut:]
    if rest and lines:
        last = lines[-1]
        while len(last) > 1 and _text_w(draw, last + "…", f) > width:
            last = last[:-1]
        lines[-1] = last + "…"
    return lines


def wrap_words(draw: ImageDraw.ImageDraw, text: str, width: float, f) -> list[str]:
    lines: list[str] = []
    for word in text.split():
        if lines and _text_w(draw, lines[-1] + " " + word, f) <= width:
            lines[-1] += " " + word
        else:
            lines.append(word)
    return lines


def _whisker(d: ImageDraw.ImageDraw, x: float, y_lo: float, y_hi: float) -> None:
    d.line((x, y_lo, x, y_hi), fill=INK, width=1)
    for y in (y_lo, y_hi):
        d.line((x - 4, y, x + 4, y), fill=INK, width=1)


def draw_leaderboard(entries: list[tuple], *, title: str = "",
                     intervals: list[Sequence[Interval]] | None = None) -> bytes:
    """PNG bytes. `entries`: (model, Final, IFS, VFS) or (model, Final, Final_all, IFS, VFS) on 0–100, best
    first; None is drawn as "n/a". `intervals[i][j]`: the [lo, hi] of entry i's j-th value, drawn as a
    whisker (None: none)."""
    series = SERIES_ALL if any(len(x) == 5 for x in entries) else SERIES
    group_w = len(series) * BAR_W + (len(series) - 1) * GAP_IN
    n = max(len(entries), 1)
    width = max(LEFT + RIGHT + n * group_w + (n + 1) * GAP_OUT, 520)
    height = TOP + PLOT_H + BOTTOM
    img = Image.new("RGB", (width, height), "white")
    d = ImageDraw.Draw(img)
    f_title, f_axis, f_val, f_name = font(16, True), font(12), font(10), font(11)
    d.text((LEFT, 12), "IWR-Bench leaderboard" + (f" — {title}" if title else ""), fill=INK, font=f_title)
    # Legend.
    x = LEFT
    for name, colour in series:
        d.rectangle((x, 42, x + 12, 54), fill=colour)
        d.text((x + 17, 41), name, fill=INK, font=f_axis)
        x += 17 + int(_text_w(d, name, f_axis)) + 18
    y0 = TOP + PLOT_H  # the 0 line

    def y_of(v: float) -> float:
        return y0 - max(0.0, min(100.0, v)) / 100.0 * PLOT_H

    for tick in range(0, 101, 20):
        y = y_of(tick)
        d.line((LEFT, y, width - RIGHT, y), fill=GRID if tick else INK, width=1)
        label = str(tick)
        d.text((LEFT - 8 - _text_w(d, label, f_axis), y - 7), label, fill=MUTED, font=f_axis)
    if not entries:
        msg = "no model evaluated with this judge yet"
        d.text(((width - _text_w(d, msg, f_axis)) / 2, y0 - PLOT_H / 2), msg, fill=MUTED, font=f_axis)
    for i, (model, *values) in enumerate(entries):
        gx = LEFT + GAP_OUT + i * (group_w + GAP_OUT)
        cis = list(intervals[i]) if intervals is not None else []
        for j, ((_, colour), value) in enumerate(zip(series, values, strict=True)):
            bx = gx + j * (BAR_W + GAP_IN)
            ci = cis[j] if j < len(cis) else None
            if value is None:
                text = "n/a"
                ty = y0 - 14
            else:
                if value > 0:
                    d.rectangle((bx, y_of(value), bx + BAR_W - 1, y0 - 1), fill=colour)
                top = value
                if ci and ci[0] is not None and ci[1] is not None:
                    _whisker(d, bx + BAR_W / 2, y_of(ci[0]), y_of(ci[1]))
                    top = max(value, ci[1])
                text = f"{value:.1f}"
                ty = y_of(top) - 13
            tw = _text_w(d, text, f_val)
            d.text((bx + (BAR_W - tw) / 2, ty), text, fill=INK, font=f_val)
        for k, line in enumerate(wrap_label(d, model, group_w + GAP_OUT - 6, f_name)):
            lw = _text_w(d, line, f_name)
            d.text((gx + (group_w - lw) / 2, y0 + 8 + 14 * k), line, fill=INK, font=f_name)
    foot = "Final = 0.7 × IFS + 0.3 × VFS, means over the tasks scored (0–100)."
    if series is SERIES_ALL:
        foot += " Final_all: the same with VFS over every flagged checkpoint, unreached ones against the last state."
    if intervals is not None:
        foot += " Whiskers: 95% bootstrap intervals over tasks."
    for k, line in enumerate(wrap_words(d, foot, width - LEFT - RIGHT, f_axis)):
        d.text((LEFT, y0 + 58 + 15 * k), line, fill=MUTED, font=f_axis)
    buf = io.BytesIO()
    img.save(buf, format="PNG", optimize=True)
    return buf.getvalue()


PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22",
           "#17becf")
SVG_LABEL_W, SVG_BAR_H, SVG_PLOT_W, SVG_RIGHT = 220, 12, 420, 150


def category_svg(models: list[ModelResult], category: str, part: str = "final") -> str:
    """One inline SVG: for each value of `category`, one bar per model (mean `part`, 0-100) with its 95%
    interval as a whisker; every label escaped. Models past the palette reuse its colours."""
    e = html.escape
    values = sorted({v for m in models for v in m.report["by_category"].get(category, {})})
    group_h = len(models) * SVG_BAR_H + 10
    legend_h = 18 * ((len(models) + 2) // 3)
    height = 24 + legend_h + len(values) * group_h + 24
    width = SVG_LABEL_W + SVG_PLOT_W + SVG_RIGHT
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" '
           f'aria-label="{e(part)} by {e(category)}" style="font:11px sans-serif;max-width:100%">',
           f'<text x="0" y="14" font-weight="bold">{e(category.replace("_", " "))}: mean '
           f'{"Final" if part == "final" else e(part)} with 95% interval</text>']
    for i, m in enumerate(models):
        lx, ly = (i % 3) * 280, 24 + 18 * (i // 3)
        out.append(f'<rect x="{lx}" y="{ly}" width="10" height="10" fill="{PALETTE[i % len(PALETTE)]}"/>'
                   f'<text x="{lx + 14}" y="{ly + 9}">{e(m.label[:40])}</text>')
    top = 24 + legend_h + 6

    def x_of(v: float) -> float:
        return SVG_LABEL_W + max(0.0, min(100.0, v)) / 100.0 * SVG_PLOT_W

    for tick in range(0, 101, 20):
        x = x_of(tick)
        out.append(f'<line x1="{x:.1f}" y1="{top - 4}" x2="{x:.1f}" y2="{top + len(values) * group_h}" '
                   f'stroke="#e1e1e1"/><text x="{x:.1f}" y="{top + len(values) * group_h + 14}" '
                   f'text-anchor="middle" fill="#777">{tick}</text>')
    for g, value in enumerate(values):
        gy = top + g * group_h
        out.append(f'<text x="{SVG_LABEL_W - 8}" y="{gy + group_h / 2 + 3:.1f}" text-anchor="end">'
                   f"{e(value[:36])}</text>")
        for i, m in enumerate(models):
            group = m.report["by_category"].get(category, {}).get(value)
            y = gy + i * SVG_BAR_H
            mean = group.get(part) if group else None
            if mean is None:
                out.append(f'<text x="{SVG_LABEL_W + 4}" y="{y + 9}" fill="#777">n/a</text>')
                continue
            colour = PALETTE[i % len(PALETTE)]
            out.append(f'<rect x="{SVG_LABEL_W}" y="{y}" width="{x_of(mean) - SVG_LABEL_W:.1f}" '
                       f'height="{SVG_BAR_H - 2}" fill="{colour}"><title>{e(m.label)}: {mean:.2f} '
                       f'(n={group.get("n", 0)})</title></rect>')
            ci = (group.get("ci95") or {}).get(part)
            label_x = x_of(mean)
            if ci and ci[0] is not None:
                cy = y + (SVG_BAR_H - 2) / 2
                out.append(f'<line x1="{x_of(ci[0]):.1f}" y1="{cy:.1f}" x2="{x_of(ci[1]):.1f}" y2="{cy:.1f}" '
                           f'stroke="#222"/>')
                label_x = max(label_x, x_of(ci[1]))
            out.append(f'<text x="{label_x + 4:.1f}" y="{y + 9}">{mean:.1f} (n={group.get("n", 0)})</text>')
    out.append("</svg>")
    return "".join(out)
