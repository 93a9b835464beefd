"""The hostile review's server: `speech-api serve` as `make serve` runs it (embedded S3, upload
worker), with tiny.en, shared by every review module; after each case it must still answer
/health and must have logged no traceback. The Lambda and worker cases run the handlers in
this process, configured once per module."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from devkit.server import ServerProcess, free_port, speech_api_serve
from speech_api.config import Settings
from tests.support.lambda_settings import lambda_configured

FAILED = ("Traceback", "unhandled error")


@pytest.fixture(scope="package")
def review_server(tmp_path_factory, model_cache_dir) -> Iterator[ServerProcess]:
    work = tmp_path_factory.mktemp("review")
    server = speech_api_serve(
        work,
        health="/ready",  # the models loaded before the first case
        STT_MODEL="tiny.en",
        LOG_LEVEL="warning",
        DATA_DIR=str(work / "data"),
        EMBEDDED_S3_PORT=str(free_port()),
        MODEL_CACHE_DIR=str(model_cache_dir),
    )
    with server:
        yield server
    log = server.output()
    assert not any(f in log for f in FAILED), log[-3000:]


@pytest.fixture
def review_api(review_server) -> Iterator[httpx.Client]:
    """A client of the review's server, which must keep serving: after the case, /health
    answers and nothing failed unhandled."""
    logged = len(review_server.output())
    with httpx.Client(base_url=review_server.base_url, timeout=120) as client:
        yield client
    assert httpx.get(f"{review_server.base_url}/health", timeout=10).status_code == 200
    log = review_server.output()[logged:]
    assert not any(f in log for f in FAILED), log[-3000:]


@pytest.fixture(scope="module")
def tiny_lambda(make_settings) -> Iterator[Settings]:
    """The Lambda handlers configured with tiny.en on the test S3, for a whole module."""
    with lambda_configured(make_settings(stt={"model": "tiny.en"})) as settings:
        yield settings
