"""The settings of one generation run (model, frames or video, protocol, prompt file, output variant),
and the part of them each generation.json records. Apart because the command line builds them, and the
request, the per-task run and the run over tasks all read them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from iwrbench.generation.prompt import PROMPT_VERSION, VIDEO_PROMPT_VERSION
from iwrbench.generation.prompt_file import PromptFile
from iwrbench.generation.protocol import PaperConfig
from iwrbench.media.video_clip import VideoSettings
from iwrbench.models.settings import ModelSettings


@dataclass(frozen=True)
class GenerationSettings:
    model: ModelSettings = field(default_factory=ModelSettings)
    fps: float = 1.0
    max_frames: int = 64
    force: bool = False
    video_input: str = "frames"  # frames | native
    video: VideoSettings = field(default_factory=VideoSettings)  # limits of a native video
    variant: tuple[str, ...] = ()  # run-slug tags (layout.variant_tags): the pages' folder
    protocol: str = "harness"  # harness | paper (iwrbench.protocol)
    paper: PaperConfig | None = None  # the published config for this model, under --protocol paper
    prompt_file: PromptFile | None = None  # the user's instructions instead of the built-in ones

    def public(self) -> dict[str, Any]:
        run: dict[str, Any] = {"protocol": self.protocol}
        if self.prompt_file is not None:
            run["prompt_file"] = self.prompt_file.record
        if self.video_input == "native":
            return {**self.model.public(), "video_input": "native", **self.video.public(),
                    "prompt_version": VIDEO_PROMPT_VERSION, **run}
        out = {**self.model.public(), "fps": self.fps, "max_frames": self.max_frames,
               "prompt_version": PROMPT_VERSION, **run}
        if self.paper is not None:  # the published settings replace the harness's request settings
            out.update(max_tokens=self.paper.max_tokens, temperature=self.paper.temperature,
                       timeout=float(self.paper.timeout), max_images=self.paper.max_images,
                       image_side=self.paper.max_single_image_size, fps=self.paper.video_fps,
                       max_frames=self.paper.max_video_frames, paper_config=self.paper.key)
        return out
