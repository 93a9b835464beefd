"""Audio files that tests make themselves (tones, noise, silence) in any container."""

from __future__ import annotations

import io

import av
import numpy as np


def tone(seconds: float, rate: int = 22050, freq: float = 220.0) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return (0.3 * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def noise(seconds: float, rate: int = 16000, level: float = 0.01) -> np.ndarray:
    return (np.random.default_rng(1).standard_normal(int(seconds * rate)) * level).astype(
        np.float32
    )


def encode(
    samples: np.ndarray,
    rate: int,
    *,
    codec: str = "pcm_s16le",
    container: str = "wav",
    layout: str = "mono",
) -> bytes:
    """Encode mono float32 samples (duplicated to every channel of ``layout``)."""
    buf = io.BytesIO()
    with av.open(buf, "w", format=container) as out:
        stream = out.add_stream(codec, rate=rate, layout=layout)
        fmt = stream.codec_context.codec.audio_formats[0].name
        resampler = av.AudioResampler(format=fmt, layout=layout, rate=rate)
        frame = av.AudioFrame.from_ndarray(
            np.asarray(samples, np.float32).reshape(1, -1), "flt", "mono"
        )
        frame.sample_rate = rate
        for f in [*resampler.resample(frame), *resampler.resample(None)]:
            for p in stream.encode(f):
                out.mux(p)
        for p in stream.encode(None):
            out.mux(p)
    return buf.getvalue()
