"""The stack as deployed: assertions on the synthesized templates of every gpu_tts variant."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from infra.config import worker_ephemeral_mb
from speech_api.config import Settings
from speech_api.service.upload_limits import MAX_WORKER_ATTEMPTS, long_audio_limit_s
from tests.support.synth import VARIANTS, synth


def image_functions(s) -> dict[str, dict]:
    return {
        k: v["Properties"]
        for k, v in s.resources("AWS::Lambda::Function").items()
        if v["Properties"].get("PackageType") == "Image"
    }


def app_functions(s) -> dict[str, dict]:
    """The functions that run the app: from the image, and the zip Api function."""
    return {
        k: v["Properties"]
        for k, v in s.resources("AWS::Lambda::Function").items()
        if k.startswith(("Stt", "Api", "Worker", "Tts", "Narrator", "Callbacks"))
    }


def role_statements(s, function_prefix: str) -> list[dict]:
    role = s.function(function_prefix)["Role"]["Fn::GetAtt"][0]
    statements = []
    for policy in s.resources("AWS::IAM::Policy").values():
        if {"Ref": role} in policy["Properties"]["Roles"]:
            statements += policy["Properties"]["PolicyDocument"]["Statement"]
    return statements


def flat(value) -> str:
    return json.dumps(value)


def bucket_id(s) -> str:
    return next(k for k in s.resources("AWS::S3::Bucket") if k.startswith("Audio"))


@pytest.mark.parametrize("variant", VARIANTS)
def test_resource_counts(synthesized, variant):
    s = synthesized[variant]
    # Stt, Worker, Narrator and Tts from the image (ecs: TTS on the GPU), Api and Callbacks
    # from the zip package.
    expected_functions = {"none": 4, "sagemaker": 4, "ecs": 3}[variant]
    assert len(image_functions(s)) == expected_functions
    assert len(app_functions(s)) == expected_functions + 2
    s.template.resource_count_is("AWS::Lambda::LayerVersion", 1)
    s.template.resource_count_is("AWS::S3::Bucket", 2)  # audio + access logs
    # uploads, speech jobs, callbacks, and a dead-letter queue for each
    s.template.resource_count_is("AWS::SQS::Queue", 6)
    s.template.resource_count_is("AWS::ApiGateway::RestApi", 1)
    s.template.resource_count_is(
        "AWS::Lambda::EventSourceMapping", 3
    )  # worker, narrator, callbacks
    s.template.resource_count_is("AWS::SageMaker::Endpoint", int(variant == "sagemaker"))
    s.template.resource_count_is("AWS::ECS::Service", int(variant == "ecs"))
    s.template.resource_count_is("AWS::ApiGateway::VpcLink", int(variant == "ecs"))
    print(f"\n{variant}: {len(s.json['Resources'])} resources, synth {s.seconds:.1f}s")


@pytest.mark.parametrize("variant", VARIANTS)
def test_only_the_public_prefix_is_readable_by_anyone(synthesized, variant):
    s = synthesized[variant]
    policies = [p["Properties"] for p in s.resources("AWS::S3::BucketPolicy").values()]
    audio_policy = next(p for p in policies if p["Bucket"]["Ref"].startswith("Audio"))
    anonymous = [
        st
        for st in audio_policy["PolicyDocument"]["Statement"]
        if st["Effect"] == "Allow" and st.get("Principal") in ("*", {"AWS": "*"})
    ]
    assert len(anonymous) == 1
    assert anonymous[0]["Action"] == "s3:GetObject"
    resource = flat(anonymous[0]["Resource"])
    assert resource.endswith('"/public/*"]]}') or "/public/*" in resource
    assert "uploads" not in resource and "transcripts" not in resource
    # TLS is enforced and ACLs stay blocked; only a bucket policy can make anything public.
    assert any(
        st["Effect"] == "Deny" and "aws:SecureTransport" in flat(st)
        for st in audio_policy["PolicyDocument"]["Statement"]
    )
    audio = next(
        v["Properties"] for k, v in s.resources("AWS::S3::Bucket").items() if k.startswith("Audio")
    )
    assert audio["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "IgnorePublicAcls": True,
        "BlockPublicPolicy": False,
        "RestrictPublicBuckets": False,
    }
    assert audio["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert "LoggingConfiguration" in audio
    rules = {r["Id"]: r for r in audio["LifecycleConfiguration"]["Rules"]}
    assert rules["ExpireUploads"]["Prefix"] == "uploads/"


def test_uploads_notify_the_queue_and_the_worker_consumes_it(synthesized):
    s = synthesized["none"]
    notification = next(iter(s.resources("Custom::S3BucketNotifications").values()))
    queue_config = notification["Properties"]["NotificationConfiguration"]["QueueConfigurations"]
    # uploads/ here, texts/ for speech jobs (test_speech_jobs)
    (queue_config,) = [
        q
        for q in queue_config
        if q["Filter"]["Key"]["FilterRules"] == [{"Name": "prefix", "Value": "uploads/"}]
    ]
    assert queue_config["Events"] == ["s3:ObjectCreated:*"]
    assert flat(queue_config["QueueArn"]).startswith('{"Fn::GetAtt": ["Uploads')

    (mapping,) = [
        m["Properties"]
        for m in s.resources("AWS::Lambda::EventSourceMapping").values()
        if m["Properties"]["FunctionName"]["Ref"].startswith("WorkerFunction")
    ]
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    # One long recording per invocation (a batch would share one timeout), so no batching wait.
    assert mapping["BatchSize"] == 1 and mapping["ScalingConfig"]["MaximumConcurrency"] == 5
    assert "MaximumBatchingWindowInSeconds" not in mapping
    assert mapping["FunctionName"]["Ref"].startswith("WorkerFunction")

    queues = s.resources("AWS::SQS::Queue")
    uploads = next(v["Properties"] for k, v in queues.items() if k.startswith("Uploads4"))
    worker = s.function("WorkerFunction")
    # AWS's advice for SQS event sources: visibility >= 6x the function's timeout, and
    # maxReceiveCount >= 5. The worker gives up (and dead-letters the message itself) on the
    # delivery after MAX_WORKER_ATTEMPTS failed attempts, so SQS must still deliver that one.
    assert uploads["VisibilityTimeout"] >= 6 * worker["Timeout"]
    max_receives = uploads["RedrivePolicy"]["maxReceiveCount"]
    assert max_receives >= 5 and max_receives > MAX_WORKER_ATTEMPTS + 1
    dlq = next(k for k in queues if k.startswith("UploadsDeadLetter"))
    assert uploads["RedrivePolicy"]["deadLetterTargetArn"] == {"Fn::GetAtt": [dlq, "Arn"]}


def test_the_worker_is_sized_for_long_recordings(synthesized):
    s = synthesized["none"]
    worker = s.function("WorkerFunction")
    # Lambda's maximum timeout; CPU follows memory (1 vCPU per 1,769 MB) and LONG_AUDIO_RTF
    # was measured on 2 cores.
    assert worker["Timeout"] == 900
    assert worker["MemorySize"] >= 2 * 1769
    limit = long_audio_limit_s(900)
    env = worker["Environment"]["Variables"]
    assert env["LONG_AUDIO_MAX_SECONDS"] == str(limit)
    # /tmp: the largest upload, the 16 kHz int16 PCM of the longest recording, the model cache.
    largest_upload = Settings.model_fields["max_long_upload_bytes"].default  # 2 GiB
    needed_mb = (largest_upload + 32_000 * limit) / 2**20 + 512
    storage = worker["EphemeralStorage"]["Size"]
    assert needed_mb <= storage <= min(10_240, needed_mb + 512)
    assert storage == worker_ephemeral_mb(900)
    # The other functions keep 1 GB.
    others = [fn for k, fn in image_functions(s).items() if not k.startswith("WorkerFunction")]
    assert others and all(fn["EphemeralStorage"]["Size"] == 1024 for fn in others)
    for fn in others:
        assert "LONG_AUDIO_MAX_SECONDS" not in fn["Environment"]["Variables"]
        assert "UPLOADS_DEAD_LETTER_URL" not in fn["Environment"]["Variables"]

    # The worker moves a file's message to the dead-letter queue itself after its last attempt.
    dlq = next(k for k in s.resources("AWS::SQS::Queue") if k.startswith("UploadsDeadLetter"))
    assert env["UPLOADS_DEAD_LETTER_URL"] == {"Ref": dlq}
    sends = [
        st
        for st in role_statements(s, "WorkerFunction")
        if "sqs:SendMessage" in (st["Action"] if isinstance(st["Action"], list) else [st["Action"]])
    ]
    # ... and hands callbacks to their queue (and may send nowhere else).
    callbacks = env["CALLBACK_QUEUE_URL"]["Ref"]
    resources = [
        r
        for st in sends
        for r in (st["Resource"] if isinstance(st["Resource"], list) else [st["Resource"]])
    ]
    assert sorted(map(json.dumps, resources)) == sorted(
        json.dumps({"Fn::GetAtt": [q, "Arn"]}) for q in (dlq, callbacks)
    )
    uploads = next(k for k in s.resources("AWS::SQS::Queue") if k.startswith("Uploads4"))
    assert not any(flat({"Fn::GetAtt": [uploads, "Arn"]}) in flat(st) for st in sends)


def test_worker_sizing_follows_the_context(tmp_path):
    from infra.config import DeployConfig

    assert DeployConfig(worker_timeout_s=300).worker_storage_mb == worker_ephemeral_mb(300)
    assert DeployConfig(worker_ephemeral_mb=4096).worker_storage_mb == 4096
    with pytest.raises(ValueError, match="worker_timeout_s must be 1 to 900"):
        synth(tmp_path, worker_timeout_s=901)
    # A timeout that leaves no time to transcribe fails here, not at the first upload.
    with pytest.raises(ValueError, match="worker_timeout_s=60 leaves the upload worker no time"):
        synth(tmp_path, worker_timeout_s=60)


@pytest.mark.parametrize("variant", VARIANTS)
def test_functions_are_sized_and_commanded_separately(synthesized, variant):
    s = synthesized[variant]
    stt = s.function("SttFunction")
    # Behind STREAM integrations: the streaming runtime and handler.
    assert stt["ImageConfig"] == {
        "EntryPoint": ["python", "-m", "speech_api.runtime.lambda_stream"],
        "Command": ["handlers.api.stream_handler"],
    }
    assert stt["MemorySize"] == 3008 and stt["Timeout"] == 29
    api = s.function("ApiFunction")
    assert api["MemorySize"] == 512 and api["Timeout"] == 10
    # The light routes: a zip function on Python 3.11 with the light layer, not an image.
    assert "PackageType" not in api and "ImageConfig" not in api
    assert api["Runtime"] == "python3.11" and api["Handler"] == "handlers.api.handler"
    (layer,) = api["Layers"]
    assert layer["Ref"] in s.resources("AWS::Lambda::LayerVersion")
    assert api["Environment"]["Variables"]["EMBEDDED_S3"] == "false"
    worker = s.function("WorkerFunction")
    assert worker["ImageConfig"]["Command"] == ["handlers.transcribe_upload.handler"]
    assert worker["Timeout"] == 900
    for fn in app_functions(s).values():
        env = fn["Environment"]["Variables"]
        assert env["PUBLIC_PREFIX"] == "public/" and env["UPLOADS_PREFIX"] == "uploads/"
        assert "Ref" in env["S3_BUCKET"]
        assert fn["TracingConfig"]["Mode"] == "Active"
    # Stt and Worker share the light build; only a synthesizing Coqui Tts (cdk.json's
    # engine, gpu_tts=none) has its own, with torch.
    light = {flat(s.function(n)["Code"]) for n in ("SttFunction", "WorkerFunction")}
    assert len(light) == 1
    if variant != "ecs":
        tts_code = flat(s.function("TtsFunction")["Code"])
        assert (tts_code in light) == (variant == "sagemaker")
    if variant == "sagemaker":
        tts = s.function("TtsFunction")
        assert "Fn::GetAtt" in tts["Environment"]["Variables"]["TTS_SAGEMAKER_ENDPOINT"]


@pytest.mark.parametrize("variant", VARIANTS)
def test_api_routes_binary_types_and_keys(synthesized, variant):
    s = synthesized[variant]
    api = next(iter(s.resources("AWS::ApiGateway::RestApi").values()))["Properties"]
    assert "audio/*" in api["BinaryMediaTypes"]
    assert "multipart/form-data" in api["BinaryMediaTypes"]
    paths = {
        v["Properties"]["PathPart"]: k for k, v in s.resources("AWS::ApiGateway::Resource").items()
    }
    assert {"health", "stt", "tts", "uploads", "transcripts", "{id+}"} <= set(paths)
    methods = {}
    for m in s.resources("AWS::ApiGateway::Method").values():
        p = m["Properties"]
        if p["HttpMethod"] != "OPTIONS" and "Ref" in p["ResourceId"]:  # not the root's
            methods[p["ResourceId"]["Ref"]] = p
    assert methods[paths["stt"]]["ApiKeyRequired"] is True
    assert methods[paths["tts"]]["ApiKeyRequired"] is True
    assert not methods[paths["health"]].get("ApiKeyRequired", False)
    assert "RequestValidatorId" in methods[paths["tts"]]
    tts_integration = methods[paths["tts"]]["Integration"]
    if variant == "ecs":
        assert tts_integration["ConnectionType"] == "VPC_LINK"
    else:
        assert tts_integration["Type"] == "AWS_PROXY"
    s.template.resource_count_is("AWS::ApiGateway::UsagePlan", 1)
    stage = next(iter(s.resources("AWS::ApiGateway::Stage").values()))["Properties"]
    assert "AccessLogSetting" in stage and stage["TracingEnabled"] is True


def test_api_keys_can_be_turned_off(tmp_path):
    s = synth(tmp_path, api_keys=False)
    s.template.resource_count_is("AWS::ApiGateway::UsagePlan", 0)
    for m in s.resources("AWS::ApiGateway::Method").values():
        assert not m["Properties"].get("ApiKeyRequired", False)


def test_tts_engine_is_baked_into_the_image_and_checked_at_synth(tmp_path):
    synth(tmp_path / "piper", tts_engine="piper")
    manifest = json.loads((tmp_path / "piper" / "SpeechApi.assets.json").read_text())
    lambda_images = [
        image["source"]
        for image in manifest["dockerImages"].values()
        if image["source"]["dockerFile"] == "Dockerfile.lambda"
    ]
    assert lambda_images and all(
        i["dockerBuildArgs"]["TTS_ENGINE"] == "piper" for i in lambda_images
    )
    with pytest.raises(ValueError, match="tts_engine must be coqui or piper, not 'espeak'"):
        synth(tmp_path / "espeak", tts_engine="espeak")


@pytest.mark.parametrize("variant", VARIANTS)
def test_least_privilege(synthesized, variant):
    s = synthesized[variant]
    for policy in s.resources("AWS::IAM::Policy").values():
        for st in policy["Properties"]["PolicyDocument"]["Statement"]:
            actions = st["Action"] if isinstance(st["Action"], list) else [st["Action"]]
            assert "s3:*" not in actions and "*" not in actions
            if any(a.startswith("s3:") for a in actions):
                assert st["Resource"] != "*"
    # STT receives audio in the request: no S3 access at all.
    assert not any("s3:" in flat(st) for st in role_statements(s, "SttFunction"))
    worker = flat(role_statements(s, "WorkerFunction"))
    assert "/uploads/*" in worker and "/transcripts/*" in worker and "/public/" not in worker
    api = flat(role_statements(s, "ApiFunction"))
    assert "/public/" not in api
    if variant == "none":
        tts = [st for st in role_statements(s, "TtsFunction") if "s3:" in flat(st)]
        objects = [st for st in tts if st["Action"] != "s3:ListBucket"]
        assert len(objects) == 1 and "/public/tts/*" in flat(objects[0]["Resource"])
        # ListBucket on the bucket itself (so a cache miss is 404, not 403), nothing more.
        (listing,) = [st for st in tts if st["Action"] == "s3:ListBucket"]
        assert listing["Resource"] == {"Fn::GetAtt": [bucket_id(s), "Arn"]}
        assert "Condition" not in listing
    if variant == "sagemaker":
        tts = flat(role_statements(s, "TtsFunction"))
        assert "sagemaker:InvokeEndpoint" in tts and "s3:" not in tts


def test_cdk_nag_is_enforced(tmp_path):
    """A finding that is neither fixed nor acknowledged fails synthesis."""
    import aws_cdk as cdk
    from aws_cdk import aws_s3 as s3

    from infra.app import build_app
    from tests.support.synth import cdk_json_context

    app = cdk.App(context=cdk_json_context(), outdir=str(tmp_path))
    build_app(app)
    stack = next(c for c in app.node.children if isinstance(c, cdk.Stack))
    s3.Bucket(stack, "Careless")  # no TLS enforcement, no access logs
    with pytest.raises(Exception, match="AwsSolutions-S"):
        app.synth()


@pytest.mark.parametrize("variant", VARIANTS)
def test_cfn_lint_finds_no_errors(synthesized, variant):
    s = synthesized[variant]
    # W3005 (redundant DependsOn) is CDK-generated noise.
    result = subprocess.run(
        [
            str(Path(sys.executable).parent / "cfn-lint"),
            "--ignore-checks",
            "W3005",
            "--",
            str(s.template_path),
        ],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_cloudfront_option_sets_the_public_base_url(tmp_path):
    s = synth(tmp_path, cloudfront=True)
    s.template.resource_count_is("AWS::CloudFront::Distribution", 1)
    for fn in image_functions(s).values():
        assert "PUBLIC_BASE_URL" in fn["Environment"]["Variables"]
