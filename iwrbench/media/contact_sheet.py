"""Labelled contact sheets of a task's assets: thumbnails in a grid, each file's name written under it.

The model sees the sheets, not hundreds of separate files, and must be able to read which file is
which so it can reference `assets/NNN.png` in its page. Labels are large dark text on white so OCR
(and a model) reads them reliably. Output is deterministic: same inputs give the same bytes.
"""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from iwrbench.fsutil import atomic_write_bytes

FONT_CANDIDATES = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSans-Bold.ttf",
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
)

CELL_W, CELL_H = 300, 250          # one asset: thumbnail box plus label strip
THUMB_W, THUMB_H = 270, 180
LABEL_H = CELL_H - THUMB_H - 20
COLUMNS, ROWS = 4, 3               # 12 assets per sheet -> 1200x750 sheets
MARGIN = 10
BACKGROUND = (255, 255, 255)
THUMB_BG = (236, 238, 242)          # light panel so white / transparent assets stay visible
BORDER = (190, 194, 202)


def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    for cand in FONT_CANDIDATES:
        if Path(cand).is_file():
            return ImageFont.truetype(cand, size)
    return ImageFont.load_default(size)


def _checker(size: tuple[int, int], step: int = 10) -> Image.Image:
    """A checkerboard behind transparent assets, so their shape shows."""
    img = Image.new("RGB", size, (250, 250, 250))
    draw = ImageDraw.Draw(img)
    for y in range(0, size[1], step):
        for x in range((y // step) % 2 * step, size[0], 2 * step):
            draw.rectangle((x, y, x + step - 1, y + step - 1), fill=(222, 222, 222))
    return img


def _thumbnail(path: Path) -> Image.Image | None:
    """The asset scaled to fit THUMB_W x THUMB_H on a checkerboard; None when PIL cannot read it."""
    try:
        with Image.open(path) as src:
            src.load()
            img = src.convert("RGBA")
    except (OSError, ValueError, Image.DecompressionBombError):
        return None
    img.thumbnail((THUMB_W, THUMB_H), Image.Resampling.LANCZOS)
    if img.width < 48 and img.height < 48:  # tiny icons: scale up so they can be seen at all
        factor = max(1, min(THUMB_W // img.width, THUMB_H // img.height, 4))
        img = img.resize((img.width * factor, img.height * factor), Image.Resampling.NEAREST)
    base = _checker(img.size)
    base.paste(img, (0, 0), img)
    return base


def _sheet(paths: list[Path], font: ImageFont.ImageFont, small: ImageFont.ImageFont) -> Image.Image:
    rows = (len(paths) + COLUMNS - 1) // COLUMNS
    cols = min(COLUMNS, len(paths))
    sheet = Image.new("RGB", (cols * CELL_W + 2 * MARGIN, rows * CELL_H + 2 * MARGIN), BACKGROUND)
    draw = ImageDraw.Draw(sheet)
    for i, path in enumerate(paths):
        x0 = MARGIN + (i % COLUMNS) * CELL_W
        y0 = MARGIN + (i // COLUMNS) * CELL_H
        box = (x0 + (CELL_W - THUMB_W) // 2, y0 + 8, x0 + (CELL_W + THUMB_W) // 2, y0 + 8 + THUMB_H)
        draw.rectangle(box, fill=THUMB_BG, outline=BORDER)
        thumb = _thumbnail(path)
        if thumb is None:
            draw.text(((box[0] + box[2]) // 2, (box[1] + box[3]) // 2), f"({path.suffix.lstrip('.')} file)",
                      fill=(90, 90, 90), font=small, anchor="mm")
        else:
            sheet.paste(thumb, (box[0] + (THUMB_W - thumb.width) // 2, box[1] + (THUMB_H - thumb.height) // 2))
        label_y = box[3] + 6 + LABEL_H // 2
        draw.text((x0 + CELL_W // 2, label_y), path.name, fill=(0, 0, 0), font=font, anchor="mm")
    return sheet


def make_contact_sheets(paths: list[Path], out_dir: Path, *, per_sheet: int = COLUMNS * ROWS,
                        prefix: str = "stitched_image") -> list[tuple[Path, list[str]]]:
    """Write `out_dir/stitched_image{1,2,..}.png`; return [(sheet path, [asset names on it])].

    Assets keep the given order. Old sheets with the same prefix are removed first, so a shorter
    asset list never leaves a stale sheet behind.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    for old in out_dir.glob(f"{prefix}*.png"):
        old.unlink()
    font, small = _font(26), _font(18)
    result: list[tuple[Path, list[str]]] = []
    for n, start in enumerate(range(0, len(paths), per_sheet), start=1):
        chunk = [Path(p) for p in paths[start:start + per_sheet]]
        buf = io.BytesIO()
        _sheet(chunk, font, small).save(buf, format="PNG", optimize=True)
        target = out_dir / f"{prefix}{n}.png"
        atomic_write_bytes(target, buf.getvalue())
        result.append((target, [p.name for p in chunk]))
    return result
