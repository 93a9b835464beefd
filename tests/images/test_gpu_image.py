"""The GPU image on the CPU, as its two platforms start it: SageMaker runs `docker run IMAGE
serve` as root and talks to port 8080 (GET /ping, POST /invocations); ECS runs the default
command as the task's user (uid 10001) and health-checks /health."""

from __future__ import annotations

import json
import time

import httpx
import pytest

from devkit.images import GPU_IMAGE
from devkit.images.run import (
    ECS_UID,
    compressed_size,
    image_config,
    image_size,
    mounted,
    start_in_image,
)
from devkit.server import free_port
from tests.support.built_images import gpu_image_built
from tests.support.s3 import s3_env

pytestmark = pytest.mark.skipif(not gpu_image_built(), reason="no GPU image built (make image)")


def wait_ready(url: str, proc, timeout_s: float = 180) -> float:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.popen.poll() is not None:
            pytest.fail(f"the container exited: {proc.stop()[-3000:]}")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return time.monotonic() - proc.started
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    pytest.fail(f"{url} never answered: {proc.stop()[-3000:]}")


def container_env(default_settings, port: int) -> dict[str, str]:
    """The image's ENV, what the stack's gpu_env gives it (S3 bucket, region), an S3
    endpoint for the emulator, and the port (8080 inside a container; free here, since the
    network is shared)."""
    cfg = image_config(GPU_IMAGE)
    return {
        **cfg.env,
        **s3_env(default_settings.s3.endpoint_url),
        "AWS_REGION": "us-east-1",
        "PORT": str(port),
    }


def test_sagemaker_serve_as_root_answers_ping_and_an_invocation(default_settings, figures):
    cfg = image_config(GPU_IMAGE)
    port = free_port()
    with mounted(GPU_IMAGE) as root:
        proc = start_in_image(
            root,
            [*cfg.entrypoint, "serve"],  # SageMaker: docker run IMAGE serve
            container_env(default_settings, port),
            uid=0,
            workdir=cfg.workdir,
            read_only=False,
            tmp_mb=None,
        )
        try:
            base = f"http://127.0.0.1:{port}"
            ready_s = wait_ready(f"{base}/ping", proc)
            sent = time.monotonic()
            r = httpx.post(
                f"{base}/invocations",
                json={"text": "Hello from the GPU image."},
                headers={"Content-Type": "application/json"},
                timeout=120,
            )
            first_s = time.monotonic() - sent
            assert r.status_code == 200, r.text
            body = r.json()
            audio = httpx.get(body["url"])  # stored under public/, served anonymously
            assert audio.status_code == 200 and audio.headers["content-type"] == "audio/mpeg"
            figures["GPU image, SageMaker serve (CPU)"] = {
                "cold_s": ready_s,
                "warm_s": first_s,
                "peak_rss": proc.status("VmHWM") * 1024,
            }
        finally:
            proc.stop()
        size = image_size(root)
    figures[f"image {GPU_IMAGE}"] = {"uncompressed": size, "compressed": None}


def test_ecs_default_command_as_uid_10001_answers_health(default_settings, figures, tmp_path):
    cfg = image_config(GPU_IMAGE)
    assert cfg.entrypoint == ["speech-api"] and cfg.cmd == ["serve"]
    port = free_port()
    with mounted(GPU_IMAGE) as root:
        proc = start_in_image(
            root,
            [*cfg.entrypoint, *cfg.cmd],
            container_env(default_settings, port),
            uid=ECS_UID,
            workdir=cfg.workdir,
            read_only=False,
            tmp_mb=None,
        )
        try:
            ready_s = wait_ready(f"http://127.0.0.1:{port}/health", proc)
            health = httpx.get(f"http://127.0.0.1:{port}/health").json()
            assert health["status"] == "ok" and health["tts_engine"] == "coqui", health
            figures["GPU image, ECS default command"] = {
                "cold_s": ready_s,
                "peak_rss": proc.status("VmHWM") * 1024,
            }
        finally:
            log = proc.stop()
        assert "Permission denied" not in log, log[-2000:]
    figures[f"image {GPU_IMAGE}"]["compressed"] = compressed_size(GPU_IMAGE, tmp_path)
    json.dumps(figures)  # the figures file stays writable
