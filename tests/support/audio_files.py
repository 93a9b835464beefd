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


def wav_with_header(
    *, rate: int, channels: int = 1, bits: int = 16, block_align: int = 2, data_bytes: int
) -> bytes:
    """A PCM WAV whose header says what the caller wants, true or not (decoder bombs)."""
    import struct

    fmt = struct.pack("<HHIIHH", 1, channels, rate, rate * block_align, block_align, bits)
    data = bytes((i * 37) & 0xFF for i in range(data_bytes))
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt
    body += b"data" + struct.pack("<I", data_bytes) + data
    return b"RIFF" + struct.pack("<I", len(body)) + body


def decoder_bombs() -> dict[str, bytes]:
    """Small files whose headers make an unguarded decoder allocate or work far beyond their
    size: each was measured at 0.4-2 GB or seconds of CPU before decoding had a budget."""
    return {
        # 1 Hz: one 32000-sample frame resampled to 16 kHz is 512 M samples (1-2 GB).
        "wav_1hz_block_align_65535": wav_with_header(rate=1, block_align=65535, data_bytes=64000),
        "wav_8hz": wav_with_header(rate=8, data_bytes=64000),
        "wav_64_channels": wav_with_header(
            rate=16000, channels=64, block_align=128, data_bytes=64000
        ),
        # ADTS frame headers with no payload: the demuxer scanned the whole body to estimate a
        # duration (2.5 s and 400 MB for 20 MB; 1 s and 160 MB for these 8 MB).
        "adts_empty_frames": b"\xff\xf1\x50\x80\x00\xff\xfc" * (8_000_000 // 7),
    }


def _mp4_boxes(data: bytes, start: int, end: int):
    """(offset, type) of every box, descending into the containers that hold sample tables."""
    import struct

    i = start
    while i + 8 <= end:
        size, kind = struct.unpack(">I4s", data[i : i + 8])
        if size < 8:
            return
        yield i, kind
        if kind in (b"moov", b"trak", b"mdia", b"minf", b"stbl"):
            yield from _mp4_boxes(data, i + 8, i + size)
        i += size


def mp4_with_tables(tables: dict[bytes, bytes], *, brand: bytes | None = None) -> bytes:
    """A real one-second AAC track in MP4 whose sample tables (stsz, stsc, stco, ...) are
    overwritten in place: each value is the box's new body after its version and flags."""
    data = bytearray(encode(tone(1.0, 16000), 16000, codec="aac", container="mp4"))
    for offset, kind in list(_mp4_boxes(bytes(data), 0, len(data))):
        if kind in tables:
            body = tables[kind]
            data[offset + 12 : offset + 12 + len(body)] = body
        if kind == b"ftyp" and brand is not None:
            data[offset + 8 : offset + 12] = brand
    return bytes(data)


def container_index_bombs() -> dict[str, bytes]:
    """10 KB MP4/M4A/MOV files whose sample tables declare 50 M samples. FFmpeg builds its
    index from them on open, before any frame is decoded: measured here, unguarded, +1.75 GB
    (sample size and samples per chunk both declared) and +0.6 GB (sample size alone) of RSS
    per file within a second or two."""
    import struct

    n = 50_000_000
    per_chunk = {
        b"stsz": struct.pack(">II", 200, n),  # every sample 200 bytes, 50 M of them
        b"stsc": struct.pack(">IIII", 1, 1, n, 1),  # all of them in the first chunk
        b"stco": struct.pack(">I", 1),
    }
    return {
        "m4a_stsz_stsc_50M": mp4_with_tables(per_chunk),
        "mov_stsz_stsc_50M": mp4_with_tables(per_chunk, brand=b"qt  "),
        "3gp_stsz_stsc_50M": mp4_with_tables(per_chunk, brand=b"3gp4"),
        "mp4_stsz_50M": mp4_with_tables({b"stsz": struct.pack(">II", 200, n)}),
    }
