"""Every curl, Python and command-line example in the README runs as written against
`speech-api serve` (what `make serve` runs: embedded S3, the upload worker), with only the port
changed: the examples are what a new user tries first. The command lines run in a new user's
shell, from a checkout where `make install` put the command in `.venv/bin/` and nothing put it
on the PATH; the server itself is started by the README's `serve` line."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from devkit.clips import clip
from devkit.server import ServerProcess, clean_env

README = Path(__file__).resolve().parents[3] / "README.md"
# The files the examples name, from the dev clips.
FILES = {
    "clip.mp3": "lj_LJ001-0004.mp3",
    "clip.wav": "arctic_a0007.wav",
    "clip.flac": "ls_2412-153948-0000.flac",
    "spanish.wav": "pico_es_arenas.wav",
    "meeting.flac": "lj_LJ001-0003.flac",
    "a.wav": "arctic_a0007.wav",
    "b.mp3": "lj_LJ001-0004.mp3",
    "c.flac": "ls_2412-153948-0000.flac",
    "talk.flac": "ls_2412-153948-0000.flac",
    "meeting.mp3": "lj_LJ001-0006.mp3",
}
# A command line: the command, the way the README runs it (a path, or a bare name).
CLI_LINE = re.compile(r"^(\S*/)?speech-api\s")


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


def cli_lines() -> list[tuple[int, str]]:
    """Each command line of the bash blocks that run the CLI, with its README line number."""
    return [
        (start + offset, line)
        for start, code in blocks("bash")
        for offset, line in enumerate(code.splitlines(), 1)
        if CLI_LINE.match(line)
    ]


def serve_line() -> str:
    """The README's `speech-api serve` line (what `make serve` runs)."""
    (line,) = [line for _, line in cli_lines() if line.split("#")[0].split()[1:] == ["serve"]]
    return line


def client_lines() -> list[tuple[int, str]]:
    return [(n, line) for n, line in cli_lines() if line != serve_line()]


def ids(cases: list[tuple[int, str]]) -> list[str]:
    return [f"README.md:{n}" for n, _ in cases]


def new_users_shell(env: dict) -> dict:
    """The environment without the PATH entries that hold a `speech-api` (an activated venv,
    this test's interpreter's): a new user's shell after `make install`."""
    path = os.pathsep.join(
        entry
        for entry in env.get("PATH", os.defpath).split(os.pathsep)
        if entry and not (Path(entry) / "speech-api").exists()
    )
    return {**env, "PATH": path}


@pytest.fixture(scope="module")
def served_checkout(tmp_path_factory, model_cache_dir):
    """A checkout-like folder (the example files, and `.venv/bin/speech-api`: the command
    `make install` put beside this test's interpreter) with the README's `serve` line running
    in it."""
    work = tmp_path_factory.mktemp("readme")
    for name, source in FILES.items():
        shutil.copy(clip(source).path, work / name)
    installed = Path(sys.executable).parent / "speech-api"
    assert installed.exists(), f"{installed} is missing: `make install` puts it there"
    (work / ".venv" / "bin").mkdir(parents=True)
    (work / ".venv" / "bin" / "speech-api").symlink_to(installed)
    env = new_users_shell(
        clean_env(MODEL_CACHE_DIR=str(model_cache_dir), API_KEY="", PORT="{port}")
    )
    # exec: the server is this process; no .env in `work`: the defaults, as a new user has them
    with ServerProcess(["bash", "-c", f"exec {serve_line()}"], env, cwd=work) as server:
        yield work, f"127.0.0.1:{server.port}", server.env


def localize(code: str, base: str) -> str:
    return code.replace("localhost:8000", base).replace("127.0.0.1:8000", base)


def run_example(
    argv: list[str], work: Path, start: int, env: dict | None = None
) -> subprocess.CompletedProcess:
    """One example, run in the served folder: it must succeed, with no traceback."""
    result = subprocess.run(argv, cwd=work, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, f"README line {start}:\n{result.stdout}\n{result.stderr}"
    assert "Traceback" not in result.stderr
    return result


@pytest.mark.parametrize("start,code", curl_scripts(), ids=ids(curl_scripts()))
def test_curl_examples(served_checkout, start, code):
    work, base, _ = served_checkout
    # -f: an HTTP error fails the command (as written they print the error body).
    script = "set -euo pipefail\n" + localize(code, base).replace("curl -s ", "curl -sf ")
    run_example(["bash", "-c", script], work, start)


@pytest.mark.parametrize("start,code", local_python(), ids=ids(local_python()))
def test_python_examples(served_checkout, start, code):
    work, base, _ = served_checkout
    result = run_example([sys.executable, "-c", localize(code, base)], work, start)
    assert re.search(r"\w", result.stdout) or "print" not in code  # what it prints, it printed


def outputs(folder: Path) -> dict[Path, int]:
    return {p: p.stat().st_mtime_ns for p in folder.iterdir() if p.is_file()}


@pytest.mark.parametrize("start,line", client_lines(), ids=ids(client_lines()))
def test_command_line_examples(served_checkout, start, line):
    """Each line as written (the server's port aside), in a new user's shell from the
    checkout: it succeeds, and prints or writes something."""
    work, base, env = served_checkout
    before = outputs(work)
    script = "set -euo pipefail\n" + localize(line, base)
    result = run_example(["bash", "-c", script], work, start, env=env)
    assert re.search(r"\w", result.stdout) or outputs(work) != before, f"README line {start}"
