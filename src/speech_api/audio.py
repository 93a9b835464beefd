"""Audio in and out, from memory, with PyAV (FFmpeg).

Input: whatever container FFmpeg recognizes by content (the declared content type is never
trusted), decoded straight to 16 kHz mono float32, which is what Whisper consumes, with the
duration limit enforced while decoding. Output: PCM float32 encoded to wav/mp3/ogg/flac.
"""

from __future__ import annotations

import io
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import av
import numpy as np

from speech_api.decoder import run_decode
from speech_api.errors import AudioTooLongError, EmptyAudioError, UnsupportedAudioError
from speech_api.formats import (
    DECODE_BASE_S,
    DECODE_S_PER_AUDIO_S,
    MAX_SOURCE_CHANNELS,
    OUTPUT_FORMATS,
    SOURCE_SAMPLE_RATES,
)

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
    source_sample_rate: int
    source_channels: int

    @property
    def duration_s(self) -> float:
        return len(self.samples) / WHISPER_SAMPLE_RATE


class _DecodeBudget:
    """Bounds what one decode may cost: wall time (checked each time FFmpeg reads input and
    after each frame) and the source audio a header may make the decoder produce."""

    def __init__(self, max_seconds: float, param: str):
        self.max_seconds = max_seconds
        self.param = param
        self.limit_s = decode_time_limit_s(max_seconds)
        self.deadline = time.monotonic() + self.limit_s
        self.source_s = 0.0

    def check_time(self) -> None:
        if time.monotonic() > self.deadline:
            raise UnsupportedAudioError(
                f"The file took longer than {self.limit_s:g} s to decode; it is not a "
                "well-formed audio file.",
                param=self.param,
                code="decode_timeout",
            )

    def check_format(self, rate: int, channels: int) -> None:
        low, high = SOURCE_SAMPLE_RATES
        if rate and not low <= rate <= high:
            raise UnsupportedAudioError(
                f"The audio declares a sample rate of {rate} Hz; supported: {low}-{high} Hz.",
                param=self.param,
            )
        if channels > MAX_SOURCE_CHANNELS:
            raise UnsupportedAudioError(
                f"The audio declares {channels} channels; at most {MAX_SOURCE_CHANNELS} "
                "are supported.",
                param=self.param,
            )

    def take_frame(self, samples: int, rate: int, channels: int) -> None:
        """Account for a decoded frame before it is resampled: a frame's size comes from the
        file, and resampling multiplies it by 16000 / its rate."""
        self.check_format(rate, channels)
        self.source_s += samples / (rate or WHISPER_SAMPLE_RATE)
        if self.source_s > self.max_seconds:
            raise AudioTooLongError(
                f"The audio is longer than the limit of {self.max_seconds:g} seconds.",
                param=self.param,
            )
        self.check_time()


class _BudgetedInput(io.RawIOBase):
    """The input as a file whose every read checks the time budget, so a demuxer that loops
    over crafted input is stopped too (PyAV re-raises our error)."""

    def __init__(self, source: io.BufferedIOBase | io.RawIOBase, budget: _DecodeBudget):
        self._source = source
        self._budget = budget

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        self._budget.check_time()
        return self._source.readinto(buffer) or 0

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        return self._source.seek(offset, whence)

    def tell(self) -> int:
        return self._source.tell()


def decode_audio(data: bytes, *, max_seconds: float, param: str = "file") -> DecodedAudio:
    """Decode any supported audio to 16 kHz mono float32, within a budget, in a child process
    with a memory cap (`speech_api.decoder`).

    Raises EmptyAudioError (no bytes or no samples), UnsupportedAudioError (not audio, an
    implausible rate or channel count, decoding past its time or memory budget),
    AudioTooLongError (checked on each decoded frame before it is resampled, so no header can
    make decoding produce more than ``max_seconds`` of audio).
    """
    if not data:
        raise EmptyAudioError("The audio file is empty.", param=param)
    reply, pcm = run_decode(
        {"mode": "bytes", "max_seconds": max_seconds, "param": param},
        data,
        limit_s=decode_time_limit_s(max_seconds),
    )
    samples = np.frombuffer(pcm, dtype=np.int16).astype(np.float32) / 32768.0
    return DecodedAudio(
        samples=samples, source_sample_rate=reply["rate"], source_channels=reply["channels"]
    )


def decode_in_process(
    data: bytes, sink: Callable[[np.ndarray], object], max_seconds: float, param: str
) -> tuple[int, int]:
    """`decode_audio`'s work, in this process (the decoding child runs it)."""
    return _decode(io.BytesIO(data), sink, max_seconds=max_seconds, param=param)


def decode_time_limit_s(max_seconds: float) -> float:
    return DECODE_BASE_S + DECODE_S_PER_AUDIO_S * max_seconds


class AudioSource(Protocol):
    """16 kHz mono audio read a stretch at a time (long recordings are not held in memory)."""

    @property
    def samples(self) -> int: ...

    def read(self, start: int, end: int) -> np.ndarray:
        """float32 samples [start, end)."""
        ...


class ArrayAudio:
    def __init__(self, samples: np.ndarray):
        self._samples = samples

    @property
    def samples(self) -> int:
        return int(self._samples.shape[0])

    def read(self, start: int, end: int) -> np.ndarray:
        return self._samples[start:end]


class PcmFile:
    """Decoded audio kept on disk as 16-bit PCM (32,000 bytes per second); each read loads
    only its stretch (read, not memory-mapped: mapped pages would count in the process's
    memory for as long as the kernel keeps them)."""

    def __init__(self, path: Path):
        self.path = path
        self._samples = path.stat().st_size // 2

    @property
    def samples(self) -> int:
        return self._samples

    @property
    def duration_s(self) -> float:
        return self.samples / WHISPER_SAMPLE_RATE

    def read(self, start: int, end: int) -> np.ndarray:
        start, end = max(0, start), min(end, self._samples)
        if end <= start:
            return np.zeros(0, dtype=np.float32)
        with open(self.path, "rb") as fh:
            fh.seek(start * 2)
            pcm = np.fromfile(fh, dtype=np.int16, count=end - start)
        return pcm.astype(np.float32) / 32768.0


def decode_file(source: Path, target: Path, *, max_seconds: float, param: str = "file") -> PcmFile:
    """Decode an audio file of any length to 16 kHz mono PCM in ``target``, with the same
    checks as `decode_audio` (in a child process too; memory stays flat: frames go to disk as
    they are decoded). A container that declares a duration over ``max_seconds`` is refused
    before decoding."""
    if source.stat().st_size == 0:
        raise EmptyAudioError("The audio file is empty.", param=param)
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


class _SinkError(Exception):
    """Writing decoded audio failed (kept apart from the decoder's own errors)."""


def _too_long(seconds: float, max_seconds: float, param: str) -> AudioTooLongError:
    return AudioTooLongError(
        f"The audio is {_clock(seconds)} long; the limit here is {_clock(max_seconds)} "
        f"({max_seconds:g} seconds).",
        param=param,
    )


def _clock(seconds: float) -> str:
    seconds = int(seconds)
    if seconds < 120:
        return f"{seconds} s"
    hours, rest = divmod(seconds, 3600)
    return f"{hours} h {rest // 60:02d} min" if hours else f"{rest // 60} min {rest % 60:02d} s"


def _decode(
    raw,
    sink: Callable[[np.ndarray], object],
    *,
    max_seconds: float,
    param: str,
    refuse_declared: bool = False,
) -> tuple[int, int]:
    """Decode ``raw`` (a seekable binary file) to 16 kHz mono int16 arrays handed to ``sink``;
    returns the source's sample rate and channels."""
    budget = _DecodeBudget(max_seconds, param)
    try:
        container = av.open(
            _BudgetedInput(raw, budget),
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
            raise EmptyAudioError("The audio contains no samples.", param=param) from exc
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
            raise _too_long(declared, max_seconds, param)
        # Same conversion as faster_whisper.decode_audio (s16, then scaled), so transcripts
        # match the direct library call exactly.
        resampler = av.AudioResampler(format="s16", layout="mono", rate=WHISPER_SAMPLE_RATE)
        max_samples = int(max_seconds * WHISPER_SAMPLE_RATE)
        total = 0

        def take(frames) -> None:
            nonlocal total
            for out in frames:
                arr = out.to_ndarray().reshape(-1)
                total += arr.shape[0]
                if total > max_samples:
                    raise AudioTooLongError(
                        f"The audio is longer than the limit of {max_seconds:g} seconds.",
                        param=param,
                    )
                sink(arr)

        try:
            for frame in container.decode(stream):
                budget.take_frame(frame.samples, frame.sample_rate, len(frame.layout.channels))
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
            if stream.frames or declared:
                # It declares audio that none of its frames delivered: a broken index (or
                # one too large for the decoder's memory cap, which FFmpeg drops silently).
                raise UnsupportedAudioError(
                    f"The file declares {stream.frames or round(declared, 3)} "
                    f"{'frames' if stream.frames else 'seconds'} of audio, but none could be "
                    "decoded: its index is broken or far larger than its audio.",
                    param=param,
                )
            raise EmptyAudioError("The audio contains no samples.", param=param)
        return stream.rate or 0, stream.channels or 0


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


@dataclass(frozen=True)
class EncodedAudio:
    data: bytes
    content_type: str
    sample_rate: int
    duration_s: float


def encode_audio(samples: np.ndarray, sample_rate: int, fmt: str) -> EncodedAudio:
    """Encode mono float32 samples in [-1, 1] to the named format, in memory."""
    encoder = StreamEncoder(fmt, sample_rate, seekable=True)
    data = encoder.feed(samples) + encoder.close()
    return EncodedAudio(
        data=data,
        content_type=encoder.spec.content_type,
        sample_rate=encoder.sample_rate,
        duration_s=round(len(samples) / sample_rate, 3),
    )


class _Sink:
    """A write-only file for PyAV: muxed bytes are taken as soon as they are written."""

    def __init__(self) -> None:
        self._parts: list[bytes] = []

    def write(self, data) -> int:
        self._parts.append(bytes(data))
        return len(data)

    def take(self) -> bytes:
        out, self._parts = b"".join(self._parts), []
        return out


class StreamEncoder:
    """Encode audio piece by piece (e.g. sentence by sentence) and hand out the bytes each
    piece produces, so a response can stream before the whole text is synthesized."""

    def __init__(self, fmt: str, sample_rate: int, *, seekable: bool = False):
        self.spec = OUTPUT_FORMATS[fmt]
        self.input_rate = sample_rate
        self.sample_rate = self.spec.sample_rate or sample_rate
        self._seekable = seekable
        self._pcm: list[bytes] = []
        self._container = None
        if self.spec.container in ("", "wav"):
            return  # PCM is written directly, WAV with a header of its own
        # Seekable output lets muxers finish their headers (MP3's Xing frame with the exact
        # length and encoder delay); a stream gets bytes as soon as they exist instead.
        self._sink = io.BytesIO() if seekable else _Sink()
        self._container = av.open(self._sink, mode="w", format=self.spec.container)
        self._stream = self._container.add_stream(
            self.spec.codec, rate=self.sample_rate, layout="mono"
        )
        self._resampler = av.AudioResampler(
            format=self.spec.sample_format, layout="mono", rate=self.sample_rate
        )

    def feed(self, samples: np.ndarray) -> bytes:
        pcm = np.clip(np.asarray(samples, dtype=np.float32), -1.0, 1.0)
        if self._container is None:
            data = (pcm * 32767.0).round().astype("<i2").tobytes()
            if self._seekable:
                self._pcm.append(data)
                return b""
            if self.spec.name == "wav" and not self._pcm:
                self._pcm.append(b"")  # header sent
                data = _wav_header(self.sample_rate, None) + data
            return data
        frame = av.AudioFrame.from_ndarray(pcm.reshape(1, -1), format="flt", layout="mono")
        frame.sample_rate = self.input_rate
        self._encode(self._resampler.resample(frame))
        return self._take()

    def close(self) -> bytes:
        if self._container is None:
            if self._seekable:
                data = b"".join(self._pcm)
                header = (
                    _wav_header(self.sample_rate, len(data)) if self.spec.name == "wav" else b""
                )
                return header + data
            if self.spec.name == "wav" and not self._pcm:
                return _wav_header(self.sample_rate, None)
            return b""
        self._encode(self._resampler.resample(None))
        for packet in self._stream.encode(None):
            self._container.mux(packet)
        self._container.close()
        return self._sink.getvalue() if self._seekable else self._take()

    def _take(self) -> bytes:
        return b"" if self._seekable else self._sink.take()

    def _encode(self, frames) -> None:
        for frame in frames:
            for packet in self._stream.encode(frame):
                self._container.mux(packet)


def _wav_header(sample_rate: int, data_bytes: int | None) -> bytes:
    """RIFF/WAVE header for 16-bit mono PCM. A stream's length is unknown: sizes 0xFFFFFFFF,
    the usual convention, and decoders read the data until the stream ends."""
    import struct

    riff = 0xFFFFFFFF if data_bytes is None else 36 + data_bytes
    data = 0xFFFFFFFF if data_bytes is None else data_bytes
    return (
        b"RIFF"
        + struct.pack("<I", riff)
        + b"WAVE"
        + b"fmt "
        + struct.pack("<IHHIIHH", 16, 1, 1, sample_rate, sample_rate * 2, 2, 16)
        + b"data"
        + struct.pack("<I", data)
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
