"""Any supported audio to 16 kHz mono, in memory or to PCM on disk.

Whatever container FFmpeg recognizes by content (the declared content type is never trusted),
decoded straight to 16 kHz mono, which is what Whisper consumes, within a `DecodeBudget`. The
public calls run the work in a child process with a memory cap (`audio.sandbox`); the
``*_in_process`` functions are what that child runs.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np

from speech_api.audio.budget import BudgetedInput, DecodeBudget, decode_time_limit_s
from speech_api.audio.sandbox import run_decode
from speech_api.audio.sources import WHISPER_SAMPLE_RATE, PcmFile
from speech_api.errors import (
    AudioTooLongError,
    EmptyAudioError,
    InvalidRequestError,
    UnsupportedAudioError,
)

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
    source_sample_rate: int
    source_channels: int

    @property
    def duration_s(self) -> float:
        return len(self.samples) / WHISPER_SAMPLE_RATE


def decode_audio(data: bytes, *, max_seconds: float, param: str = "file") -> DecodedAudio:
    """Decode any supported audio to 16 kHz mono float32, within a budget, in a child process
    with a memory cap (`audio.sandbox`).

    Raises EmptyAudioError (no bytes or no samples), UnsupportedAudioError (not audio, an
    implausible rate or channel count, decoding past its time or memory budget),
    AudioTooLongError (checked on each decoded frame before it is resampled, so no header can
    make decoding produce more than ``max_seconds`` of audio).
    """
    _refuse_empty(len(data), param)
    reply, pcm = run_decode(
        {"mode": "bytes", "max_seconds": max_seconds, "param": param},
        data,
        limit_s=decode_time_limit_s(max_seconds),
    )
    samples = np.frombuffer(pcm, dtype=np.int16).astype(np.float32) / 32768.0
    return DecodedAudio(
        samples=samples, source_sample_rate=reply["rate"], source_channels=reply["channels"]
    )


def decode_file(source: Path, target: Path, *, max_seconds: float, param: str = "file") -> PcmFile:
    """Decode an audio file of any length to 16 kHz mono PCM in ``target``, with the same
    checks as `decode_audio` (in a child process too; memory stays flat: frames go to disk as
    they are decoded). A container that declares a duration over ``max_seconds`` is refused
    before decoding."""
    _refuse_empty(source.stat().st_size, param)
    run_decode(
        {
            "mode": "file",
            "source": str(source),
            "target": str(target),
            "max_seconds": max_seconds,
            "param": param,
        },
        b"",
        limit_s=decode_time_limit_s(max_seconds),
    )
    return PcmFile(target)


def decode_channels(
    source: Path, work_dir: Path, *, max_seconds: float, max_channels: int, param: str = "file"
) -> list[PcmFile]:
    """Each channel of an audio file as its own 16 kHz PCM file in ``work_dir`` (channel
    identification: a call recorded one party per channel), with the checks of `decode_file`;
    a file with more than ``max_channels`` channels is refused (InvalidRequestError naming
    channel_identification) before any of it is decoded."""
    _refuse_empty(source.stat().st_size, param)
    prefix = work_dir / "channel"
    reply, _ = run_decode(
        {
            "mode": "channels",
            "source": str(source),
            "target": str(prefix),
            "max_seconds": max_seconds,
            "max_channels": max_channels,
            "param": param,
        },
        b"",
        limit_s=decode_time_limit_s(max_seconds),
    )
    return [PcmFile(_channel_path(prefix, c)) for c in range(max(1, reply["channels"]))]


def _channel_path(prefix: Path, channel: int) -> Path:
    return prefix.with_name(f"{prefix.name}.{channel}.pcm")


def decode_in_process(
    data: bytes, sink: Callable[[np.ndarray], object], max_seconds: float, param: str
) -> tuple[int, int]:
    """`decode_audio`'s work, in this process (the decoding child runs it)."""
    return _decode(io.BytesIO(data), sink, max_seconds=max_seconds, param=param)


def decode_file_in_process(
    source: Path, target: Path, max_seconds: float, param: str
) -> tuple[int, int]:
    """`decode_file`'s work, in this process (the decoding child runs it)."""
    with open(source, "rb") as raw, open(target, "wb") as out:

        def write(chunk: np.ndarray) -> None:
            try:
                out.write(chunk.tobytes())
            except OSError as exc:  # disk full: not the input's fault, never "truncated input"
                raise _SinkError from exc

        try:
            return _decode(raw, write, max_seconds=max_seconds, param=param, refuse_declared=True)
        except _SinkError as exc:
            raise exc.__cause__ from None


def decode_channels_in_process(
    source: Path, prefix: Path, max_seconds: float, param: str, max_channels: int
) -> tuple[int, int]:
    """`decode_channels`' work, in this process (the decoding child runs it)."""
    outs: list = []
    try:
        with open(source, "rb") as raw:

            def open_sinks(channels: int) -> list[Callable[[np.ndarray], object]]:
                if channels > max_channels:
                    raise InvalidRequestError(
                        f"channel_identification takes recordings of at most {max_channels} "
                        f"channels; this one has {channels}.",
                        param="channel_identification",
                        code="too_many_channels",
                    )
                for c in range(channels):
                    outs.append(open(_channel_path(prefix, c), "wb"))  # noqa: SIM115

                def writer(out):
                    def write(chunk: np.ndarray) -> None:
                        try:
                            out.write(chunk.tobytes())
                        except OSError as exc:
                            raise _SinkError from exc

                    return write

                return [writer(out) for out in outs]

            try:
                return _decode(
                    raw,
                    None,
                    max_seconds=max_seconds,
                    param=param,
                    refuse_declared=True,
                    channel_sinks=open_sinks,
                )
            except _SinkError as exc:
                raise exc.__cause__ from None
    finally:
        for out in outs:
            out.close()


class _SinkError(Exception):
    """Writing decoded audio failed (kept apart from the decoder's own errors)."""


def _refuse_empty(size: int, param: str) -> None:
    if size == 0:
        raise EmptyAudioError("The audio file is empty.", param=param)


def _no_samples(param: str) -> EmptyAudioError:
    return EmptyAudioError("The audio contains no samples.", param=param)


def _decode(
    raw,
    sink: Callable[[np.ndarray], object] | None,
    *,
    max_seconds: float,
    param: str,
    refuse_declared: bool = False,
    channel_sinks: Callable[[int], list[Callable[[np.ndarray], object]]] | None = None,
) -> tuple[int, int]:
    """Decode ``raw`` (a seekable binary file) to 16 kHz mono int16 arrays handed to ``sink``;
    returns the source's sample rate and channels. With ``channel_sinks(channels)`` instead,
    each channel is decoded on its own and handed to the sink of its index."""
    budget = DecodeBudget(max_seconds, param)
    try:
        container = av.open(
            BudgetedInput(raw, budget),
            mode="r",
            # Probing reads at most 500 KB: some demuxers (ADTS) otherwise scan the whole body
            # to estimate a duration, which for 20 MB of crafted frames is 2.5 s and 400 MB.
            options={"format_whitelist": _INPUT_FORMATS, "probesize": "500000"},
        )
    except UnsupportedAudioError:
        raise
    except (av.FFmpegError, ValueError, OSError) as exc:
        raw.seek(0)
        if _is_empty_wav(raw.read(64 * 1024)):  # FFmpeg cannot open a WAV with no samples
            raise _no_samples(param) from exc
        raise UnsupportedAudioError(
            "The file could not be decoded as audio. Supported: wav, flac, mp3, ogg/opus, "
            "webm, m4a/mp4, aac, aiff.",
            param=param,
        ) from exc

    with container:
        if not container.streams.audio:
            raise UnsupportedAudioError("The file contains no audio stream.", param=param)
        stream = container.streams.audio[0]
        budget.check_format(stream.rate or 0, stream.channels or 0)
        declared = (container.duration or 0) / av.time_base
        if refuse_declared and declared > max_seconds:
            # Long recordings: refuse up front what the header says is too long, rather than
            # after decoding it (decoding counts the real length as well: headers can lie).
            raise AudioTooLongError.over(max_seconds, param=param, seconds=declared)
        # Same conversion as faster_whisper.decode_audio (s16, then scaled), so transcripts
        # match the direct library call exactly.
        resampler = av.AudioResampler(format="s16", layout="mono", rate=WHISPER_SAMPLE_RATE)
        max_samples = int(max_seconds * WHISPER_SAMPLE_RATE)
        total = 0
        split = _ChannelSplit(channel_sinks(stream.channels or 1)) if channel_sinks else None

        def take(frames, to=sink, counted: bool = True) -> None:
            nonlocal total
            for out in frames:
                arr = out.to_ndarray().reshape(-1)
                if counted:
                    total += arr.shape[0]
                    if total > max_samples:
                        raise AudioTooLongError.over(max_seconds, param=param)
                to(arr)

        try:
            for frame in container.decode(stream):
                budget.take_frame(frame.samples, frame.sample_rate, len(frame.layout.channels))
                frame.pts = None  # let the resampler count samples; broken pts must not matter
                if split is None:
                    take(resampler.resample(frame))
                else:
                    split.take(frame, take)
        except (av.FFmpegError, ValueError, OSError) as exc:
            # A truncated or partly corrupt file: keep what decoded cleanly, as ffmpeg does.
            if total == 0:
                raise UnsupportedAudioError(
                    "The file could not be decoded as audio (corrupt or truncated).", param=param
                ) from exc
        if split is None:
            take(resampler.resample(None))
        else:
            split.flush(take)

        if total == 0:
            if stream.frames or declared:
                # It declares audio that none of its frames delivered: a broken index (or
                # one too large for the decoder's memory cap, which FFmpeg drops silently).
                raise UnsupportedAudioError(
                    f"The file declares {stream.frames or round(declared, 3)} "
                    f"{'frames' if stream.frames else 'seconds'} of audio, but none could be "
                    "decoded: its index is broken or far larger than its audio.",
                    param=param,
                )
            raise _no_samples(param)
        return stream.rate or 0, stream.channels or 0


class _ChannelSplit:
    """Each channel of the decoded frames through its own resampler to 16 kHz mono (only the
    first channel counts towards the length limit: they are all as long)."""

    def __init__(self, sinks: list[Callable[[np.ndarray], object]]):
        self.sinks = sinks
        self.planar: av.AudioResampler | None = None
        self.resamplers = [
            av.AudioResampler(format="s16", layout="mono", rate=WHISPER_SAMPLE_RATE) for _ in sinks
        ]

    def take(self, frame, take) -> None:
        if self.planar is None:
            self.planar = av.AudioResampler(
                format="fltp", layout=frame.layout.name, rate=frame.sample_rate
            )
        for planar in self.planar.resample(frame):
            data = planar.to_ndarray()
            for c, (sink, resampler) in enumerate(zip(self.sinks, self.resamplers, strict=True)):
                mono = av.AudioFrame.from_ndarray(
                    np.ascontiguousarray(data[c : c + 1]), format="fltp", layout="mono"
                )
                mono.sample_rate = planar.sample_rate
                take(resampler.resample(mono), to=sink, counted=c == 0)

    def flush(self, take) -> None:
        for c, (sink, resampler) in enumerate(zip(self.sinks, self.resamplers, strict=True)):
            take(resampler.resample(None), to=sink, counted=c == 0)


def _is_empty_wav(data: bytes) -> bool:
    """A RIFF/WAVE file whose `data` chunk is present and has no bytes after its header."""
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        return False
    offset = 12
    while offset + 8 <= len(data):
        size = int.from_bytes(data[offset + 4 : offset + 8], "little")
        if data[offset : offset + 4] == b"data":
            return offset + 8 >= len(data)
        offset += 8 + size + (size & 1)
    return False
