"""IWR-Bench evaluation harness: generate pages from videos, replay actions, score them."""

import os

__version__ = "0.1.0"

# OpenCV and its FFmpeg print warnings of their own for every unreadable video ("moov atom not
# found"); the harness reports those as one-line data errors, so the library noise is switched off.
os.environ.setdefault("OPENCV_LOG_LEVEL", "ERROR")
os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")
