"""Forward synthesis to a GPU endpoint (SageMaker real-time endpoint running this same app),
for deployments where the TTS Lambda should not run the model itself."""

from __future__ import annotations

import json
from functools import cached_property

from speech_api.config import Settings
from speech_api.errors import InvalidRequestError, ServiceUnavailableError
from speech_api.schemas import TTSRequest, TTSResponse


class SageMakerTTS:
    def __init__(self, settings: Settings, endpoint_name: str):
        self._settings = settings
        self.endpoint_name = endpoint_name

    @cached_property
    def client(self):
        import boto3
        from botocore.config import Config

        return boto3.client(
            "sagemaker-runtime",
            region_name=self._settings.aws_region,
            # Synthesis of 4096 characters can take a while on a busy endpoint.
            config=Config(connect_timeout=2, read_timeout=25, retries={"max_attempts": 2}),
        )

    def synthesize(self, request: TTSRequest) -> TTSResponse:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            response = self.client.invoke_endpoint(
                EndpointName=self.endpoint_name,
                ContentType="application/json",
                Accept="application/json",
                Body=request.model_dump_json(exclude_none=True),
            )
        except ClientError as exc:
            raise _from_model_error(exc) from exc
        except BotoCoreError as exc:
            raise ServiceUnavailableError(
                f"The GPU endpoint is unreachable ({type(exc).__name__}).", code="gpu_unavailable"
            ) from exc
        return TTSResponse.model_validate_json(response["Body"].read())


def _from_model_error(exc) -> Exception:
    """The container's own 4xx JSON error travels back inside SageMaker's ModelError."""
    error = exc.response.get("Error", {})
    status = exc.response.get("OriginalStatusCode")
    if error.get("Code") == "ModelError" and status and 400 <= int(status) < 500:
        try:
            body = json.loads(exc.response.get("OriginalMessage") or "{}")["error"]
            return InvalidRequestError(
                body["message"], param=body.get("param"), code=body.get("code")
            )
        except (ValueError, KeyError, TypeError):
            pass
    return ServiceUnavailableError(
        f"The GPU endpoint failed ({error.get('Code', 'error')}).", code="gpu_unavailable"
    )
