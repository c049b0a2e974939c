"""The leaderboard plot: grouped bars of Final, IFS and VFS per model, drawn with Pillow (no matplotlib)."""

from __future__ import annotations

import io
from functools import cache

from PIL import Image, ImageDraw, ImageFont

SERIES = (("Final", (31, 119, 180)), ("IFS", (255, 127, 14)), ("VFS", (44, 160, 44)))
BAR_W, GAP_IN, GAP_OUT = 26, 4, 36
LEFT, RIGHT, TOP, BOTTOM = 64, 24, 70, 96
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


def draw_leaderboard(entries: list[tuple[str, float | None, float | None, float | None]], *,
                     title: str = "") -> bytes:
    """PNG bytes. `entries`: (model, Final, IFS, VFS) on 0–100, best first; None is drawn as "n/a"."""
    group_w = len(SERIES) * BAR_W + (len(SERIES) - 1) * GAP_IN
    n = max(len(entries), 1)
    width = max(LEFT + RIGHT + n * group_w + (n + 1) * GAP_OUT, 520)
    height = TOP + PLOT_H + BOTTOM
    img = Image.new("RGB", (width, height), "white")
    d = ImageDraw.Draw(img)
    f_title, f_axis, f_val, f_name = font(16, True), font(12), font(10), font(11)
    d.text((LEFT, 12), "IWR-Bench leaderboard" + (f" — {title}" if title else ""), fill=INK, font=f_title)
    # Legend.
    x = LEFT
    for name, colour in SERIES:
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
        for j, ((_, colour), value) in enumerate(zip(SERIES, values, strict=True)):
            bx = gx + j * (BAR_W + GAP_IN)
            if value is None:
                text = "n/a"
                ty = y0 - 14
            else:
                if value > 0:
                    d.rectangle((bx, y_of(value), bx + BAR_W - 1, y0 - 1), fill=colour)
                text = f"{value:.1f}"
                ty = y_of(value) - 13
            tw = _text_w(d, text, f_val)
            d.text((bx + (BAR_W - tw) / 2, ty), text, fill=INK, font=f_val)
        for k, line in enumerate(wrap_label(d, model, group_w + GAP_OUT - 6, f_name)):
            lw = _text_w(d, line, f_name)
            d.text((gx + (group_w - lw) / 2, y0 + 8 + 14 * k), line, fill=INK, font=f_name)
    d.text((LEFT, height - 22), "Final = 0.7 × IFS + 0.3 × VFS, means over the tasks scored (0–100)",
           fill=MUTED, font=f_axis)
    buf = io.BytesIO()
    img.save(buf, format="PNG", optimize=True)
    return buf.getvalue()
