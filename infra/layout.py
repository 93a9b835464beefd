"""Names the stack and the app agree on: the object layout in the one bucket, the stage, the
image commands."""

from __future__ import annotations

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]

PUBLIC_PREFIX = "public/"
TTS_PREFIX = f"{PUBLIC_PREFIX}tts/"  # synthesized audio (the TTS cache)
UPLOADS_PREFIX = "uploads/"
TRANSCRIPTS_PREFIX = "transcripts/"
SPEECH_JOBS_PREFIX = "speech-jobs/"  # speech jobs' records and work (private)
TEXT_DROPS_PREFIX = "texts/"  # a text file created here becomes a speech job

# Not "v1": the app's OpenAI-compatible routes start with /v1, so an SDK's base_url is
# <ApiUrl>v1 (https://<id>.execute-api.<region>.amazonaws.com/prod/v1), not .../v1/v1.
STAGE_NAME = "prod"

# Image commands (Dockerfile.lambda serves both; CDK sets one per function).
API_COMMAND = "handlers.api.handler"
WORKER_COMMAND = "handlers.transcribe_upload.handler"
SPEECH_JOBS_COMMAND = "handlers.speech_jobs.handler"
CALLBACKS_COMMAND = "handlers.deliver_callbacks.handler"
# The Stt and Tts functions answer API Gateway's STREAM integrations: the image's own streaming
# runtime instead of awslambdaric (which cannot stream), on the streaming handler.
STREAM_ENTRYPOINT = ["python", "-m", "speech_api.runtime.lambda_stream"]
STREAM_COMMAND = "handlers.api.stream_handler"

# The model name Dockerfile.lambda's ENV gives the image functions (the model is baked in there);
# the zip Api function lists it under the same name.
IMAGE_STT_MODEL = "/opt/models/stt"

# The request authorizer: a small zip function, not the model image.
AUTHORIZER_SOURCE = REPO_ROOT / "handlers" / "authorizer.py"
