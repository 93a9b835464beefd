"""What the Dockerfiles promise, read statically (no Docker engine here): the Lambda image runs
the Python the tests run, on a C library every installed wheel accepts, with a runtime client
and a writable HOME; the GPU image suits SageMaker (root, `serve`, port 8080) and ECS."""

from __future__ import annotations

import json
import re
import sys
import tomllib
from importlib.metadata import PackageNotFoundError, distribution

import pytest
from packaging.requirements import Requirement

from tests.infrastructure.test_dockerfile import install_step
from tests.support.synth import REPO

LAMBDA = (REPO / "Dockerfile.lambda").read_text()
GPU = (REPO / "Dockerfile.gpu").read_text()

# glibc of the candidate bases (Amazon Linux 2 = 2.26, AL2023 = 2.34, Debian 12 = 2.36).
BASE_GLIBC = {
    r"public\.ecr\.aws/lambda/python:3\.(8|9|10|11)$": (2, 26),
    r"public\.ecr\.aws/lambda/python:3\.1[2-9]$": (2, 34),
    r"(public\.ecr\.aws/docker/library/)?python:3\.\d+-(slim-)?bookworm$": (2, 36),
}
MANYLINUX_LEGACY = {"manylinux1": (2, 5), "manylinux2010": (2, 12), "manylinux2014": (2, 17)}


def base_image(dockerfile: str) -> str:
    """The FROM a deploy builds on: the BASE_IMAGE argument's default where FROM names it."""
    image = re.search(r"^FROM (\S+)", dockerfile, re.M).group(1)
    if image == "${BASE_IMAGE}":
        image = re.search(r"^ARG BASE_IMAGE=(\S+)$", dockerfile, re.M).group(1)
    return image


def env(dockerfile: str) -> dict[str, str]:
    found = {}
    for block in re.findall(r"^ENV ((?:.*\\\n)*.*)$", dockerfile, re.M):
        for key, value in re.findall(r"(\w+)=(\S+)", block.replace("\\\n", " ")):
            found[key] = value
    return found


def wheel_glibc(dist_name: str) -> tuple[int, int] | None:
    """The oldest glibc any of the installed wheel's Linux tags accepts (None: pure Python)."""
    try:
        wheel = distribution(dist_name).read_text("WHEEL") or ""
    except PackageNotFoundError:
        return None
    versions = []
    for tag in re.findall(r"^Tag: \S+-\S+-(\S+)$", wheel, re.M):
        for platform in tag.split("."):
            if m := re.fullmatch(r"manylinux_(\d+)_(\d+)_x86_64", platform):
                versions.append((int(m[1]), int(m[2])))
            elif m := re.fullmatch(r"(manylinux1|manylinux2010|manylinux2014)_x86_64", platform):
                versions.append(MANYLINUX_LEGACY[m[1]])
    return min(versions) if versions else None


def runtime_closure(extras: list[str], others: list[str]) -> set[str]:
    """Installed distributions that `pip install .[extras] others` pulls in."""
    seen: set[str] = set()
    todo = [(Requirement(f"speech-api[{','.join(extras)}]"), None)]
    todo += [(Requirement(r), None) for r in others]
    while todo:
        req, _ = todo.pop()
        name = req.name.lower().replace("_", "-")
        try:
            dist = distribution(name)
        except PackageNotFoundError:
            continue
        key = f"{name}[{','.join(sorted(req.extras))}]"
        if key in seen:
            continue
        seen.add(key)
        for raw in dist.requires or []:
            sub = Requirement(raw)
            environments = [{"extra": e} for e in (req.extras or {""})]
            if sub.marker is None or any(sub.marker.evaluate(e) for e in environments):
                todo.append((sub, None))
    return {k.split("[")[0] for k in seen}


def test_the_lambda_image_runs_the_python_the_tests_run():
    image = base_image(LAMBDA)
    tag = f"{sys.version_info.major}.{sys.version_info.minor}"
    assert re.search(rf"python:{re.escape(tag)}(-|$)", image), (image, tag)


@pytest.mark.parametrize("engine", ["coqui", "piper"])
def test_every_installed_wheel_accepts_the_lambda_base_images_glibc(engine):
    image = base_image(LAMBDA)
    glibc = next((v for pattern, v in BASE_GLIBC.items() if re.search(pattern, image)), None)
    assert glibc, f"unknown base {image}: add its glibc to BASE_GLIBC"
    torch, extras, others = install_step(engine)
    closure = runtime_closure(extras, others + (["torch"] if torch else []))
    assert ("torch" in closure) == torch
    needs = {name: wheel_glibc(name) for name in closure}
    assert len(needs) > 20  # the closure was found (speech-api and its dependencies)
    too_new = {n: v for n, v in needs.items() if v and v > glibc}
    assert not too_new, f"{image} has glibc {glibc}; these wheels need more: {too_new}"


def test_the_lambda_image_speaks_the_runtime_api_and_has_a_writable_home():
    assert re.search(r'^ENTRYPOINT \["python", "-m", "awslambdaric"\]$', LAMBDA, re.M)
    lambda_extra = tomllib.loads((REPO / "pyproject.toml").read_text())["project"][
        "optional-dependencies"
    ]["lambda"]
    assert any(Requirement(r).name == "awslambdaric" for r in lambda_extra)
    for engine in ("coqui", "piper"):
        _, extras, _ = install_step(engine)
        assert "lambda" in extras, engine
    variables = env(LAMBDA)
    assert variables["HOME"] == "/tmp"  # Lambda's filesystem is read-only but /tmp
    assert variables["LAMBDA_TASK_ROOT"] == "/var/task"
    assert re.search(r"^WORKDIR \$\{LAMBDA_TASK_ROOT\}$", LAMBDA.rsplit("ENTRYPOINT", 1)[0], re.M)


def test_the_gpu_image_runs_as_root_for_sagemaker_and_has_the_ecs_user():
    # SageMaker starts `docker run IMAGE serve` as root: a USER would change that.
    assert not re.search(r"^USER ", GPU, re.M)
    assert re.search(r"useradd .*--uid 10001 ", GPU)
    assert re.search(r'^ENTRYPOINT \["speech-api"\]$', GPU, re.M)
    assert re.search(r'^CMD \["serve"\]$', GPU, re.M)
    variables = env(GPU)
    assert variables["PORT"] == "8080" and variables["HOST"] == "0.0.0.0"
    assert re.search(r"^EXPOSE 8080$", GPU, re.M)


PLATFORMS = {"x86_64": "linux/amd64", "arm64": "linux/arm64"}


@pytest.mark.parametrize("variant", ["none", "sagemaker", "ecs"])
def test_every_image_asset_is_built_for_the_architecture_that_runs_it(synthesized, variant):
    s = synthesized[variant]
    manifest = json.loads(next(s.outdir.glob("*.assets.json")).read_text())
    images = manifest["dockerImages"]
    assert images
    platform_of = {h: d["source"].get("platform") for h, d in images.items()}
    functions = [
        f["Properties"]
        for f in s.resources("AWS::Lambda::Function").values()
        if f["Properties"].get("PackageType") == "Image"
    ]
    assert functions
    for props in functions:
        asset = props["Code"]["ImageUri"]["Fn::Sub"].rsplit(":", 1)[1]
        arch = (props.get("Architectures") or ["x86_64"])[0]
        assert platform_of[asset] == PLATFORMS[arch], (props["ImageConfig"], platform_of[asset])
    # The GPU image (SageMaker, ECS) runs on x86_64 GPU instances.
    gpu = [d for d in images.values() if d["source"]["dockerFile"] == "Dockerfile.gpu"]
    assert len(gpu) == (variant != "none")
    assert all(d["source"]["platform"] == "linux/amd64" for d in gpu)


@pytest.mark.parametrize("variant", ["none", "sagemaker"])
def test_only_a_coqui_stacks_synthesizing_tts_function_gets_the_torch_build(synthesized, variant):
    s = synthesized[variant]
    manifest = json.loads(next(s.outdir.glob("*.assets.json")).read_text())
    engine = {
        h: d["source"]["dockerBuildArgs"]["TTS_ENGINE"]
        for h, d in manifest["dockerImages"].items()
        if d["source"]["dockerFile"] == "Dockerfile.lambda"
    }
    by_function = {}
    for logical, f in s.resources("AWS::Lambda::Function").items():
        if f["Properties"].get("PackageType") == "Image":
            asset = f["Properties"]["Code"]["ImageUri"]["Fn::Sub"].rsplit(":", 1)[1]
            by_function[re.match(r"[A-Z][a-z]+", logical)[0]] = engine[asset]
    # cdk.json deploys Coqui; a SageMaker stack's Tts only forwards to the endpoint.
    coqui_tts = "coqui" if variant == "none" else "piper"
    # Api runs no image at all (a zip function with the light layer). The Narrator synthesizes
    # speech job parts itself, with the stack's engine, in every variant (the GPU endpoint
    # serves /tts only).
    assert by_function == {"Stt": "piper", "Worker": "piper", "Tts": coqui_tts, "Narrator": "coqui"}


@pytest.mark.parametrize("dockerfile", [LAMBDA, GPU], ids=["lambda", "gpu"])
def test_both_images_install_the_locked_versions(dockerfile):
    installs = re.findall(r'pip install --no-cache-dir ([^;&]*?"\.\[[a-z,]+\]")', dockerfile)
    assert installs, "no install of the project's extras"
    for line in installs:
        assert "-c requirements.lock" in line, line
    assert re.search(r"^COPY .*requirements\.lock", dockerfile, re.M)
