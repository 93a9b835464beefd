"""The zip Api function as `cdk synth` packages it: its code asset and the `light` layer from
layers/, built for Lambda's python3.11 runtime, and served from those two folders alone on the
runtime's sys.path (devkit/zip_runtime.py), with the real runtime client and the test S3."""

from __future__ import annotations

import json
import re
import sys
import time
import uuid
from pathlib import Path

import pytest

from devkit.events import rest_api_event
from devkit.zip_runtime import python_path, runtime_dir
from layers import build as layer_build
from speech_api.engines import Transcript, TranscriptSegment
from speech_api.service.transcript_store import TranscriptStore
from tests.support.lambda_runtime import RuntimeAPI, start_runtime_client
from tests.support.template import function_env, zip_asset

# Model libraries the light routes must not need (each is tens to hundreds of MB).
MODEL_LIBRARIES = ("numpy", "av", "ctranslate2", "faster_whisper", "onnxruntime", "piper",
                   "torch", "TTS", "tokenizers", "huggingface_hub")  # fmt: skip
# Lambda's limit for a function's code and all its layers, unzipped.
UNZIPPED_LIMIT = 250 * 2**20


@pytest.fixture(scope="module")
def api_package(synthesized) -> dict:
    s = synthesized["none"]
    props = s.function("ApiFunction")
    (layer_ref,) = props["Layers"]
    layer = s.json["Resources"][layer_ref["Ref"]]["Properties"]
    return {
        "props": props,
        "layer_props": layer,
        "code": zip_asset(s.outdir, props["Code"]["S3Key"]),
        "opt": zip_asset(s.outdir, layer["Content"]["S3Key"]),
    }


def _size(folder: Path) -> int:
    return sum(f.stat().st_size for f in folder.rglob("*") if f.is_file())


def _wheel_tags(site: Path) -> dict[str, list[str]]:
    tags = {}
    for wheel in site.glob("*.dist-info/WHEEL"):
        tags[wheel.parent.name] = re.findall(r"^Tag: (\S+)", wheel.read_text(), re.M)
    return tags


def test_the_light_layer_carries_the_light_routes_dependencies_and_no_model_library(api_package):
    site = api_package["opt"] / "python"
    assert site.is_dir(), "Lambda puts /opt/python on sys.path: the layer needs python/ at its root"
    for needed in ("fastapi", "pydantic_core", "mangum", "aws_lambda_powertools", "boto3"):
        assert (site / needed).is_dir(), needed
    present = [m for m in MODEL_LIBRARIES if (site / m).exists()]
    assert not present, f"the layer carries model libraries: {present}"
    assert api_package["layer_props"]["CompatibleRuntimes"] == ["python3.11"]
    assert api_package["layer_props"]["CompatibleArchitectures"] == ["x86_64"]
    total = _size(site) + _size(api_package["code"])
    assert total < UNZIPPED_LIMIT
    print(
        f"\nlayer {_size(site) / 2**20:.0f} MB + code {_size(api_package['code']) / 2**20:.1f} MB"
    )


def test_the_layer_holds_the_locked_versions_of_wheels_built_for_lambdas_platform(api_package):
    site = api_package["opt"] / "python"
    pins = layer_build.pinned_versions()
    installed = layer_build.installed_distributions(site)
    assert installed and all(pins.get(d) == v for d, v in installed.items()), installed
    # python3.11 runs on Amazon Linux 2 (glibc 2.26), x86_64: every wheel pure or carrying a
    # tag for cp311 and manylinux <= 2.26 (a wheel lists each platform it fits).
    wrong = {dist: tags for dist, tags in _wheel_tags(site).items() if not any(map(_fits, tags))}
    assert not wrong, wrong


def _fits(tag: str) -> bool:
    python, abi, platform = tag.split("-")
    if platform == "any":
        return True
    m = re.fullmatch(r"manylinux_2_(\d+)_x86_64|manylinux(2014|2010|1)_x86_64", platform)
    # abi3: CPython's stable ABI, good for any CPython from the version named on.
    stable = abi == "abi3" and python.startswith("cp3") and int(python[3:]) <= 11
    return (
        (python == abi == "cp311" or stable)
        and m is not None
        and (m.group(1) is None or int(m.group(1)) <= layer_build.RUNTIME_GLIBC_MINOR)
    )


def _pyc_flags(pyc: Path) -> int:
    return int.from_bytes(pyc.read_bytes()[4:8], "little")


@pytest.mark.skipif(
    not layer_build.can_byte_compile(), reason="only Python 3.11 writes the runtime's bytecode"
)
@pytest.mark.parametrize("folder", ["code", "opt"])
def test_every_module_is_byte_compiled_so_a_read_only_cold_start_compiles_nothing(
    api_package, folder
):
    root = api_package[folder]
    sources = [p for p in root.rglob("*.py") if "__pycache__" not in p.parts]
    assert sources
    tag = sys.implementation.cache_tag
    missing = []
    for source in sources:
        pyc = source.parent / "__pycache__" / f"{source.stem}.{tag}.pyc"
        # Flags 0b01: hash-based and never checked against the source, whose timestamp
        # CDK's zip resets (a timestamp-based .pyc would be stale, and /var/task read-only).
        if not pyc.is_file() or _pyc_flags(pyc) != 0b01:
            missing.append(str(source.relative_to(root)))
    assert not missing, missing[:10]


def test_the_api_package_serves_the_light_routes_with_nothing_but_its_layer(
    api_package, storage, default_settings, tmp_path
):
    props = api_package["props"]
    env = function_env(props, default_settings.s3.endpoint_url)
    env.update(
        PYTHONPATH=python_path(
            str(api_package["code"]), str(api_package["opt"]), str(runtime_dir())
        ),
        LAMBDA_TASK_ROOT=str(api_package["code"]),
        HOME=str(tmp_path),
        MODEL_CACHE_DIR=str(tmp_path / "cache"),
    )
    # A finished upload's transcript, as the worker stores it.
    upload_id = f"layer-{uuid.uuid4().hex[:8]}"
    said = "Served from the layer."
    transcript = Transcript(said, "en", 1.0, 2.0, [TranscriptSegment(0.0, 2.0, said)])
    TranscriptStore(default_settings, storage).save_transcript(
        upload_id, f"uploads/{upload_id}/a.wav", "etag-1", transcript
    )
    endpoint = default_settings.s3.endpoint_url

    def html(r, b):
        return r["body"].lstrip().lower().startswith("<!doctype html>")

    def srt(r, b):
        return "00:00:00,000 --> 00:00:02,000" in r["body"] and said in r["body"]

    def form(r, b):
        return b["transcript_url"].startswith("/transcripts/") and b["upload"]["url"].startswith(
            endpoint
        )

    requests = [
        # (method, path, query, status, check(response, parsed JSON or None))
        ("GET", "/health", None, 200,
         lambda r, b: b["status"] == "ok" and b["stt_model"] == "/opt/models/stt"),
        ("HEAD", "/health", None, 200, lambda r, b: b["status"] == "ok"),
        ("GET", "/ready", None, 200, lambda r, b: b == {"status": "ready", "engines": {}}),
        ("GET", "/v1/models", None, 200,
         lambda r, b: {"whisper-1", "/opt/models/stt"} <= {m["id"] for m in b["data"]}),
        ("GET", "/v1/models/whisper-1", None, 200, lambda r, b: b["id"] == "whisper-1"),
        ("GET", "/openapi.json", None, 200,
         lambda r, b: "/v1/audio/transcriptions" in b["paths"]),
        ("GET", "/docs", None, 200, lambda r, b: "swagger" in r["body"].lower()),
        ("GET", "/docs/swagger-ui-bundle.js", None, 200,
         lambda r, b: "SwaggerUIBundle" in r["body"]),
        ("GET", "/", None, 200, html),
        ("GET", "/transcripts/missing-id", None, 404,
         lambda r, b: b["error"]["code"] == "not_found"),
        ("GET", f"/transcripts/{upload_id}", {"format": "srt"}, 200, srt),
        ("POST", "/uploads", None, 200, form),
    ]  # fmt: skip
    with RuntimeAPI() as runtime:
        started = time.monotonic()
        # -S: no site-packages, so only the code, the layer and the runtime client import.
        proc = start_runtime_client(
            props["Handler"], runtime.address, env, cwd=api_package["code"],
            entrypoint=("-S", "-m", "awslambdaric"),
        )  # fmt: skip
        try:
            for method, path, query, status, check in requests:
                body = (
                    json.dumps({"filename": "a.wav", "content_type": "audio/wav"})
                    if method == "POST"
                    else None
                )
                event = rest_api_event(
                    method, path, body=body, query=query,
                    headers={"Content-Type": "application/json"},
                )  # fmt: skip
                kind, response, at = runtime.invoke(event, timeout_s=60)
                assert kind == "response", response
                if path == "/health" and method == "GET":
                    print(f"\nzip Api: first /health {at - started:.2f} s after process start")
                parsed = None
                if response["headers"].get("content-type", "").startswith("application/json"):
                    parsed = json.loads(response["body"])
                assert response["statusCode"] == status, (method, path, response)
                assert check(response, parsed), (method, path, response["body"][:500])
        finally:
            proc.kill()
            log = proc.communicate()[0]
    assert "Traceback" not in log, log[-3000:]
