"""docs/realtime.md's examples run as written against a live server (only the port changed):
its Python blocks, and its `speech-api listen` lines for a file (the microphone and deployed
ones need a microphone and a stack)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import wave
from pathlib import Path

import pytest

from devkit.clips import clip
from devkit.wer import corpus_wer
from speech_api.audio import decode_audio
from speech_api.audio.pcm import PCM24K, PCMU, encode_stream
from tests.support.realtime import RealtimeServer, clip_audio

DOC = Path(__file__).resolve().parents[3] / "docs" / "realtime.md"
CLIP = clip("lj_LJ001-0006.mp3")


def blocks(language: str) -> list[str]:
    return re.findall(rf"^```{language}\n(.*?)^```", DOC.read_text(encoding="utf-8"), re.M | re.S)


@pytest.fixture(scope="module")
def server(make_settings):
    with RealtimeServer(make_settings(stt={"model": "tiny.en"})) as s:
        yield s


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> Path:
    """The files the examples name, made from a dev clip."""
    folder = tmp_path_factory.mktemp("docs")
    audio = clip_audio(CLIP, tail_s=0.8)
    with wave.open(str(folder / "speech-24k.wav"), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(24000)
        w.writeframes(encode_stream(audio, 16000, PCM24K))
    (folder / "call.ulaw").write_bytes(encode_stream(audio, 16000, PCMU))
    (folder / "clip.wav").write_bytes(clip("arctic_a0007.wav").read())
    assert len(decode_audio(CLIP.read(), max_seconds=60).samples)
    return folder


def run(code_or_args, cwd: Path, *, python: bool) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("STT_", "TTS_"))}
    env["STT_MODEL"] = "tiny.en"
    command = [sys.executable, "-c", code_or_args] if python else code_or_args
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize("index", range(len(blocks("python"))))
def test_python_examples_run_as_written(server, files, index):
    port = server.base_url.rsplit(":", 1)[1]
    code = blocks("python")[index].replace("127.0.0.1:8000", f"127.0.0.1:{port}")
    result = run(code, files, python=True)
    assert result.returncode == 0, result.stderr
    final = result.stdout.strip().splitlines()[-1].removeprefix("final: ")
    assert corpus_wer([CLIP.text], [final]) <= 0.2, result.stdout


def test_listen_lines_for_a_file_run_as_written(files, model_cache_dir):
    first = blocks("bash")[0]
    lines = [line.split("#")[0].strip() for line in first.splitlines() if line.strip()]
    assert lines and all(line.startswith("speech-api listen clip.wav") for line in lines)
    for line in lines:
        args = [sys.executable, "-m", "speech_api", *line.split()[1:]]
        result = run(args, files, python=False)
        assert result.returncode == 0, result.stderr
        text = result.stdout.strip().splitlines()[-1].removeprefix("final: ")
        assert "superlative degree" in text.lower()
