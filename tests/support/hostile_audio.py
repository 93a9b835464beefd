"""Containers crafted to mislead a decoder (the hostile review's codec cases): boxes nested
thousands deep, elements, tables and tags declaring gigabytes, impossible sample formats,
playlists and scripts that would make FFmpeg open other files. Each is small; an unguarded
decoder would allocate, recurse or read far beyond its size."""

from __future__ import annotations

import struct

import numpy as np

from tests.support.audio_files import encode, mp4_with_tables, tone, wav_with_header


def box(kind: bytes, body: bytes) -> bytes:
    """One MP4 box: its size, its type, its body."""
    return struct.pack(">I", 8 + len(body)) + kind + body


def chunk(kind: bytes, body: bytes, order: str = "<") -> bytes:
    """One RIFF chunk (little-endian size) or, with ``order=">"``, one IFF chunk (AIFF)."""
    return kind + struct.pack(order + "I", len(body)) + body


def deep_mp4(depth: int) -> bytes:
    inner = box(b"free", b"")
    for _ in range(depth):
        inner = box(b"moov", inner)
    return box(b"ftyp", b"isom\0\0\0\0isom") + inner


def ebml_huge_element() -> bytes:
    """A Matroska header, a segment of unknown size and a Cues element declaring 2^44 bytes."""
    header = (
        bytes.fromhex("1a45dfa3")
        + bytes([0x9F])
        + bytes.fromhex("4286810142f7810142f2810442f381084282847765626d")
    )
    segment = bytes.fromhex("18538067") + bytes([0x01]) + b"\xff" * 7  # unknown size
    cues = bytes.fromhex("1c53bb6b") + bytes([0x01, 0x00, 0x00, 0x10, 0, 0, 0, 0])  # 2^44 bytes
    return header + segment + cues + b"\x00" * 1000


def flac_with_huge_seektable() -> bytes:
    real = encode(tone(1.0, 16000), 16000, codec="flac", container="flac")
    # After "fLaC" and STREAMINFO (4 + 34 bytes): a SEEKTABLE block declaring 16 MB of points.
    streaminfo = real[4 : 4 + 4 + 34]
    return (
        b"fLaC" + bytes([streaminfo[0] & 0x7F]) + streaminfo[1:] + b"\x83\xff\xff\xf0" + real[42:]
    )


def id3_huge() -> bytes:
    mp3 = encode(tone(1.0, 16000), 16000, codec="libmp3lame", container="mp3")
    return b"ID3\x04\x00\x00\x7f\x7f\x7f\x7f" + mp3  # a tag declaring 256 MB


def caf_huge_pakt() -> bytes:
    desc = struct.pack(">dIIIIII", 16000.0, 0x61616320, 0, 0, 1024, 1, 0)  # 'aac '
    pakt = struct.pack(">qqii", 2**31, 2**40, 0, 0)
    return (
        b"caff\x00\x01\x00\x00"
        + b"desc"
        + struct.pack(">q", len(desc))
        + desc
        + b"pakt"
        + struct.pack(">q", len(pakt))
        + pakt
        + b"data"
        + struct.pack(">q", -1)
        + b"\0\0\0\0"
        + b"\x21" * 2000
    )


def fragmented_mp4_trun() -> bytes:
    base = mp4_with_tables({})
    trun = box(
        b"trun", struct.pack(">II", 0x000301, 50_000_000) + struct.pack(">i", 0) + b"\0" * 64
    )
    traf = box(b"traf", box(b"tfhd", struct.pack(">II", 0x020000, 1)) + trun)
    moof = box(b"moof", box(b"mfhd", struct.pack(">II", 0, 1)) + traf)
    return base + moof + box(b"mdat", b"\0" * 256)


def mp4_elst_many() -> bytes:
    return mp4_with_tables({b"elst": struct.pack(">I", 10_000_000)})


def wav_fmt(bits: int, fmt_tag: int = 1) -> bytes:
    """A mono 16 kHz WAV whose format chunk says ``bits`` per sample and ``fmt_tag``."""
    fmt = struct.pack("<HHIIHH", fmt_tag, 1, 16000, 32000, 2, bits)
    return chunk(b"RIFF", b"WAVE" + chunk(b"fmt ", fmt) + chunk(b"data", b"\x01\x02" * 16000))


def wav_data_size_max(wav: bytes) -> bytes:
    """``wav`` with its data chunk declaring 0xFFFFFFFF bytes."""
    i = wav.index(b"data") + 4
    return wav[:i] + b"\xff\xff\xff\xff" + wav[i + 4 :]


def aiff_zero_channels() -> bytes:
    comm = struct.pack(">hIh", 0, 16000, 16) + b"\x40\x0c\xfa\x00\x00\x00\x00\x00\x00\x00"
    ssnd = struct.pack(">II", 0, 0) + b"\0" * 32000
    return chunk(b"FORM", b"AIFF" + chunk(b"COMM", comm, ">") + chunk(b"SSND", ssnd, ">"), ">")


def ogg_bad_pages() -> bytes:
    real = encode(tone(1.0, 48000), 48000, codec="libopus", container="ogg")
    b = bytearray(real)
    b[26] = 255  # the first page claims 255 segments
    return bytes(b) + b"OggS" + b"\xff" * 4000


def hls_playlist() -> bytes:
    return b"#EXTM3U\n#EXTINF:10,\nfile:///etc/passwd\n"


def ffconcat_script() -> bytes:
    return b"ffconcat version 1.0\nfile '/etc/passwd'\n"


def wav_192k_8_channels() -> bytes:
    return wav_with_header(rate=192000, channels=8, block_align=16, data_bytes=64000)


def webm_opus_silence() -> bytes:
    return encode(np.zeros(16000, "float32"), 48000, codec="libopus", container="webm")


def amr_header_and_garbage() -> bytes:
    return b"#!AMR\n" + b"\x3c" + b"\x55" * 3000


def asf_huge_object() -> bytes:
    return (
        bytes.fromhex("3026b2758e66cf11a6d900aa0062ce6c") + struct.pack("<Q", 2**62) + b"\0" * 4000
    )
