"""API Gateway (REST) in front of the functions: every route the app serves, API keys from
either header, request models generated from the app's Pydantic bodies, CORS on errors too.

Routing (API Gateway prefers a literal path part over `{proxy+}`):
- transcription (/stt, /v1/audio/transcriptions, /v1/audio/translations) -> Stt function,
  through STREAM integrations: `stream=true` transcript deltas arrive as segments decode
- speech (/tts, /v1/audio/speech) and the voice list (/v1/audio/voices, which loads the TTS
  engine: too big for the light function) -> the TTS backend (TTS function, or the GPU service),
  through STREAM integrations: speech reaches the client sentence by sentence, past 29 s
- speech jobs (/tts/jobs, /tts/jobs/{id}) -> Api function (it queues them; the Narrator,
  behind the jobs' queue, does the work)
- everything else (/, /health, /ready, /docs and its assets, /openapi.json, /uploads,
  /transcripts/..., /v1/models, ...) -> Api function, through `{proxy+}` catch-alls at each
  level that has literal children, so no match depends on API Gateway backtracking.
"""

from __future__ import annotations

import json

import aws_cdk as cdk
from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_wafv2 as wafv2
from constructs import Construct

from infra.config import DeployConfig
from infra.constructs.functions import STREAMED_TIMEOUT_S, STT_TIMEOUT_S, Functions
from infra.constructs.tts import TtsBackend
from infra.layout import AUTHORIZER_SOURCE, STAGE_NAME
from infra.nag import acknowledge
from infra.request_models import request_schema
from speech_api.api.open_routes import OPEN_GET_ROUTES, OPEN_HEAD_ROUTES

# The largest body the functions take (speech_api.runtime.aws_lambda.LAMBDA_MAX_BODY_BYTES; the
# infrastructure tests check that they agree; that module needs the [lambda] extra).
MAX_BODY_BYTES = 4_500_000

# A Content-Length of MAX_BODY_BYTES (4,500,000) or more, as WAF matches it (a regular
# expression over the header's text: leading zeros allowed, no upper bound).
OVERSIZED_CONTENT_LENGTH = r"^0*(4[5-9][0-9]{5}|[5-9][0-9]{6}|[1-9][0-9]{7,})$"

STT_ROUTES = ("/stt", "/v1/audio/transcriptions", "/v1/audio/translations")
SPEECH_ROUTES = (("POST", "/tts"), ("POST", "/v1/audio/speech"), ("GET", "/v1/audio/voices"))
# Served without an API key: liveness, readiness, the playground and the API docs, the same
# routes the app itself leaves open when it has a key (speech_api/api/open_routes.py).
OPEN_ROUTES = OPEN_GET_ROUTES
# `{proxy+}` ANY -> Api under every resource that has literal children.
CATCH_ALL_PARENTS = ("/", "/v1", "/v1/audio")
# Request body models (name in infra.request_models) per route.
BODY_MODELS = {
    "/tts": "TtsRequest",
    "/tts/jobs": "SpeechJobRequest",
    "/v1/audio/speech": "SpeechRequest",
    "/uploads": "UploadRequest",
}
CORS_ALLOW_HEADERS = ["Content-Type", "X-Api-Key", "Authorization"]


class SpeechApi(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: DeployConfig,
        functions: Functions,
        tts: TtsBackend,
    ):
        super().__init__(scope, construct_id)
        self.config = config
        self.functions = functions
        self.access_logs = logs.LogGroup(
            self,
            "ApiAccessLogs",
            retention=logs.RetentionDays.ONE_MONTH,
            removal_policy=RemovalPolicy.DESTROY,
        )
        keyed = config.api_keys
        api = self.api = apigw.RestApi(
            self,
            "Api",
            rest_api_name="speech-api",
            description="Speech API: text-to-speech to S3 URLs and speech-to-text.",
            binary_media_types=[
                "audio/*",
                "application/octet-stream",
                "multipart/form-data",
                "video/webm",
                "video/mp4",
            ],
            # Keys come from the authorizer, which reads Authorization: Bearer or x-api-key.
            api_key_source_type=apigw.ApiKeySourceType.AUTHORIZER if keyed else None,
            cloud_watch_role=True,
            deploy_options=apigw.StageOptions(
                stage_name=STAGE_NAME,
                access_log_destination=apigw.LogGroupLogDestination(self.access_logs),
                access_log_format=apigw.AccessLogFormat.json_with_standard_fields(
                    caller=False,
                    http_method=True,
                    ip=True,
                    protocol=True,
                    request_time=True,
                    resource_path=True,
                    response_length=True,
                    status=True,
                    user=False,
                ),
                logging_level=apigw.MethodLoggingLevel.ERROR,
                tracing_enabled=True,
                metrics_enabled=True,
                throttling_rate_limit=config.throttle_rate_limit,
                throttling_burst_limit=config.throttle_burst_limit,
            ),
            default_cors_preflight_options=apigw.CorsOptions(
                allow_origins=apigw.Cors.ALL_ORIGINS,
                allow_methods=["GET", "POST", "OPTIONS"],
                allow_headers=CORS_ALLOW_HEADERS,
            ),
            endpoint_types=[apigw.EndpointType.REGIONAL],
        )
        self._cors_on_errors()
        self._body_limit()
        self.usage_plan: apigw.UsagePlan | None = None
        self.authorizer = self._authorizer() if keyed else None
        self.body_validator = api.add_request_validator(
            "BodyValidator", validate_request_body=True, validate_request_parameters=True
        )
        self.params_validator = api.add_request_validator(
            "ParamsValidator", validate_request_body=False, validate_request_parameters=True
        )
        self.models = {
            name: api.add_model(
                name,
                model_name=name,
                content_type="application/json",
                schema=request_schema(name),
            )
            for name in sorted(set(BODY_MODELS.values()))
        }

        api_fn = functions.api
        for path in OPEN_ROUTES:
            self._route("GET", path, self._lambda(api_fn), open_=True)
        for path in OPEN_HEAD_ROUTES:
            self._route("HEAD", path, self._lambda(api_fn), open_=True)
        for parent in CATCH_ALL_PARENTS:
            self._route("ANY", f"{parent.rstrip('/')}/{{proxy+}}", self._lambda(api_fn))
        for path in STT_ROUTES:
            self._route(
                "POST",
                path,
                self._lambda(functions.stt, streamed=True, timeout_s=STT_TIMEOUT_S),
                request_parameters={"method.request.querystring.language": False}
                if path == "/stt"
                else None,
            )
        for method, path in SPEECH_ROUTES:
            if tts.speech_integration is not None:
                integration = tts.speech_integration(method, path)
            else:
                integration = self._lambda(functions.tts, streamed=True)
            self._route(method, path, integration)
        self._route("POST", "/uploads", self._lambda(api_fn))
        # Speech jobs: queued and read by the light function (the Narrator does the work).
        self._route("POST", "/tts/jobs", self._lambda(api_fn))
        self._route(
            "GET",
            "/tts/jobs/{id}",
            self._lambda(api_fn),
            request_parameters={"method.request.path.id": True},
        )
        self._route(
            "GET",
            "/transcripts/{id+}",
            self._lambda(api_fn),
            request_parameters={"method.request.path.id": True},
        )

        if keyed:
            self._usage_plan()
        acknowledge(
            api,
            {
                "AwsSolutions-APIG2": "Bodies are validated by API Gateway models where JSON, and "
                "by the app (audio is decoded, not schema-checked).",
                "AwsSolutions-APIG3": "WAF is account policy; throttling and a usage plan bound "
                "abuse here.",
                "AwsSolutions-APIG4": "Callers authenticate with API keys (a usage plan, read by "
                "the request authorizer from Authorization: Bearer or x-api-key); health, "
                "readiness, docs, the playground and CORS preflight are open by design.",
                "AwsSolutions-COG4": "No Cognito user pool: this is a service-to-service API "
                "keyed by API keys.",
                "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
                "AmazonAPIGatewayPushToCloudWatchLogs]": "The account-level role API Gateway "
                "uses to write logs.",
            },
        )

    def _lambda(
        self, fn: lambda_.Function, *, streamed: bool = False, timeout_s: int = STREAMED_TIMEOUT_S
    ) -> apigw.LambdaIntegration:
        if not streamed:
            return apigw.LambdaIntegration(self.functions.target(fn))
        # InvokeWithResponseStream: the response reaches the client as the function writes it
        # (metadata, 8 NUL bytes, payload), for up to the timeout (past 29 s if need be). Every
        # route to a streaming function must be STREAM: its output is not a buffered response.
        return apigw.LambdaIntegration(
            self.functions.target(fn),
            response_transfer_mode=apigw.ResponseTransferMode.STREAM,
            timeout=Duration.seconds(timeout_s),
        )

    def _route(
        self,
        method: str,
        path: str,
        integration: apigw.Integration,
        *,
        open_: bool = False,
        request_parameters: dict[str, bool] | None = None,
    ) -> apigw.Method:
        resource = self.api.root if path == "/" else self.api.root.resource_for_path(path)
        model = BODY_MODELS.get(path)
        options: dict = {}
        if model:
            options["request_validator"] = self.body_validator
            options["request_models"] = {"application/json": self.models[model]}
        elif method != "ANY":
            options["request_validator"] = self.params_validator
        if request_parameters:
            options["request_parameters"] = request_parameters
        if self.authorizer is not None and not open_:
            options["api_key_required"] = True
            options["authorizer"] = self.authorizer
        return resource.add_method(method, integration, **options)

    def _authorizer(self) -> apigw.RequestAuthorizer:
        """A small inline Python function (handlers/authorizer.py), not the model image."""
        fn = lambda_.Function(
            self,
            "KeyAuthorizerFunction",
            runtime=lambda_.Runtime.PYTHON_3_11,
            handler="index.handler",
            code=lambda_.Code.from_inline(AUTHORIZER_SOURCE.read_text()),
            memory_size=128,
            timeout=Duration.seconds(5),
            description="speech-api: API key from Authorization: Bearer or x-api-key",
            log_group=logs.LogGroup(
                self,
                "KeyAuthorizerLogs",
                retention=logs.RetentionDays.ONE_MONTH,
                removal_policy=RemovalPolicy.DESTROY,
            ),
        )
        acknowledge(
            fn,
            {
                "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
                "AWSLambdaBasicExecutionRole]": "The AWS-managed basic execution role only "
                "allows writing this function's logs.",
                "AwsSolutions-L1": "Python 3.11, the version the app and its tests run on; the "
                "handler is standard-library only.",
            },
        )
        self.authorizer_function = fn
        # Identity sources are all required (a request missing one gets 401 without the
        # function running), and either header may carry the key, so there are none; that is
        # only allowed with caching off (TTL 0), which also keys nothing on a shared cache.
        authorizer = apigw.RequestAuthorizer(
            self,
            "KeyAuthorizer",
            handler=fn,
            identity_sources=[],
            results_cache_ttl=Duration.seconds(0),
        )
        authorizer.node.default_child.add_property_deletion_override("IdentitySource")
        return authorizer

    def _cors_on_errors(self) -> None:
        """Gateway-made errors (401/403/429/5xx...) carry CORS headers and an OpenAI-style error
        body, so a browser and the OpenAI SDK can read them like the app's own errors."""
        body = (
            '{"error": {"message": $context.error.messageString, '
            '"type": "api_gateway_error", "code": "$context.error.responseType"}}'
        )
        headers = {
            "Access-Control-Allow-Origin": "'*'",
            "Access-Control-Allow-Headers": f"'{','.join(CORS_ALLOW_HEADERS)}'",
        }
        for name, response_type in (
            ("Default4xx", apigw.ResponseType.DEFAULT_4_XX),
            ("Default5xx", apigw.ResponseType.DEFAULT_5_XX),
        ):
            self.api.add_gateway_response(
                name,
                type=response_type,
                response_headers=headers,
                templates={"application/json": body},
            )

    def _body_limit(self) -> None:
        """Bodies the Lambda invoke cannot carry get the API's documented 413, from AWS WAF at
        the stage, before any invoke. A synchronous invoke carries at most 6 MB of event and
        API Gateway sends binary bodies base64-encoded (4/3 their size): about 4.7 MB of raw
        body reach a function while the gateway takes 10 MB, and a 4.7-10 MB body failed the
        invoke with an opaque gateway error. API Gateway gives neither a function nor an
        authorizer the Content-Length; WAF sees the request's own headers."""
        body = json.dumps(
            {
                "error": {
                    "message": f"The request body is larger than the limit of {MAX_BODY_BYTES} "
                    "bytes. Send larger files with POST /uploads (a presigned upload straight "
                    "to storage).",
                    "type": "invalid_request_error",
                    "code": "payload_too_large",
                    "param": "file",
                }
            }
        )

        def visibility(name: str) -> wafv2.CfnWebACL.VisibilityConfigProperty:
            return wafv2.CfnWebACL.VisibilityConfigProperty(
                cloud_watch_metrics_enabled=True, metric_name=name, sampled_requests_enabled=True
            )

        self.web_acl = wafv2.CfnWebACL(
            self,
            "BodyLimit",
            scope="REGIONAL",
            default_action=wafv2.CfnWebACL.DefaultActionProperty(allow={}),
            visibility_config=visibility("speech-api"),
            custom_response_bodies={
                "too_large": wafv2.CfnWebACL.CustomResponseBodyProperty(
                    content_type="APPLICATION_JSON", content=body
                )
            },
            rules=[
                wafv2.CfnWebACL.RuleProperty(
                    name="BodyTooLargeForLambda",
                    priority=0,
                    action=wafv2.CfnWebACL.RuleActionProperty(
                        block=wafv2.CfnWebACL.BlockActionProperty(
                            custom_response=wafv2.CfnWebACL.CustomResponseProperty(
                                response_code=413,
                                custom_response_body_key="too_large",
                                response_headers=[
                                    wafv2.CfnWebACL.CustomHTTPHeaderProperty(
                                        name="Access-Control-Allow-Origin", value="*"
                                    )
                                ],
                            )
                        )
                    ),
                    statement=wafv2.CfnWebACL.StatementProperty(
                        regex_match_statement=wafv2.CfnWebACL.RegexMatchStatementProperty(
                            regex_string=OVERSIZED_CONTENT_LENGTH,
                            field_to_match=wafv2.CfnWebACL.FieldToMatchProperty(
                                single_header={"Name": "content-length"}
                            ),
                            text_transformations=[
                                wafv2.CfnWebACL.TextTransformationProperty(priority=0, type="NONE")
                            ],
                        )
                    ),
                    visibility_config=visibility("BodyTooLargeForLambda"),
                )
            ],
        )
        stage = self.api.deployment_stage
        wafv2.CfnWebACLAssociation(
            self,
            "BodyLimitAssociation",
            resource_arn=stage.stage_arn,
            web_acl_arn=self.web_acl.attr_arn,
        )

    def _usage_plan(self) -> None:
        config = self.config
        plan = self.api.add_usage_plan(
            "UsagePlan",
            name="speech-api",
            throttle=apigw.ThrottleSettings(
                rate_limit=config.throttle_rate_limit, burst_limit=config.throttle_burst_limit
            ),
            quota=apigw.QuotaSettings(limit=100_000, period=apigw.Period.DAY),
        )
        plan.add_api_stage(stage=self.api.deployment_stage)
        self.usage_plan = plan
        key = self.api.add_api_key("DefaultKey", api_key_name="speech-api-default")
        plan.add_api_key(key)
        cdk.CfnOutput(cdk.Stack.of(self), "ApiKeyId", value=key.key_id)

    @property
    def url(self) -> str:
        return self.api.url
