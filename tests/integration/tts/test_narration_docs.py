"""Every example of docs/narration.md that talks to a local server runs as written against
`speech-api serve` (the port aside): the curl calls and the command line."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from devkit.server import speech_api_serve

DOC = Path(__file__).resolve().parents[3] / "docs" / "narration.md"
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
    server = speech_api_serve(
        work,
        MODEL_CACHE_DIR=str(model_cache_dir),
        API_KEY="",
        EMBEDDED_S3_PORT="0",
        DATA_DIR=str(work / ".data"),
    )
    server.start()
    try:
        yield work, f"127.0.0.1:{server.port}", server.env
    finally:
        server.stop()


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
