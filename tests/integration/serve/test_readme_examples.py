"""Every curl, Python and command-line example in the README and in the documentation site
(docs/*.md) runs as written against `speech-api serve` (what `make serve` runs: embedded S3, the
upload worker), with only the port changed: the examples are what a new user tries first. The
command lines run in a new user's shell, from a checkout where `make install` put the command in
`.venv/bin/` and nothing put it on the PATH; the server itself is started by the documented
`serve` line. Blocks that need a deployed stack or AWS credentials (`aws ...`, the stack's URL)
are not API examples against a local server and are left out, as each finder below says."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from devkit.clips import clip
from devkit.server import ServerProcess, clean_env

REPO = Path(__file__).resolve().parents[3]
# Pages whose examples need files or servers of their own making (24 kHz speech, conversations,
# text files) run them in their own test, named here.
OWN_EXAMPLE_TESTS = {
    "realtime.md": "tests/integration/realtime/test_realtime_docs.py",
    "speakers.md": "tests/integration/stt/test_speakers_docs.py",
    "narration.md": "tests/integration/tts/test_narration_docs.py",
}
# The front page and every other page of the site, in a fixed order.
PAGES = [
    REPO / "README.md",
    *sorted(p for p in (REPO / "docs").glob("*.md") if p.name not in OWN_EXAMPLE_TESTS),
]


def test_pages_left_to_their_own_tests_have_one():
    for page, test in OWN_EXAMPLE_TESTS.items():
        assert (REPO / "docs" / page).exists() and (REPO / test).exists(), (page, test)


# The files the examples name, from the dev clips.
FILES = {
    "clip.mp3": "lj_LJ001-0004.mp3",
    "clip.wav": "arctic_a0007.wav",
    "clip.flac": "ls_2412-153948-0000.flac",
    "spanish.wav": "pico_es_arenas.wav",
    "meeting.flac": "lj_LJ001-0003.flac",
    "team meeting.flac": "lj_LJ001-0003.flac",
    "a.wav": "arctic_a0007.wav",
    "b.mp3": "lj_LJ001-0004.mp3",
    "c.flac": "ls_2412-153948-0000.flac",
    "talk.flac": "ls_2412-153948-0000.flac",
    "meeting.mp3": "lj_LJ001-0006.mp3",
}
# A command line: the command, the way the pages run it (a path, or a bare name).
CLI_LINE = re.compile(r"^(\S*/)?speech-api\s")


def blocks(language: str) -> list[tuple[str, str]]:
    """("page:line", code) of each fenced block in that language, over every page."""
    found = []
    for page in PAGES:
        where = page.relative_to(REPO).as_posix()
        current, start = None, 0
        for number, line in enumerate(page.read_text(encoding="utf-8").splitlines(), 1):
            if line.startswith("```"):
                if current is not None:
                    found.append((f"{where}:{start}", "\n".join(current)))
                    current = None
                elif line.strip() == f"```{language}":
                    current, start = [], number
            elif current is not None:
                current.append(line)
    return found


def curl_scripts() -> list[tuple[str, str]]:
    """The bash blocks that call the API (other blocks install, deploy, call AWS or run the
    CLI)."""
    return [
        (where, code)
        for where, code in blocks("bash")
        if code.lstrip().startswith(("curl", "#")) and "curl " in code and "localhost:8000" in code
    ]


def local_python() -> list[tuple[str, str]]:
    """The Python blocks for a local server (the deployment page's need a stack)."""
    return [(where, code) for where, code in blocks("python") if "127.0.0.1:8000" in code]


def cli_lines() -> list[tuple[str, str]]:
    """Each command line of the bash blocks that run the CLI, with its page and line."""
    found = []
    for where, code in blocks("bash"):
        page, start = where.rsplit(":", 1)
        for offset, line in enumerate(code.splitlines(), 1):
            if CLI_LINE.match(line):
                found.append((f"{page}:{int(start) + offset}", line))
    return found


def serve_line() -> str:
    """The documented `speech-api serve` line (what `make serve` runs): one, wherever it is
    shown."""
    (line,) = {line for _, line in cli_lines() if line.split("#")[0].split()[1:] == ["serve"]}
    return line


def client_lines() -> list[tuple[str, str]]:
    return [(where, line) for where, line in cli_lines() if line != serve_line()]


def ids(cases: list[tuple[str, str]]) -> list[str]:
    return [where for where, _ in cases]


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
    `make install` put beside this test's interpreter) with the documented `serve` line running
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
    argv: list[str], work: Path, where: str, env: dict | None = None
) -> subprocess.CompletedProcess:
    """One example, run in the served folder: it must succeed, with no traceback."""
    result = subprocess.run(argv, cwd=work, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, f"{where}:\n{result.stdout}\n{result.stderr}"
    assert "Traceback" not in result.stderr
    return result


@pytest.mark.parametrize("where,code", curl_scripts(), ids=ids(curl_scripts()))
def test_curl_examples(served_checkout, where, code):
    work, base, _ = served_checkout
    # -f: an HTTP error fails the command (as written they print the error body).
    script = "set -euo pipefail\n" + localize(code, base).replace("curl -s ", "curl -sf ")
    run_example(["bash", "-c", script], work, where)


@pytest.mark.parametrize("where,code", local_python(), ids=ids(local_python()))
def test_python_examples(served_checkout, where, code):
    work, base, _ = served_checkout
    result = run_example([sys.executable, "-c", localize(code, base)], work, where)
    assert re.search(r"\w", result.stdout) or "print" not in code  # what it prints, it printed


def outputs(folder: Path) -> dict[Path, int]:
    return {p: p.stat().st_mtime_ns for p in folder.iterdir() if p.is_file()}


@pytest.mark.parametrize("where,line", client_lines(), ids=ids(client_lines()))
def test_command_line_examples(served_checkout, where, line):
    """Each line as written (the server's port aside), in a new user's shell from the
    checkout: it succeeds, and prints or writes something."""
    work, base, env = served_checkout
    before = outputs(work)
    script = "set -euo pipefail\n" + localize(line, base)
    result = run_example(["bash", "-c", script], work, where, env=env)
    assert re.search(r"\w", result.stdout) or outputs(work) != before, where


def upload_recipe() -> tuple[str, str, str]:
    """(where, code, the file name it uploads) of the curl recipe for POST /uploads."""
    ((where, code),) = [(w, c) for w, c in curl_scripts() if "upload.json" in c]
    return where, code, re.search(r'"filename": "([^"]+)"', code).group(1)


@pytest.mark.parametrize(
    "name", ["team meeting.flac", "Zoë & co, take 2;final.flac", 'a "quoted" take.flac']
)
def test_the_upload_recipe_takes_the_names_real_recordings_have(served_checkout, name):
    """Real recordings have spaces (and worse) in their names: the documented recipe, with
    only the file name changed, uploads the file and gets its transcript."""
    import json

    work, base, _ = served_checkout
    where, code, documented = upload_recipe()
    shutil.copy(clip("lj_LJ001-0003.flac").path, work / name)
    quoted = name.replace('"', '\\"')  # as it is written inside JSON and curl's quotes
    script = localize(code, base).replace(documented, quoted)
    assert f'"filename": "{quoted}"' in script, code
    result = run_example(["bash", "-c", "set -euo pipefail\n" + script], work, where)
    assert result.stdout.split()[0] == "204", result.stdout  # the form's upload
    url = f"http://{base}" + json.loads((work / "upload.json").read_text())["transcript_url"]
    deadline = time.monotonic() + 120
    while (r := httpx.get(url)).status_code == 202:
        assert time.monotonic() < deadline, r.text
        time.sleep(0.5)
    assert r.status_code == 200 and "chinese" in r.json()["text"].lower(), r.text
