"""How the stack is put together: capability constructs that keep the logical IDs of the
single-class stack (so an update does not replace buckets, queues, keys), the GPU type looked
at in one place, no CDK warnings, and what each function is told about model preloading."""

from __future__ import annotations

import re

import aws_cdk as cdk
import pytest
from aws_cdk import aws_sqs as sqs
from aws_cdk.assertions import Annotations, Match
from constructs import Construct

from infra.layout import REPO_ROOT
from infra.stack import make_unique_id
from tests.infrastructure.gateway import Gateway
from tests.support.synth import VARIANTS, synth

# Logical IDs from before the split into constructs (resources CloudFormation must not replace).
KEPT = {
    "none": [
        "AccessLogs8B620ECA",
        "Audio9AB18887",
        "AudioPolicyBAD47B1F",
        "Uploads4F6EB0FD",
        "UploadsDeadLetter51406D98",
        "ApiF70053CD",
        "ApiDefaultKeyED7372C3",
        "ApiUsagePlanDBBE8AB1",
        # CDK names these after other constructs' unique IDs; a new SQS mapping or usage-plan
        # key for the same pair would conflict with the old one during the update.
        "ApiUsagePlanUsagePlanKeyResourceSpeechApiDefaultKey02F79904DC792378",
        "WorkerFunctionSqsEventSourceSpeechApiUploads7A2DE04D50806BA2",
        "SttFunction83C43B33",
        "TtsFunction2AF8591E",
        "ApiFunctionCE271BD4",
        "WorkerFunctionACE6A4B0",
        "ApiAccessLogsE9DF007D",
        "SttLogs98CF3908",
    ],
    "sagemaker": ["GpuTtsEndpoint6D3216D6", "GpuTtsEndpointConfig8225709F", "GpuTtsModelBC4D9918"],
    "ecs": [
        "GpuTtsCluster70210F1E",
        "GpuTtsNlb2AD99817",
        "GpuTtsService29133115",
        "GpuTtsVpc3AE925A5",
        "GpuTtsVpcLink5380AB55",
    ],
}


@pytest.mark.parametrize("variant", VARIANTS)
def test_resources_keep_their_logical_ids(synthesized, variant):
    resources = synthesized[variant].json["Resources"]
    missing = [k for k in KEPT[variant] if k not in resources]
    assert not missing


def test_make_unique_id_is_cdks_algorithm():
    app = cdk.App()
    stack = cdk.Stack(app, "SpeechApi")
    paths = [
        ["Uploads"],
        ["Storage", "Audio"],
        ["GpuTts", "Tts"],  # CDK drops a component the previous one ends with
        ["Api", "Api", "Default", "health"],
        ["Functions", "SttFunction", "Resource", "Inner"],
        ["A-b_c.d", "Resource"],
        ["X" * 200, "Y" * 100],
    ]
    for path in paths:
        scope: Construct = stack
        for part in path:
            scope = Construct(scope, part)
        queue = sqs.CfnQueue(scope, "Q")
        assert stack.get_logical_id(queue) == make_unique_id([*path, "Q"]), path


def test_the_gpu_type_is_looked_at_in_one_place():
    sources = {p: p.read_text() for p in (REPO_ROOT / "infra").rglob("*.py")}
    uses = [(p.name, line) for p, text in sources.items() for line in text.splitlines()
            if re.search(r"\.gpu_tts\b", line)]  # fmt: skip
    assert uses == [("stack.py", "        self.tts = TTS_BACKENDS[config.gpu_tts](")], uses
    for p, text in sources.items():
        assert not re.search(r"isinstance\([^)]*(Ecs|SageMaker|LambdaTts)", text), p


def test_tts_backends_return_what_the_stack_wires_rather_than_adding_functions():
    """A backend says which Tts function it wants (or none); Functions creates it with the
    others, so no call order in the stack decides whether monitoring or routes see it."""
    backends = sorted((REPO_ROOT / "infra" / "constructs" / "tts").glob("*.py"))
    assert len(backends) >= 4, backends
    for p in backends:
        assert "Functions" not in p.read_text(), p.name


@pytest.mark.parametrize("variant", VARIANTS)
def test_synth_leaves_no_cdk_warning(synthesized, variant):
    warnings = Annotations.from_stack(synthesized[variant].stack).find_warning(
        "*", Match.any_value()
    )
    assert not warnings, warnings


@pytest.mark.parametrize("variant", VARIANTS)
def test_functions_are_told_which_models_to_preload(synthesized, variant):
    """The app loads PRELOAD_MODELS during init when Lambda initializes an instance for
    provisioned concurrency; the same image serves every function, hence the variable."""
    s = synthesized[variant]
    preload = {
        name: s.function(f"{name}Function")["Environment"]["Variables"].get("PRELOAD_MODELS")
        for name in ("Stt", "Api", "Worker")
    }
    # Api serves no model: its /ready checks none. The worker has no /ready and no init load.
    assert preload == {"Stt": "stt", "Api": "none", "Worker": None}
    if variant != "ecs":
        tts = s.function("TtsFunction")["Environment"]["Variables"]
        # SageMaker's TTS Lambda serves speech by forwarding: its /ready reports the endpoint.
        assert tts.get("PRELOAD_MODELS") == "tts"


def test_provisioned_concurrency_serves_stt_and_speech_from_warm_aliases(tmp_path):
    s = synth(tmp_path, provisioned_concurrency=2)
    aliases = {
        v["Properties"]["FunctionName"]["Ref"]: (k, v["Properties"])
        for k, v in s.resources("AWS::Lambda::Alias").items()
    }
    stt, tts = s.function_id("SttFunction"), s.function_id("TtsFunction")
    assert set(aliases) == {stt, tts}
    for _, props in aliases.values():
        assert props["Name"] == "live"
        assert props["ProvisionedConcurrencyConfig"] == {"ProvisionedConcurrentExecutions": 2}
    gateway = Gateway(s.json)
    for path, fn in [("/stt", stt), ("/v1/audio/transcriptions", stt), ("/tts", tts),
                     ("/v1/audio/speech", tts)]:  # fmt: skip
        uri = str(gateway.resolve("POST", path).method["Integration"]["Uri"])
        assert aliases[fn][0] in uri, path
