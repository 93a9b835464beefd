"""The gateway as clients meet it: every app route reaches the function that serves it, keys
work from either header, errors carry CORS headers, the OpenAI SDK's base URL works."""

from __future__ import annotations

import ast
import json
import sys

import pytest

from tests.infrastructure.app_contract import app_operations, open_without_key
from tests.infrastructure.gateway import Gateway
from tests.infrastructure.iam import Template
from tests.support.synth import REPO, VARIANTS, synth

# Which function serves what (the contract; the app's routes come from its OpenAPI schema).
STT_PATHS = {"/stt", "/v1/audio/transcriptions", "/v1/audio/translations"}
# The voice list loads the TTS engine (too big for the 512 MB Api function).
SPEECH_PATHS = {"/tts", "/v1/audio/speech", "/v1/audio/voices"}
OPEN = {("GET", "/"), ("GET", "/health"), ("HEAD", "/health"), ("GET", "/ready"),
        ("GET", "/docs"), ("GET", "/docs/swagger-ui-bundle.js"), ("GET", "/docs/swagger-ui.css"),
        ("GET", "/openapi.json")}  # fmt: skip
# Routes the app may add: they must already reach the Api function.
FUTURE = [("GET", "/v1/models/whisper-1"), ("DELETE", "/v1/files/abc"), ("GET", "/metrics")]
API_COMMAND = ["handlers.api.handler"]
# The Tts and Stt functions sit behind STREAM integrations: the streaming runtime and handler.
STREAM_IMAGE_CONFIG = {
    "EntryPoint": ["python", "-m", "speech_api.runtime.lambda_stream"],
    "Command": ["handlers.api.stream_handler"],
}
# API Gateway's limit for a buffered integration, and what speech may take when streamed.
BUFFERED_LIMIT_MS = 29_000
STREAMED_TIMEOUT_MS = 300_000


def concrete(path: str) -> str:
    """A request path for a path template (`{upload_id}` may hold slashes: `team/call 1`)."""
    return path.replace("{upload_id}", "team/call-1").replace("{model}", "whisper-1")


def expected_target(path: str, variant: str) -> str:
    if path in STT_PATHS:
        return "Stt"
    if path in SPEECH_PATHS:
        return "GpuService" if variant == "ecs" else "Tts"
    return "Api"


@pytest.mark.parametrize("variant", VARIANTS)
def test_every_app_route_reaches_the_function_that_serves_it(synthesized, variant):
    s = synthesized[variant]
    gateway = Gateway(s.json)
    functions = s.resources("AWS::Lambda::Function")
    operations = app_operations() + FUTURE
    assert len(operations) >= 17
    wrong = []
    for method, template in operations:
        path = concrete(template)
        route = gateway.resolve(method, path)
        if route is None:
            wrong.append(f"{method} {path}: no route")
            continue
        want = expected_target(template, variant)
        integration = route.method["Integration"]
        if want == "GpuService":
            # The GPU container runs the same app: the request keeps its path.
            uri = json.dumps(integration["Uri"])
            ok = integration["ConnectionType"] == "VPC_LINK" and uri.endswith(f'{path}"]]}}')
            if not ok:
                wrong.append(f"{method} {path}: {uri} is not the GPU service's {path}")
            continue
        fn = gateway.function_of(route.method)
        if integration["Type"] != "AWS_PROXY" or fn is None or not fn.startswith(want):
            wrong.append(f"{method} {path}: reaches {fn}, not {want}")
            continue
        props = functions[fn]["Properties"]
        if want == "Api":
            # The light routes: a zip function with the light layer, no image.
            layers = [ref["Ref"] for ref in props.get("Layers", [])]
            if [props.get("Handler")] != API_COMMAND or not (
                props.get("Runtime") == "python3.11"
                and len(layers) == 1
                and layers[0].startswith("LightLayer")
            ):
                wrong.append(f"{method} {path}: {fn} is not the zip API handler with its layer")
            continue
        image = props["ImageConfig"]
        if image != STREAM_IMAGE_CONFIG:
            wrong.append(f"{method} {path}: {fn} does not run the streaming handler")
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize("variant", VARIANTS)
def test_keys_are_required_everywhere_but_the_open_routes(synthesized, variant):
    s = synthesized[variant]
    gateway = Gateway(s.json)
    (authorizer,) = s.resources("AWS::ApiGateway::Authorizer")
    for method, template in app_operations() + FUTURE:
        route = gateway.resolve(method, concrete(template)).method
        if (method, template) in OPEN:
            assert route["AuthorizationType"] == "NONE", template
            assert not route.get("ApiKeyRequired", False), template
        else:
            assert route["AuthorizationType"] == "CUSTOM", template
            assert route["AuthorizerId"] == {"Ref": authorizer}, template
            assert route["ApiKeyRequired"] is True, template
    # CORS preflight is open on every resource.
    for (_resource, verb), m in gateway.methods.items():
        if verb == "OPTIONS":
            assert m["AuthorizationType"] == "NONE" and not m.get("ApiKeyRequired", False)


def test_the_app_leaves_open_exactly_what_the_gateway_leaves_open(synthesized):
    """With API_KEY set locally, the routes that answer without a key are the ones the deployed
    gateway serves without its authorizer: a newcomer meets the same API in both places."""
    gateway = Gateway(synthesized["none"].json)
    differ = []
    for method, template in app_operations() + FUTURE:
        path = concrete(template)
        deployed = gateway.resolve(method, path).method["AuthorizationType"] == "NONE"
        if open_without_key(method, path) != deployed:
            differ.append(f"{method} {path}: open {'deployed' if deployed else 'locally'} only")
    assert not differ, "\n".join(differ)


@pytest.mark.parametrize("variant", VARIANTS)
def test_api_keys_come_from_the_authorizer_which_needs_no_identity_source(synthesized, variant):
    s = synthesized[variant]
    (api,) = s.resources("AWS::ApiGateway::RestApi").values()
    assert api["Properties"]["ApiKeySourceType"] == "AUTHORIZER"
    (authorizer,) = s.resources("AWS::ApiGateway::Authorizer").values()
    props = authorizer["Properties"]
    # Identity sources are all required: none at all, so either header (or none, for a 401 from
    # the function) reaches it; API Gateway allows that only with caching off.
    assert props["Type"] == "REQUEST"
    assert "IdentitySource" not in props
    assert props["AuthorizerResultTtlInSeconds"] == 0
    fn_id = json.dumps(props["AuthorizerUri"]).split('"Fn::GetAtt": ["')[1].split('"')[0]
    fn = s.resources("AWS::Lambda::Function")[fn_id]["Properties"]
    source = (REPO / "handlers" / "authorizer.py").read_text()
    assert fn["Runtime"] == "python3.11" and fn["Handler"] == "index.handler"
    assert fn["Code"]["ZipFile"] == source  # inline: a small function, not the model image
    assert len(source.encode()) < 4096  # CloudFormation's limit for inline code
    imported = {
        (node.module if isinstance(node, ast.ImportFrom) else alias.name).split(".")[0]
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in node.names
    }
    assert imported <= sys.stdlib_module_names, imported
    # API Gateway may invoke it (the permission names this authorizer's ARN).
    permissions = [
        p["Properties"]
        for p in s.resources("AWS::Lambda::Permission").values()
        if p["Properties"]["FunctionName"] == {"Fn::GetAtt": [fn_id, "Arn"]}
    ]
    assert permissions and all(p["Principal"] == "apigateway.amazonaws.com" for p in permissions)
    assert any("/authorizers/" in json.dumps(p["SourceArn"]) for p in permissions)


def test_without_api_keys_there_is_no_authorizer(tmp_path):
    s = synth(tmp_path, api_keys=False)
    s.template.resource_count_is("AWS::ApiGateway::Authorizer", 0)
    (api,) = s.resources("AWS::ApiGateway::RestApi").values()
    assert "ApiKeySourceType" not in api["Properties"]
    for m in s.resources("AWS::ApiGateway::Method").values():
        assert m["Properties"]["AuthorizationType"] == "NONE"


@pytest.mark.parametrize("variant", VARIANTS)
def test_stage_and_openai_base_url(synthesized, variant):
    s = synthesized[variant]
    ((stage_id, stage),) = s.resources("AWS::ApiGateway::Stage").items()
    assert stage["Properties"]["StageName"] == "prod"
    t = Template(s.json, names={stage_id: "prod"})  # a Stage's Ref is its name
    outputs = s.json["Outputs"]
    api_url = t.resolve(outputs["ApiUrl"]["Value"])
    base_url = t.resolve(outputs["OpenAIBaseUrl"]["Value"])
    assert api_url.endswith("/prod/") and base_url == f"{api_url}v1"
    # The SDK appends its paths to base_url; the stage prefix is API Gateway's, the rest routes.
    gateway = Gateway(s.json)
    for method, sdk_path, target in [
        ("POST", "/audio/transcriptions", "Stt"),
        ("POST", "/audio/translations", "Stt"),
        ("GET", "/models", "Api"),
    ]:
        path = (base_url + sdk_path).split("/prod", 1)[1]
        assert gateway.function_of(gateway.resolve(method, path).method).startswith(target)
    speech = gateway.resolve("POST", (base_url + "/audio/speech").split("/prod", 1)[1])
    assert speech.method["HttpMethod"] == "POST" and speech.resource.startswith("Apiv1audiospeech")


@pytest.mark.parametrize("variant", VARIANTS)
def test_gateway_errors_carry_cors_headers(synthesized, variant):
    s = synthesized[variant]
    responses = {
        r["Properties"]["ResponseType"]: r["Properties"]
        for r in s.resources("AWS::ApiGateway::GatewayResponse").values()
    }
    for kind in ("DEFAULT_4XX", "DEFAULT_5XX"):
        headers = responses[kind]["ResponseParameters"]
        assert headers["gatewayresponse.header.Access-Control-Allow-Origin"] == "'*'"
        allowed = headers["gatewayresponse.header.Access-Control-Allow-Headers"].strip("'")
        assert {"content-type", "x-api-key", "authorization"} <= {
            h.strip().lower() for h in allowed.split(",")
        }
        # An OpenAI-style error body, so SDK users see the gateway's message.
        body = responses[kind]["ResponseTemplates"]["application/json"]
        assert '"error"' in body and "$context.error.messageString" in body


@pytest.mark.parametrize("variant", VARIANTS)
def test_browsers_may_post_the_presigned_upload_form_to_the_bucket(synthesized, variant):
    s = synthesized[variant]
    audio = next(
        v["Properties"] for k, v in s.resources("AWS::S3::Bucket").items() if k.startswith("Audio")
    )
    (rule,) = audio["CorsConfiguration"]["CorsRules"]
    assert {"GET", "HEAD", "POST"} <= set(rule["AllowedMethods"])
    assert rule["AllowedOrigins"] == ["*"] and rule["AllowedHeaders"] == ["*"]


@pytest.mark.parametrize("variant", VARIANTS)
def test_speech_and_transcription_routes_stream_and_the_rest_answer_whole(synthesized, variant):
    """The speech and transcription routes' integrations stream (API Gateway's
    responseTransferMode STREAM; for a Lambda proxy, InvokeWithResponseStream at the 2021-11-15
    response-streaming-invocations path): speech for longer than the buffered 29 s,
    transcription as segments decode (`stream=true`) within it; every other route (the light
    ones) keeps a buffered integration."""
    s = synthesized[variant]
    gateway = Gateway(s.json)
    functions = s.resources("AWS::Lambda::Function")
    for method, template in app_operations():
        route = gateway.resolve(method, concrete(template))
        integration = route.method["Integration"]
        uri = json.dumps(integration["Uri"])
        if template not in SPEECH_PATHS | STT_PATHS:
            assert integration.get("ResponseTransferMode", "BUFFERED") == "BUFFERED", template
            assert "response-streaming-invocations" not in uri
            assert integration.get("TimeoutInMillis", BUFFERED_LIMIT_MS) <= BUFFERED_LIMIT_MS
            continue
        assert integration["ResponseTransferMode"] == "STREAM", template
        expected_ms = STREAMED_TIMEOUT_MS if template in SPEECH_PATHS else BUFFERED_LIMIT_MS
        assert integration["TimeoutInMillis"] == expected_ms, template
        if variant == "ecs" and template in SPEECH_PATHS:
            assert integration["Type"] == "HTTP_PROXY"  # Uvicorn streams; the gateway passes on
            continue
        assert integration["Type"] == "AWS_PROXY"
        assert ":lambda:path/2021-11-15/functions/" in uri
        assert uri.endswith('"/response-streaming-invocations"]]}'), uri
        # The function may run as long as the integration waits, on the streaming runtime.
        fn = functions[gateway.function_of(route.method)]["Properties"]
        assert fn["Timeout"] * 1000 >= expected_ms
        assert fn["ImageConfig"] == STREAM_IMAGE_CONFIG
