"""A user's own generation instructions (`generate.py --prompt-file FILE`), as a template.

The file's text replaces the built-in instructions. Fields in braces are filled per task:

    {width} {height}   the recording's viewport in pixels        {resolution}  "<width>x<height>"
    {fps}              frames sampled per second of video         {frames}      frames sent
    {sheets}           contact sheets sent                        {assets_base} the base path to put
                                                                                before an asset's name

`{{` and `}}` stand for literal braces (as in a Python format string, so a template written for the
published code's `PROMPT_TEMPLATE.format(resolution=...)` works unchanged). Any other `{name}` is an
error naming the file and line, so a typo never reaches the model; braces around anything but a bare
name (CSS, JSON) are left as they are. The file's sha256 names the run (`--prompt-<8 hex>`) and goes
into generation.json and the reports.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from iwrbench.errors import UserError
from iwrbench.fsutil import read_utf8

FIELDS = ("width", "height", "resolution", "fps", "frames", "sheets", "assets_base")
_TOKEN = re.compile(r"\{\{|\}\}|\{([A-Za-z_]\w*)\}")


@dataclass(frozen=True)
class PromptFile:
    name: str  # the file's name (no folder: folders differ between machines)
    sha256: str  # of the file's bytes
    text: str

    @property
    def record(self) -> dict[str, str]:
        """What generation.json, eval.json and the reports carry."""
        return {"name": self.name, "sha256": self.sha256}

    def render(self, **values: Any) -> str:
        missing = [f for f in FIELDS if f not in values]
        if missing:
            raise ValueError(f"prompt fields without a value: {', '.join(missing)}")

        def fill(m: re.Match[str]) -> str:
            token = m.group(0)
            if token in ("{{", "}}"):
                return token[0]
            return str(values[m.group(1)])

        return _TOKEN.sub(fill, self.text)


def load_prompt_file(path: str | Path) -> PromptFile:
    """Read and check a prompt file; UserError (one line, naming file and line) when it cannot be used."""
    path = Path(path)
    text, data = read_utf8(path, f"--prompt-file {path}:", missing="no such file")
    if not text.strip():
        raise UserError(f"--prompt-file {path}: the file is empty")
    for number, line in enumerate(text.splitlines(), start=1):
        for m in _TOKEN.finditer(line):
            if m.group(1) is not None and m.group(1) not in FIELDS:
                raise UserError(f"--prompt-file {path} line {number}: unknown field {{{m.group(1)}}} "
                                f"(fields: {', '.join('{' + f + '}' for f in FIELDS)}; write {{{{ and }}}} "
                                "for literal braces)")
    return PromptFile(name=path.name, sha256=hashlib.sha256(data).hexdigest(), text=text)
