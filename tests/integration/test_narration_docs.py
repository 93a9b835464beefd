"""Every example of docs/narration.md that talks to a local server runs as written against
`speech-api serve` (the port aside): the curl calls and the command line."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

DOC = Path(__file__).resolve().parents[2] / "docs" / "narration.md"
CHAPTER = "# Chapter 1\n\nIt was 9:30 pm on 03/15/2024.\n\n- The bill came to $3.50.\n"


def bash_blocks() -> list[tuple[int, str]]:
    found, current, start = [], None, 0
    for number, line in enumerate(DOC.read_text(encoding="utf-8").splitlines(), 1):
        if line.startswith("```"):
            if current is not None:
                found.append((start, "\n".join(current)))
                current = None
            elif line.strip() == "```bash":
                current, start = [], number
        elif current is not None:
            current.append(line)
    return [(n, code) for n, code in found if "localhost:8000" in code or "127.0.0.1:8000" in code]


@pytest.fixture(scope="module")
def served(tmp_path_factory, model_cache_dir):
    work = tmp_path_factory.mktemp("narration-doc")
    (work / "chapter.md").write_text(CHAPTER)
    (work / ".venv" / "bin").mkdir(parents=True)
    (work / ".venv" / "bin" / "speech-api").symlink_to(Path(sys.executable).parent / "speech-api")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "S3_", "STT_", "TTS_"))}
    env.update(
        PORT=str(port), MODEL_CACHE_DIR=str(model_cache_dir), API_KEY="", EMBEDDED_S3_PORT="0",
        DATA_DIR=str(work / ".data"),
    )  # fmt: skip
    server = subprocess.Popen(
        [sys.executable, "-m", "speech_api", "serve"],
        cwd=work,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base = f"127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while True:
        try:
            if httpx.get(f"http://{base}/health").status_code == 200:
                break
        except httpx.TransportError:
            pass
        assert server.poll() is None, server.stderr.read().decode()
        assert time.monotonic() < deadline, "serve did not start"
        time.sleep(0.2)
    yield work, base, env
    server.terminate()
    server.wait(timeout=30)


@pytest.mark.parametrize(
    "start,code", bash_blocks(), ids=[f"narration.md:{n}" for n, _ in bash_blocks()]
)
def test_doc_examples_run_as_written(served, start, code):
    work, base, env = served
    script = code.replace("localhost:8000", base).replace("127.0.0.1:8000", base)
    script = "set -euo pipefail\n" + script.replace("curl -s ", "curl -sf ")
    result = subprocess.run(
        ["timeout", "600", "bash", "-c", script],
        cwd=work, env=env, capture_output=True, text=True,
    )  # fmt: skip
    assert result.returncode == 0, f"line {start}:\n{result.stdout}\n{result.stderr}"
    assert "Traceback" not in result.stderr
    if "--job" in code:
        assert (work / "chapter.mp3").stat().st_size > 10_000
        assert "03/15/2024" in (work / "chapter.srt").read_text()
    else:
        assert re.search(r'"(url|status_url)"', result.stdout), result.stdout
