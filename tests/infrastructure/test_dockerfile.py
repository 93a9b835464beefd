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

from layers.build import canonical, pinned_versions

REPO = Path(__file__).resolve().parents[2]
DOCKERFILE = (REPO / "Dockerfile.lambda").read_text()


def install_step(engine: str) -> tuple[bool, list[str], list[str]]:
    """What the image's dependency step installs for a TTS engine: torch or not, the project's
    extras, and the other requirements on the same pip line."""
    branch = re.search(rf"^\s+{engine}\) (.*?);;", DOCKERFILE, re.M | re.S)
    assert branch, f"Dockerfile.lambda has no dependency step for TTS_ENGINE={engine}"
    line = re.search(r'"\.\[([a-z,]+)\]"((?: "[^"]+")*)', branch.group(1))
    assert line, "Dockerfile.lambda must install the project's extras"
    torch = '"torch==${TORCH_VERSION}"' in branch.group(1)
    return torch, line.group(1).split(","), re.findall(r'"([^"]+)"', line.group(2))


def test_commands_name_existing_handlers(synthesized):
    import importlib

    commands = {re.search(r'CMD \["([\w.]+)"\]', DOCKERFILE).group(1)}
    entrypoints = set()
    for s in synthesized.values():
        for logical, fn in s.resources("AWS::Lambda::Function").items():
            if fn["Properties"].get("PackageType") == "Image":
                commands |= set(fn["Properties"]["ImageConfig"]["Command"])
                entrypoints.add(tuple(fn["Properties"]["ImageConfig"].get("EntryPoint", ())))
            elif logical.startswith("ApiFunction"):  # the zip function's package
                commands.add(fn["Properties"]["Handler"])
    assert commands == {
        "handlers.api.handler",
        "handlers.api.stream_handler",
        "handlers.transcribe_upload.handler",
        "handlers.speech_jobs.handler",
    }
    for command in commands:
        module, attr = command.rsplit(".", 1)
        assert callable(getattr(importlib.import_module(module), attr))
    # The image's ENTRYPOINT (awslambdaric: Worker, Narrator), or the streaming runtime (Stt, Tts).
    assert entrypoints == {(), ("python", "-m", "speech_api.runtime.lambda_stream")}
    assert callable(importlib.import_module("speech_api.runtime.lambda_stream").main)


@pytest.mark.parametrize("engine", ["coqui", "piper"])
def test_installed_extras_exist_and_exclude_test_only_weights(engine):
    extras = tomllib.loads((REPO / "pyproject.toml").read_text())["project"][
        "optional-dependencies"
    ]
    torch, installed, _ = install_step(engine)
    assert set(installed) <= set(extras)
    assert "models" not in installed and "dev" not in installed
    # Only the engine that needs torch pays for it in the image.
    assert torch == ("coqui" in installed) == (engine == "coqui")


def test_build_context_holds_code_only(synthesized):
    staged = [p for p in synthesized["none"].outdir.glob("asset.*") if (p / "src").is_dir()]
    assert staged, "the Lambda image asset was not staged"
    names = {p.name for p in staged[0].iterdir()}
    assert {"src", "handlers", "pyproject.toml", "Dockerfile.lambda"} <= names
    assert not names & {".venv", "tests", "cdk.out", ".git", "infra"}


def image_environment(root: Path, engine: str) -> tuple[Path, Path]:
    """A fresh venv with what the image installs for `engine`, and a task root with what it
    copies."""
    venv = root / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = str(venv / "bin" / "python")
    # No bytecode compiled at install (torch alone is thousands of modules): what the tests
    # import compiles on first use, as the image's own imports would.
    pip = [python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-compile"]
    torch, extras, others = install_step(engine)
    if torch:
        version = re.search(r"ARG TORCH_VERSION=([\d.]+)", DOCKERFILE).group(1)
        subprocess.run([*pip, f"torch=={version}"], check=True)
    subprocess.run([*pip, f"{REPO}[{','.join(extras)}]", *others], check=True)
    subprocess.run([python, "-m", "pip", "uninstall", "-y", "-q", "speech-api"], check=True)
    task = root / "task"
    shutil.copytree(REPO / "src" / "speech_api", task / "speech_api")
    shutil.copytree(REPO / "handlers", task / "handlers")
    return Path(python), task


@pytest.fixture(scope="module")
def task_root(tmp_path_factory) -> tuple[Path, Path]:
    return image_environment(tmp_path_factory.mktemp("image"), "coqui")


def test_clean_image_environment_imports_both_handlers(task_root):
    python, task = task_root
    # awslambdaric: the image's ENTRYPOINT (the Lambda runtime interface client); lambda_stream
    # the Tts function's (with mangum, which it reads events with).
    code = (
        "import awslambdaric, handlers.api, handlers.transcribe_upload, handlers.speech_jobs; "
        "import speech_api; "
        "import speech_api.runtime.lambda_stream, mangum.handlers; "
        "print(speech_api.__file__)"
    )
    out = subprocess.run([str(python), "-c", code], cwd=task, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().startswith(str(task))  # the copied code, not an installed one


def test_model_step_fills_a_directory_that_loads(task_root, tmp_path):
    """The image's prefetch step, with a local model directory as its source."""
    from devkit.clips import clip
    from speech_api.engines.stt.whisper_models import resolve_model

    python, task = task_root
    local_model = resolve_model("tiny.en", tmp_path)
    dest = tmp_path / "models"
    subprocess.run(
        [
            str(python),
            "-m",
            "speech_api.runtime.prefetch",
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


def test_piper_image_has_no_torch_and_still_imports_the_handlers_and_speaks(tmp_path):
    """TTS_ENGINE=piper builds a smaller image: no torch, no Coqui, same handlers."""
    python, task = image_environment(tmp_path, "piper")
    code = (
        "import importlib.util, handlers.api, handlers.transcribe_upload\n"
        "from speech_api.engines.tts.piper import PiperEngine, PiperSettings\n"
        "e = PiperEngine(PiperSettings())\n"
        "s = e.synthesize('Hello from the Piper image.', voice=e.default_voice, speed=1.0)\n"
        "print(len(s.samples) / s.sample_rate, [m for m in ('torch', 'TTS', 'torchaudio')"
        " if importlib.util.find_spec(m)])"
    )
    out = subprocess.run([str(python), "-c", code], cwd=task, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    seconds, heavy = out.stdout.split(" ", 1)
    assert 1.0 < float(seconds) < 5 and heavy.strip() == "[]"


def test_image_and_tests_install_the_same_pinned_versions():
    from importlib.metadata import distributions

    # The image: every dependency step installs with the lock as constraints.
    steps = re.findall(r"pip install [^\n;&]*\"\.\[", DOCKERFILE)
    assert steps and all("-c requirements.lock" in step for step in steps), steps
    assert "requirements.lock" in re.search(r"^COPY pyproject.toml .*$", DOCKERFILE, re.M)[0]
    # make: the same file constrains every install, so this venv holds exactly those versions.
    assert "-c $(LOCK)" in (REPO / "Makefile").read_text()
    pins = pinned_versions()
    installed = {canonical(d.metadata["Name"]): d.version for d in distributions()}
    differing = {
        name: (pins[name], installed[name].split("+")[0])
        for name in pins
        if name in installed and installed[name].split("+")[0] != pins[name]
    }
    assert not differing, f"installed versions differ from requirements.lock: {differing}"
    # What the project declares is pinned (no floating dependency reaches the image).
    declared = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]
    for requirement in declared:
        name = canonical(re.split(r"[<>=\[ ]", requirement)[0])
        assert name in pins, f"{name} is not in requirements.lock"


def test_the_zip_api_function_gets_what_the_image_env_gives_the_image_functions(synthesized):
    """The zip Api function lists the Stt function's model under the name the image's ENV gives
    it, and gets the image's run-time settings it needs (S3 not embedded, HOME and caches in
    /tmp): drift would make /v1/models list a name Stt refuses."""
    env_block = re.search(r"^ENV HOME=.*?(?=^\S|\Z)", DOCKERFILE, re.M | re.S).group(0)
    image_env = dict(re.findall(r"(\w+)=(\S+?)\s*\\?$", env_block, re.M))
    zip_env = synthesized["none"].function("ApiFunction")["Environment"]["Variables"]
    for name in ("STT_MODEL", "EMBEDDED_S3", "HOME", "MODEL_CACHE_DIR"):
        assert zip_env[name] == image_env[name], name
