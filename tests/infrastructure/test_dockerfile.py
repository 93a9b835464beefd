"""What Dockerfile.lambda relies on, checked without a Docker engine: the handler modules it
and the stack name exist, the dependencies it installs import both handlers in a clean venv
laid out like the image's task root, and its model step fills a model directory that loads."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DOCKERFILE = (REPO / "Dockerfile.lambda").read_text()


def installed_extras() -> list[str]:
    match = re.search(r'pip install --no-cache-dir "\.\[([a-z,]+)\]"', DOCKERFILE)
    assert match, "Dockerfile.lambda must install the project's extras"
    return match.group(1).split(",")


def test_commands_name_existing_handlers(synthesized):
    import importlib

    commands = {re.search(r'CMD \["([\w.]+)"\]', DOCKERFILE).group(1)}
    for s in synthesized.values():
        for fn in s.resources("AWS::Lambda::Function").values():
            if fn["Properties"].get("PackageType") == "Image":
                commands |= set(fn["Properties"]["ImageConfig"]["Command"])
    assert commands == {"handlers.api.handler", "handlers.transcribe_upload.handler"}
    for command in commands:
        module, attr = command.rsplit(".", 1)
        assert callable(getattr(importlib.import_module(module), attr))


def test_installed_extras_exist_and_exclude_test_only_weights():
    extras = tomllib.loads((REPO / "pyproject.toml").read_text())["project"][
        "optional-dependencies"
    ]
    assert set(installed_extras()) <= set(extras)
    assert "models" not in installed_extras() and "dev" not in installed_extras()


def test_build_context_holds_code_only(synthesized):
    staged = [p for p in synthesized["none"].outdir.glob("asset.*") if (p / "layers").is_dir()]
    assert staged, "the Lambda image asset was not staged"
    names = {p.name for p in staged[0].iterdir()}
    assert {"layers", "handlers", "pyproject.toml", "Dockerfile.lambda"} <= names
    assert not names & {".venv", "tests", "cdk.out", ".git", "infra"}


@pytest.fixture(scope="module")
def task_root(tmp_path_factory) -> tuple[Path, Path]:
    """A fresh venv with what the image installs, and a task root with what it copies."""
    root = tmp_path_factory.mktemp("image")
    venv = root / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pip = [
        str(venv / "bin" / "python"),
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
    ]
    torch = re.search(r'"(torch==\$\{TORCH_VERSION\})"', DOCKERFILE)
    version = re.search(r"ARG TORCH_VERSION=([\d.]+)", DOCKERFILE).group(1)
    assert torch
    subprocess.run([*pip, f"torch=={version}"], check=True)
    extra = re.search(r'"\.\[[a-z,]+\]"((?: "[^"]+")*)', DOCKERFILE).group(1)
    others = re.findall(r'"([^"]+)"', extra)
    subprocess.run([*pip, f"{REPO}[{','.join(installed_extras())}]", *others], check=True)
    subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", "uninstall", "-y", "-q", "speech-api"],
        check=True,
    )
    task = root / "task"
    shutil.copytree(REPO / "layers" / "speech_api", task / "speech_api")
    shutil.copytree(REPO / "handlers", task / "handlers")
    return venv / "bin" / "python", task


def test_clean_image_environment_imports_both_handlers(task_root):
    python, task = task_root
    code = "import handlers.api, handlers.transcribe_upload, speech_api; print(speech_api.__file__)"
    out = subprocess.run([str(python), "-c", code], cwd=task, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().startswith(str(task))  # the copied code, not an installed one


def test_model_step_fills_a_directory_that_loads(task_root, tmp_path):
    """The image's prefetch step, with a local model directory as its source."""
    from speech_api.engines.whisper import resolve_model
    from tests.support.clips import clip

    python, task = task_root
    local_model = resolve_model("tiny.en", tmp_path)
    dest = tmp_path / "models"
    subprocess.run(
        [
            str(python),
            "-m",
            "speech_api.prefetch",
            "--stt-model",
            local_model,
            "--tts-engine",
            "piper",
            "--dest",
            str(dest),
        ],
        cwd=task,
        check=True,
    )
    code = (
        "import sys; from faster_whisper import WhisperModel; "
        "m = WhisperModel(sys.argv[1], device='cpu', compute_type='int8'); "
        "print(' '.join(s.text for s in m.transcribe(sys.argv[2])[0]))"
    )
    out = subprocess.run(
        [str(python), "-c", code, str(dest / "stt"), str(clip("arctic_a0008.wav").path)],
        cwd=task,
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stderr
    assert "your letter came just in time" in out.stdout.lower()
