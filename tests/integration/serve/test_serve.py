"""`speech-api serve` (what `make serve` runs) on a fresh process: embedded S3, real models,
URLs that play for anyone. Also: importing the app stays light."""

import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from devkit.clips import clip
from devkit.server import ServerProcess, clean_env, free_port, speech_api_serve
from devkit.wer import corpus_wer

HEAVY = ("ctranslate2", "onnxruntime", "torch", "faster_whisper", "piper", "TTS", "boto3")


def test_importing_the_app_loads_no_engine_or_aws_sdk():
    code = f"import sys, speech_api.api; print([m for m in {HEAVY!r} if m in sys.modules])"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


@pytest.fixture
def fresh_server(tmp_path) -> Iterator[ServerProcess]:
    """`speech-api serve` as a new user starts it: nothing configured, a new DATA_DIR."""
    server = speech_api_serve(
        tmp_path,
        EMBEDDED_S3_PORT=str(free_port()),
        DATA_DIR=str(tmp_path / "data"),
        MODEL_CACHE_DIR=str(tmp_path / "cache"),
    )
    with server:
        yield server


def test_serve_starts_with_embedded_s3_and_round_trips(fresh_server):
    base = fresh_server.base_url
    health = httpx.get(f"{base}/health").json()
    assert health["status"] == "ok" and health["loaded_models"] == []

    # Piper samples noise (VITS), so every synthesis differs slightly: plain words, one of five
    # allowed to slip. "Speech API" came back "speech ADI"/"ATI" 3 times in 30; this, 0 in 150.
    text = "Welcome to the speech service."
    tts = httpx.post(f"{base}/tts", json={"text": text}, timeout=60)
    assert tts.status_code == 200, tts.text
    url = tts.json()["url"]
    assert re.match(r"http://127\.0\.0\.1:\d+/speech-api/public/tts/[0-9a-f]{64}\.mp3$", url)
    audio = httpx.get(url)
    assert audio.status_code == 200 and audio.headers["content-type"] == "audio/mpeg"

    stt = httpx.post(f"{base}/stt", files={"file": ("speech.mp3", audio.content)}, timeout=60)
    assert stt.status_code == 200, stt.text
    assert corpus_wer([text], [stt.json()["text"]]) <= 0.2, stt.json()["text"]

    docs = httpx.get(f"{base}/docs")
    assert docs.status_code == 200 and "swagger" in docs.text.lower()
    sample = clip("arctic_a0007.wav")
    stt = httpx.post(
        f"{base}/stt", content=sample.read(), timeout=60, headers={"content-type": "audio/wav"}
    )
    assert "superlative degree" in stt.json()["text"].lower()


def test_serve_prints_where_everything_is(fresh_server):
    base = fresh_server.base_url
    assert httpx.get(f"{base}/v1/models").status_code == 200
    out = fresh_server.stop()
    assert f"Speech API     {base}\n" in out  # no API key: nothing said about one
    assert f"Playground     {base}/\n" in out
    assert f"{base}/docs" in out
    assert "speech to text: Whisper base; text to speech: piper, voice en_US-joe-medium" in out
    # One line per request: the app's access log, not uvicorn's as well.
    assert len([line for line in out.splitlines() if "/v1/models" in line]) == 1, out
    assert re.search(r"S3 \(embedded\)\s+http://127\.0\.0\.1:\d+", out)
    assert re.search(r"Data\s+/\S+/data  \(objects and credentials\)", out)
    assert "not enforced:" in out


def serve_process(cwd, **env) -> subprocess.Popen:
    """`speech-api serve` as `make serve` starts it: the defaults (PORT, EMBEDDED_S3_PORT and
    DATA_DIR unset) unless given."""
    clean = {k: v for k, v in clean_env().items() if k not in ("PORT", "API_KEY")}
    return subprocess.Popen(
        [sys.executable, "-m", "speech_api", "serve"],
        cwd=cwd,
        env={**clean, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def banner_of(proc: subprocess.Popen, timeout_s: float = 90) -> str:
    """The banner's lines, up to and including the data caveats (the last line it prints)."""
    lines, deadline = [], time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            raise AssertionError(f"serve exited: {''.join(lines)}{proc.stderr.read()}")
        lines.append(line)
        if "not enforced:" in line:
            return "".join(lines)
    raise AssertionError("no banner")


def field(banner: str, pattern: str) -> str:
    match = re.search(pattern, banner)
    assert match, banner
    return match.group(1)


def test_a_second_serve_beside_a_first_starts_on_its_own_ports_and_says_which(
    tmp_path, model_cache_dir
):
    """Two `make serve` in one checkout: the second takes the next free ports and a data
    directory of its own, says so, and both serve (audio from each plays from its own S3)."""
    procs = []
    try:
        banners = []
        for _ in range(2):
            procs.append(serve_process(tmp_path, MODEL_CACHE_DIR=str(model_cache_dir)))
            banners.append(banner_of(procs[-1]))
        second = banners[1]
        api = [field(b, r"Speech API     http://127\.0\.0\.1:(\d+)") for b in banners]
        s3 = [field(b, r"S3 \(embedded\)  http://127\.0\.0\.1:(\d+)") for b in banners]
        data = [field(b, r"Data           (\S+)") for b in banners]
        assert api[0] != api[1] and s3[0] != s3[1] and len({*api, *s3}) == 4
        assert data[0] == str(tmp_path / ".data")
        assert data[1] == str(tmp_path / ".data" / f"port-{api[1]}")
        # The second says why its ports and folder are not the defaults, and how to choose.
        assert f"port 8000 is taken (the API on {api[1]}; set PORT to choose)" in second
        assert f"(the embedded S3 on {s3[1]}; set EMBEDDED_S3_PORT to choose)" in second
        assert ".data is in use by another server: this one keeps its own" in second
        for port, s3_port in zip(api, s3, strict=True):
            base = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 60
            while True:
                try:
                    if httpx.get(f"{base}/health", timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    assert time.monotonic() < deadline, f"{base} did not start"
                    time.sleep(0.2)
            tts = httpx.post(f"{base}/tts", json={"text": "Side by side."}, timeout=60)
            assert tts.status_code == 200, tts.text
            assert tts.json()["url"].startswith(f"http://127.0.0.1:{s3_port}/")
            assert httpx.get(tts.json()["url"]).status_code == 200
    finally:
        for proc in procs:
            proc.terminate()
            proc.communicate(timeout=20)


@pytest.mark.parametrize(
    "variable,setting",
    [("PORT", "the API"), ("EMBEDDED_S3_PORT", "the embedded S3"), ("DATA_DIR", None)],
)
def test_a_port_or_folder_given_and_taken_is_refused_before_the_banner(tmp_path, variable, setting):
    """A taken PORT used to print the whole banner, pointing at someone else's server, then
    fail with [Errno 98]; a taken EMBEDDED_S3_PORT exited from inside moto's server."""
    from speech_api.runtime.embedded.persistence import DataDir

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        env = {"PORT": str(free_port()), "EMBEDDED_S3_PORT": str(free_port())}
        if variable == "DATA_DIR":
            held = DataDir(tmp_path / "held")  # as a running server holds it
            env["DATA_DIR"] = str(tmp_path / "held")
        else:
            env[variable] = str(taken.getsockname()[1])
        proc = serve_process(tmp_path, **env)
        out, err = proc.communicate(timeout=60)
        if variable == "DATA_DIR":
            del held  # lets go of the directory
    assert proc.returncode == 1
    assert "Speech API" not in out and "Traceback" not in err
    assert f"set {variable} to" in err
    if setting:
        assert f"Port {env[variable]} ({variable}, {setting}) is already in use" in err
    else:
        assert f"DATA_DIR {tmp_path / 'held'} is in use by another speech-api serve" in err


REPO = Path(__file__).resolve().parents[3]
SERVE_EXTRAS = ("models", "local", "client")  # the Makefile's serve install
# A venv's own tools, there without any extra.
VENV_TOOLS = {"pip", "setuptools", "pkg_resources", "_distutils_hack", "wheel"}


def serve_install_closure() -> set[str]:
    """The distributions `pip install .[models,local,client]` installs: speech-api's
    requirements under those extras (from this checkout's pyproject.toml), and theirs,
    recursively (markers evaluated here)."""
    import tomllib
    from importlib.metadata import PackageNotFoundError, distribution

    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    own = [
        *project["dependencies"],
        *(
            f"{line}; extra == '{extra}'"
            for extra, lines in project["optional-dependencies"].items()
            for line in lines
        ),
    ]
    wanted, seen = [("speech-api", set(SERVE_EXTRAS))], set()
    while wanted:
        name, extras = wanted.pop()
        key = (canonicalize_name(name), frozenset(extras))
        if key in seen:
            continue
        seen.add(key)
        try:
            requires = own if key[0] == "speech-api" else distribution(name).requires or []
        except PackageNotFoundError:
            continue
        for line in requires:
            req = Requirement(line)
            environments = [{"extra": e} for e in extras] or [{"extra": ""}]
            if req.marker is None or any(req.marker.evaluate(env) for env in environments):
                wanted.append((req.name, set(req.extras)))
    return {name for name, _ in seen}


def modules_outside_the_serve_install() -> set[str]:
    from importlib.metadata import packages_distributions

    from packaging.utils import canonicalize_name

    closure = serve_install_closure()
    return {
        module
        for module, dists in packages_distributions().items()
        if module not in VENV_TOOLS and not {canonicalize_name(d) for d in dists} & closure
    }


BLOCKER = """
import importlib.abc, os, sys
BLOCKED = set(os.environ["BLOCKED_MODULES"].split(","))
class Blocker(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in BLOCKED:
            raise ModuleNotFoundError(f"No module named {name!r} (not in the serve install)")
sys.meta_path.insert(0, Blocker())
"""


def test_serve_and_the_front_page_need_only_the_serve_install(tmp_path, model_cache_dir):
    """What `make serve` installs ([models,local,client]) is enough for the server (embedded
    S3, the upload worker, both engines) and for the CLI against it: everything else the full
    venv holds (torch, Coqui, the CDK, Lambda's libraries, the test tools) is made
    unimportable, as it is absent from a venv `make serve` made."""
    blocked = modules_outside_the_serve_install()
    assert {"torch", "aws_lambda_powertools", "mangum", "aws_cdk", "pytest"} <= blocked
    assert not {"openai", "httpx", "moto", "faster_whisper", "piper"} & blocked
    (tmp_path / "site").mkdir()
    (tmp_path / "site" / "sitecustomize.py").write_text(BLOCKER)
    pythonpath = os.pathsep.join([str(tmp_path / "site"), os.environ.get("PYTHONPATH", "")])
    env = {"BLOCKED_MODULES": ",".join(sorted(blocked)), "PYTHONPATH": pythonpath}
    proc = serve_process(
        tmp_path, MODEL_CACHE_DIR=str(model_cache_dir), PORT=str(free_port()), **env
    )
    try:
        banner = banner_of(proc)
        base = field(banner, r"Speech API     (http://\S+)")
        tts = httpx.post(f"{base}/tts", json={"text": "Only what serving needs."}, timeout=120)
        assert tts.status_code == 200, tts.text
        audio = httpx.get(tts.json()["url"]).content
        form = httpx.post(f"{base}/uploads", json={"filename": "speech.mp3"}).json()
        upload = httpx.post(
            form["upload"]["url"], data=form["upload"]["fields"], files={"file": audio}
        )
        assert upload.status_code == 204, upload.text
        cli_env = {**os.environ, **env, "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin"}
        (tmp_path / "speech.mp3").write_bytes(audio)
        said = {}
        for argv in (
            ["transcribe", "speech.mp3", "-o", "-", "--base-url", base],
            ["models", "--base-url", base],
            ["synthesize", "Hello."],  # refused in one line (no -o or --url), no traceback
        ):
            cli = subprocess.run(
                [str(Path(sys.executable).parent / "speech-api"), *argv],
                cwd=tmp_path,
                env=cli_env,
                capture_output=True,
                text=True,
                timeout=120,
            )
            assert "Traceback" not in cli.stderr, cli.stderr
            said[argv[0]] = cli
        assert said["transcribe"].returncode == 0, said["transcribe"].stderr
        assert "serving needs" in said["transcribe"].stdout.lower()
        assert said["models"].returncode == 0 and "tiny.en" in said["models"].stdout
        assert said["synthesize"].stderr.strip() == "give -o FILE or --url"
        deadline = time.monotonic() + 120
        while (r := httpx.get(base + form["transcript_url"])).status_code == 202:
            assert time.monotonic() < deadline, r.text
            time.sleep(0.5)
        assert r.status_code == 200 and "serving needs" in r.json()["text"].lower(), r.text
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=20)
    assert "not in the serve install" not in err, err[-3000:]
