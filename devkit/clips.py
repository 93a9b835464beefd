"""The shared speech-dev clips (real recordings with reference transcripts)."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

# CI clones the repo with shared/ beside it; SPEECH_DEV_DIR points elsewhere when needed.
SPEECH_DEV = Path(
    os.environ.get("SPEECH_DEV_DIR")
    or Path(__file__).resolve().parents[2] / "shared" / "data" / "speech-dev"
)


@dataclass(frozen=True)
class Clip:
    file: str
    text: str
    language: str
    duration_s: float
    sample_rate: int
    channels: int

    @property
    def path(self) -> Path:
        return SPEECH_DEV / self.file

    def read(self) -> bytes:
        return self.path.read_bytes()


def load_clips() -> list[Clip]:
    clips = []
    with open(SPEECH_DEV / "manifest.jsonl", encoding="utf-8") as fh:
        for line in fh:
            m = json.loads(line)
            clips.append(
                Clip(
                    m["file"],
                    m["text"],
                    m["language"],
                    m["duration_s"],
                    m["sample_rate"],
                    m["channels"],
                )
            )
    return clips


def clip(name: str) -> Clip:
    return next(c for c in load_clips() if c.file == name)
