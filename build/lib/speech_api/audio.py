"""Audio in and out, from memory, with PyAV (FFmpeg).

Input: whatever container FFmpeg recognizes by content (the declared content type is never
trusted), decoded straight to 16 kHz mono float32, which is what Whisper consumes, with the
duration limit enforced while decoding. Output: PCM float32 encoded to wav/mp3/ogg/flac.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import av
import numpy as np

from speech_api.errors import AudioTooLongError, EmptyAudioError, UnsupportedAudioError

WHISPER_SAMPLE_RATE = 16_000

# Demuxers we accept. A whitelist keeps FFmpeg from probing playlist/concat formats that
# could make it open other files or URLs on our behalf.
_INPUT_FORMATS = ",".join(
    [
        "wav",
        "w64",
        "mp3",
        "flac",
        "ogg",
        "matroska,webm",
        "mov,mp4,m4a,3gp,3g2,mj2",
        "aac",
        "aiff",
        "caf",
        "au",
        "amr",
        "asf",
    ]
)


@dataclass(frozen=True)
class DecodedAudio:
    samples: np.ndarray  # float32, mono, WHISPER_SAMPLE_RATE
    source_format: str
    source_sample_rate: int
    source_channels: int

    @property
    def duration_s(self) -> float:
        return len(self.samples) / WHISPER_SAMPLE_RATE


def decode_audio(data: bytes, *, max_seconds: float, param: str = "file") -> DecodedAudio:
    """Decode any supported audio to 16 kHz mono float32.

    Raises EmptyAudioError (no bytes or no samples), UnsupportedAudioError (not audio),
    AudioTooLongError (stops decoding as soon as the limit is passed).
    """
    if not data:
        raise EmptyAudioError("The audio file is empty.", param=param)
    try:
        container = av.open(
            io.BytesIO(data), mode="r", options={"format_whitelist": _INPUT_FORMATS}
        )
    except (av.FFmpegError, ValueError, OSError) as exc:
        raise UnsupportedAudioError(
            "The file could not be decoded as audio. Supported: wav, flac, mp3, ogg/opus, "
            "webm, m4a/mp4, aac, aiff.",
            param=param,
        ) from exc

    with container:
        if not container.streams.audio:
            raise UnsupportedAudioError("The file contains no audio stream.", param=param)
        stream = container.streams.audio[0]
        # Same conversion as faster_whisper.decode_audio (s16, then scaled), so transcripts
        # match the direct library call exactly.
        resampler = av.AudioResampler(format="s16", layout="mono", rate=WHISPER_SAMPLE_RATE)
        max_samples = int(max_seconds * WHISPER_SAMPLE_RATE)
        chunks: list[np.ndarray] = []
        total = 0

        def take(frames) -> None:
            nonlocal total
            for out in frames:
                arr = out.to_ndarray().reshape(-1)
                chunks.append(arr)
                total += arr.shape[0]
            if total > max_samples:
                raise AudioTooLongError(
                    f"The audio is longer than the limit of {max_seconds:g} seconds.",
                    param=param,
                )

        try:
            for frame in container.decode(stream):
                frame.pts = None  # let the resampler count samples; broken pts must not matter
                take(resampler.resample(frame))
        except (av.FFmpegError, ValueError, OSError) as exc:
            # A truncated or partly corrupt file: keep what decoded cleanly, as ffmpeg does.
            if total == 0:
                raise UnsupportedAudioError(
                    "The file could not be decoded as audio (corrupt or truncated).", param=param
                ) from exc
        take(resampler.resample(None))

        if total == 0:
            raise EmptyAudioError("The audio contains no samples.", param=param)
        samples = np.concatenate(chunks).astype(np.float32) / 32768.0
        return DecodedAudio(
            samples=samples,
            source_format=container.format.name,
            source_sample_rate=stream.rate or 0,
            source_channels=stream.channels or 0,
        )


@dataclass(frozen=True)
class OutputFormat:
    name: str
    container: str
    codec: str
    content_type: str
    extension: str
    sample_format: str
    # Codecs such as Opus only run at fixed rates; None keeps the engine's rate.
    sample_rate: int | None = None


OUTPUT_FORMATS: dict[str, OutputFormat] = {
    "wav": OutputFormat("wav", "wav", "pcm_s16le", "audio/wav", "wav", "s16"),
    "mp3": OutputFormat("mp3", "mp3", "libmp3lame", "audio/mpeg", "mp3", "s16p"),
    "ogg": OutputFormat("ogg", "ogg", "libopus", "audio/ogg", "ogg", "s16", 48_000),
    "flac": OutputFormat("flac", "flac", "flac", "audio/flac", "flac", "s16"),
}


@dataclass(frozen=True)
class EncodedAudio:
    data: bytes
    content_type: str
    extension: str
    sample_rate: int
    duration_s: float


def encode_audio(samples: np.ndarray, sample_rate: int, fmt: str) -> EncodedAudio:
    """Encode mono float32 samples in [-1, 1] to the named format, in memory."""
    spec = OUTPUT_FORMATS[fmt]
    out_rate = spec.sample_rate or sample_rate
    pcm = np.clip(np.asarray(samples, dtype=np.float32), -1.0, 1.0)
    buf = io.BytesIO()
    with av.open(buf, mode="w", format=spec.container) as container:
        stream = container.add_stream(spec.codec, rate=out_rate, layout="mono")
        resampler = av.AudioResampler(format=spec.sample_format, layout="mono", rate=out_rate)
        frame = av.AudioFrame.from_ndarray(pcm.reshape(1, -1), format="flt", layout="mono")
        frame.sample_rate = sample_rate
        for resampled in [*resampler.resample(frame), *resampler.resample(None)]:
            for packet in stream.encode(resampled):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return EncodedAudio(
        data=buf.getvalue(),
        content_type=spec.content_type,
        extension=spec.extension,
        sample_rate=out_rate,
        duration_s=round(len(pcm) / sample_rate, 3),
    )


def change_tempo(samples: np.ndarray, sample_rate: int, speed: float) -> np.ndarray:
    """Speed speech up or down without changing its pitch (FFmpeg's atempo filter).

    For engines with no native speed control; atempo takes 0.5..2.0 per stage, so larger
    factors are chained.
    """
    if abs(speed - 1.0) < 1e-6 or len(samples) == 0:
        return samples
    stages: list[float] = []
    remaining = speed
    while remaining > 2.0:
        stages.append(2.0)
        remaining /= 2.0
    while remaining < 0.5:
        stages.append(0.5)
        remaining /= 0.5
    stages.append(remaining)

    graph = av.filter.Graph()
    src = graph.add_abuffer(format="flt", sample_rate=sample_rate, layout="mono")
    node = src
    for factor in stages:
        nxt = graph.add("atempo", f"{factor:.6f}")
        node.link_to(nxt)
        node = nxt
    sink = graph.add("abuffersink")
    node.link_to(sink)
    graph.configure()

    frame = av.AudioFrame.from_ndarray(
        np.asarray(samples, dtype=np.float32).reshape(1, -1), format="flt", layout="mono"
    )
    frame.sample_rate = sample_rate
    frame.pts = 0
    src.push(frame)
    src.push(None)
    out: list[np.ndarray] = []
    while True:
        try:
            out.append(sink.pull().to_ndarray().reshape(-1))
        except (av.BlockingIOError, EOFError):
            break
    return np.concatenate(out).astype(np.float32) if out else samples[:0]
