"""Shared fixtures, each named for what it gives: the test S3 (moto's server) and settings
for it; `api`, `tiny_api`, `coqui_api` (in-process clients of apps with real engines);
`live_url`, `live_api` and `keyed_url` (the app on a real Uvicorn server). What the fixtures
are made of lives in tests/support and devkit/."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator

import httpx
import pytest
from fastapi.testclient import TestClient

from devkit.coqui_model import CoquiModelFiles, build_random_tacotron2_ddc
from speech_api.api import create_app
from speech_api.config import S3Settings, Settings, STTSettings, TTSSettings
from speech_api.runtime.embedded.s3 import EMBEDDED_CREDENTIALS, prepare_bucket, start_embedded_s3
from speech_api.storage import ObjectStorage
from tests.support.aws_calls import Recorder, load_contract
from tests.support.live_server import API_KEY, LiveServer
from tests.support.s3 import TEST_BUCKET

_AWS_CALLS = Recorder()


def pytest_configure(config):
    import boto3

    # Before any client exists: every boto3 client the service creates reports its calls.
    _AWS_CALLS.install(boto3._get_default_session())


@pytest.hookimpl(optionalhook=True)  # xdist's hooks: absent when it is not loaded
def pytest_xdist_make_scheduler(config, log):
    """A test module per worker at a time (its module-scoped servers stay in one process), and
    the infrastructure suite on one worker whole: its session fixtures synthesize the CDK app
    (about 25 s of CPU per worker that needs them)."""
    from xdist.scheduler import LoadScopeScheduling

    class ModuleScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            path = nodeid.split("::", 1)[0]
            return "tests/infrastructure" if path.startswith("tests/infrastructure/") else path

    return ModuleScheduling(config, log)


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node, error):
    """`make test` runs on xdist workers: each hands its recorded calls to the controller,
    which checks them all (a worker's own exit status would not fail the run)."""
    for call in json.loads(getattr(node, "workeroutput", {}).get("aws_calls", "[]")):
        _AWS_CALLS.calls.add(tuple(call))


def pytest_sessionfinish(session, exitstatus):
    """Every AWS call the service made must be in the IAM contract, which the infrastructure
    suite checks against each function's role."""
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:  # an xdist worker: the controller checks
        workeroutput["aws_calls"] = json.dumps(list(_AWS_CALLS.calls))
        return
    made = _AWS_CALLS.as_contract()
    if not made:
        return
    # A call that met a 404 the code relied on needs more (s3:ListBucket) than one that
    # did not: the contract entry must say so; an entry that says so covers both.
    allowed = {
        (c["function"], c["service"], c["operation"], c["prefix"]): c["relies_on_not_found"]
        for c in load_contract()
    }
    missing = []
    for c in made:
        key = (c["function"], c["service"], c["operation"], c["prefix"])
        if key not in allowed or (c["relies_on_not_found"] and not allowed[key]):
            missing.append(c)
    if missing:
        session.exitstatus = 1
        print(
            "\nAWS calls missing from tests/contracts/aws_calls.json (add them; the "
            "infrastructure suite then checks that each function's role allows them):\n"
            + json.dumps(missing, indent=2)
        )


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    server = start_embedded_s3()
    yield server.endpoint_url
    server.stop()


@pytest.fixture(scope="session")
def model_cache_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("model-cache")


@pytest.fixture(scope="session")
def make_settings(s3_endpoint, model_cache_dir) -> Callable[..., Settings]:
    """Settings pointing at the test S3 server; keyword groups override fields."""

    def make(
        *, stt: dict | None = None, tts: dict | None = None, s3: dict | None = None, **top
    ) -> Settings:
        return Settings(
            _env_file=None,
            aws_region="us-east-1",
            public_prefix="public/",
            model_cache_dir=model_cache_dir,
            stt=STTSettings(**(stt or {})),
            tts=TTSSettings(**(tts or {})),
            s3=S3Settings(
                **{
                    "bucket": TEST_BUCKET,
                    "endpoint_url": s3_endpoint,
                    **EMBEDDED_CREDENTIALS,
                    **(s3 or {}),
                }
            ),
            **top,
        )

    prepare_bucket(make())
    return make


@pytest.fixture(scope="session")
def default_settings(make_settings) -> Settings:
    """What `make serve` runs: Whisper base, Piper joe-medium."""
    return make_settings()


@pytest.fixture(scope="session")
def api(default_settings) -> Iterator[TestClient]:
    """An in-process client of the default app (an httpx client over ASGI)."""
    with TestClient(create_app(default_settings)) as c:
        yield c


@pytest.fixture(scope="session")
def tiny_api(make_settings) -> Iterator[TestClient]:
    with TestClient(create_app(make_settings(stt={"model": "tiny.en"}))) as c:
        yield c


@pytest.fixture(scope="session")
def storage(default_settings) -> ObjectStorage:
    return ObjectStorage(default_settings)


@pytest.fixture(scope="session")
def coqui_model(tmp_path_factory) -> CoquiModelFiles:
    return build_random_tacotron2_ddc(tmp_path_factory.mktemp("coqui-model"))


@pytest.fixture(scope="session")
def coqui_api(make_settings, coqui_model) -> Iterator[TestClient]:
    settings = make_settings(
        tts={
            "engine": "coqui",
            "coqui_model_path": coqui_model.model_path,
            "coqui_config_path": coqui_model.config_path,
            "coqui_vocoder_path": coqui_model.vocoder_path,
            "coqui_vocoder_config_path": coqui_model.vocoder_config_path,
            "coqui_max_decoder_steps": 300,
        }
    )
    with TestClient(create_app(settings)) as c:
        yield c


@pytest.fixture
def process_settings(make_settings):
    """Start the Lambda handlers' composition root over with test settings (as a new
    container reads its environment), and with the environment's again afterwards."""
    from speech_api.runtime import aws_lambda

    def install(settings: Settings | None = None) -> Settings:
        settings = settings or make_settings()
        aws_lambda.configure(settings)
        return settings

    yield install
    aws_lambda.configure()


@pytest.fixture(scope="session")
def live_url(default_settings) -> Iterator[str]:
    """A real Uvicorn server (real sockets, chunked bodies) running the default app."""
    with LiveServer(create_app(default_settings)) as server:
        yield server.base_url


@pytest.fixture
def live_api(live_url) -> Iterator[httpx.Client]:
    """A client of `live_url`."""
    with httpx.Client(base_url=live_url, timeout=120) as c:
        yield c


@pytest.fixture(scope="session")
def keyed_url(make_settings) -> Iterator[str]:
    """A real Uvicorn server whose app wants API_KEY, with tiny.en beside the default model."""
    settings = make_settings(api_key=API_KEY, stt={"extra_models": "tiny.en"})
    with LiveServer(create_app(settings)) as server:
        yield server.base_url
