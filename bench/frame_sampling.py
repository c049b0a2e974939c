#!/usr/bin/env python3
"""Frame sampling: one sequential pass (iwrbench.media.sample_video) against a seek per sampled frame.

Makes a synthetic screen recording (a page whose text scrolls and changes, 1280x720, 30 fps, 60 s by
default) in several encodings, samples it at 1 fps (at most 64 frames, first and last state) both ways,
checks that both ways return the same pictures, and prints the times.

Encodings: OpenCV's own writer cannot set the GOP (its FFmpeg wrapper fixes mp4v at 12 frames and
ignores VIDEOWRITER_PROP_KEY_INTERVAL and OPENCV_FFMPEG_WRITER_OPTIONS for encoding), so the H.264
streams are encoded by Chromium's WebCodecs VideoEncoder, which lets us mark exactly which frames are
keyframes, and muxed into MP4 by OpenCV's raw-stream mode. The keyframe count printed is read back
from the MP4 sync-sample table (stss), so the GOP reported is the one measured in the file.

    python bench/frame_sampling.py                 # 60 s, all encodings, best of 3
    python bench/frame_sampling.py --seconds 20 --repeat 1 --json bench/results/frame_sampling.json
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import struct
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from iwrbench.media.frames import plan_indices, probe_video, sample_video  # noqa: E402
from iwrbench.sandbox.chromium_path import find_chromium  # noqa: E402

# Draws frame i of the synthetic recording on a canvas and encodes it; returns the encoded chunks.
ENCODER_JS = """
async ({n, gop, w, h, fps, bitrate}) => {
  const chunks = [];
  const enc = new VideoEncoder({
    output: (c) => { const b = new Uint8Array(c.byteLength); c.copyTo(b); chunks.push(b); },
    error: (e) => { throw e; }});
  const cfg = {codec: 'avc1.640028', width: w, height: h, bitrate, framerate: fps, avc: {format: 'annexb'}};
  if (!(await VideoEncoder.isConfigSupported(cfg)).supported) cfg.codec = 'avc1.42001f';
  enc.configure(cfg);
  const cv = new OffscreenCanvas(w, h); const g = cv.getContext('2d');
  for (let i = 0; i < n; i++) {
    const t = i / fps, scroll = Math.floor(t * 40) % 400;
    g.fillStyle = '#f4f6fa'; g.fillRect(0, 0, w, h);
    g.fillStyle = '#243b6b'; g.fillRect(0, 0, w, 70);
    g.fillStyle = '#fff'; g.font = 'bold 30px sans-serif'; g.fillText('Demo shop - ' + t.toFixed(1) + ' s', 30, 46);
    g.font = '22px sans-serif';
    for (let r = 0; r < 14; r++) {
      const y = 110 + r * 60 - scroll % 60;
      g.fillStyle = r % 2 ? '#ffffff' : '#e8ecf4'; g.fillRect(30, y - 30, w - 60, 50);
      g.fillStyle = '#1d2433';
      g.fillText('Product ' + (r + Math.floor(scroll / 60)) + ': a line of page text that moves while scrolling', 50, y);
      g.fillStyle = 'hsl(' + ((r * 37 + i) % 360) + ',60%,55%)'; g.fillRect(w - 200, y - 24, 120, 36);
    }
    const f = new VideoFrame(cv, {timestamp: Math.round(i * 1e6 / fps)});
    enc.encode(f, {keyFrame: i % gop === 0});
    f.close();
    while (enc.encodeQueueSize > 8) await new Promise(r => setTimeout(r, 0));
  }
  await enc.flush();
  const out = [];
  for (const b of chunks) {
    let s = ''; for (let k = 0; k < b.length; k += 0x8000) s += String.fromCharCode.apply(null, b.subarray(k, k + 0x8000));
    out.push(btoa(s));
  }
  return out;
}
"""


async def _encode_h264(chromium: str, n: int, gop: int, size: tuple[int, int], fps: int) -> list[bytes]:
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=chromium,
                                          args=["--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1"])
        try:
            page = await browser.new_page()
            # WebCodecs needs a secure context: serve an empty page as http://localhost from memory.
            await page.route("http://localhost/", lambda r: r.fulfill(body="<html></html>", content_type="text/html"))
            await page.goto("http://localhost/")
            chunks = await page.evaluate(ENCODER_JS, {"n": n, "gop": gop, "w": size[0], "h": size[1], "fps": fps,
                                                      "bitrate": 2_500_000})
        finally:
            await browser.close()
    return [base64.b64decode(c) for c in chunks]


def make_h264(path: Path, chromium: str, n: int, gop: int, size: tuple[int, int], fps: int) -> Path:
    packets = asyncio.run(_encode_h264(chromium, n, gop, size, fps))
    writer = cv2.VideoWriter(str(path), cv2.CAP_FFMPEG, cv2.VideoWriter_fourcc(*"avc1"), fps, size,
                             [cv2.VIDEOWRITER_PROP_RAW_VIDEO, 1, cv2.VIDEOWRITER_PROP_KEY_INTERVAL, gop])
    if not writer.isOpened():
        raise RuntimeError("OpenCV cannot mux raw H.264 into MP4 here")
    for packet in packets:
        writer.write(np.frombuffer(packet, np.uint8).reshape(1, -1))
    writer.release()
    return path


def make_mp4v(path: Path, source: Path) -> Path:
    """The same pictures re-encoded by OpenCV's own writer (mp4v; GOP fixed by OpenCV)."""
    cap = cv2.VideoCapture(str(source))
    fps = cap.get(cv2.CAP_PROP_FPS)
    size = (int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT)))
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, size)
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        writer.write(frame)
    writer.release()
    cap.release()
    return path


# ---------------------------------------------------------------- MP4 sync samples (keyframes)


def _boxes(data: bytes, start: int, end: int):
    while start + 8 <= end:
        size, kind = struct.unpack(">I4s", data[start:start + 8])
        header = 8
        if size == 1:
            size, header = struct.unpack(">Q", data[start + 8:start + 16])[0], 16
        elif size == 0:
            size = end - start
        yield kind.decode("latin-1"), start + header, start + size
        start += size


def mp4_keyframes(path: Path) -> int | None:
    """Number of sync samples of the first video track; None when every frame is a keyframe (no stss)."""
    data = path.read_bytes()
    span = (0, len(data))
    for want in ("moov", "trak", "mdia", "minf", "stbl"):
        span = next(((s, e) for kind, s, e in _boxes(data, *span) if kind == want), None)
        if span is None:
            return None
    stss = next(((s, e) for kind, s, e in _boxes(data, *span) if kind == "stss"), None)
    return None if stss is None else struct.unpack(">I", data[stss[0] + 4:stss[0] + 8])[0]


# ---------------------------------------------------------------- the two ways to sample


def gray_thumb(bgr: np.ndarray) -> np.ndarray:
    return cv2.resize(cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY), (160, 90), interpolation=cv2.INTER_AREA)


def seek_per_frame(path: Path, indices: list[int]) -> list[np.ndarray]:
    """The baseline: set the position to each wanted frame and read it (a seek per frame)."""
    cap = cv2.VideoCapture(str(path), cv2.CAP_FFMPEG)
    out = []
    try:
        for i in indices:
            cap.set(cv2.CAP_PROP_POS_FRAMES, i)
            ok, bgr = cap.read()
            if ok:
                out.append(gray_thumb(bgr))
    finally:
        cap.release()
    return out


def best_time(fn, repeat: int):
    best, result = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    return best, result


@dataclass
class Row:
    encoding: str
    frames: int
    keyframes: int | None
    gop: float | None
    sampled: int
    single_pass_s: float
    seek_per_frame_s: float
    speedup: float
    max_pixel_diff: float  # mean absolute difference of the worst pair of frames the two ways returned


def measure(name: str, path: Path, fps: float, max_frames: int, repeat: int) -> Row:
    info = probe_video(path)
    wanted = plan_indices(info.frame_count, info.fps, fps, max_frames)
    single_s, sampled = best_time(lambda: sample_video(path, fps=fps, max_frames=max_frames, encode=gray_thumb),
                                  repeat)
    seek_s, seeked = best_time(lambda: seek_per_frame(path, wanted), repeat)
    mine = [f.payload for f in sampled.frames]
    diff = max((float(np.abs(a.astype(int) - b.astype(int)).mean()) for a, b in zip(mine, seeked, strict=False)),
               default=float("nan"))
    keys = mp4_keyframes(path)
    return Row(encoding=name, frames=info.frame_count, keyframes=keys,
               gop=round(info.frame_count / keys, 1) if keys else 1.0, sampled=len(mine),
               single_pass_s=round(single_s, 3), seek_per_frame_s=round(seek_s, 3),
               speedup=round(seek_s / single_s, 2), max_pixel_diff=round(diff, 2))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--video-fps", type=int, default=30)
    ap.add_argument("--size", default="1280x720")
    ap.add_argument("--short-gop", type=int, default=15, help="H.264 keyframe interval, frames (default 15)")
    ap.add_argument("--long-gop", type=int, default=300, help="H.264 keyframe interval, frames (default 300 = 10 s)")
    ap.add_argument("--fps", type=float, default=1.0, help="sampling rate (default 1)")
    ap.add_argument("--max-frames", type=int, default=64)
    ap.add_argument("--repeat", type=int, default=3, help="best of N runs (default 3)")
    ap.add_argument("--json", type=Path, help="also write the rows here")
    args = ap.parse_args()
    size = tuple(int(v) for v in args.size.lower().split("x"))
    n = round(args.seconds * args.video_fps)
    chromium = find_chromium()
    if not chromium:
        print("no Chromium found: the H.264 encodings need its WebCodecs encoder", file=sys.stderr)
        return 2
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="bench-frames-") as tmp:
        tmpdir = Path(tmp)
        print(f"encoding {args.seconds:g} s {size[0]}x{size[1]} at {args.video_fps} fps ...", file=sys.stderr)
        short = make_h264(tmpdir / "h264_short.mp4", chromium, n, args.short_gop, size, args.video_fps)
        long_ = make_h264(tmpdir / "h264_long.mp4", chromium, n, args.long_gop, size, args.video_fps)
        mp4v = make_mp4v(tmpdir / "mp4v.mp4", short)
        for name, path in ((f"H.264, GOP {args.short_gop} (short)", short),
                           (f"H.264, GOP {args.long_gop} (long)", long_),
                           ("MPEG-4 part 2 (cv2 mp4v, GOP fixed by OpenCV)", mp4v)):
            print(f"measuring {name} ...", file=sys.stderr)
            rows.append(measure(name, path, args.fps, args.max_frames, args.repeat))
    print(f"\nSampling {rows[0].sampled} frames ({args.fps:g} fps, at most {args.max_frames}) from a "
          f"{args.seconds:g} s {size[0]}x{size[1]} {args.video_fps} fps video; best of {args.repeat}:\n")
    head = f"{'encoding':<48} {'keyframes':>9} {'GOP':>6} {'single pass':>12} {'seek/frame':>11} {'ratio':>6} {'diff':>5}"
    print(head)
    print("-" * len(head))
    for r in rows:
        print(f"{r.encoding:<48} {str(r.keyframes or 'all'):>9} {r.gop:>6} {r.single_pass_s:>11.2f}s "
              f"{r.seek_per_frame_s:>10.2f}s {r.speedup:>5.1f}x {r.max_pixel_diff:>5.1f}")
    print("\nratio = seek-per-frame time / single-pass time; diff = worst mean |pixel difference| between the "
          "frames the two ways returned (0 = identical pictures)")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"args": {k: str(v) for k, v in vars(args).items()},
                                         "rows": [asdict(r) for r in rows]}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
