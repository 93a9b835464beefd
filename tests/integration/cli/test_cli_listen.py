"""`speech-api listen`: a file or raw audio on stdin, streamed to a live session, printed as
partial and final lines; locally (the app on a loopback port) and against a server's URL."""

from __future__ import annotations

import io
import itertools
import os
import subprocess
import sys
import time

import numpy as np
import pytest

from devkit.clips import clip
from devkit.wer import corpus_wer
from speech_api.audio.pcm import PCMU, encode_stream
from speech_api.runtime.cli.listen import Printer, realtime_url
from tests.support.realtime import RealtimeServer, clip_audio

LONG = clip("ls_1221-135766-0001.wav")  # 16.7 s, one sentence
SHORT = clip("lj_LJ001-0006.mp3")


def run_cli(*args: str, env: dict | None = None, input_bytes: bytes = b""):
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(("STT_", "TTS_"))}
    result = subprocess.run(
        [sys.executable, "-m", "speech_api", *args],
        capture_output=True,
        input=input_bytes,
        env={**full_env, **(env or {})},
        timeout=300,
    )
    result.stdout, result.stderr = result.stdout.decode(), result.stderr.decode()
    return result


def finals(stdout: str) -> list[str]:
    return [
        line.removeprefix("final: ") for line in stdout.splitlines() if line.startswith("final")
    ]


def test_a_file_at_real_time_pace_prints_partials_then_its_final_line(model_cache_dir):
    started = time.monotonic()
    result = run_cli(
        "listen",
        str(LONG.path),
        "--language",
        "en",
        env={"STT_MODEL": "tiny.en", "MODEL_CACHE_DIR": str(model_cache_dir)},
    )
    took = time.monotonic() - started
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    partials = [line for line in lines if line.startswith("partial: ")]
    # Partial text while the sentence was spoken (at least one line before the last words,
    # which complete it), then the final line.
    assert len(partials) >= 2, lines
    # Each partial line is the turn so far: it only grows.
    texts = [p.removeprefix("partial: ") for p in partials]
    assert all(b.startswith(a) for a, b in itertools.pairwise(texts))
    (final,) = finals(result.stdout)
    assert corpus_wer([LONG.text], [final]) <= 0.15
    assert took >= LONG.duration_s  # real-time pace, not faster


def test_raw_mulaw_on_stdin_faster_than_real_time(model_cache_dir):
    audio = np.concatenate([clip_audio(SHORT), clip_audio(clip("arctic_a0007.wav"))])
    result = run_cli(
        "listen",
        "-",
        "--stdin-format",
        "pcmu",
        "--speed",
        "0",
        "--final-only",
        env={"STT_MODEL": "tiny.en", "MODEL_CACHE_DIR": str(model_cache_dir)},
        input_bytes=encode_stream(audio, 16000, PCMU),
    )
    assert result.returncode == 0, result.stderr
    lines = [line for line in result.stdout.splitlines() if line.strip()]
    assert len(lines) == 2  # one line per turn, no prefixes
    assert corpus_wer([SHORT.text, clip("arctic_a0007.wav").text], lines) <= 0.2


@pytest.fixture(scope="module")
def keyed_server(make_settings):
    with RealtimeServer(make_settings(stt={"model": "tiny.en"}, api_key="sk-cli")) as server:
        yield server


def test_against_a_server_url_with_its_key(keyed_server):
    base = keyed_server.base_url
    ok = run_cli(
        "listen", str(SHORT.path), "--base-url", base, "--api-key", "sk-cli", "--speed", "0"
    )
    assert ok.returncode == 0, ok.stderr
    assert corpus_wer([SHORT.text], finals(ok.stdout)) <= 0.2
    refused = run_cli("listen", str(SHORT.path), "--base-url", base, "--speed", "0")
    assert refused.returncode != 0
    assert "error 401" in refused.stderr and "API key" in refused.stderr


def test_session_urls_from_base_urls():
    assert realtime_url("http://127.0.0.1:8000") == (
        "ws://127.0.0.1:8000/v1/realtime?intent=transcription"
    )
    assert realtime_url("https://d1.cloudfront.net/v1/") == (
        "wss://d1.cloudfront.net/v1/realtime?intent=transcription"
    )
    assert realtime_url("wss://d1.cloudfront.net/v1/realtime") == (
        "wss://d1.cloudfront.net/v1/realtime?intent=transcription"
    )


def test_a_terminal_sees_one_line_redrawn_then_the_final_text():
    out = io.StringIO()
    printer = Printer(final_only=False, out=out, tty=True)
    delta = "conversation.item.input_audio_transcription.delta"
    for text in ("Hello", " there"):
        printer.event({"type": delta, "item_id": "i", "delta": text})
    printer.event(
        {
            "type": "conversation.item.input_audio_transcription.completed",
            "item_id": "i",
            "transcript": "Hello there.",
        }
    )
    shown = out.getvalue()
    assert shown.count("\n") == 1 and shown.endswith("Hello there.\n")
    assert "\rHello there\x1b[0m" in shown.replace("\x1b[2m", "")
