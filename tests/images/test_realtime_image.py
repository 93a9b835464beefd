"""The live transcription service's image (the functions' light build) run as its ECS task
definition runs it: the template's entry point, command, user and environment, a read-only
root with /tmp writable, API Gateway and CloudWatch on a local emulator; then a session
against it: the REST API's key opens it (another key is refused), a dev clip streamed as 24 kHz
PCM comes back as its transcript, and the session count reaches the metric."""

from __future__ import annotations

import json
import socket
import time

import boto3
import httpx
import pytest
from moto.server import ThreadedMotoServer
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from devkit.clips import clip
from devkit.images import lambda_image
from devkit.images.base import image_exists
from devkit.images.run import image_config, mounted, start_in_image
from devkit.wer import corpus_wer
from infra.constructs.functions import LIGHT_IMAGE_ENGINE
from speech_api.realtime.metrics import DIMENSION, METRIC
from tests.support.realtime import clip_audio, configure, receive_until, send, stream
from tests.support.synth import synth

IMAGE = lambda_image(LIGHT_IMAGE_ENGINE)
pytestmark = pytest.mark.skipif(not image_exists(IMAGE), reason=f"{IMAGE} not built (make image)")
CLIP = clip("lj_LJ001-0006.mp3")
KEY = "realtime-image-test-key-0001"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def aws():
    """API Gateway (the REST API's usage plan and one key) and CloudWatch, emulated."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    client = boto3.client(
        "apigateway", region_name="us-east-1", endpoint_url=endpoint,
        aws_access_key_id="test", aws_secret_access_key="test",
    )  # fmt: skip
    api = client.create_rest_api(name="speech-api")
    plan = client.create_usage_plan(
        name="speech-api", apiStages=[{"apiId": api["id"], "stage": "prod"}]
    )
    key = client.create_api_key(name="default", value=KEY, enabled=True)
    client.create_usage_plan_key(usagePlanId=plan["id"], keyId=key["id"], keyType="API_KEY")
    yield endpoint, plan["id"]
    server.stop()


def task_definition(tmp_path) -> dict:
    s = synth(tmp_path, realtime=True, api_keys=True)
    (task,) = s.resources("AWS::ECS::TaskDefinition").values()
    (container,) = task["Properties"]["ContainerDefinitions"]
    return container


def test_the_task_serves_a_session_with_the_rest_apis_key(tmp_path, aws, figures):
    endpoint, plan_id = aws
    container = task_definition(tmp_path)
    template_env = {}
    for item in container["Environment"]:
        value = item["Value"]
        if isinstance(value, dict):  # CloudFormation references
            ref = json.dumps(value)
            value = plan_id if "UsagePlan" in ref else "us-east-1" if "Region" in ref else None
            assert value is not None, ref
        template_env[item["Name"]] = value
    port = free_port()
    cfg = image_config(IMAGE)
    env = {
        **cfg.env,
        **template_env,
        "PORT": str(port),  # 8080 in the task's own network; any free port here
        # The task role's credentials, and the emulator for the two services it calls.
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_ENDPOINT_URL_API_GATEWAY": endpoint,
        "AWS_ENDPOINT_URL_CLOUDWATCH": endpoint,
    }
    with mounted(IMAGE) as root:
        proc = start_in_image(
            root,
            [*container["EntryPoint"], *container["Command"]],
            env,
            uid=int(container["User"]),
            workdir=cfg.workdir,
            read_only=container["ReadonlyRootFilesystem"],
            tmp_mb=None,
        )
        try:
            base = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 240
            while time.monotonic() < deadline:
                assert proc.popen.poll() is None, proc.stop()[-3000:]
                try:
                    if httpx.get(f"{base}/health", timeout=2).status_code == 200:
                        break
                except httpx.TransportError:
                    time.sleep(0.3)
            ready_s = time.monotonic() - proc.started
            url = f"ws://127.0.0.1:{port}/v1/realtime?intent=transcription"
            with pytest.raises(InvalidStatus) as refused:
                connect(url, additional_headers={"Authorization": "Bearer not-a-key"})
            assert refused.value.response.status_code == 401
            started = time.monotonic()
            with connect(
                url, additional_headers={"Authorization": f"Bearer {KEY}"}, max_size=None
            ) as ws:
                assert json.loads(ws.recv(timeout=60))["type"] == "session.created"
                configure(ws, transcription={"language": "en"})
                stream(ws, clip_audio(CLIP), pace=0)
                send(ws, "input_audio_buffer.commit")
                events = receive_until(ws, "conversation.item.input_audio_transcription.completed")
                first_s = time.monotonic() - started
                time.sleep(35)  # one metric interval, with the session open
            assert corpus_wer([CLIP.text], [events[-1]["transcript"]]) <= 0.2
            cloudwatch = boto3.client(
                "cloudwatch", region_name="us-east-1", endpoint_url=endpoint,
                aws_access_key_id="test", aws_secret_access_key="test",
            )  # fmt: skip
            listed = cloudwatch.list_metrics(Namespace=env["REALTIME_METRICS_NAMESPACE"])
            (metric,) = listed["Metrics"]
            assert metric["MetricName"] == METRIC
            assert metric["Dimensions"] == [
                {"Name": DIMENSION, "Value": template_env["REALTIME_METRICS_SERVICE"]}
            ]
            figures["realtime (ECS task, light image)"] = {
                "cold_s": ready_s,
                "warm_s": first_s,
                "peak_rss": proc.status("VmHWM") * 1024,
            }
        finally:
            log = proc.stop()
        assert "Permission denied" not in log and "Read-only file system" not in log, log[-3000:]
