"""The image's entry point boots: the real Lambda runtime client runs handlers.api.handler
against a Runtime API and answers API Gateway events. Cold start is reported, not asserted."""

import json
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from devkit.clips import clip
from devkit.events import rest_api_event
from tests.support.lambda_runtime import RuntimeAPI, lambda_env, start_runtime_client


def transcribe_clip(runtime) -> tuple[dict, float]:
    """POST /stt with a dev clip through the runtime; checks the words, returns the response
    and when it arrived."""
    c = clip("arctic_aew_a0003.wav")
    kind, stt, at = runtime.invoke(
        rest_api_event(
            "POST", "/stt", body=c.read(), binary=True, headers={"Content-Type": "audio/wav"}
        )
    )
    assert kind == "response" and stt["statusCode"] == 200, stt
    assert "the two men shook hands" in json.loads(stt["body"])["text"].lower()
    return stt, at


def synthesize_text(runtime, text: str) -> tuple[dict, float]:
    """POST /tts through the runtime; checks that its public URL serves MP3 anonymously."""
    kind, tts, at = runtime.invoke(
        rest_api_event(
            "POST",
            "/tts",
            body=json.dumps({"text": text}),
            headers={"Content-Type": "application/json"},
        )
    )
    assert kind == "response" and tts["statusCode"] == 200, tts
    audio = httpx.get(json.loads(tts["body"])["url"])
    assert audio.status_code == 200 and audio.headers["content-type"] == "audio/mpeg"
    return tts, at


def test_runtime_client_serves_api_gateway_events(s3_endpoint, make_settings, tmp_path, capsys):
    env = lambda_env(s3_endpoint, MODEL_CACHE_DIR=str(tmp_path / "cache"))
    with RuntimeAPI() as runtime:
        started = time.monotonic()
        proc = start_runtime_client("handlers.api.handler", runtime.address, env)
        try:
            kind, health, t_health = runtime.invoke(rest_api_event("GET", "/health"))
            assert kind == "response" and health["statusCode"] == 200
            assert json.loads(health["body"])["status"] == "ok"
            # On-demand init loads nothing: engines load with the first request needing them.
            assert json.loads(health["body"])["loaded_models"] == []

            _, t_stt = transcribe_clip(runtime)

            _, t_tts = synthesize_text(runtime, "Cold start check.")

            kind, bad, _ = runtime.invoke(
                rest_api_event("POST", "/stt", body=b"\x00" * 100, binary=True)
            )
            assert kind == "response" and bad["statusCode"] == 415
        finally:
            proc.kill()
            output = proc.communicate(timeout=10)[0]
    # Powertools counted exactly one cold start across the four invocations: one warm container.
    assert output.replace(" ", "").count('"ColdStart":[1.0]') == 1, output
    with capsys.disabled():
        print(
            f"\n[cold start, tiny.en + piper] first /health {t_health - started:.2f}s, "
            f"first /stt {t_stt - started:.2f}s (+{t_stt - t_health:.2f}s), "
            f"first /tts {t_tts - t_stt:.2f}s after that"
        )


def read_only(*paths: Path) -> list[str]:
    """A command prefix: a private mount namespace where these paths are read-only, as a
    Lambda image's filesystem is (only /tmp is writable there)."""
    mounts = " && ".join(f'mount --bind -o ro "{p}" "{p}"' for p in paths)
    return ["unshare", "--map-root-user", "--mount", "sh", "-c", f'{mounts} && exec "$@"', "sh"]


def test_image_like_boot_read_only_code_no_home_hub_offline(s3_endpoint, make_settings, tmp_path):
    """The image's conditions: code in a read-only task root, no HOME (Lambda sets none), no
    model hub; only /tmp writable. The handler still answers /stt and /tts."""
    import shutil

    from tests.support.lambda_runtime import REPO

    task = tmp_path / "task"
    shutil.copytree(REPO / "src" / "speech_api", task / "speech_api")
    shutil.copytree(REPO / "handlers", task / "handlers")
    probe = subprocess.run(
        [*read_only(task), "touch", str(task / "x")], capture_output=True, text=True
    )
    assert probe.returncode != 0 and "Read-only" in probe.stderr, probe.stderr
    env = lambda_env(
        s3_endpoint,
        PYTHONPATH=str(task),  # the task root's copy, as the image lays it out
        HF_HUB_OFFLINE="1",
        EMBEDDED_S3="false",
    )
    with RuntimeAPI() as runtime:
        proc = start_runtime_client(
            "handlers.api.handler",
            runtime.address,
            env,
            cwd=task,
            prefix=read_only(task, REPO),
            unset=("HOME", "MODEL_CACHE_DIR", "XDG_CACHE_HOME"),
        )
        try:
            transcribe_clip(runtime)
            synthesize_text(runtime, "Read-only and offline.")
        finally:
            proc.kill()
            output = proc.communicate(timeout=10)[0]
    assert "Read-only file system" not in output


@pytest.mark.parametrize(
    "preload,expected", [("stt", ["tiny.en"]), ("stt,tts", ["piper", "tiny.en"])]
)
def test_provisioned_concurrency_init_loads_models_before_the_first_request(
    s3_endpoint, tmp_path, capsys, preload, expected
):
    env = lambda_env(
        s3_endpoint,
        PRELOAD_MODELS=preload,
        AWS_LAMBDA_INITIALIZATION_TYPE="provisioned-concurrency",
        MODEL_CACHE_DIR=str(tmp_path / "cache"),
    )
    with RuntimeAPI() as runtime:
        started = time.monotonic()
        proc = start_runtime_client("handlers.api.handler", runtime.address, env)
        try:
            kind, health, t_health = runtime.invoke(rest_api_event("GET", "/health"))
            assert kind == "response" and health["statusCode"] == 200
            assert json.loads(health["body"])["loaded_models"] == expected
            _, t_stt = transcribe_clip(runtime)
        finally:
            proc.kill()
            proc.communicate(timeout=10)
    with capsys.disabled():
        print(
            f"\n[provisioned init, PRELOAD_MODELS={preload}] first /health "
            f"{t_health - started:.2f}s (models loaded in init), "
            f"first /stt +{t_stt - t_health:.2f}s"
        )


@pytest.mark.parametrize("handler", ["handlers.api.handler", "handlers.transcribe_upload.handler"])
def test_handler_modules_import_light(handler):
    import sys

    module = handler.rsplit(".", 1)[0]
    code = (
        f"import sys, time; t=time.perf_counter(); import {module}; "
        "print([m for m in ('ctranslate2','onnxruntime','torch','piper','TTS') "
        "if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip().endswith("[]")
