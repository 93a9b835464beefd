"""The `speech-api` command: transcribe many files (local engines or a server), synthesize to a
file or to a public URL."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import httpx
import pytest
import srt

from devkit.clips import clip
from speech_api.api import create_app
from tests.conftest import LiveServer

CLIPS = [clip("arctic_a0007.wav"), clip("lj_LJ001-0004.mp3"), clip("ls_2412-153948-0000.flac")]


def run_cli(*args: str, env: dict | None = None, cwd=None) -> subprocess.CompletedProcess:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(("STT_", "TTS_"))}
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "speech_api", *args],
        capture_output=True,
        text=True,
        env=full_env,
        cwd=cwd,
        timeout=300,
    )


def test_transcribe_writes_one_file_per_clip(tmp_path, model_cache_dir):
    out = tmp_path / "subs"
    result = run_cli(
        "transcribe",
        *[str(c.path) for c in CLIPS],
        "--format",
        "srt",
        "-o",
        str(out),
        env={"STT_MODEL": "tiny.en", "MODEL_CACHE_DIR": str(model_cache_dir)},
    )
    assert result.returncode == 0, result.stderr
    written = sorted(p.name for p in out.iterdir())
    assert written == sorted(f"{c.path.stem}.srt" for c in CLIPS)
    cues = list(srt.parse((out / "arctic_a0007.srt").read_text()))
    assert "superlative degree" in cues[0].content.lower()
    assert "printed book" in (out / "lj_LJ001-0004.srt").read_text().lower()


def test_transcribe_reports_a_bad_file_and_keeps_going(tmp_path, model_cache_dir):
    bad = tmp_path / "notes.wav"
    bad.write_text("not audio")
    result = run_cli(
        "transcribe",
        str(bad),
        str(CLIPS[0].path),
        "-o",
        "-",
        env={"STT_MODEL": "tiny.en", "MODEL_CACHE_DIR": str(model_cache_dir)},
    )
    assert result.returncode == 1
    assert "notes.wav" in result.stderr and "could not be decoded" in result.stderr
    assert "superlative degree" in result.stdout.lower()


def test_synthesize_to_a_file(tmp_path):
    target = tmp_path / "hello.flac"
    result = run_cli("synthesize", "Hello from the command line.", "-o", str(target))
    assert result.returncode == 0, result.stderr
    assert target.read_bytes()[:4] == b"fLaC"


@pytest.fixture(scope="module")
def keyed_server(make_settings):
    with LiveServer(create_app(make_settings(api_key="cli-key"))) as server:
        yield server.base_url


def test_remote_transcribe_and_synthesize(keyed_server, tmp_path):
    remote = ["--base-url", keyed_server, "--api-key", "cli-key"]
    result = run_cli("transcribe", str(CLIPS[1].path), "--format", "json", "-o", "-", *remote)
    assert result.returncode == 0, result.stderr
    assert "printed book" in json.loads(result.stdout)["text"].lower()

    result = run_cli("synthesize", "A public link, please.", "--url", *remote)
    assert result.returncode == 0, result.stderr
    url = result.stdout.strip()
    assert url.startswith("http") and httpx.get(url).status_code == 200

    target = tmp_path / "remote.mp3"
    assert run_cli("synthesize", "Bytes, please.", "-o", str(target), *remote).returncode == 0
    assert target.stat().st_size > 1000

    wrong = run_cli("synthesize", "x", "--url", "--base-url", keyed_server, "--api-key", "no")
    assert wrong.returncode != 0 and "401" in wrong.stderr
