"""public_access=cloudfront: the bucket is fully private and CloudFront (Origin Access
Control) is the only reader, of public/* only. The default (bucket-policy) is in test_stack."""

from __future__ import annotations

import json

from aws_cdk.assertions import Annotations, Match

from tests.support.synth import cfn_lint


def audio(s) -> tuple[str, dict]:
    return next((k, v["Properties"]) for k, v in s.resources("AWS::S3::Bucket").items()
                if k.startswith("Audio"))  # fmt: skip


def test_the_bucket_blocks_all_public_access(synthesized_cloudfront):
    _, bucket = audio(synthesized_cloudfront)
    assert bucket["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }


def test_only_the_distribution_reads_and_only_public(synthesized_cloudfront):
    s = synthesized_cloudfront
    bucket_id, _ = audio(s)
    policy = next(
        p["Properties"]["PolicyDocument"]["Statement"]
        for p in s.resources("AWS::S3::BucketPolicy").values()
        if p["Properties"]["Bucket"] == {"Ref": bucket_id}
    )
    allows = [st for st in policy if st["Effect"] == "Allow"]
    assert len(allows) == 1
    (allow,) = allows
    (distribution_id,) = s.resources("AWS::CloudFront::Distribution")
    assert allow["Principal"] == {"Service": "cloudfront.amazonaws.com"}
    assert allow["Action"] == "s3:GetObject"
    assert allow["Resource"] == {
        "Fn::Join": ["", [{"Fn::GetAtt": [bucket_id, "Arn"]}, "/public/*"]]
    }
    (condition,) = allow["Condition"]["StringEquals"].items()
    assert condition[0] == "AWS:SourceArn"
    assert f'"{distribution_id}"' in json.dumps(condition[1])  # this distribution's ARN
    assert ":distribution/" in json.dumps(condition[1])
    # TLS stays enforced.
    assert any(st["Effect"] == "Deny" and "aws:SecureTransport" in json.dumps(st) for st in policy)


def test_the_distribution_signs_its_origin_requests_with_oac(synthesized_cloudfront):
    s = synthesized_cloudfront
    ((oac_id, oac),) = s.resources("AWS::CloudFront::OriginAccessControl").items()
    config = oac["Properties"]["OriginAccessControlConfig"]
    assert config["OriginAccessControlOriginType"] == "s3"
    assert config["SigningBehavior"] == "always" and config["SigningProtocol"] == "sigv4"
    (distribution,) = s.resources("AWS::CloudFront::Distribution").values()
    (origin,) = distribution["Properties"]["DistributionConfig"]["Origins"]
    assert origin["OriginAccessControlId"] == {"Fn::GetAtt": [oac_id, "Id"]}
    assert origin["S3OriginConfig"]["OriginAccessIdentity"] == ""
    assert "OriginPath" not in origin  # /public/x.mp3 on the CDN is the key public/x.mp3
    behavior = distribution["Properties"]["DistributionConfig"]["DefaultCacheBehavior"]
    assert behavior["ViewerProtocolPolicy"] == "redirect-to-https"


def test_functions_and_outputs_use_the_cdn_url(synthesized_cloudfront):
    s = synthesized_cloudfront
    (distribution_id,) = s.resources("AWS::CloudFront::Distribution")
    cdn = {"Fn::Join": ["", ["https://", {"Fn::GetAtt": [distribution_id, "DomainName"]}]]}
    assert s.json["Outputs"]["PublicBaseUrl"]["Value"] == cdn
    for fn in s.resources("AWS::Lambda::Function").values():
        if fn["Properties"].get("PackageType") == "Image":
            assert fn["Properties"]["Environment"]["Variables"]["PUBLIC_BASE_URL"] == cdn


def test_nag_and_cfn_lint_are_clean_and_no_cdk_warning_is_left(synthesized_cloudfront):
    s = synthesized_cloudfront  # synth ran cdk-nag: an unacknowledged finding would have failed
    result = cfn_lint(s.template_path)
    assert result.returncode == 0, result.stdout + result.stderr
    warnings = Annotations.from_stack(s.stack).find_warning("*", Match.any_value())
    assert not warnings, warnings
