"""PCM float32 out as wav/mp3/ogg/flac (`formats.OUTPUT_FORMATS`), whole or piece by piece as
a response streams."""

from __future__ import annotations

import io
import struct
from dataclasses import dataclass

import av
import numpy as np

from speech_api.formats import OUTPUT_FORMATS


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
