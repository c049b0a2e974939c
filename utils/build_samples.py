"""Rebuild the bundled sample set from its sources in utils/sample_sites/<name>/.

    python -m utils.build_samples [--data data/sample.jsonl] [--only todo --only shop]

Each site folder holds index.html (inline CSS/JS), task.json (id, metadata, actions with selectors)
and, under "images" in task.json, the pictures it uses as drawing instructions: they are drawn here
with PIL, deterministically, so no binary file is committed and a rebuild gives the same bytes. Every
task is then recorded by utils/make_task.py. A full rebuild also drops task folders of removed sites.
"""

from __future__ import annotations

import argparse
import io
import json
import math
import shutil
import tempfile
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw, ImageFont

from iwrbench.data.tasks import SAFE_ID
from iwrbench.errors import UserError
from iwrbench.fsutil import atomic_write_text
from utils.make_task import make_task

ROOT = Path(__file__).resolve().parent.parent

SITES = ROOT / "utils" / "sample_sites"
BOLD = "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"
SIZE_BUDGET = 15 * 1024 * 1024


# ---------------------------------------------------------------- drawing


def _rgb(value: str) -> tuple[int, int, int]:
    value = value.lstrip("#")
    return int(value[0:2], 16), int(value[2:4], 16), int(value[4:6], 16)


def _mix(c: tuple[int, int, int], other: tuple[int, int, int], t: float) -> tuple[int, int, int]:
    return tuple(int(round(a + (b - a) * t)) for a, b in zip(c, other, strict=True))  # type: ignore[return-value]


def _font(size: int) -> ImageFont.ImageFont:
    return ImageFont.truetype(BOLD, size) if Path(BOLD).is_file() else ImageFont.load_default(size)


def _gradient(size: tuple[int, int], top: tuple[int, int, int], bottom: tuple[int, int, int]) -> Image.Image:
    img = Image.new("RGB", size, top)
    draw = ImageDraw.Draw(img)
    for y in range(size[1]):
        draw.line([(0, y), (size[0], y)], fill=_mix(top, bottom, y / max(1, size[1] - 1)))
    return img


def draw_logo(size: tuple[int, int], color: str, text: str = "", **_: Any) -> Image.Image:
    w, h = size
    img = Image.new("RGBA", size, (0, 0, 0, 0))
    d = ImageDraw.Draw(img)
    d.rounded_rectangle((0, 0, w - 1, h - 1), radius=min(w, h) // 4, fill=_rgb(color))
    size_px = int(h * 0.42)
    while size_px > 8 and d.textlength(text, font=_font(size_px)) > w * 0.8:
        size_px -= 1
    d.text((w / 2, h / 2), text, font=_font(size_px), fill="white", anchor="mm")
    return img


def draw_avatar(size: tuple[int, int], color: str, text: str = "", **_: Any) -> Image.Image:
    w, h = size
    img = Image.new("RGBA", size, (0, 0, 0, 0))
    d = ImageDraw.Draw(img)
    d.ellipse((0, 0, w - 1, h - 1), fill=_rgb(color))
    d.text((w / 2, h / 2), text, font=_font(int(h * 0.4)), fill="white", anchor="mm")
    return img


def _product_shape(d: ImageDraw.ImageDraw, shape: str, w: int, h: int, c: tuple[int, int, int]) -> None:
    dark, light = _mix(c, (0, 0, 0), 0.35), _mix(c, (255, 255, 255), 0.45)
    cx = w / 2
    if shape == "shoe":
        d.polygon([(w * .15, h * .62), (w * .18, h * .40), (w * .38, h * .36), (w * .55, h * .52),
                   (w * .83, h * .58), (w * .87, h * .70), (w * .15, h * .70)], fill=c)
        d.rectangle((w * .13, h * .70, w * .88, h * .76), fill=dark)
        for i in range(3):
            x = w * (.36 + .06 * i)
            d.line([(x, h * .42 + i * 4), (x + w * .05, h * .48 + i * 4)], fill=light, width=3)
    elif shape == "bottle":
        d.rounded_rectangle((cx - w * .13, h * .30, cx + w * .13, h * .86), radius=int(w * .06), fill=c)
        d.rectangle((cx - w * .06, h * .16, cx + w * .06, h * .30), fill=dark)
        d.rectangle((cx - w * .13, h * .48, cx + w * .13, h * .62), fill=light)
    elif shape == "backpack":
        d.rounded_rectangle((cx - w * .22, h * .24, cx + w * .22, h * .86), radius=int(w * .10), fill=c)
        d.arc((cx - w * .12, h * .12, cx + w * .12, h * .36), 180, 360, fill=dark, width=6)
        d.rounded_rectangle((cx - w * .15, h * .56, cx + w * .15, h * .78), radius=int(w * .04), fill=light)
    elif shape == "jacket":
        d.polygon([(cx - w * .12, h * .18), (cx + w * .12, h * .18), (cx + w * .34, h * .32),
                   (cx + w * .30, h * .60), (cx + w * .22, h * .56), (cx + w * .22, h * .86),
                   (cx - w * .22, h * .86), (cx - w * .22, h * .56), (cx - w * .30, h * .60),
                   (cx - w * .34, h * .32)], fill=c)
        d.line([(cx, h * .22), (cx, h * .86)], fill=dark, width=4)
    elif shape == "tent":
        d.polygon([(cx, h * .18), (w * .86, h * .82), (w * .14, h * .82)], fill=c)
        d.polygon([(cx, h * .40), (cx + w * .12, h * .82), (cx - w * .12, h * .82)], fill=dark)
    elif shape == "mug":
        d.rounded_rectangle((cx - w * .20, h * .28, cx + w * .14, h * .80), radius=int(w * .04), fill=c)
        d.ellipse((cx + w * .06, h * .38, cx + w * .30, h * .66), outline=c, width=8)
        d.rectangle((cx - w * .20, h * .40, cx + w * .14, h * .50), fill=light)
    elif shape == "lamp":
        d.polygon([(cx - w * .20, h * .46), (cx - w * .10, h * .16), (cx + w * .10, h * .16),
                   (cx + w * .20, h * .46)], fill=c)
        d.line([(cx, h * .46), (cx, h * .80)], fill=dark, width=6)
        d.ellipse((cx - w * .16, h * .78, cx + w * .16, h * .88), fill=dark)
    else:  # "box" and anything unknown: a parcel
        d.rectangle((cx - w * .25, h * .30, cx + w * .25, h * .80), fill=c)
        d.rectangle((cx - w * .04, h * .30, cx + w * .04, h * .80), fill=light)


def draw_product(size: tuple[int, int], color: str, shape: str = "box", **_: Any) -> Image.Image:
    """A product photo: the object drawn from shapes on a soft backdrop with a floor shadow."""
    w, h = size
    c = _rgb(color)
    img = _gradient(size, (246, 247, 249), (226, 230, 236))
    d = ImageDraw.Draw(img)
    d.ellipse((w * .18, h * .80, w * .82, h * .92), fill=(205, 210, 218))
    _product_shape(d, shape, w, h, c)
    return img


def draw_scene(size: tuple[int, int], color: str, shapes: str = "mountains", **_: Any) -> Image.Image:
    """A wide illustration (hero / article picture): hills, sun, water or a basket of produce."""
    w, h = size
    c = _rgb(color)
    img = _gradient(size, _mix(c, (255, 255, 255), 0.75), _mix(c, (255, 255, 255), 0.35))
    d = ImageDraw.Draw(img)
    if shapes == "basket":
        for i, col in enumerate(((231, 76, 60), (241, 196, 15), (46, 204, 113), (155, 89, 182))):
            x = w * (.30 + .12 * i)
            d.ellipse((x - w * .07, h * .30, x + w * .07, h * .55), fill=col)
        d.polygon([(w * .20, h * .48), (w * .80, h * .48), (w * .70, h * .88), (w * .30, h * .88)],
                  fill=(160, 110, 60))
        for i in range(1, 6):
            y = h * (.48 + .08 * i)
            d.line([(w * .2 + i * 8, y), (w * .8 - i * 8, y)], fill=(120, 80, 40), width=2)
    elif shapes == "ocean":
        d.ellipse((w * .70, h * .12, w * .84, h * .12 + w * .14), fill=(255, 214, 102))
        for i in range(6):
            y = h * (.55 + .08 * i)
            d.rectangle((0, y, w, h), fill=_mix(c, (0, 0, 60), .1 + .08 * i))
    elif shapes == "city":
        for i in range(9):
            bw = w / 10
            bh = h * (.3 + .5 * ((i * 37) % 10) / 10)
            x = i * w / 9
            d.rectangle((x, h - bh, x + bw, h), fill=_mix(c, (20, 20, 40), .45))
            for wy in range(int(h - bh + 10), int(h - 10), 18):
                d.rectangle((x + 6, wy, x + 12, wy + 8), fill=(255, 235, 150))
    else:
        d.ellipse((w * .12, h * .14, w * .24, h * .14 + w * .12), fill=(255, 214, 102))
        d.polygon([(0, h), (w * .30, h * .35), (w * .55, h)], fill=_mix(c, (0, 0, 0), .25))
        d.polygon([(w * .35, h), (w * .68, h * .25), (w, h * .85), (w, h)], fill=_mix(c, (0, 0, 0), .45))
        d.rectangle((0, h * .88, w, h), fill=_mix(c, (40, 80, 40), .5))
    return img


def draw_icon(size: tuple[int, int], color: str, glyph: str = "star", **_: Any) -> Image.Image:
    w, h = size
    img = Image.new("RGBA", size, (0, 0, 0, 0))
    d = ImageDraw.Draw(img)
    c = _rgb(color)
    cx, cy, r = w / 2, h / 2, min(w, h) * .45
    if glyph == "star":
        pts = [(cx + (r if k % 2 == 0 else r * .45) * math.sin(k * math.pi / 5),
                cy - (r if k % 2 == 0 else r * .45) * math.cos(k * math.pi / 5)) for k in range(10)]
        d.polygon(pts, fill=c)
    elif glyph == "cart":
        d.line([(w * .08, h * .2), (w * .25, h * .2), (w * .35, h * .65), (w * .82, h * .65), (w * .9, h * .3),
                (w * .3, h * .3)], fill=c, width=max(2, w // 12), joint="curve")
        for x in (.4, .75):
            d.ellipse((w * x - w * .07, h * .74, w * x + w * .07, h * .88), fill=c)
    elif glyph == "arrow-up":
        d.polygon([(cx, h * .15), (w * .85, h * .55), (w * .62, h * .55), (w * .62, h * .85), (w * .38, h * .85),
                   (w * .38, h * .55), (w * .15, h * .55)], fill=c)
    else:  # "dot"
        d.ellipse((cx - r, cy - r, cx + r, cy + r), fill=c)
    return img


def draw_poster(size: tuple[int, int], color: str, text: str = "", motif: int = 0, **_: Any) -> Image.Image:
    """A film poster: a dark gradient, a simple motif and the title in capitals at the bottom."""
    w, h = size
    c = _rgb(color)
    img = _gradient(size, _mix(c, (10, 10, 20), .15), _mix(c, (5, 5, 10), .8))
    d = ImageDraw.Draw(img)
    light = _mix(c, (255, 255, 255), .55)
    if motif % 3 == 0:
        d.ellipse((w * .25, h * .12, w * .75, h * .12 + w * .5), fill=light)
    elif motif % 3 == 1:
        d.polygon([(w * .5, h * .1), (w * .85, h * .55), (w * .15, h * .55)], fill=light)
    else:
        for i in range(4):
            d.rectangle((w * (.15 + .18 * i), h * (.45 - .08 * i), w * (.27 + .18 * i), h * .6), fill=light)
    font = _font(max(10, w // 9))
    words, lines, line = text.upper().split(), [], ""
    for word in words:
        trial = f"{line} {word}".strip()
        if line and d.textlength(trial, font=font) > w * .9:
            lines.append(line)
            line = word
        else:
            line = trial
    if line:
        lines.append(line)
    step = font.size + 3
    y = h - 10 - step * len(lines)
    for ln in lines:
        d.text((w / 2, y), ln, font=font, fill="white", anchor="ma")
        y += step
    return img


DRAWERS = {"poster": draw_poster, "logo": draw_logo, "avatar": draw_avatar, "product": draw_product, "scene": draw_scene,
           "icon": draw_icon}


def render_image(spec: dict[str, Any]) -> bytes:
    """PNG bytes for one image spec ({"kind", "color", "size", ...}); same spec, same bytes."""
    kind = spec.get("kind")
    if kind not in DRAWERS:
        raise UserError(f"unknown image kind {kind!r} (expected one of {', '.join(DRAWERS)})")
    w, h = spec.get("size", [240, 180])
    img = DRAWERS[kind]((int(w), int(h)), **{k: v for k, v in spec.items() if k not in {"kind", "size"}})
    buf = io.BytesIO()
    img.save(buf, format="PNG", optimize=True)
    return buf.getvalue()


# ---------------------------------------------------------------- building


def site_folders(only: list[str] | None = None) -> list[Path]:
    sites = sorted(p for p in SITES.iterdir() if (p / "task.json").is_file() and not p.name.startswith(("_", ".")))
    if only:
        unknown = sorted(set(only) - {p.name for p in sites})
        if unknown:
            raise UserError(f"--only: no sample site named {', '.join(unknown)} in {SITES}")
        sites = [p for p in sites if p.name in only]
    return sites


def build_site(site: Path, data_file: Path) -> str:
    """Draw the site's images into a scratch copy of it, then record the task. Returns the task id."""
    spec = json.loads((site / "task.json").read_text(encoding="utf-8"))
    with tempfile.TemporaryDirectory(prefix=f"sample-{site.name}-") as tmp:
        work = Path(tmp) / site.name
        shutil.copytree(site, work)
        for rel, image in (spec.get("images") or {}).items():
            target = work / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(render_image(image))
        result = make_task(work, work / "task.json", data_file=data_file)
    if result.blocked:
        raise UserError(f"sample {site.name} requested other origins: {result.blocked[:3]}")
    if result.page_errors:
        raise UserError(f"sample {site.name} raised page errors: {result.page_errors[:3]}")
    print(f"{site.name}: task {result.task_id}, {len(spec['actions'])} actions, {len(result.assets)} assets, "
          f"{result.video_frames} video frames")
    return result.task_id


def _sort_jsonl(data_file: Path, keep: set[str] | None) -> None:
    rows = [json.loads(line) for line in data_file.read_text(encoding="utf-8").splitlines() if line.strip()]
    if keep is not None:
        rows = [r for r in rows if str(r["id"]) in keep]
    rows.sort(key=lambda r: (0, int(r["id"]), "") if str(r["id"]).isdigit() else (1, 0, str(r["id"])))
    atomic_write_text(data_file, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))


def folder_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Rebuild the sample tasks from utils/sample_sites/.")
    parser.add_argument("--data", type=Path, default=ROOT / "data" / "sample.jsonl")
    parser.add_argument("--only", action="append", metavar="NAME", help="only this site (repeatable)")
    args = parser.parse_args(argv)
    sites = site_folders(args.only)
    built = {build_site(site, args.data) for site in sites}
    data_root = args.data.parent / args.data.stem
    if not args.only:  # a full rebuild: the set is exactly the sites, nothing stale survives
        _sort_jsonl(args.data, built)
        for folder in data_root.iterdir():
            if folder.is_dir() and SAFE_ID.match(folder.name) and folder.name not in built:
                shutil.rmtree(folder)
    else:
        _sort_jsonl(args.data, None)
    total = folder_size(data_root) + args.data.stat().st_size
    print(f"{len(built)} task(s) built; {data_root} + {args.data.name}: {total / 1e6:.2f} MB")
    if total > SIZE_BUDGET:
        raise UserError(f"sample data is {total / 1e6:.1f} MB, over the {SIZE_BUDGET / 1e6:.0f} MB budget")
    return 0


if __name__ == "__main__":
    from iwrbench.cli import run_main

    run_main(main)
