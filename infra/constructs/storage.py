"""The one audio bucket (plus its access-log bucket) and how `public/` reaches browsers.

public_access="bucket-policy" (default): Block Public Access blocks ACLs but allows a bucket
policy, and the policy grants anonymous s3:GetObject on public/* only. Accounts whose
account-level Block Public Access forbids public policies (common in organizations) fail to
deploy this; use:

public_access="cloudfront": the bucket is fully private (all four Block Public Access settings
on, no anonymous statement); a CloudFront distribution with Origin Access Control serves it, and
the bucket policy lets exactly that distribution (cloudfront.amazonaws.com with AWS:SourceArn)
read public/* and nothing else.
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_cloudfront as cloudfront
from aws_cdk import aws_cloudfront_origins as origins
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from constructs import Construct

from infra.config import DeployConfig
from infra.layout import PUBLIC_PREFIX, TTS_PREFIX, UPLOADS_PREFIX
from infra.nag import acknowledge

# CDK warns that it cannot add the OAC read statement to an imported bucket; the origin is given
# an imported handle on purpose, and `_distribution` adds a narrower statement itself.
OAC_IMPORTED_BUCKET_WARNING = "@aws-cdk/aws-cloudfront-origins:updateImportedBucketPolicyOac"


class Storage(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, config: DeployConfig):
        super().__init__(scope, construct_id)
        self.config = config
        self.via_cloudfront = config.public_access == "cloudfront"
        self.access_logs = self._access_logs()
        self.bucket = self._audio_bucket()
        self.distribution: cloudfront.Distribution | None = None
        if self.via_cloudfront:
            self.distribution = self._distribution()
            self.public_base_url = f"https://{self.distribution.distribution_domain_name}"
        else:
            self._public_prefix_policy()
            self.public_base_url = f"https://{self.bucket.bucket_regional_domain_name}"

    def _access_logs(self) -> s3.Bucket:
        logs_bucket = s3.Bucket(
            self,
            "AccessLogs",
            encryption=s3.BucketEncryption.S3_MANAGED,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_PREFERRED,
            lifecycle_rules=[s3.LifecycleRule(expiration=Duration.days(90))],
            removal_policy=RemovalPolicy.RETAIN,
        )
        acknowledge(
            logs_bucket,
            {
                "AwsSolutions-S1": "This is the access-log bucket; logging it into itself "
                "would loop.",
            },
        )
        return logs_bucket

    def _audio_bucket(self) -> s3.Bucket:
        config = self.config
        rules = [
            s3.LifecycleRule(
                id="ExpireUploads",
                prefix=UPLOADS_PREFIX,
                expiration=Duration.days(config.uploads_expiration_days),
            )
        ]
        if config.tts_expiration_days:
            rules.append(
                s3.LifecycleRule(
                    id="ExpireSynthesizedAudio",
                    prefix=TTS_PREFIX,
                    expiration=Duration.days(config.tts_expiration_days),
                )
            )
        return s3.Bucket(
            self,
            "Audio",
            encryption=s3.BucketEncryption.S3_MANAGED,
            enforce_ssl=True,
            versioned=config.bucket_versioning,
            server_access_logs_bucket=self.access_logs,
            server_access_logs_prefix="audio-bucket/",
            # ACLs never make anything public. With a CDN nothing may: all four settings on.
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL
            if self.via_cloudfront
            else s3.BlockPublicAccess(
                block_public_acls=True,
                ignore_public_acls=True,
                block_public_policy=False,
                restrict_public_buckets=False,
            ),
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            cors=[
                # GET/HEAD: players fetch public audio. POST: the browser upload form that
                # POST /uploads presigns goes straight to S3.
                s3.CorsRule(
                    allowed_methods=[s3.HttpMethods.GET, s3.HttpMethods.HEAD, s3.HttpMethods.POST],
                    allowed_origins=["*"],
                    allowed_headers=["*"],
                    exposed_headers=["ETag"],
                    max_age=3600,
                )
            ],
            lifecycle_rules=rules,
            removal_policy=RemovalPolicy.RETAIN,
        )

    def _public_prefix_policy(self) -> None:
        bucket = self.bucket
        bucket.add_to_resource_policy(
            iam.PolicyStatement(
                sid="PublicReadForPublicPrefixOnly",
                principals=[iam.AnyPrincipal()],
                actions=["s3:GetObject"],
                resources=[bucket.arn_for_objects(f"{PUBLIC_PREFIX}*")],
            )
        )
        acknowledge(
            bucket,
            {
                "AwsSolutions-S2": "Synthesized audio under public/ is meant to be fetched by "
                "browsers from a plain URL; the policy grants s3:GetObject on public/* only, "
                "ACLs stay blocked, every other prefix is private. public_access=cloudfront "
                "keeps the bucket fully private instead.",
                "AwsSolutions-S5": "No CloudFront here: public/ is public by policy.",
            },
        )

    def _distribution(self) -> cloudfront.Distribution:
        bucket = self.bucket
        # The origin gets an imported handle of the same bucket so CDK does not add its default
        # OAC statement (GetObject on every key); the statement below allows public/* only.
        origin_bucket = s3.Bucket.from_bucket_attributes(
            self,
            "AudioOrigin",
            bucket_arn=bucket.bucket_arn,
            bucket_regional_domain_name=bucket.bucket_regional_domain_name,
        )
        distribution = cloudfront.Distribution(
            self,
            "PublicAudioCdn",
            comment="speech-api public audio (public/* of the private audio bucket)",
            default_behavior=cloudfront.BehaviorOptions(
                origin=origins.S3BucketOrigin.with_origin_access_control(
                    origin_bucket, origin_access_levels=[cloudfront.AccessLevel.READ]
                ),
                viewer_protocol_policy=cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
                allowed_methods=cloudfront.AllowedMethods.ALLOW_GET_HEAD,
                cache_policy=cloudfront.CachePolicy.CACHING_OPTIMIZED,
                # Browsers on any origin may fetch() the audio, as from the bucket itself.
                response_headers_policy=cloudfront.ResponseHeadersPolicy.CORS_ALLOW_ALL_ORIGINS,
            ),
            # No minimum_protocol_version: with the default *.cloudfront.net certificate it has
            # no effect (CDK warns); a custom domain's certificate would set it.
        )
        cdk.Annotations.of(distribution).acknowledge_warning(
            OAC_IMPORTED_BUCKET_WARNING,
            "The audio bucket's policy grants this distribution s3:GetObject on public/* only.",
        )
        bucket.add_to_resource_policy(
            iam.PolicyStatement(
                sid="CloudFrontReadsPublicPrefixOnly",
                principals=[iam.ServicePrincipal("cloudfront.amazonaws.com")],
                actions=["s3:GetObject"],
                resources=[bucket.arn_for_objects(f"{PUBLIC_PREFIX}*")],
                conditions={"StringEquals": {"AWS:SourceArn": distribution.distribution_arn}},
            )
        )
        acknowledge(
            distribution,
            {
                "AwsSolutions-CFR1": "Audio is served worldwide; no geo restriction is wanted.",
                "AwsSolutions-CFR2": "Static public audio; WAF is left to the deployer's account "
                "policy.",
                "AwsSolutions-CFR3": "Reads of the same objects are logged by S3 server access "
                "logs.",
                "AwsSolutions-CFR4": "The default *.cloudfront.net certificate is used; viewers "
                "are redirected to HTTPS.",
            },
        )
        return distribution
