"""Each function of the synthesized template, run from its built image as Lambda runs it:
read-only root, /tmp a tmpfs of the function's ephemeral size, uid 993, no HOME from the
platform, the image's ENV with the template's environment over it (plus an S3 endpoint for the
emulator), the image's ENTRYPOINT (or the function's EntryPoint: Tts streams) with the
function's Command, and the Runtime API stand-in. Each answers a real event; cold and warm
times, peak RSS and the bytes read from the image are recorded (and the same handler from the
host virtualenv, for comparison)."""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from devkit.clips import clip
from devkit.events import rest_api_event, s3_object_created, sqs_batch
from devkit.images import BASE_IMAGE, CACHE, lambda_image
from devkit.images.base import image_exists
from devkit.images.run import (
    LAMBDA_UID,
    compressed_size,
    evict,
    image_config,
    image_files,
    image_size,
    lambda_variables,
    mounted,
    resident_bytes,
    start_in_image,
)
from devkit.zip_runtime import python_path, runtime_dir
from infra.constructs.functions import LIGHT_IMAGE_ENGINE
from tests.support.built_images import built_engines
from tests.support.lambda_runtime import RuntimeAPI, Streamed, start_runtime_client
from tests.support.s3 import TEST_BUCKET
from tests.support.synth import synth
from tests.support.template import function_env, zip_asset

ENGINES = built_engines()
pytestmark = pytest.mark.skipif(not ENGINES, reason="no Lambda image built (make image)")
CLIP = "arctic_aew_a0003.wav"
WORDS = "the two men shook hands"


@dataclass(frozen=True)
class Function:
    name: str  # Stt, Api, Worker, Tts, Authorizer
    image: str
    command: list[str]
    env: dict[str, str]
    memory_mb: int
    ephemeral_mb: int
    inline_code: str | None = None  # a zip function's code (index.py)
    entrypoint: list[str] | None = None  # ImageConfig.EntryPoint (None: the image's)
    # A zip function: host folders -> where Lambda puts them (code: /var/task, layers: /opt).
    zip_dirs: tuple[tuple[str, str], ...] = ()
    label: str = ""  # how the figures name its package

    @property
    def is_zip(self) -> bool:
        return self.image == BASE_IMAGE


def template_functions(engine: str, outdir: Path, s3_endpoint: str) -> list[Function]:
    """The stack's Lambda functions with tts_engine=`engine`, each with the local image its
    asset builds (by the asset's TTS_ENGINE build argument)."""
    synthesized = synth(outdir, gpu_tts="none", tts_engine=engine)
    manifest = json.loads(next(outdir.glob("*.assets.json")).read_text())
    engines_by_hash = {
        h: d["source"]["dockerBuildArgs"]["TTS_ENGINE"] for h, d in manifest["dockerImages"].items()
    }
    found = []
    for logical, resource in synthesized.resources("AWS::Lambda::Function").items():
        props = resource["Properties"]
        name = next(
            (n for n in ("Stt", "Api", "Worker", "Tts", "KeyAuthorizer") if logical.startswith(n)),
            None,
        )
        if name is None:  # CDK's own deploy-time handlers (bucket notifications)
            continue
        env = function_env(props, s3_endpoint)
        ephemeral = props.get("EphemeralStorage", {}).get("Size", 512)
        if props.get("PackageType") == "Image":
            uri = props["Code"]["ImageUri"]["Fn::Sub"]
            image_engine = next(e for h, e in engines_by_hash.items() if uri.endswith(h))
            found.append(
                Function(
                    name, lambda_image(image_engine), props["ImageConfig"]["Command"], env,
                    props["MemorySize"], ephemeral,
                    entrypoint=props["ImageConfig"].get("EntryPoint"),
                    label=f"{image_engine} image",
                )
            )  # fmt: skip
        else:
            # A zip function on Lambda's python3.11 runtime (devkit/zip_runtime.py): the base
            # image's Python 3.11, the runtime client in /var/runtime, the code in /var/task,
            # the layers in /opt.
            assert props["Runtime"] == "python3.11"
            inline = props["Code"].get("ZipFile")
            dirs = []
            if inline is None:
                dirs.append((str(zip_asset(outdir, props["Code"]["S3Key"])), "/var/task"))
            for layer in props.get("Layers", []):
                content = synthesized.json["Resources"][layer["Ref"]]["Properties"]["Content"]
                dirs.append((str(zip_asset(outdir, content["S3Key"])), "/opt"))
            layers = " + layer" if props.get("Layers") else ""
            found.append(
                Function(
                    "Authorizer" if name == "KeyAuthorizer" else name, BASE_IMAGE,
                    [props["Handler"]], env, props.get("MemorySize", 128), ephemeral, inline,
                    zip_dirs=tuple(dirs), label=f"zip: python3.11{layers}",
                )
            )  # fmt: skip
            if name == "Api" and image_exists(lambda_image(LIGHT_IMAGE_ENGINE)):
                # For comparison: the same handler from the light image, as the stack ran it
                # before Api became a zip function.
                found.append(
                    Function(
                        name, lambda_image(LIGHT_IMAGE_ENGINE), [props["Handler"]], env,
                        props["MemorySize"], ephemeral,
                        label=f"{LIGHT_IMAGE_ENGINE} image, for comparison",
                    )
                )  # fmt: skip
    return found


@pytest.fixture(scope="module")
def functions(tmp_path_factory, default_settings) -> dict[tuple[str, str], Function]:
    endpoint = default_settings.s3.endpoint_url
    found = {}
    for engine in ENGINES:
        for fn in template_functions(engine, tmp_path_factory.mktemp(f"cdk-{engine}"), endpoint):
            found.setdefault((fn.name, fn.label), fn)
    return found


def _events(fn: Function, storage) -> list[tuple[dict, callable]]:
    """(event, check) for the first and the second invocation of `fn`."""
    if fn.name == "Stt":
        data = clip(CLIP).read()

        def stt():
            return rest_api_event(
                "POST", "/stt", body=data, binary=True, headers={"Content-Type": "audio/wav"}
            )

        def heard(r):
            assert r["statusCode"] == 200, r
            assert WORDS in json.loads(r["body"])["text"].lower()

        return [(stt(), heard), (stt(), heard)]
    if fn.name == "Tts":

        def tts(text):
            return rest_api_event(
                "POST", "/tts", body=json.dumps({"text": text}),
                headers={"Content-Type": "application/json"},
            )  # fmt: skip

        def served(r):
            assert r["statusCode"] == 200, r
            audio = httpx.get(json.loads(r["body"])["url"])  # anonymous
            assert audio.status_code == 200 and audio.headers["content-type"] == "audio/mpeg"
            assert len(audio.content) > 1000

        return [(tts("Hello from the image."), served), (tts("A second sentence."), served)]
    if fn.name == "Api":

        def health(r):
            assert r["statusCode"] == 200 and json.loads(r["body"])["status"] == "ok", r

        def uploaded(r):
            assert r["statusCode"] == 200, r
            body = json.loads(r["body"])
            assert body["transcript_url"].startswith("/transcripts/"), body

        return [
            (rest_api_event("GET", "/health"), health),
            (
                rest_api_event(
                    "POST", "/uploads",
                    body=json.dumps({"filename": "a.wav", "content_type": "audio/wav"}),
                    headers={"Content-Type": "application/json"},
                ),
                uploaded,
            ),
            (
                rest_api_event("GET", "/transcripts/missing-id"),
                lambda r: (
                    r["statusCode"] == 404
                    and json.loads(r["body"])["error"]["code"] == "not_found"
                )
                or pytest.fail(str(r)),
            ),
        ]  # fmt: skip
    if fn.name == "Worker":

        def upload_event():
            data = clip(CLIP).read()
            key = f"uploads/{uuid.uuid4().hex[:8]}/clip.wav"
            storage.put(key, data, content_type="audio/wav", metadata={})
            etag = storage.client.head_object(Bucket=TEST_BUCKET, Key=key)["ETag"].strip('"')
            event = s3_object_created(TEST_BUCKET, key, etag=etag, size=len(data))
            return sqs_batch([{"Records": [event]}]), key.removeprefix("uploads/")

        first, second = upload_event(), upload_event()

        def transcribed(upload_id):
            def check(r):
                assert r == {"batchItemFailures": []}, r
                obj = storage.get(f"transcripts/{upload_id}.json", max_bytes=10**6)
                assert obj is not None and WORDS in json.loads(obj.data)["text"].lower()

            return check

        return [(first[0], transcribed(first[1])), (second[0], transcribed(second[1]))]
    if fn.name == "Authorizer":
        arn = "arn:aws:execute-api:us-east-1:123456789012:abc/prod/POST/stt"

        def allowed(r):
            assert r["usageIdentifierKey"] == "sk-test", r
            assert r["policyDocument"]["Statement"][0]["Effect"] == "Allow"

        event = {
            "type": "REQUEST",
            "methodArn": arn,
            "headers": {"Authorization": "Bearer sk-test"},
        }
        return [(event, allowed), (event, allowed)]
    raise AssertionError(fn.name)


def run_function(fn: Function, storage, tmp_path: Path, *, in_image: bool) -> dict:
    events = _events(fn, storage)
    handler = fn.command[0]
    figures: dict = {"memory_mb": fn.memory_mb}
    with RuntimeAPI() as runtime:
        lambda_env = lambda_variables(fn.name, fn.memory_mb, runtime.address, handler)
        if in_image:
            cfg = image_config(fn.image)
            binds = dict(fn.zip_dirs)
            if fn.inline_code is not None:
                code = tmp_path / "task"
                code.mkdir(parents=True)
                (code / "index.py").write_text(fn.inline_code)
                binds[str(code)] = "/var/task"
            argv = [*(fn.entrypoint or cfg.entrypoint), *fn.command]
            env = {**cfg.env, **fn.env, **lambda_env, "LAMBDA_TASK_ROOT": "/var/task"}
            workdir = cfg.workdir
            if fn.is_zip:
                binds[str(runtime_dir())] = "/var/runtime"
                argv = ["python3", "-S", "-m", "awslambdaric", *fn.command]
                env.update(
                    LAMBDA_RUNTIME_DIR="/var/runtime",
                    PYTHONPATH=python_path("/var/task", "/opt", "/var/runtime"),
                )
                workdir = "/var/task"
            with mounted(fn.image) as root:
                for inside in binds.values():
                    (root / inside.lstrip("/")).mkdir(parents=True, exist_ok=True)
                files = image_files(root) + [f for d in binds for f in image_files(Path(d))]
                evict(files)
                before = resident_bytes(files)
                proc = start_in_image(
                    root,
                    argv,
                    env,
                    uid=LAMBDA_UID,
                    workdir=workdir,
                    read_only=True,
                    tmp_mb=fn.ephemeral_mb,
                    binds=binds,
                )
                try:
                    figures.update(_invoke_all(runtime, proc.started, events, proc.stop))
                    figures["image_bytes_read"] = resident_bytes(files) - before
                    figures["peak_rss"] = proc.status("VmHWM") * 1024
                finally:
                    log = proc.stop()
        else:
            host_env = {**fn.env, **lambda_env, "MODEL_CACHE_DIR": str(tmp_path / "cache")}
            # Host paths for what the image keeps under /opt/models.
            host_env.update(STT_MODEL="base", TTS_HOME=str(CACHE / "coqui-seed"))
            cwd = None
            if fn.inline_code is not None:
                tmp_path.mkdir(parents=True, exist_ok=True)
                (tmp_path / "index.py").write_text(fn.inline_code)
                cwd = tmp_path
            started = time.monotonic()
            extra: dict = {"cwd": cwd} if cwd else {}
            if fn.entrypoint:  # ["python", "-m", module]: the host's Python runs the module
                extra["entrypoint"] = tuple(fn.entrypoint[1:])
            popen = start_runtime_client(handler, runtime.address, host_env, **extra)
            try:
                figures.update(_invoke_all(runtime, started, events, None))
                figures["peak_rss"] = _hwm(popen.pid)
            finally:
                popen.kill()
                log = popen.communicate()[0]
        figures["log_tail"] = log[-2000:]
    return figures


def _hwm(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise KeyError("VmHWM")


def _invoke_all(runtime, started: float, events, stop) -> dict:
    out = {}
    for i, (event, check) in enumerate(events):
        sent = time.monotonic()
        try:
            kind, payload, at = runtime.invoke(event, timeout_s=180)
        except Exception:
            if stop:
                print(stop())
            raise
        assert kind == "response", payload
        if isinstance(payload, Streamed):  # the streaming runtime (Tts): as API Gateway reads it
            meta = payload.metadata
            payload = {**meta, "body": payload.payload.decode()}
        check(payload)
        if i == 0:
            out["cold_s"] = at - started
        elif i == 1:
            out["warm_s"] = at - sent
    return out


@pytest.mark.parametrize("where", ["image", "host venv"])
@pytest.mark.parametrize("name", ["Api", "Authorizer", "Stt", "Worker", "Tts"])
def test_function_answers_from_its_image_as_lambda_runs_it(
    name, where, functions, storage, tmp_path, figures
):
    chosen = [fn for (n, _), fn in sorted(functions.items()) if n == name]
    assert chosen, f"the template has no {name} function"
    if where == "host venv":  # one host run per package the stack deploys, not the "before"
        chosen = [fn for fn in chosen if not fn.label.endswith("comparison")]
    for fn in chosen:
        tag = fn.label.replace(" ", "-").replace(":", "")
        result = run_function(fn, storage, tmp_path / tag, in_image=where == "image")
        stack = "" if name != "Tts" else f", {fn.label.split()[0]} stack"
        figures[f"{name} ({fn.label if where == 'image' else 'host venv' + stack})"] = result
        # Lambda stops a function that exceeds its MemorySize.
        assert result["peak_rss"] < fn.memory_mb * 2**20, result


@pytest.mark.parametrize("engine", ENGINES)
def test_image_fits_lambdas_limit_and_carries_torch_only_for_coqui(engine, figures, tmp_path):
    image = lambda_image(engine)
    with mounted(image) as root:
        size = image_size(root)
        site = root / "usr/local/lib/python3.11/dist-packages"
        if not site.is_dir():  # the real python image's site-packages
            site = root / "usr/local/lib/python3.11/site-packages"
        has_torch = (site / "torch").is_dir()
        has_coqui = (site / "TTS").is_dir()
    figures[f"image {image}"] = {
        "uncompressed": size,
        "compressed": compressed_size(image, tmp_path),
    }
    assert size < 10 * 10**9  # Lambda's limit for an uncompressed image
    assert has_torch == has_coqui == (engine == "coqui")


def test_authorizer_code_in_the_template_is_the_handler_in_the_repo(functions):
    fn = next(fn for (n, _), fn in functions.items() if n == "Authorizer")
    repo = (Path(__file__).resolve().parents[2] / "handlers/authorizer.py").read_text()
    assert (
        hashlib.sha256(fn.inline_code.encode()).digest() == hashlib.sha256(repo.encode()).digest()
    )
