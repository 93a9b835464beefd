"""`speech-api serve` (what `make serve` runs) on a fresh process: embedded S3, real models,
URLs that play for anyone. Also: importing the app stays light."""

import re
import subprocess
import sys
from collections.abc import Iterator

import httpx
import pytest

from devkit.clips import clip
from devkit.server import ServerProcess, free_port, speech_api_serve
from devkit.wer import corpus_wer

HEAVY = ("ctranslate2", "onnxruntime", "torch", "faster_whisper", "piper", "TTS", "boto3")


def test_importing_the_app_loads_no_engine_or_aws_sdk():
    code = f"import sys, speech_api.api; print([m for m in {HEAVY!r} if m in sys.modules])"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


@pytest.fixture
def fresh_server(tmp_path) -> Iterator[ServerProcess]:
    """`speech-api serve` as a new user starts it: nothing configured, a new DATA_DIR."""
    server = speech_api_serve(
        tmp_path,
        EMBEDDED_S3_PORT=str(free_port()),
        DATA_DIR=str(tmp_path / "data"),
        MODEL_CACHE_DIR=str(tmp_path / "cache"),
    )
    with server:
        yield server


def test_serve_starts_with_embedded_s3_and_round_trips(fresh_server):
    base = fresh_server.base_url
    health = httpx.get(f"{base}/health").json()
    assert health["status"] == "ok" and health["loaded_models"] == []

    # Piper samples noise (VITS), so every synthesis differs slightly: plain words, one of five
    # allowed to slip. "Speech API" came back "speech ADI"/"ATI" 3 times in 30; this, 0 in 150.
    text = "Welcome to the speech service."
    tts = httpx.post(f"{base}/tts", json={"text": text}, timeout=60)
    assert tts.status_code == 200, tts.text
    url = tts.json()["url"]
    assert re.match(r"http://127\.0\.0\.1:\d+/speech-api/public/tts/[0-9a-f]{64}\.mp3$", url)
    audio = httpx.get(url)
    assert audio.status_code == 200 and audio.headers["content-type"] == "audio/mpeg"

    stt = httpx.post(f"{base}/stt", files={"file": ("speech.mp3", audio.content)}, timeout=60)
    assert stt.status_code == 200, stt.text
    assert corpus_wer([text], [stt.json()["text"]]) <= 0.2, stt.json()["text"]

    docs = httpx.get(f"{base}/docs")
    assert docs.status_code == 200 and "swagger" in docs.text.lower()
    sample = clip("arctic_a0007.wav")
    stt = httpx.post(
        f"{base}/stt", content=sample.read(), timeout=60, headers={"content-type": "audio/wav"}
    )
    assert "superlative degree" in stt.json()["text"].lower()


def test_serve_prints_where_everything_is(fresh_server):
    base = fresh_server.base_url
    out = fresh_server.stop()
    assert f"Speech API     {base}" in out
    assert f"{base}/docs" in out
    assert re.search(r"S3 \(embedded\)\s+http://127\.0\.0\.1:\d+", out)
    assert re.search(r"Data\s+/\S+/data  \(objects and credentials\)", out)
    assert "not enforced:" in out
