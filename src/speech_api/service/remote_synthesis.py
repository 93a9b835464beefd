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

# Seconds on top of TTS_TIME_LIMIT_S that one InvokeEndpoint may wait for its answer.
READ_SLACK_S = 5.0
# Tries to connect (only a connection that could not be made is tried again).
CONNECT_ATTEMPTS = 2


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
            # One attempt, with the time a synthesis may take: botocore retries a read timeout,
            # and a slow synthesis retried is a second synthesis of the same text, on the GPU
            # and billed, whose answer nobody waits for. (A connection that could not be made
            # sent nothing: `_invoke` tries that once more itself.)
            config=Config(
                connect_timeout=2,
                read_timeout=self._settings.tts.time_limit_s + READ_SLACK_S,
                retries={"total_max_attempts": 1, "mode": "standard"},
            ),
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
        from botocore.exceptions import (
            BotoCoreError,
            ClientError,
            ConnectTimeoutError,
            EndpointConnectionError,
            ReadTimeoutError,
        )

        for attempt in range(CONNECT_ATTEMPTS):
            try:
                response = self.client.invoke_endpoint(
                    EndpointName=self.endpoint_name,
                    ContentType="application/json",
                    Accept=accept,
                    Body=body,
                )
                return response["Body"].read(), response
            except ClientError as exc:
                raise _from_model_error(exc) from exc
            except (ConnectTimeoutError, EndpointConnectionError) as exc:
                if attempt + 1 < CONNECT_ATTEMPTS:
                    continue  # no connection, nothing sent: safe to try again
                raise _unreachable(exc) from exc
            except ReadTimeoutError as exc:
                raise ServiceUnavailableError(
                    "The GPU endpoint did not answer within "
                    f"{self._settings.tts.time_limit_s + READ_SLACK_S:g} s; the request was not "
                    "sent again.",
                    code="gpu_unavailable",
                ) from exc
            except BotoCoreError as exc:
                raise _unreachable(exc) from exc
        raise AssertionError("unreachable")  # pragma: no cover


def _unreachable(exc: Exception) -> ServiceUnavailableError:
    return ServiceUnavailableError(
        f"The GPU endpoint is unreachable ({type(exc).__name__}).", code="gpu_unavailable"
    )


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
