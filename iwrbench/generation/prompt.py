"""The generation prompt, in one place. tests/unit/test_prompt.py freezes its text: change it on purpose.

The model gets the benchmark's inputs (video frames, labelled contact sheets of the assets, the
recording resolution) and the benchmark's rules for the page (one self-contained index.html, assets
through a placeholder base path with width and height, no external code or fonts, controls an agent
can operate). Written for this project; the published prompt was not copied.
"""

from __future__ import annotations

import hashlib

from iwrbench.models.base import ImagePart, ModelRequest, TextPart, VideoPart

ASSET_PLACEHOLDER = "__ASSETS__"
PROMPT_VERSION = "1"

INSTRUCTIONS = """\
You are rebuilding a web page from a screen recording. Someone used the page in a browser while it \
was recorded; you see the recording as a sequence of frames, in order, with their time stamps. \
Write one HTML file that looks like the recorded page and behaves like it when the same actions \
are performed on it.

What you get:
- Frames of the recording, sampled at about {fps_text}; the first frame is the page before any \
action and the last frame is the final state. The browser viewport was {width}x{height} pixels.
- {sheets_text}

What to write - a single, complete, self-contained index.html:
1. Put all CSS in <style> and all JavaScript in <script> inside the file. Load nothing from the \
network: no CDN libraries, no frameworks, no web fonts, no remote images, no iframes. Use \
system font stacks such as Arial, Helvetica, sans-serif.
2. Show images only from the provided assets, addressed through the base path {placeholder}/ \
followed by the file name shown on the contact sheet, for example \
<img src="{placeholder}/001.png" width="120" height="40" alt="...">. Give every <img> explicit \
width and height attributes matching the size it has in the recording. The same base path works \
in CSS, e.g. background-image: url('{placeholder}/002.png'). Never invent file names.
3. Lay the page out for a {width}x{height} viewport and match the recording closely: positions, \
sizes, colours, fonts, and all visible text word for word.
4. Make every interaction seen in the recording work: clicking buttons, links, tabs and menus, \
typing into fields, pressing keys such as Enter, and scrolling. Each state change the recording \
shows (opened menus, switched tabs, filtered lists, submitted forms, new content after scrolling) \
must happen in your page after the same action, done in plain JavaScript.
5. An automated agent will operate the page from the action descriptions, so make controls real \
and easy to find: use <button>, <a href>, <input>, <select> and <textarea> elements (or give \
other clickable elements role="button" and tabindex="0"), keep their visible text or aria-label \
the same as in the recording, keep them visible and clickable (not covered by other elements), \
and do not open new windows or tabs. Avoid alert(), confirm() and prompt(). When the content is \
taller than the viewport, the page itself must scroll.

Reply with the complete file in one ```html code block and nothing else.\
"""


def sheets_text(sheets: int) -> str:
    if sheets:
        return (f"{sheets} contact sheet{'s' * (sheets > 1)} of the page's image assets; each "
                "asset is labelled with its file name.")
    return "No image assets: draw everything with HTML and CSS."


def instructions(*, width: int, height: int, fps: float, sheets: int) -> str:
    fps_text = "1 frame per second" if fps == 1 else f"{fps:g} frames per second"
    return INSTRUCTIONS.format(fps_text=fps_text, width=width, height=height, sheets_text=sheets_text(sheets),
                               placeholder=ASSET_PLACEHOLDER)


# The two sentences of the instructions that describe the harness's request layout, and what they say
# under --protocol paper (sheets first, then frames without captions; the last frame is not forced).
HARNESS_LAYOUT = ("you see the recording as a sequence of frames, in order, with their time stamps.",
                  "the first frame is the page before any action and the last frame is the final state.")


def paper_instructions(*, width: int, height: int, sheets: int) -> str:
    """The built-in instructions, with the request layout as --protocol paper sends it."""
    text = instructions(width=width, height=height, fps=1.0, sheets=sheets)
    order = ", after the asset contact sheets." if sheets else "."
    for old, new in zip(HARNESS_LAYOUT, ("you see the recording as a sequence of frames, in order" + order,
                                         "the first frame is the page before any action; long recordings "
                                         "are spread evenly."), strict=True):
        if old not in text:
            raise AssertionError(f"the instructions no longer say {old!r}: update paper_instructions")
        text = text.replace(old, new)
    return text


def frame_caption(number: int, total: int, seconds: float) -> str:
    return f"Frame {number} of {total}, at {seconds:.1f} s:"


def sheet_caption(number: int, total: int) -> str:
    return f"Asset contact sheet {number} of {total}:"


def build_request(*, width: int, height: int, fps: float, frames: list[tuple[float, ImagePart]],
                  sheets: list[ImagePart], max_tokens: int, temperature: float, timeout: float,
                  instructions_text: str | None = None) -> ModelRequest:
    """The whole generation request: instructions (the built-in ones unless `instructions_text`, a
    --prompt-file's), then each frame after its caption, then the sheets."""
    if instructions_text is None:
        instructions_text = instructions(width=width, height=height, fps=fps, sheets=len(sheets))
    parts: list[TextPart | ImagePart | VideoPart] = [TextPart(instructions_text)]
    parts.append(TextPart(f"The recording ({len(frames)} frames):"))
    for i, (seconds, image) in enumerate(frames, start=1):
        parts.append(TextPart(frame_caption(i, len(frames), seconds)))
        parts.append(image)
    return _with_sheets(parts, sheets, max_tokens=max_tokens, temperature=temperature, timeout=timeout)


def _with_sheets(parts: list[TextPart | ImagePart | VideoPart], sheets: list[ImagePart], *, max_tokens: int,
                 temperature: float, timeout: float) -> ModelRequest:
    """The request's end, the same whatever shows the recording: each sheet after its caption, then the
    closing instruction."""
    for i, sheet in enumerate(sheets, start=1):
        parts.append(TextPart(sheet_caption(i, len(sheets))))
        parts.append(sheet)
    parts.append(TextPart("Now write index.html."))
    return ModelRequest(parts=tuple(parts), system=None, max_tokens=max_tokens, temperature=temperature,
                        timeout=timeout, purpose="generate")


def prompt_hash(request: ModelRequest) -> str:
    """sha256 over the request's text (images excluded): equal hashes mean the same wording."""
    texts = [request.system or ""] + [p.text for p in request.parts if isinstance(p, TextPart)]
    return hashlib.sha256("\x1e".join(texts).encode("utf-8")).hexdigest()


# ---------------------------------------------------------------- native video (--video-input native)

VIDEO_PROMPT_VERSION = "video-1"

VIDEO_HEAD = """\
You are rebuilding a web page from a screen recording. Someone used the page in a browser while it \
was recorded; you get the recording itself as a video. Write one HTML file that looks like the \
recorded page and behaves like it when the same actions are performed on it.

What you get:
- The recording as a video ({duration_text}); its first frame is the page before any action and its \
last frame is the final state. Watch the pointer, hover effects and transitions as well as the \
clicks and typing. The browser viewport was {width}x{height} pixels.
- {sheets_text}

"""

# The rules for the page are the frames prompt's own, word for word.
VIDEO_INSTRUCTIONS = VIDEO_HEAD + INSTRUCTIONS[INSTRUCTIONS.index("What to write"):]


def video_instructions(*, width: int, height: int, duration: float | None, sheets: int) -> str:
    duration_text = f"{duration:.1f} seconds" if duration else "its length as recorded"
    return VIDEO_INSTRUCTIONS.format(duration_text=duration_text, width=width, height=height,
                                     sheets_text=sheets_text(sheets), placeholder=ASSET_PLACEHOLDER)


def build_video_request(*, width: int, height: int, video: VideoPart, duration: float | None,
                        sheets: list[ImagePart], max_tokens: int, temperature: float,
                        timeout: float, instructions_text: str | None = None) -> ModelRequest:
    """The generation request with the recording as one video: instructions (the built-in ones unless
    `instructions_text`, a --prompt-file's), the video, the sheets."""
    if instructions_text is None:
        instructions_text = video_instructions(width=width, height=height, duration=duration, sheets=len(sheets))
    parts: list[TextPart | ImagePart | VideoPart] = [TextPart(instructions_text), TextPart("The recording:"), video]
    return _with_sheets(parts, sheets, max_tokens=max_tokens, temperature=temperature, timeout=timeout)
