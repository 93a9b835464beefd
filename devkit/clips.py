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


@dataclass(frozen=True)
class JoinedRecording:
    """Dev clips joined into one long recording (a meeting-length test file), with the
    joined references and where each clip starts and ends."""

    samples: object  # float32 numpy array, 16 kHz mono
    clips: list[Clip]
    spans: list[tuple[float, float]]

    @property
    def duration_s(self) -> float:
        return len(self.samples) / 16_000

    @property
    def reference(self) -> str:
        return " ".join(c.text for c in self.clips)

    def flac(self) -> bytes:
        from speech_api.audio import encode_audio

        return encode_audio(self.samples, 16_000, "flac").data


def joined_recording(
    min_s: float = 300.0, gap_s: float = 0.5, language: str = "en", seed: int = 1
) -> JoinedRecording:
    """The clips of one language, shuffled (seed 1: the order whose abrupt changes made
    Whisper's own long-form paths skip whole sentences), repeated as needed and joined with
    ``gap_s`` of silence until the recording is at least ``min_s`` long."""
    import random

    import numpy as np

    from speech_api.audio import decode_audio

    pool = [c for c in load_clips() if c.language == language]
    order: list[Clip] = []
    while sum(c.duration_s + gap_s for c in order) < min_s:
        batch = list(pool)
        random.Random(seed + len(order)).shuffle(batch)
        order += batch
    gap = np.zeros(int(gap_s * 16_000), dtype=np.float32)
    parts, clips, spans, t = [], [], [], 0.0
    for c in order:
        samples = decode_audio(c.read(), max_seconds=60).samples
        spans.append((t, t + len(samples) / 16_000))
        parts += [samples, gap]
        clips.append(c)
        t += len(samples) / 16_000 + gap_s
        if t >= min_s:
            break
    return JoinedRecording(np.concatenate(parts), clips, spans)


def write_sparse_recording(
    path: Path, hours: float, every_s: int = 300
) -> list[tuple[float, Clip]]:
    """A long WAV (16 kHz, 16-bit: 115 MB per hour) of quiet room noise with one English
    clip at the start of every ``every_s`` seconds: hours of audio that decode and
    voice-detect in full but transcribe quickly. Written a stretch at a time. Returns where
    each clip starts."""
    import wave

    import numpy as np

    from speech_api.audio import decode_audio

    pool = [c for c in load_clips() if c.language == "en"]
    rng = np.random.default_rng(0)
    placed = []
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(16_000)
        for i in range(int(hours * 3600 // every_s)):
            c = pool[i % len(pool)]
            speech = decode_audio(c.read(), max_seconds=60).samples
            noise = rng.standard_normal(16_000 * every_s - len(speech)) * 0.002
            block = np.concatenate([speech, noise.astype(np.float32)])
            out.writeframes((np.clip(block, -1, 1) * 32767).astype(np.int16).tobytes())
            placed.append((float(i * every_s), c))
    return placed
