"""Every curl and Python example in the README runs as written against `speech-api serve` (what
`make serve` runs: embedded S3, the upload worker), with only the port changed: the examples
are what a new user tries first."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from devkit.clips import clip

README = Path(__file__).resolve().parents[2] / "README.md"
# The files the examples name, from the dev clips.
FILES = {
    "clip.mp3": "lj_LJ001-0004.mp3",
    "clip.wav": "arctic_a0007.wav",
    "clip.flac": "ls_2412-153948-0000.flac",
    "spanish.wav": "pico_es_arenas.wav",
    "meeting.flac": "lj_LJ001-0003.flac",
}


def blocks(language: str) -> list[tuple[int, str]]:
    """(line number, code) of each fenced block in that language."""
    found, current, start = [], None, 0
    for number, line in enumerate(README.read_text(encoding="utf-8").splitlines(), 1):
        if line.startswith("```"):
            if current is not None:
                found.append((start, "\n".join(current)))
                current = None
            elif line.strip() == f"```{language}":
                current, start = [], number
        elif current is not None:
            current.append(line)
    return found


def curl_scripts() -> list[tuple[int, str]]:
    """The bash blocks that call the API (other blocks install, deploy or run the CLI)."""
    return [
        (n, code)
        for n, code in blocks("bash")
        if code.lstrip().startswith(("curl", "#")) and "curl " in code and "localhost:8000" in code
    ]


def local_python() -> list[tuple[int, str]]:
    """The Python blocks for a local server (the deployment section's need a stack)."""
    return [(n, code) for n, code in blocks("python") if "127.0.0.1:8000" in code]


def ids(cases: list[tuple[int, str]]) -> list[str]:
    return [f"README.md:{n}" for n, _ in cases]


@pytest.fixture(scope="module")
def served(tmp_path_factory, model_cache_dir):
    work = tmp_path_factory.mktemp("readme")
    for name, source in FILES.items():
        shutil.copy(clip(source).path, work / name)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "S3_", "STT_", "TTS_"))}
    env.update(PORT=str(port), MODEL_CACHE_DIR=str(model_cache_dir), API_KEY="")
    server = subprocess.Popen(
        [sys.executable, "-m", "speech_api", "serve"],
        cwd=work,  # no .env here: the defaults, as a new user has them
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base = f"127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"http://{base}/health").status_code == 200:
                break
        except httpx.TransportError:
            pass
        assert server.poll() is None, server.stderr.read().decode()
        assert time.monotonic() < deadline, "serve did not start"
        time.sleep(0.2)
    yield work, base
    server.terminate()
    server.wait(timeout=30)


def localize(code: str, base: str) -> str:
    return code.replace("localhost:8000", base).replace("127.0.0.1:8000", base)


@pytest.mark.parametrize("start,code", curl_scripts(), ids=ids(curl_scripts()))
def test_curl_examples(served, start, code):
    work, base = served
    # -f: an HTTP error fails the command (as written they print the error body).
    script = "set -euo pipefail\n" + localize(code, base).replace("curl -s ", "curl -sf ")
    result = subprocess.run(
        ["bash", "-c", script], cwd=work, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, f"README line {start}:\n{result.stdout}\n{result.stderr}"


@pytest.mark.parametrize("start,code", local_python(), ids=ids(local_python()))
def test_python_examples(served, start, code):
    work, base = served
    result = subprocess.run(
        [sys.executable, "-c", localize(code, base)],
        cwd=work,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, f"README line {start}:\n{result.stdout}\n{result.stderr}"
    assert "Traceback" not in result.stderr
    assert re.search(r"\w", result.stdout) or "print" not in code  # what it prints, it printed
