"""The remote synthesis backend: a SageMaker real-time endpoint (on a GPU) running this same app,
whose ``POST /invocations`` takes either body (see ``speech_api.api.routers.speech``).

Not a `TextToSpeech` engine: the endpoint takes whole API requests and answers them (it stores
`/tts` audio with its own role, and resolves voices against its own engine), so this adapter
follows the service's `Synthesizer` protocol instead, as the local synthesis does."""

from __future__ import annotations

import json
from functools import cached_property

from speech_api.config import Settings
from speech_api.engines.base import SpeechStream
from speech_api.errors import InvalidRequestError, ServiceUnavailableError
from speech_api.schemas import SpeechRequest, TTSRequest, TTSResponse


class SageMakerTTS:
    def __init__(self, settings: Settings):
        self._settings = settings
        self.endpoint_name = settings.tts.sagemaker_endpoint

    @cached_property
    def client(self):
        import boto3
        from botocore.config import Config

        return boto3.client(
            "sagemaker-runtime",
            region_name=self._settings.aws_region,
            endpoint_url=self._settings.tts.sagemaker_endpoint_url,
            # Synthesis of 4096 characters can take a while on a busy endpoint.
            config=Config(connect_timeout=2, read_timeout=25, retries={"max_attempts": 2}),
        )

    def synthesize(self, request: TTSRequest) -> TTSResponse:
        """Synthesize and store on the endpoint; its answer is the stored object's URL."""
        body, _ = self._invoke(request.model_dump_json(exclude_none=True), "application/json")
        return TTSResponse.model_validate_json(body)

    def speech(self, request: SpeechRequest) -> SpeechStream:
        """An OpenAI speech request, answered whole by the endpoint: one chunk."""
        body, response = self._invoke(request.model_dump_json(exclude_none=True), "audio/*")
        media_type = response.get("ContentType", "application/octet-stream")
        return SpeechStream(media_type, _int(response.get("CustomAttributes")) or 0, iter([body]))

    def _invoke(self, body: str, accept: str) -> tuple[bytes, dict]:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            response = self.client.invoke_endpoint(
                EndpointName=self.endpoint_name,
                ContentType="application/json",
                Accept=accept,
                Body=body,
            )
        except ClientError as exc:
            raise _from_model_error(exc) from exc
        except BotoCoreError as exc:
            raise ServiceUnavailableError(
                f"The GPU endpoint is unreachable ({type(exc).__name__}).", code="gpu_unavailable"
            ) from exc
        return response["Body"].read(), response


def _int(value) -> int | None:
    try:
        return int(str(value).removeprefix("sample-rate="))
    except (TypeError, ValueError):
        return None


def _from_model_error(exc) -> Exception:
    """The container's own 4xx JSON error travels back inside SageMaker's ModelError."""
    error = exc.response.get("Error", {})
    status = exc.response.get("OriginalStatusCode")
    if error.get("Code") == "ModelError" and status and 400 <= int(status) < 500:
        try:
            body = json.loads(exc.response.get("OriginalMessage") or "{}")["error"]
            return InvalidRequestError(
                body["message"],
                param=body.get("param"),
                code=body.get("code"),
                status_code=int(status),
            )
        except (ValueError, KeyError, TypeError):
            pass
    return ServiceUnavailableError(
        f"The GPU endpoint failed ({error.get('Code', 'error')}).", code="gpu_unavailable"
    )
