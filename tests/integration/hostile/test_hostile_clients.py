"""Hostile input against a running `speech-api serve` process: decoder bombs, slow bodies,
clients that stop reading, oversized JSON and bursts of concurrent synthesis. Each test
measures the server's own memory or time, and checks it still serves afterwards."""

from __future__ import annotations

import contextlib
import json
import re
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from devkit.clips import clip
from devkit.wer import corpus_wer
from tests.support.audio_files import container_index_bombs, decoder_bombs
from tests.support.peak_memory import PeakSampler
from tests.support.s3 import serve_on_test_s3

SLOTS = 2


@pytest.fixture(scope="module")
def limited_server(make_settings, s3_endpoint, model_cache_dir, tmp_path_factory):
    """Two request slots, bodies and sends cut off after 2 s."""
    with serve_on_test_s3(
        tmp_path_factory.mktemp("serve"),
        model_cache_dir,
        s3_endpoint,
        MAX_CONCURRENT_REQUESTS=str(SLOTS),
        BODY_TIMEOUT_S="2",
        SEND_TIMEOUT_S="2",
    ) as server:
        yield server


def transcribe(base_url: str, name: str) -> httpx.Response:
    return httpx.post(
        f"{base_url}/stt",
        content=clip(name).read(),
        params={"language": "en"},
        headers={"content-type": "audio/wav"},
        timeout=120,
    )


def assert_still_transcribes(base_url: str) -> None:
    c = clip("arctic_a0007.wav")
    r = transcribe(base_url, c.file)
    assert r.status_code == 200, r.text
    assert corpus_wer([c.text], [r.json()["text"]]) <= 0.2


def test_decoder_bombs_are_refused_fast_with_flat_memory(limited_server):
    bombs = decoder_bombs()
    limited_server.reset_peak()
    before = limited_server.rss_mb()

    def post(item):
        name, data = item
        started = time.monotonic()
        r = httpx.post(
            f"{limited_server.base_url}/stt",
            content=data,
            headers={"content-type": "audio/wav"},
            timeout=60,
        )
        return name, r, time.monotonic() - started

    # Four of each at once: 16 bombs in flight, as many as the slots would let through; then
    # each once more on its own, so that every one is decoded (and refused) whatever share of
    # the burst found the slots busy (on a loaded machine, all but 3 of 16 once did).
    with ThreadPoolExecutor(16) as pool:
        results = list(pool.map(post, [*bombs.items()] * 4))
    results += [post(item) for item in bombs.items()]
    for name, r, elapsed in results:
        if r.status_code == 429:  # a busy slot: refused before decoding, also fine
            continue
        assert r.status_code == 415, (name, r.text)
        assert r.json()["error"]["code"] == "unsupported_audio", name
        assert r.json()["error"]["param"] == "file"
        assert elapsed < 5, (name, elapsed)
    alone = results[-len(bombs) :]
    assert [r.status_code for _, r, _ in alone] == [415] * len(bombs), alone
    # Unguarded, one 64 KB WAV at 1 Hz cost 1-2 GB; the 20 MB bodies themselves are read in.
    assert limited_server.peak_rss_mb() - before < 400, (before, limited_server.peak_rss_mb())
    assert_still_transcribes(limited_server.base_url)


def test_container_index_bombs_are_refused_at_once_while_a_real_clip_transcribes(
    s3_endpoint, model_cache_dir, tmp_path
):
    """10 KB MP4/MOV/3GP files whose sample tables declare 50 M samples: FFmpeg sizes its
    index from them on open (+0.6 to +1.75 GB each, unguarded). Sixteen at once, beside a
    real clip, with room for all of them (no 429)."""
    bombs = [*container_index_bombs().items()] * 4
    assert len(bombs) == 16
    with serve_on_test_s3(
        tmp_path,
        model_cache_dir,
        s3_endpoint,
        STT_MODEL="tiny.en",
        PRELOAD_MODELS="stt",
        MAX_CONCURRENT_REQUESTS="32",
    ) as server:
        assert_still_transcribes(server.base_url)  # warm: the model and the decoder helper
        server.reset_peak()
        before = server.rss_mb()

        def post(item):
            name, data = item
            started = time.monotonic()
            r = httpx.post(
                f"{server.base_url}/stt",
                content=data,
                headers={"content-type": "audio/mp4"},
                timeout=60,
            )
            return name, r, time.monotonic() - started

        with PeakSampler(server) as family, ThreadPoolExecutor(17) as pool:
            real = pool.submit(transcribe, server.base_url, "arctic_a0007.wav")
            results = list(pool.map(post, bombs))
            clip_answer = real.result()
        for name, r, elapsed in results:
            assert r.status_code == 415, (name, r.text)
            assert r.json()["error"]["code"] in ("unsupported_audio", "decode_memory_limit"), name
            assert r.json()["error"]["param"] == "file"
            assert elapsed < 5, (name, elapsed)
        assert clip_answer.status_code == 200, clip_answer.text
        assert "superlative" in clip_answer.json()["text"].lower()
        # The server's own peak, and the peak of the server with its decoding processes.
        assert server.peak_rss_mb() - before < 300, (before, server.peak_rss_mb())
        assert family.peak - family.start < 300, (family.start, family.peak)
        assert_still_transcribes(server.base_url)


# 600 characters and no full stop, comma or other place a sentence ends: one "sentence".
ENDLESS_SENTENCE = ("and then the quick brown fox jumps over the lazy dog " * 12)[:600].strip()


@pytest.mark.parametrize(
    "path,body",
    [
        ("/tts", {"text": ENDLESS_SENTENCE, "format": "wav"}),
        (
            "/v1/audio/speech",
            {
                "model": "tts-1",
                "voice": "alloy",
                "input": ENDLESS_SENTENCE,
                "response_format": "pcm",
            },
        ),
    ],
    ids=["stored", "streamed"],
)
def test_one_giant_sentence_is_spoken_in_bounded_pieces(limited_server, path, body):
    """Unbounded, Piper took 1.2 MB per character of a sentence: this one +0.7 GB, 2,048
    characters +2.3 GB. Cut into pieces of at most MAX_SENTENCE_CHARS, it all gets spoken."""
    limited_server.reset_peak()
    before = limited_server.rss_mb()
    r = httpx.post(f"{limited_server.base_url}{path}", json=body, timeout=120)
    assert r.status_code == 200, r.text
    seconds = r.json()["duration_s"] if path == "/tts" else len(r.content) / 2 / 22050
    assert seconds > 25  # every word spoken: about 0.05 s of speech per character
    assert limited_server.peak_rss_mb() - before < 300, (before, limited_server.peak_rss_mb())


def test_speech_that_cannot_be_ready_in_time_is_refused_up_front(limited_server):
    text = ("Every word of this long text takes time to say, and slowly even more. " * 60)[:4096]
    started = time.monotonic()
    r = httpx.post(f"{limited_server.base_url}/tts", json={"text": text, "speed": 0.25}, timeout=60)
    assert time.monotonic() - started < 2  # refused before any synthesis
    assert r.status_code == 400, r.text
    error = r.json()["error"]
    assert (error["code"], error["param"]) == ("speech_too_long", "text")
    # It says what would have happened and what fits.
    # (4,096 characters at 0.05 s each, slowed four times: about 819 s; the voice's phonemes
    # and pauses may say a little more: 910 s.)
    said = re.search(r"about (\d+) s of speech at speed 0\.25", error["message"])
    assert said and 800 <= int(said[1]) <= 950, error["message"]
    assert "Up to 1249 characters fit at speed 0.25" in error["message"]
    assert httpx.get(f"{limited_server.base_url}/health").status_code == 200


def _slow_body(base_url: str, path: str, stop: threading.Event, result: list) -> None:
    """Send headers promising 100 kB, then a byte every half second until told to stop."""
    host, port = base_url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port))) as sock:
        sock.sendall(
            f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: audio/wav\r\n"
            "Content-Length: 100000\r\n\r\n".encode()
        )
        sock.settimeout(0.5)
        started = time.monotonic()
        answer = b""
        while not stop.is_set() and time.monotonic() - started < 30:
            try:
                sock.sendall(b"R")
                answer += sock.recv(4096)
                if answer:
                    break
            except TimeoutError:
                continue
            except OSError:
                break
        sock.settimeout(5)
        with contextlib.suppress(OSError):  # the rest of the answer, until the server closes
            while chunk := sock.recv(4096):
                answer += chunk
        result.append((answer.split(b"\r\n", 1)[0], answer, time.monotonic() - started))


def test_slow_bodies_hold_no_slot_and_are_cut_off(limited_server):
    stop = threading.Event()
    results: list = []
    slow = [
        threading.Thread(target=_slow_body, args=(limited_server.base_url, "/stt", stop, results))
        for _ in range(4 * SLOTS)
    ]
    for t in slow:
        t.start()
    time.sleep(0.5)
    try:
        # Four times as many trickling clients as slots, and a real request still gets one.
        started = time.monotonic()
        r = transcribe(limited_server.base_url, "arctic_a0008.wav")
        assert r.status_code == 200, r.text
        assert time.monotonic() - started < 30
    finally:
        for t in slow:
            t.join(timeout=40)
        stop.set()
    # Each trickler got 408 once its time was up (2 s plus a second per 16 KB: about 2 s).
    assert len(results) == 4 * SLOTS
    for status, answer, elapsed in results:
        assert status == b"HTTP/1.1 408 Request Timeout", answer
        assert b'"code":"request_timeout"' in answer.replace(b" ", b"")
        assert elapsed < 10


def _never_read(base_url: str, text: str, sockets: list) -> None:
    host, port = base_url.removeprefix("http://").split(":")
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect((host, int(port)))
    body = json.dumps({"model": "tts-1", "voice": "alloy", "response_format": "pcm", "input": text})
    sock.sendall(
        f"POST /v1/audio/speech HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n{body}".encode()
    )
    sockets.append(sock)  # kept open, never read


def test_clients_that_stop_reading_a_stream_release_their_slots(limited_server):
    # Minutes of raw PCM: far more than the socket buffers hold, so the server must wait.
    text = " ".join(f"Sentence number {i} is read aloud to nobody at all." for i in range(60))
    sockets: list = []
    try:
        for _ in range(SLOTS):
            _never_read(limited_server.base_url, text, sockets)
        time.sleep(1)
        # While the streams are stuck, the slots are taken ...
        busy = httpx.post(
            f"{limited_server.base_url}/tts", json={"text": "Are you busy?"}, timeout=60
        )
        assert busy.status_code == 429, busy.text
        # ... and SEND_TIMEOUT_S after each stream stalls, they are free again.
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            r = httpx.post(
                f"{limited_server.base_url}/tts", json={"text": "Free again?"}, timeout=60
            )
            if r.status_code != 429:
                break
            time.sleep(1)
        assert r.status_code == 200, r.text
    finally:
        for sock in sockets:
            sock.close()


def test_large_json_bodies_are_refused_without_stalling_the_server(limited_server):
    big = '{"text": "' + "a" * (23 * 1024 * 1024) + '"}'

    def post_big():
        return httpx.post(
            f"{limited_server.base_url}/tts",
            content=big,
            headers={"content-type": "application/json"},
            timeout=60,
        )

    with ThreadPoolExecutor(5) as pool:
        bigs = [pool.submit(post_big) for _ in range(4)]
        started = time.monotonic()
        health = httpx.get(f"{limited_server.base_url}/health", timeout=10)
        health_s = time.monotonic() - started
        answers = [f.result() for f in bigs]
    assert health.status_code == 200 and health_s < 1.0
    for r in answers:
        assert r.status_code == 413
        assert r.json()["error"]["code"] == "payload_too_large"
        assert "65536 bytes for JSON" in r.json()["error"]["message"]

    # Chunked (no Content-Length): refused once 64 KB have arrived, not after 23 MB.
    def chunks():
        for _ in range(1000):
            yield b'{"text": "' + b"a" * 65536

    r = httpx.post(
        f"{limited_server.base_url}/v1/audio/speech",
        content=chunks(),
        headers={"content-type": "application/json"},
        timeout=60,
    )
    assert r.status_code == 413 and "for JSON" in r.json()["error"]["message"]
    # Audio routes keep the 25 MB limit: a 1 MB clip is not a JSON body.
    assert_still_transcribes(limited_server.base_url)


def test_upload_forms_have_their_own_concurrency_bound(make_settings):
    """A client holding an /uploads response (not reading it) holds one of
    MAX_CONCURRENT_UPLOADS; the next is refused at once, inference routes are unaffected."""
    import asyncio

    from speech_api.api import create_app

    app = create_app(make_settings(max_concurrent_uploads=1))
    body = json.dumps({"filename": "a.wav", "content_type": "audio/wav"}).encode()

    async def call(path: str, hold: asyncio.Event | None = None) -> list[dict]:
        sent: list[dict] = []
        messages = [{"type": "http.request", "body": body, "more_body": False}]

        async def receive():
            if messages:
                return messages.pop()
            await asyncio.Event().wait()  # no disconnect

        async def send(message):
            sent.append(message)
            if hold is not None and message["type"] == "http.response.start":
                await hold.wait()  # a client that does not read

        scope = {
            "type": "http",
            "method": "POST",
            "path": path,
            "raw_path": path.encode(),
            "query_string": b"",
            "headers": [(b"content-type", b"application/json"), (b"host", b"x")],
            "scheme": "http",
            "server": ("x", 80),
            "client": ("127.0.0.1", 1),
            "http_version": "1.1",
            "root_path": "",
        }
        await app(scope, receive, send)
        return sent

    async def scenario():
        hold = asyncio.Event()
        held = asyncio.create_task(call("/uploads", hold))
        await asyncio.sleep(0.5)
        second = await call("/uploads")
        hold.set()
        first = await held
        return first, second

    first, second = asyncio.run(scenario())
    assert first[0]["status"] == 200
    assert second[0]["status"] == 429
    assert json.loads(second[1]["body"])["error"]["code"] == "too_many_requests"
