"""A hostile review of every input path, against `speech-api serve` (embedded S3 and upload
worker) and the Lambda handlers: malformed multipart and JSON, odd headers, crafted
containers, Lambda and worker events, and the embedded S3's access rules.

Every case must end in a clear 4xx (a JSON error with a code) or a correct answer: no 5xx, no
hang, nothing lost, and the server keeps serving. Prints one line per case and fails if any
case does not.

    python bench/hostile_review.py
"""

from __future__ import annotations

import base64
import json
import socket
import struct
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.run import Server, free_port, ours  # noqa: E402
from devkit.clips import clip  # noqa: E402
from devkit.events import multipart  # noqa: E402
from tests.support.audio_files import (  # noqa: E402
    encode,
    mp4_with_tables,
    tone,
    wav_with_header,
)

SPEECH = clip("arctic_a0007.wav")  # "And you always want to see it in the superlative degree."


class Outcome:
    def __init__(self, status: int | str, detail: str = "", ok: bool = True):
        self.status, self.detail, self.ok = status, detail, ok


def judge(r: httpx.Response, expect: set[int] | None = None, words: str | None = None) -> Outcome:
    """A 4xx with a JSON error code, or a 200 (with ``words`` in its text when given)."""
    try:
        body = r.json()
    except ValueError:
        body = None
    if r.status_code >= 500:
        return Outcome(r.status_code, r.text[:120], ok=False)
    if expect is not None and r.status_code not in expect:
        return Outcome(r.status_code, r.text[:160], ok=False)
    if r.status_code >= 400:
        code = (body or {}).get("error", {}).get("code") if isinstance(body, dict) else None
        return Outcome(r.status_code, str(code), ok=bool(code))
    if words is not None:
        text = (body or {}).get("text", "") if isinstance(body, dict) else r.text
        return Outcome(r.status_code, text[:60], ok=words in text.lower())
    return Outcome(r.status_code, "ok")


def raw_http(url: str, request: bytes, read_s: float = 10.0) -> Outcome:
    """Send bytes as they are; the first line of the answer (or the connection's fate)."""
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=read_s) as sock:
        sock.sendall(request)
        answer = b""
        try:
            while b"\r\n\r\n" not in answer:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                answer += chunk
        except TimeoutError:
            return Outcome("no answer", "timed out", ok=False)
    if not answer:
        return Outcome("closed", "connection closed without an answer")
    status = int(answer.split(b" ", 2)[1]) if answer.startswith(b"HTTP/") else 0
    return Outcome(status, answer.split(b"\r\n", 1)[0].decode(errors="replace"), ok=status < 500)


# --- crafted audio ------------------------------------------------------------------------


def box(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", 8 + len(body)) + kind + body


def deep_mp4(depth: int) -> bytes:
    inner = box(b"free", b"")
    for _ in range(depth):
        inner = box(b"moov", inner)
    return box(b"ftyp", b"isom\0\0\0\0isom") + inner


def ebml_huge_element() -> bytes:
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
    fmt = struct.pack("<HHIIHH", fmt_tag, 1, 16000, 32000, 2, bits)
    data = b"\x01\x02" * 16000
    body = (
        b"WAVE"
        + b"fmt "
        + struct.pack("<I", len(fmt))
        + fmt
        + b"data"
        + struct.pack("<I", len(data))
        + data
    )
    return b"RIFF" + struct.pack("<I", len(body)) + body


def wav_data_size_max() -> bytes:
    data = SPEECH.read()
    i = data.index(b"data") + 4
    return data[:i] + b"\xff\xff\xff\xff" + data[i + 4 :]


def aiff_zero_channels() -> bytes:
    comm = struct.pack(">hIh", 0, 16000, 16) + b"\x40\x0c\xfa\x00\x00\x00\x00\x00\x00\x00"
    ssnd = struct.pack(">II", 0, 0) + b"\0" * 32000
    body = (
        b"AIFF"
        + b"COMM"
        + struct.pack(">I", len(comm))
        + comm
        + b"SSND"
        + struct.pack(">I", len(ssnd))
        + ssnd
    )
    return b"FORM" + struct.pack(">I", len(body)) + body


def ogg_bad_pages() -> bytes:
    real = encode(tone(1.0, 48000), 48000, codec="libopus", container="ogg")
    b = bytearray(real)
    b[26] = 255  # the first page claims 255 segments
    return bytes(b) + b"OggS" + b"\xff" * 4000


AUDIO_CASES: list[tuple[str, bytes, set[int], str | None]] = [
    ("codec: mp4 boxes nested 5,000 deep", deep_mp4(5000), {400, 415}, None),
    ("codec: matroska element declaring 2^44 bytes (cues)", ebml_huge_element(), {400, 415}, None),
    ("codec: flac seektable declaring 16 MB", flac_with_huge_seektable(), {200, 400, 415}, None),
    ("codec: mp3 with an ID3v2 tag declaring 256 MB", id3_huge(), {200, 400, 415}, None),
    ("codec: caf packet table declaring 2^31 packets", caf_huge_pakt(), {400, 415}, None),
    ("codec: fragmented mp4, trun of 50 M samples", fragmented_mp4_trun(), {200, 400, 415}, None),
    ("codec: mp4 edit list declaring 10 M entries", mp4_elst_many(), {200, 400, 415}, None),
    ("codec: wav with 1-bit samples", wav_fmt(1), {200, 400, 415}, None),
    ("codec: wav with 64-bit integer samples", wav_fmt(64), {200, 400, 415}, None),
    ("codec: wav with an unknown format tag", wav_fmt(16, 0x1234), {400, 415}, None),
    ("codec: wav whose data size is 0xFFFFFFFF", wav_data_size_max(), {200}, "superlative"),
    ("codec: aiff declaring 0 channels", aiff_zero_channels(), {400, 415}, None),
    ("codec: ogg page claiming 255 segments + junk", ogg_bad_pages(), {200, 400, 415}, None),
    (
        "codec: HLS playlist (not whitelisted)",
        b"#EXTM3U\n#EXTINF:10,\nfile:///etc/passwd\n",
        {415},
        None,
    ),
    ("codec: ffconcat script", b"ffconcat version 1.0\nfile '/etc/passwd'\n", {415}, None),
    ("codec: 8 MB of zeros", b"\0" * 8_000_000, {415}, None),
    (
        "codec: wav followed by a zip",
        SPEECH.read() + b"PK\x03\x04" + b"\0" * 5000,
        {200},
        "superlative",
    ),
    (
        "codec: wav 16-bit at 192 kHz, 8 channels",
        wav_with_header(rate=192000, channels=8, block_align=16, data_bytes=64000),
        {200, 400, 415},
        None,
    ),
    (
        "codec: webm/opus real speech",
        encode(
            __import__("numpy").zeros(16000, "float32"), 48000, codec="libopus", container="webm"
        ),
        {200},
        None,
    ),
    (
        "codec: amr-nb header and garbage",
        b"#!AMR\n" + b"\x3c" + b"\x55" * 3000,
        {200, 400, 415},
        None,
    ),
    (
        "codec: asf header with a huge object size",
        bytes.fromhex("3026b2758e66cf11a6d900aa0062ce6c") + struct.pack("<Q", 2**62) + b"\0" * 4000,
        {400, 415},
        None,
    ),
]


def run() -> int:
    data_dir = tempfile.mkdtemp(prefix="speech-api-review-")
    s3_port = free_port()
    server: Server = ours("tiny.en", EMBEDDED_S3_PORT=str(s3_port), DATA_DIR=data_dir)
    url = server.url
    api = httpx.Client(base_url=url, timeout=120)
    s3 = f"http://127.0.0.1:{s3_port}"
    wav = SPEECH.read()
    results: list[tuple[str, Outcome]] = []

    def case(name: str, call: Callable[[], Outcome]) -> None:
        try:
            outcome = call()
        except Exception as exc:  # the review itself must not stop at a surprise
            outcome = Outcome("exception", f"{type(exc).__name__}: {exc}"[:160], ok=False)
        if api.get("/health", timeout=10).status_code != 200:
            outcome = Outcome(outcome.status, outcome.detail + " / HEALTH FAILED", ok=False)
        results.append((name, outcome))
        mark = "ok " if outcome.ok else "BAD"
        print(f"{mark} {name:<62} {outcome.status!s:<6} {outcome.detail}", flush=True)

    def stt(data: bytes, **kw) -> httpx.Response:
        return api.post("/stt", content=data, headers={"content-type": "audio/wav"}, **kw)

    try:
        # --- multipart ----------------------------------------------------------------
        b = "xyzBOUNDARY"
        mp = {"content-type": f"multipart/form-data; boundary={b}"}
        case(
            "multipart: two file parts",
            lambda: judge(
                api.post(
                    "/stt",
                    content=multipart(b, [("file", "a.wav", wav), ("file", "b.wav", wav)]),
                    headers=mp,
                ),
                {400},
            ),
        )
        case(
            "multipart: no closing boundary",
            lambda: judge(
                api.post("/stt", content=multipart(b, [("file", "a.wav", wav)])[:-8], headers=mp),
                {400, 200},
                None,
            ),
        )
        case(
            "multipart: no boundary parameter",
            lambda: judge(
                api.post("/stt", content=wav, headers={"content-type": "multipart/form-data"}),
                {400, 415},
            ),
        )
        case(
            "multipart: file part without a filename",
            lambda: judge(
                api.post("/stt", content=multipart(b, [("file", None, wav)]), headers=mp),
                {200, 400},
                None,
            ),
        )
        case(
            "multipart: only a text field",
            lambda: judge(
                api.post("/stt", content=multipart(b, [("language", None, b"en")]), headers=mp),
                {400},
            ),
        )
        case(
            "multipart: 5,000 tiny fields",
            lambda: judge(
                api.post(
                    "/stt",
                    content=multipart(
                        b, [("file", "a.wav", wav)] + [(f"f{i}", None, b"x") for i in range(5000)]
                    ),
                    headers=mp,
                ),
                {400, 413},
            ),
        )
        case(
            "multipart: 100 KB part header line",
            lambda: judge(
                api.post(
                    "/stt",
                    content=f'--{b}\r\nContent-Disposition: form-data; name="file"; '
                    f'filename="{"a" * 100_000}.wav"\r\n\r\n'.encode()
                    + wav
                    + f"\r\n--{b}--\r\n".encode(),
                    headers=mp,
                ),
                {200, 400},
                None,
            ),
        )
        case(
            "multipart: filename with ../ and CR LF",
            lambda: judge(
                api.post("/stt", files={"file": ("../../etc/passwd\r\nX: y", wav)}),
                {200},
                "superlative",
            ),
        )
        case(
            "multipart: /v1 unknown field",
            lambda: judge(
                api.post(
                    "/v1/audio/transcriptions",
                    files={"file": ("a.wav", wav)},
                    data={"model": "whisper-1", "colour": "blue"},
                ),
                {400},
            ),
        )
        case(
            "multipart: /v1 without model",
            lambda: judge(
                api.post("/v1/audio/transcriptions", files={"file": ("a.wav", wav)}),
                {200, 400},
                None,
            ),
        )
        case(
            "multipart: /v1 response_format=xml",
            lambda: judge(
                api.post(
                    "/v1/audio/transcriptions",
                    files={"file": ("a.wav", wav)},
                    data={"model": "whisper-1", "response_format": "xml"},
                ),
                {400},
            ),
        )
        case(
            "multipart: /v1 temperature=abc",
            lambda: judge(
                api.post(
                    "/v1/audio/transcriptions",
                    files={"file": ("a.wav", wav)},
                    data={"model": "whisper-1", "temperature": "abc"},
                ),
                {400},
            ),
        )
        case(
            "multipart: /v1 temperature=1e309",
            lambda: judge(
                api.post(
                    "/v1/audio/transcriptions",
                    files={"file": ("a.wav", wav)},
                    data={"model": "whisper-1", "temperature": "1e309"},
                ),
                {400},
            ),
        )
        case(
            "multipart: language=zz",
            lambda: judge(
                api.post("/stt", files={"file": ("a.wav", wav)}, data={"language": "zz"}), {400}
            ),
        )
        case(
            "multipart: language of 10 KB",
            lambda: judge(
                api.post("/stt", files={"file": ("a.wav", wav)}, data={"language": "e" * 10_000}),
                {400},
            ),
        )
        case(
            "multipart: /v1 stream=true with srt",
            lambda: judge(
                api.post(
                    "/v1/audio/transcriptions",
                    files={"file": ("a.wav", wav)},
                    data={"model": "whisper-1", "stream": "true", "response_format": "srt"},
                ),
                {400},
            ),
        )
        case(
            "multipart: /v1 translations of Spanish-less tiny.en",
            lambda: judge(
                api.post(
                    "/v1/audio/translations",
                    files={"file": ("a.wav", wav)},
                    data={"model": "tiny.en"},
                ),
                {400},
            ),
        )

        # --- JSON -----------------------------------------------------------------------
        def tts(body, **headers) -> httpx.Response:
            content = body if isinstance(body, bytes) else json.dumps(body).encode()
            return api.post(
                "/tts", content=content, headers={"content-type": "application/json", **headers}
            )

        case("json: text null", lambda: judge(tts({"text": None}), {422}))
        case("json: text of 4097 characters", lambda: judge(tts({"text": "a" * 4097}), {400, 422}))
        case("json: speed 0", lambda: judge(tts({"text": "Hi.", "speed": 0}), {422}))
        case(
            "json: speed NaN literal",
            lambda: judge(tts(b'{"text": "Hi.", "speed": NaN}'), {400, 422}),
        )
        case("json: speed 1e308", lambda: judge(tts({"text": "Hi.", "speed": 1e308}), {422}))
        case("json: format exe", lambda: judge(tts({"text": "Hi.", "format": "exe"}), {422}))
        case(
            "json: voice ../../etc/passwd",
            lambda: judge(tts({"text": "Hi.", "voice": "../../etc/passwd"}), {400}),
        )
        case("json: unknown field", lambda: judge(tts({"text": "Hi.", "pitch": 2}), {422}))
        case(
            "json: duplicate keys (last wins)",
            lambda: judge(tts(b'{"text": "x", "text": "Duplicate keys, spoken."}'), {200}),
        )
        case(
            "json: UTF-8 byte order mark",
            lambda: judge(tts(b"\xef\xbb\xbf" + json.dumps({"text": "Bom."}).encode()), {200, 400}),
        )
        case("json: invalid UTF-8", lambda: judge(tts(b'{"text": "\xff\xfe bad"}'), {400, 422}))
        case(
            "json: lone surrogate escape",
            lambda: judge(tts(b'{"text": "Hello \\ud800 there."}'), {200, 400, 422}),
        )
        case(
            "json: 4,000 zero-width joiners",
            lambda: judge(tts({"text": "\u200d" * 4000}), {200, 400}),
        )
        case(
            "json: 4,000 combining accents on one letter",
            lambda: judge(tts({"text": "a" + "\u0301" * 4000}), {200, 400}),
        )
        case(
            "json: content-type text/plain",
            lambda: judge(
                api.post(
                    "/tts",
                    content=json.dumps({"text": "Plain."}),
                    headers={"content-type": "text/plain"},
                ),
                {200, 400, 415, 422},
            ),
        )
        case("json: a JSON array", lambda: judge(tts([{"text": "Hi."}]), {422}))
        case(
            "json: 2,048 characters, no full stop, speed 4",
            lambda: judge(
                tts({"text": ("word " * 500)[:2048], "speed": 4.0, "format": "pcm"}), {200}
            ),
        )
        case(
            "json: /v1/audio/speech empty input",
            lambda: judge(
                api.post(
                    "/v1/audio/speech", json={"model": "tts-1", "voice": "alloy", "input": ""}
                ),
                {400},
            ),
        )
        case(
            "json: /v1/audio/speech speed 4.0001",
            lambda: judge(
                api.post(
                    "/v1/audio/speech",
                    json={"model": "tts-1", "voice": "alloy", "input": "Hi.", "speed": 4.0001},
                ),
                {400},
            ),
        )
        case(
            "json: /v1/audio/speech unknown model",
            lambda: judge(
                api.post(
                    "/v1/audio/speech", json={"model": "tts-9", "voice": "alloy", "input": "Hi."}
                ),
                {400},
            ),
        )
        case(
            "json: /uploads filename of 10 KB",
            lambda: judge(
                api.post(
                    "/uploads",
                    json={"filename": "a" * 10_000 + ".wav", "content_type": "audio/wav"},
                ),
                {200, 400, 422},
            ),
        )
        case(
            "json: /uploads content_type with parameters",
            lambda: judge(
                api.post(
                    "/uploads", json={"filename": "a.wav", "content_type": "audio/wav; codecs=1"}
                ),
                {400},
            ),
        )
        case(
            "json: /uploads language EN (normalized)",
            lambda: judge(
                api.post(
                    "/uploads",
                    json={"filename": "a.wav", "content_type": "audio/wav", "language": "EN"},
                ),
                {200},
            ),
        )
        case(
            "json: /invocations (SageMaker) garbage",
            lambda: judge(
                api.post(
                    "/invocations",
                    content=b"\x00\x01",
                    headers={"content-type": "application/json"},
                ),
                {400, 404, 415, 422},
            ),
        )

        # --- vocabulary hints, callbacks, captions (keywords[], languages[], callback_url) --
        def transcribe(fields: list[tuple[str, str]]) -> httpx.Response:
            parts = [("model", None, b"whisper-1")] + [(k, None, v.encode()) for k, v in fields]
            return api.post(
                "/v1/audio/transcriptions",
                content=multipart(b, [*parts, ("file", "a.wav", wav)]),
                headers=mp,
            )

        case(
            "hints: 101 keywords[] (one over the limit)",
            lambda: judge(transcribe([("keywords[]", f"word{i}") for i in range(101)]), {400}),
        )
        case(
            "hints: a keyword of 10,000 characters",
            lambda: judge(transcribe([("keywords[]", "k" * 10_000)]), {400}),
        )
        case(
            "hints: keywords[] with NUL and control characters",
            lambda: judge(transcribe([("keywords[]", "two\x00men\x1b[31m")]), {200, 400}),
        )
        case(
            "hints: 4,000 empty keywords[] fields",
            lambda: judge(transcribe([("keywords[]", "")] * 4000), {400}),
        )
        case(
            "hints: languages[] with an unknown code",
            lambda: judge(transcribe([("languages[]", "xx")]), {400}),
        )
        case(  # the same code many times is one candidate language (no extra work)
            "hints: languages[] with one code 120 times",
            lambda: judge(transcribe([("languages[]", "en")] * 120), {200}, words="superlative"),
        )

        def upload(callback) -> httpx.Response:
            body = {"filename": "a.wav", "content_type": "audio/wav", "callback_url": callback}
            return api.post("/uploads", json=body)

        for label, callback, expect in [
            ("cloud metadata address", "http://169.254.169.254/latest/meta-data/", {400}),
            ("private network", "https://10.0.0.5/hook", {400}),
            ("file: scheme", "file:///etc/passwd", {400}),
            ("gopher: scheme", "gopher://example.com:25/_HELO", {400}),
            ("IPv6 link-local", "https://[fe80::1]/hook", {400}),
            ("no host", "https:///hook", {400}),
            ("5,000 characters", "https://example.com/" + "a" * 5_000, {422}),
            (
                "100,000 characters (over the JSON body limit)",
                "https://e.com/" + "a" * 100_000,
                {413},
            ),
            ("not a string", 12345, {422}),
        ]:
            case(
                f"callback_url: {label}",
                lambda callback=callback, expect=expect: judge(upload(callback), expect),
            )
        case(
            "captions: a string instead of a boolean",
            lambda: judge(tts({"text": "Hi.", "captions": "yes"}), {422}),
        )
        case(
            "captions: text of punctuation only",
            lambda: judge(tts({"text": "?! ... --- ;;", "captions": True}), {200, 400}),
        )
        case(
            "captions: 500 one-letter words",
            lambda: judge(tts({"text": " ".join(["a"] * 500) + ".", "captions": True}), {200}),
        )

        # --- headers --------------------------------------------------------------------
        case(
            "headers: Content-Length -1",
            lambda: raw_http(url, b"POST /stt HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n"),
        )
        case(
            "headers: Content-Length and chunked together",
            lambda: raw_http(
                url,
                b"POST /stt HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n"
                b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
            ),
        )
        case(
            "headers: 200 KB header",
            lambda: raw_http(
                url, b"GET /health HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 200_000 + b"\r\n\r\n"
            ),
        )
        case(
            "headers: X-Request-ID of 10 KB",
            lambda: judge(api.get("/health", headers={"x-request-id": "r" * 10_000}), {200, 400}),
        )
        case(
            "headers: Authorization of 1 MB",
            lambda: raw_http(
                url,
                b"GET /v1/models HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "
                + b"k" * 1_000_000
                + b"\r\n\r\n",
            ),
        )
        case("headers: no Host header", lambda: raw_http(url, b"GET /health HTTP/1.1\r\n\r\n"))
        case(
            "headers: Expect 100-continue on /stt",
            lambda: judge(
                api.post(
                    "/stt",
                    content=wav,
                    headers={"content-type": "audio/wav", "expect": "100-continue"},
                ),
                {200},
                "superlative",
            ),
        )
        case(
            "headers: content-type audio/wav; charset=utf-16",
            lambda: judge(
                api.post(
                    "/stt", content=wav, headers={"content-type": "audio/wav; charset=utf-16"}
                ),
                {200},
                "superlative",
            ),
        )
        case(
            "headers: Content-Encoding gzip (not gzip)",
            lambda: judge(
                api.post(
                    "/stt",
                    content=wav,
                    headers={"content-type": "audio/wav", "content-encoding": "gzip"},
                ),
                {200, 400, 415},
                None,
            ),
        )
        case(
            "headers: HTTP/1.0 without keep-alive",
            lambda: raw_http(url, b"GET /health HTTP/1.0\r\n\r\n"),
        )

        # --- codecs ---------------------------------------------------------------------
        for name, data, expect, words in AUDIO_CASES:
            case(
                name, lambda data=data, expect=expect, words=words: judge(stt(data), expect, words)
            )

        # --- Lambda events (handlers.api, in this process) --------------------------------
        from devkit.events import rest_api_event
        from devkit.lambda_context import LocalLambdaContext
        from handlers import api as api_handler
        from speech_api.config import Settings
        from speech_api.runtime import aws_lambda

        settings = Settings(
            _env_file=None,
            s3={"endpoint_url": s3, **_local_keys(data_dir)},
            stt={"model": "tiny.en"},
        )
        aws_lambda.configure(settings)

        # The handler each route's function runs in AWS: transcription (the Stt function, behind
        # STREAM integrations) the streaming handler; the rest the buffered one, in a container
        # that answers whole (where speech must fit the gateway's 29 s: the case below).
        streamed_paths = ("/stt", "/v1/audio/transcriptions", "/v1/audio/translations")

        def invoke(event: dict) -> Outcome:
            if str(event.get("path", "")).startswith(streamed_paths):
                streamed = api_handler.stream_handler(event, LocalLambdaContext())
                status, raw = streamed.status, b"".join(streamed.body)
                body = raw.decode(errors="replace")
            else:
                response = api_handler.handler(event, LocalLambdaContext())
                status, body = response.get("statusCode", 0), response.get("body") or "{}"
            try:
                code = json.loads(body).get("error", {}).get("code")
            except ValueError:
                code = None
            return Outcome(status, str(code), ok=status < 500 and (status < 400 or bool(code)))

        good = rest_api_event(
            "POST", "/stt", headers={"Content-Type": "audio/wav"}, body=wav, binary=True
        )
        case(
            "lambda: base64 body that is not base64",
            lambda: invoke({**good, "body": "!!!not base64!!!"}),
        )
        case("lambda: path with ../", lambda: invoke(rest_api_event("GET", "/../../etc/passwd")))
        case(
            "lambda: headers null",
            lambda: invoke(
                {**rest_api_event("GET", "/health"), "headers": None, "multiValueHeaders": None}
            ),
        )
        case(
            "lambda: query language=zz",
            lambda: invoke(
                {
                    **good,
                    "queryStringParameters": {"language": "zz"},
                    "multiValueQueryStringParameters": {"language": ["zz"]},
                }
            ),
        )
        case(
            "lambda: /v1/audio/speech that cannot be ready in 29 s",
            lambda: invoke(
                rest_api_event(
                    "POST",
                    "/v1/audio/speech",
                    headers={"Content-Type": "application/json"},
                    body=json.dumps(
                        {
                            "model": "tts-1",
                            "input": ("Slowly now. " * 400)[:4096],
                            "voice": "alloy",
                            "speed": 0.5,
                        }
                    ),
                )
            ),
        )
        case(
            "lambda: container index bomb to /stt",
            lambda: invoke(
                {
                    **good,
                    "body": base64.b64encode(
                        mp4_with_tables(
                            {
                                b"stsz": struct.pack(">II", 200, 50_000_000),
                                b"stsc": struct.pack(">IIII", 1, 1, 50_000_000, 1),
                                b"stco": struct.pack(">I", 1),
                            }
                        )
                    ).decode(),
                }
            ),
        )

        # --- worker events (handlers.transcribe_upload, in this process) --------------------
        from devkit.events import s3_object_created, sqs_batch
        from handlers.transcribe_upload import handler as worker_handler
        from speech_api.storage import ObjectStorage

        storage = ObjectStorage(settings)

        def work(bodies: list, timeout_ms: int = 900_000) -> Outcome:
            batch = sqs_batch([{} for _ in bodies])
            for record, body in zip(batch["Records"], bodies, strict=True):
                record["body"] = body if isinstance(body, str) else json.dumps(body)
            answer = worker_handler(batch, LocalLambdaContext(timeout_ms=timeout_ms))
            return Outcome("ok", json.dumps(answer)[:80])

        def upload_and_work(data: bytes, suffix: str, expect_code: str | None) -> Outcome:
            key = f"uploads/review/{uuid.uuid4().hex[:8]}{suffix}"
            storage.put(key, data, content_type="audio/wav", metadata={})
            etag = storage.client.head_object(Bucket=settings.s3.bucket, Key=key)["ETag"].strip('"')
            work(
                [
                    {
                        "Records": [
                            s3_object_created(settings.s3.bucket, key, etag=etag, size=len(data))
                        ]
                    }
                ]
            )
            base = "transcripts/" + key.removeprefix("uploads/")
            error = storage.get(base + ".error.json", max_bytes=10**6)
            done = storage.get(base + ".json", max_bytes=10**6)
            if expect_code is None:
                return Outcome(
                    "done" if done else "missing", "transcript written", ok=done is not None
                )
            code = json.loads(error.data)["error"]["code"] if error else None
            return Outcome("error.json", str(code), ok=code == expect_code and done is None)

        case("worker: SQS body that is not JSON", lambda: work(["not json"]))
        case("worker: Records is a string", lambda: work([{"Records": "oops"}]))
        case(
            "worker: key outside uploads/",
            lambda: work(
                [
                    {
                        "Records": [
                            s3_object_created(
                                settings.s3.bucket, "transcripts/x.json", etag="e", size=1
                            )
                        ]
                    }
                ]
            ),
        )
        case(
            "worker: key with encoded ../",
            lambda: work(
                [
                    {
                        "Records": [
                            s3_object_created(
                                settings.s3.bucket,
                                "uploads/..%2F..%2Fpublic%2Fx.wav",
                                etag="e",
                                size=1,
                            )
                        ]
                    }
                ]
            ),
        )
        case(
            "worker: object that does not exist",
            lambda: work(
                [
                    {
                        "Records": [
                            s3_object_created(
                                settings.s3.bucket, "uploads/missing.wav", etag="e", size=1
                            )
                        ]
                    }
                ]
            ),
        )
        case(
            "worker: ObjectRemoved event",
            lambda: work(
                [
                    {
                        "Records": [
                            {
                                **s3_object_created(
                                    settings.s3.bucket, "uploads/a.wav", etag="e", size=1
                                ),
                                "eventName": "ObjectRemoved:Delete",
                            }
                        ]
                    }
                ]
            ),
        )
        case("worker: s3:TestEvent", lambda: work([{"Event": "s3:TestEvent"}]))
        case(
            "worker: folder marker uploads/x/",
            lambda: work(
                [
                    {
                        "Records": [
                            s3_object_created(settings.s3.bucket, "uploads/x/", etag="e", size=1)
                        ]
                    }
                ]
            ),
        )
        case(
            "worker: container index bomb upload",
            lambda: upload_and_work(
                mp4_with_tables(
                    {
                        b"stsz": struct.pack(">II", 200, 50_000_000),
                        b"stsc": struct.pack(">IIII", 1, 1, 50_000_000, 1),
                        b"stco": struct.pack(">I", 1),
                    }
                ),
                ".m4a",
                "unsupported_audio",
            ),
        )
        case(
            "worker: 8 MB of zeros",
            lambda: upload_and_work(b"\0" * 8_000_000, ".wav", "unsupported_audio"),
        )
        case(
            "worker: real clip with 25 s left in the invocation",
            lambda: _short_time(work, storage, settings, wav),
        )

        # --- the embedded S3 ------------------------------------------------------------
        anon = httpx.Client(base_url=f"{s3}/{settings.s3.bucket}", timeout=10)
        case(
            "s3: anonymous PUT under public/",
            lambda: _s3(anon.put("/public/x.txt", content=b"x"), {403}),
        )
        case(
            "s3: anonymous GET under uploads/",
            lambda: _s3(anon.get("/uploads/review/x.wav"), {403}),
        )
        case("s3: anonymous bucket listing", lambda: _s3(anon.get("/"), {403}))
        case(
            "s3: anonymous GET public/../uploads/",
            lambda: _s3(anon.get("/public/../uploads/x.wav"), {403, 404}),
        )
        case(
            "s3: query-string presigned URL",
            lambda: _s3(
                anon.get("/public/x?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Signature=0"), {403}
            ),
        )
        form = api.post("/uploads", json={"filename": "a.wav", "content_type": "audio/wav"}).json()[
            "upload"
        ]
        case(
            "s3: upload form with its key changed",
            lambda: _s3(
                httpx.post(
                    form["url"],
                    data={**form["fields"], "key": "public/owned.wav"},
                    files={"file": ("a.wav", wav)},
                ),
                {403},
            ),
        )
        case(
            "s3: upload form with another content type",
            lambda: _s3(
                httpx.post(
                    form["url"],
                    data={**form["fields"], "Content-Type": "text/html"},
                    files={"file": ("a.html", b"<b>")},
                ),
                {403},
            ),
        )
        case(
            "s3: upload form with an extra field",
            lambda: _s3(
                httpx.post(
                    form["url"],
                    data={**form["fields"], "x-amz-meta-evil": "1"},
                    files={"file": ("a.wav", wav)},
                ),
                {403},
            ),
        )
    finally:
        api.close()
        server.stop()
        stderr = server.proc.stderr.read().decode(errors="replace") if server.proc.stderr else ""

    failures = [(n, o) for n, o in results if not o.ok]
    unhandled = stderr.count("unhandled error") + stderr.count("Traceback")
    print(
        f"\n{len(results)} cases, {len(failures)} not as required; server tracebacks: {unhandled}"
    )
    if unhandled:
        print(stderr[-3000:])
    return 1 if failures or unhandled else 0


def _short_time(work, storage, settings, wav: bytes) -> Outcome:
    from devkit.events import s3_object_created

    key = f"uploads/review/{uuid.uuid4().hex[:8]}.wav"
    storage.put(key, wav, content_type="audio/wav", metadata={})
    etag = storage.client.head_object(Bucket=settings.s3.bucket, Key=key)["ETag"].strip('"')
    event = s3_object_created(settings.s3.bucket, key, etag=etag, size=len(wav))
    work([{"Records": [event]}], 25_000)
    done = storage.get("transcripts/" + key.removeprefix("uploads/") + ".json", max_bytes=10**6)
    text = json.loads(done.data)["text"] if done else ""
    return Outcome("done" if done else "missing", text[:50], ok="superlative" in text.lower())


def _s3(r: httpx.Response, expect: set[int]) -> Outcome:
    code = r.text.split("<Code>")[1].split("</Code>")[0] if "<Code>" in r.text else ""
    return Outcome(r.status_code, code, ok=r.status_code in expect)


def _local_keys(data_dir: str) -> dict:
    creds = json.loads((Path(data_dir) / "credentials.json").read_text())
    return {
        "access_key_id": creds["access_key_id"],
        "secret_access_key": creds["secret_access_key"],
    }


if __name__ == "__main__":
    time.sleep(0)
    sys.exit(run())
