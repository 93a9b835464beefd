"""docs/speakers.md's examples run as written against a server (its port aside): the Python
blocks with the files they name, the curl line, and the command lines."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from devkit.clips import clip
from devkit.speakers import Plan, build, two_channel_call
from speech_api.api import create_app
from tests.support.live_server import LiveServer

DOC = Path(__file__).resolve().parents[3] / "docs" / "speakers.md"


def blocks(language: str) -> list[str]:
    found, current = [], None
    for line in DOC.read_text(encoding="utf-8").splitlines():
        if line.startswith("```"):
            if current is not None:
                found.append("\n".join(current))
                current = None
            elif line.strip() == f"```{language}":
                current = []
        elif current is not None:
            current.append(line)
    return found


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    """The files the examples name: a meeting of two voices, a reference clip of one of them
    (another recording), a stereo call."""
    path = tmp_path_factory.mktemp("docs")
    meeting = Plan("docs", ("lj_LJ001-0004.mp3", "arctic_aew_a0001.wav", "lj_LJ001-0006.mp3"), 0.5)
    (path / "meeting.wav").write_bytes(build(meeting).wav())
    (path / "linda.wav").write_bytes(clip("lj_LJ001-0007.wav").read())
    (path / "call.wav").write_bytes(two_channel_call().wav)
    return path


@pytest.fixture(scope="module")
def server(make_settings):
    with LiveServer(create_app(make_settings(stt={"model": "tiny.en"}))) as live:
        yield live.base_url


def test_the_python_examples_run(server, folder):
    python = blocks("python")
    assert len(python) == 2
    script = "\n".join(python).replace("http://127.0.0.1:8000", server)
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=folder, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.strip().splitlines()
    # The segments, each with its speaker; then the speakers with a known name.
    assert re.match(r"\s*0\.\d A: produced the block books", lines[0]), lines
    assert {line.split()[1] for line in lines[:-1]} == {"A:", "B:"}
    assert lines[-1] == "['A', 'linda']"


def test_the_curl_and_command_lines_run(server, folder):
    curl = next(b for b in blocks("bash") if b.startswith("curl"))
    curl = curl.replace("localhost:8000", server.removeprefix("http://"))
    bash = "\n".join(blocks("bash"))
    done = subprocess.run(curl, shell=True, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and '"x-amz-meta-diarize":"true"' in done.stdout, done.stdout
    env = {k: v for k, v in os.environ.items() if not k.startswith(("STT_", "TTS_"))}
    env.update(STT_MODEL="tiny.en")
    commands = [line for line in bash.splitlines() if line.startswith("speech-api ")]
    assert len(commands) == 2
    for command in commands:
        argv = [sys.executable, "-m", "speech_api", *command.split()[1:]]
        done = subprocess.run(argv, cwd=folder, env=env, capture_output=True, timeout=600)
        assert done.returncode == 0, done.stderr
    assert "\nA: " in (folder / "meeting.srt").read_text()
    call = (folder / "call.txt").read_text()
    assert call.startswith("ch_0: ") and "\n\nch_1: " in call
