"""Faults are not blamed on the input, and the smaller holes of hardening round 4, against a
running `speech-api serve`: a decoding child killed from outside (as the out-of-memory killer
would) is a 503 for a request and a retry for an upload, never the file's 415 or 422; callback
URLs to special-purpose and metadata addresses are refused; caption text cannot forge cues; a
client that hangs up mid-body is logged as 499, not as a server error."""

from __future__ import annotations

import io
import re
import signal
import socket
import time

import httpx
import numpy as np
import pytest
import srt
import webvtt

from devkit.clips import clip
from devkit.server import speech_api_serve
from devkit.wer import corpus_wer
from tests.support.attacks import DecodeKiller, joined_wav, log_lines, logged_server, output_lines
from tests.support.audio_files import encode
from tests.support.s3 import serve_on_test_s3

CLIP = clip("arctic_a0007.wav")  # "Will we ever forget it." ... "superlative"
# Six different sentences, twice (49 s). One sentence ten times over is text so repetitive
# that Whisper's decode of it is not stable (its transcripts differed run to run, and once, in
# a loaded test run, lacked the word checked): these come back the same every run, WER 0.06.
SENTENCES = [
    clip(name)
    for name in (
        "arctic_aew_a0001.wav",
        "arctic_aew_a0002.wav",
        "arctic_aew_a0003.wav",
        "arctic_a0007.wav",
        "arctic_a0008.wav",
        "arctic_a0009.wav",
    )
]


@pytest.fixture(scope="module")
def server(make_settings, s3_endpoint, model_cache_dir, tmp_path_factory):
    # STT_TIME_LIMIT_S is not what this module tests: room for a machine under load.
    env = {
        "STT_MODEL": "tiny.en",
        "STT_TIME_LIMIT_S": "300",
    }
    with serve_on_test_s3(
        tmp_path_factory.mktemp("serve"), model_cache_dir, s3_endpoint, **env
    ) as proc:
        yield proc


def stt(server, data: bytes) -> httpx.Response:
    return httpx.post(
        f"{server.base_url}/stt", content=data, headers={"content-type": "audio/wav"}, timeout=120
    )


def test_a_decoder_killed_from_outside_is_a_503_not_the_files_fault(server):
    data = joined_wav([c.path for c in SENTENCES], times=2)
    with DecodeKiller(server, signal.SIGKILL) as killer:
        r = stt(server, data)
        assert killer.killed
    assert r.status_code == 503, r.text
    assert r.json()["error"]["code"] == "decoder_unavailable"
    assert r.headers["retry-after"] == "2"
    # The same file, decoded in peace, is transcribed.
    again = stt(server, data)
    assert again.status_code == 200, again.text
    reference = " ".join(c.text for c in SENTENCES * 2)
    assert corpus_wer([reference], [again.json()["text"]]) <= 0.15, again.json()["text"]


def test_a_decoder_that_crashes_on_a_file_is_still_the_files_fault(server):
    """A crash (SIGSEGV inside FFmpeg) is what a malformed file does: 415 as before."""
    with DecodeKiller(server, signal.SIGSEGV) as killer:
        r = stt(server, joined_wav([CLIP.path], times=10))
        assert killer.killed
    assert r.status_code == 415, r.text
    assert r.json()["error"]["code"] == "unsupported_audio"


def twenty_minute_flac() -> bytes:
    """A valid 20-minute FLAC: one spoken clip, then silence."""
    with open(CLIP.path, "rb") as f:
        speech = np.frombuffer(f.read()[44:], dtype=np.int16).astype(np.float32) / 32768
    samples = np.zeros(20 * 60 * 16000, dtype=np.float32)
    samples[: speech.size] = speech
    return encode(samples, 16000, codec="flac", container="flac")


def test_an_upload_whose_decoder_is_killed_is_retried_not_failed(model_cache_dir, tmp_path):
    """On main the valid FLAC got a permanent 422 unsupported_audio (its .error.json) and was
    never tried again."""
    env = {
        "MODEL_CACHE_DIR": str(model_cache_dir),
        "STT_MODEL": "tiny.en",
        "PRELOAD_MODELS": "stt",
        "EMBEDDED_S3_PORT": "0",
        "DATA_DIR": str(tmp_path / "data"),
    }
    flac = twenty_minute_flac()
    with speech_api_serve(tmp_path, health="/ready", LOG_LEVEL="warning", **env) as server:
        api = httpx.Client(base_url=server.base_url, timeout=60)
        created = api.post("/uploads", json={"filename": "long.flac", "content_type": "audio/flac"})
        assert created.status_code == 200, created.text
        body = created.json()
        with DecodeKiller(server, signal.SIGKILL) as killer:
            form = body["upload"]
            sent = httpx.post(form["url"], data=form["fields"], files={"file": ("a.flac", flac)})
            assert sent.status_code in (200, 204), sent.text
            deadline = time.monotonic() + 60
            while not killer.killed and time.monotonic() < deadline:
                time.sleep(0.1)
            assert killer.killed, "the upload's decode never started"
        seen = []
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            r = api.get(body["transcript_url"])
            seen.append(r.status_code)
            assert r.status_code != 422, r.text  # never recorded as the file's failure
            if r.status_code == 200 and "text" in r.json():
                break
            time.sleep(1)
        assert r.status_code == 200 and "superlative" in r.json()["text"].lower(), seen


SPECIAL_PURPOSE = [
    "https://192.0.0.192/hook",  # Oracle Cloud's metadata endpoint; ipaddress calls it global
    "https://192.0.0.9/",  # IETF protocol assignments (PCP anycast)
    "https://192.31.196.1/",  # AS112
    "https://192.52.193.1/",  # AMT
    "https://192.88.99.1/",  # 6to4 relay anycast
    "https://192.175.48.1/",  # AS112 direct delegation
    "https://198.18.0.1/",  # benchmarking
    "https://198.51.100.7/",  # documentation
    "https://240.0.0.1/",  # reserved
    "https://100.100.100.200/",  # Alibaba's metadata endpoint (shared address space)
    "https://168.63.129.16/",  # Azure's host address, outside every special block
    "https://[::ffff:192.0.0.192]/",  # IPv4-mapped
    "https://[64:ff9b::a9fe:a9fe]/",  # NAT64 of 169.254.169.254
    "https://[2002:a9fe:a9fe::1]/",  # 6to4 of 169.254.169.254
    "https://[2001:db8::1]/",  # documentation
    "https://[fd00:ec2::254]/",  # AWS's IPv6 metadata endpoint
    "https://[5f00::1]/",  # segment routing
    "https://[3fff::1]/",  # documentation (2024)
    "https://[::7f00:1]/",  # IPv4-compatible 127.0.0.1 (deprecated form)
    "https://[::a9fe:a9fe]/",  # IPv4-compatible 169.254.169.254
    "https://[::ffff:0:7f00:1]/",  # IPv4-translated 127.0.0.1 (SIIT)
]


@pytest.mark.parametrize("url", SPECIAL_PURPOSE)
def test_callback_urls_to_special_purpose_addresses_are_refused(server, url):
    r = httpx.post(
        f"{server.base_url}/uploads",
        json={"filename": "a.wav", "content_type": "audio/wav", "callback_url": url},
        timeout=30,
    )
    assert r.status_code == 400, r.text
    error = r.json()["error"]
    assert (error["code"], error["param"]) == ("invalid_callback_url", "callback_url")


def test_a_public_address_is_still_accepted(server):
    r = httpx.post(
        f"{server.base_url}/uploads",
        json={
            "filename": "a.wav",
            "content_type": "audio/wav",
            "callback_url": "https://93.184.215.14/hook",
        },
        timeout=30,
    )
    assert r.status_code == 200, r.text


CUE_INJECTIONS = {
    "an arrow": "Go --> now. Then stop here.",
    "a forged cue": "Hello there. 00:00:01,000 --> 00:00:09,000 Injected cue text. Goodbye.",
    "a long arrow": "Left --->>> right. And back <!-- again -->.",
    "markup": "Bold <b>claims</b> & <c.red>colours</c>. The end.",
}


@pytest.mark.parametrize("text", CUE_INJECTIONS.values(), ids=CUE_INJECTIONS)
def test_caption_text_cannot_break_or_forge_cues(server, text):
    r = httpx.post(f"{server.base_url}/tts", json={"text": text, "captions": True}, timeout=120)
    assert r.status_code == 200, r.text
    body = r.json()
    words = [w["word"] for w in body["words"]]
    subrip = httpx.get(body["captions"]["srt"], timeout=30).text
    vtt = httpx.get(body["captions"]["vtt"], timeout=30).text
    srt_cues = list(srt.parse(subrip))
    vtt_cues = list(webvtt.from_buffer(io.StringIO(vtt)))
    # Every cue is one the words made: as many, none longer than the speech, no arrow inside.
    assert len(srt_cues) == len(vtt_cues) >= 1
    assert all("-->" not in c.content for c in srt_cues)
    assert all("-->" not in c.text for c in vtt_cues)
    assert srt_cues[-1].end.total_seconds() <= body["duration_s"] + 0.01
    # The cues say the words in order, the arrows in them defused.
    shown = " ".join(c.content for c in srt_cues).split()
    assert shown == " ".join(re.sub(r"-{2,}>", "->", w) for w in words).split()
    if "<b>" in text:
        # HTML tags are read as markup by the spoken form (dropped, docs/narration.md); what
        # is left of the angle brackets is shown escaped, never as WebVTT markup.
        assert "claims" in vtt and "&lt;c.red&gt;colours" in vtt
        assert "<b>" not in vtt and "<c.red>" not in vtt


HANG_UPS = {
    "/stt raw body": (b"POST /stt HTTP/1.1\r\nContent-Type: audio/wav\r\n", 1_000_000),
    "/v1/audio/transcriptions multipart": (
        b"POST /v1/audio/transcriptions HTTP/1.1\r\n"
        b"Content-Type: multipart/form-data; boundary=xyz\r\n",
        1_000_000,
    ),
    "/tts JSON": (b"POST /tts HTTP/1.1\r\nContent-Type: application/json\r\n", 5000),
    "/uploads JSON": (b"POST /uploads HTTP/1.1\r\nContent-Type: application/json\r\n", 5000),
}


@pytest.fixture(scope="module")
def logged(make_settings, s3_endpoint, model_cache_dir, tmp_path_factory):
    cwd = tmp_path_factory.mktemp("logged")
    with logged_server(cwd, model_cache_dir, s3_endpoint, PRELOAD_MODELS="") as proc:
        yield proc


@pytest.mark.parametrize("head,length", HANG_UPS.values(), ids=HANG_UPS)
def test_a_client_that_hangs_up_mid_body_is_logged_as_499(logged, head, length):
    path = head.split(b" ")[1].decode()
    before = len(output_lines(logged))
    s = socket.create_connection(("127.0.0.1", logged.port))
    s.sendall(head + b"Host: x\r\nContent-Length: %d\r\n\r\n" % length + b"x" * 100)
    time.sleep(0.3)
    s.close()
    lines = log_lines(logged, f"path={path} status=")
    assert lines, output_lines(logged)[-10:]
    assert f"path={path} status=499" in lines[-1], lines
    new = output_lines(logged)[before:]
    assert not any("status=500" in line or "Traceback" in line for line in new), new
