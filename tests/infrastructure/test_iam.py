"""Every S3 call the deployed code makes is allowed by its role, including the calls whose
"missing" answer matters (404 needs s3:ListBucket, or S3 says 403), and nothing beyond the
prefixes each role works in."""

from __future__ import annotations

import pytest

from tests.infrastructure.iam import Permission, Template, s3
from tests.support.aws_calls import load_contract
from tests.support.synth import VARIANTS

H = "5f0c8e2a" * 8  # a TTS cache key's hash


def calls(bucket: str) -> dict[str, list]:
    """The S3 calls each function's code makes, as recorded while the integration suite runs
    (tests/support/aws_calls.py writes what it saw to tests/contracts/aws_calls.json and fails
    the run when the code makes a call the contract lacks). relies_on_not_found: the code
    read "missing" as an answer, not an error."""
    found: dict[str, list] = {"Stt": [], "Tts": [], "GpuTts": [], "Worker": [], "Api": []}
    for c in load_contract():
        if c["service"] != "s3":
            continue  # sagemaker:InvokeEndpoint: see test_stack's least-privilege test
        where = {"key": f"{c['prefix']}x"}
        if c["operation"].startswith("ListObjects"):
            where = {"prefix": f"{c['prefix']}x"}
        call = s3(
            c["operation"], bucket=bucket, relies_on_not_found=c["relies_on_not_found"], **where
        )
        # The GPU endpoint (SageMaker model or ECS task) runs the same app: TTS's calls.
        for caller in ("Tts", "GpuTts") if c["function"] == "Tts" else (c["function"],):
            found[caller].append(call)
    return found


def test_the_contract_covers_every_function_that_touches_s3():
    recorded = calls("Bucket")
    assert all(recorded[f] for f in ("Tts", "Worker", "Api")), recorded
    assert any(call.relies_on_not_found for call in recorded["Tts"])
    assert any(call.relies_on_not_found for call in recorded["Worker"])
    assert any(call.relies_on_not_found for call in recorded["Api"])


# Object access each role must NOT have (its code never needs it).
FORBIDDEN = {
    "Stt": [("GetObject", "public/tts/x.mp3"), ("GetObject", "uploads/x.wav"),
            ("GetObject", "transcripts/x.json")],
    "Tts": [("GetObject", "uploads/x.wav"), ("GetObject", "transcripts/x.json"),
            ("PutObject", "public/other.mp3"), ("DeleteObject", f"public/tts/{H}.mp3")],
    "GpuTts": [("GetObject", "uploads/x.wav"), ("PutObject", "transcripts/x.json")],
    "Worker": [("PutObject", "uploads/x.wav"), ("DeleteObject", "uploads/x.wav"),
               ("GetObject", "public/tts/x.mp3")],
    "Api": [("GetObject", "uploads/x.wav"), ("PutObject", "transcripts/x.json"),
            ("DeleteObject", "uploads/x.wav"), ("GetObject", "public/tts/x.mp3")],
}  # fmt: skip


def roles(s, variant: str) -> dict[str, list[str]]:
    """Role logical IDs per caller name, for this variant."""
    t = Template(s.json)
    found = {name: [t.function_role(f"{name}Function")] for name in ("Stt", "Worker", "Api")}
    if variant == "none":
        found["Tts"] = [t.function_role("TtsFunction")]
    if variant == "sagemaker":
        found["GpuTts"] = t.service_roles("sagemaker.amazonaws.com")
    if variant == "ecs":
        found["GpuTts"] = t.task_roles()
    assert all(found.values()), found
    return found


def audio_bucket(s) -> str:
    return next(k for k in s.resources("AWS::S3::Bucket") if k.startswith("Audio"))


@pytest.mark.parametrize("variant", VARIANTS)
def test_every_s3_call_the_code_makes_is_allowed(synthesized, variant):
    s = synthesized[variant]
    t = Template(s.json)
    bucket = audio_bucket(s)
    problems = []
    for caller, role_ids in roles(s, variant).items():
        for role in role_ids:
            for call in calls(bucket)[caller]:
                for permission in t.missing(role, call):
                    problems.append(f"{caller}: {call} needs {permission}")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("variant", VARIANTS)
def test_no_object_access_beyond_each_roles_prefixes(synthesized, variant):
    s = synthesized[variant]
    t = Template(s.json)
    bucket = audio_bucket(s)
    granted = []
    for caller, role_ids in roles(s, variant).items():
        for role in role_ids:
            for action, key in FORBIDDEN[caller]:
                if t.allows(role, s3(action, key, bucket=bucket)):
                    granted.append(f"{caller} may {action} {key}")
            # Nothing at all on the access-log bucket.
            logs = next(k for k in s.resources("AWS::S3::Bucket") if k.startswith("AccessLogs"))
            assert not t.allows(role, s3("GetObject", "audio-bucket/x", bucket=logs))
    assert not granted, granted


def test_a_prefix_conditioned_list_grant_does_not_make_a_miss_a_404():
    """The evaluator models S3: ListBucket limited by s3:prefix allows listing that prefix but
    not the 404 of a HEAD/GET (whose request has no prefix)."""
    conditioned = {
        "Resources": {
            "Bucket": {"Type": "AWS::S3::Bucket", "Properties": {}},
            "Role": {"Type": "AWS::IAM::Role", "Properties": {"AssumeRolePolicyDocument": {}}},
            "Policy": {
                "Type": "AWS::IAM::Policy",
                "Properties": {
                    "Roles": [{"Ref": "Role"}],
                    "PolicyDocument": {
                        "Statement": [
                            {
                                "Effect": "Allow",
                                "Action": "s3:Get*",
                                "Resource": {
                                    "Fn::Join": ["", [{"Fn::GetAtt": ["Bucket", "Arn"]}, "/t/*"]]
                                },
                            },
                            {
                                "Effect": "Allow",
                                "Action": "s3:ListBucket",
                                "Resource": {"Fn::GetAtt": ["Bucket", "Arn"]},
                                "Condition": {"StringLike": {"s3:prefix": ["t/*"]}},
                            },
                        ]
                    },
                },
            },
        }
    }
    t = Template(conditioned)
    assert t.allows("Role", s3("GetObject", "t/a.json", bucket="Bucket"))
    assert t.allows("Role", s3("ListObjectsV2", prefix="t/a", bucket="Bucket"))
    assert not t.allows("Role", s3("ListObjectsV2", prefix="u/", bucket="Bucket"))
    miss = s3("HeadObject", "t/a.json", bucket="Bucket", relies_on_not_found=True)
    assert t.missing("Role", miss) == [Permission("s3:ListBucket", "arn:aws:s3:::Bucket")]
    assert not t.allows("Role", s3("GetObject", "u/a.json", bucket="Bucket"))
    # Real bucket names (recorded calls) resolve through `names`.
    named = Template(conditioned, names={"Bucket": "speech-api-123"})
    assert named.allows("Role", s3("GetObject", "t/a.json", bucket="speech-api-123"))
