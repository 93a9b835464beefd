"""The HTTP API, defined once: served by Uvicorn locally and in containers, and by the Lambda
handlers behind API Gateway."""

from __future__ import annotations

import logging
from importlib.metadata import PackageNotFoundError, version
from importlib.resources import files

from fastapi import FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.formparsers import MultiPartException

from speech_api.config import Settings, get_settings
from speech_api.engines import loaded_models
from speech_api.errors import InvalidRequestError, SpeechAPIError
from speech_api.middleware import (
    APIKeyMiddleware,
    BodySizeLimitMiddleware,
    ConcurrencyLimitMiddleware,
    RequestLogMiddleware,
)
from speech_api.openai_compat import ResponseFormat, create_router, transcript_body
from speech_api.schemas import (
    ErrorResponse,
    HealthResponse,
    PendingTranscript,
    StoredTranscript,
    TranscriptionResponse,
    TTSRequest,
    TTSResponse,
    UploadRequest,
    UploadResponse,
)
from speech_api.service import SpeechService
from speech_api.uploads import UploadService

logger = logging.getLogger("speech_api")

try:
    __version__ = version("speech-api")
except PackageNotFoundError:  # running from a source tree that was not installed
    __version__ = "0.0.0"

_PLAYGROUND = (files("speech_api") / "static" / "index.html").read_text(encoding="utf-8")

_ERRORS = {
    code: {"model": ErrorResponse, "description": what}
    for code, what in {
        400: "Bad request",
        413: "Body or audio too large",
        415: "Not decodable audio",
        422: "Invalid fields",
        503: "Storage or model unavailable",
    }.items()
}

_STT_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {
                        "file": {"type": "string", "format": "binary"},
                        "language": {"type": "string", "example": "en"},
                    },
                }
            },
            "application/octet-stream": {"schema": {"type": "string", "format": "binary"}},
            "audio/*": {"schema": {"type": "string", "format": "binary"}},
        },
    }
}


def error_response(status: int, error: dict, headers: dict | None = None) -> JSONResponse:
    return JSONResponse({"error": error}, status_code=status, headers=headers)


def create_app(settings: Settings | None = None, service: SpeechService | None = None) -> FastAPI:
    settings = settings or get_settings()
    service = service or SpeechService(settings)

    app = FastAPI(
        title="Speech API",
        version=__version__,
        description="Text-to-speech to a public S3 URL, and speech-to-text.",
        responses=_ERRORS,
    )
    app.state.settings = settings
    app.state.service = service
    uploads = UploadService(settings, service)
    # Added innermost first. A request meets: the request log, the body limit (so nothing
    # further out reads an unbounded body), the API key, then backpressure.
    app.add_middleware(ConcurrencyLimitMiddleware, limit=settings.max_concurrent_requests)
    if settings.api_key:
        app.add_middleware(APIKeyMiddleware, api_key=settings.api_key)
    app.add_middleware(BodySizeLimitMiddleware, max_bytes=settings.max_upload_bytes)
    app.add_middleware(RequestLogMiddleware)
    _install_error_handlers(app)
    app.include_router(create_router(settings, service))

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def playground() -> HTMLResponse:
        """A small page to try both directions in a browser (no build step, no CDN)."""
        return HTMLResponse(_PLAYGROUND)

    @app.get("/health", response_model=HealthResponse, tags=["service"])
    async def health() -> HealthResponse:
        # async: answered on the event loop, never queued behind inference threads.
        return HealthResponse(
            status="ok",
            version=__version__,
            stt_model=settings.stt.model,
            tts_engine=settings.tts.engine,
            loaded_models=loaded_models(),
        )

    @app.get("/ready", tags=["service"], responses={503: {"model": ErrorResponse}})
    async def ready() -> JSONResponse:
        """Readiness: loads the configured engines (once) and reports each; 503 if any cannot
        load. /health stays a cheap liveness check."""
        engines: dict[str, str] = {}
        for name, getter in (("stt", service.stt_engine), ("tts", service.tts_engine)):
            if name == "tts" and settings.tts.sagemaker_endpoint:
                engines[name] = "remote"
                continue
            try:
                await run_in_threadpool(getter)
                engines[name] = "ready"
            except SpeechAPIError as exc:
                engines[name] = exc.message
        ok = all(v in ("ready", "remote") for v in engines.values())
        return JSONResponse(
            {"status": "ready" if ok else "not_ready", "engines": engines},
            status_code=200 if ok else 503,
        )

    @app.post("/tts", response_model=TTSResponse, tags=["speech"])
    async def tts(body: TTSRequest) -> TTSResponse:
        """Synthesize speech, store it under the public prefix and return its URL."""
        return await service.run(service.synthesize, body)

    @app.post(
        "/stt", response_model=TranscriptionResponse, tags=["speech"], openapi_extra=_STT_BODY
    )
    async def stt(
        request: Request,
        language: str | None = Query(None, description="ISO 639-1 code; detected if absent"),
        response_format: ResponseFormat = Query(
            "json", description="json (this schema), text, srt, vtt or verbose_json"
        ),
    ):
        """Transcribe a clip: multipart field `file`, or the raw audio as the body."""
        data, form_language = await _read_audio(request)
        language = form_language or language
        if response_format == "json":
            return await service.run(service.transcribe, data, language=language)
        result = await service.run(service.transcribe_audio, data, language=language)
        return transcript_body(result, response_format, words=False, segments=True)

    # SageMaker's container contract (GPU option): health on GET /ping, work on POST /invocations.
    @app.get("/ping", tags=["service"], include_in_schema=False)
    def ping() -> dict:
        return {"status": "ok"}

    @app.post("/invocations", response_model=TTSResponse, tags=["service"], include_in_schema=False)
    async def invocations(body: TTSRequest) -> TTSResponse:
        return await service.run(service.synthesize, body)

    @app.post("/uploads", response_model=UploadResponse, tags=["uploads"])
    async def create_upload(body: UploadRequest) -> UploadResponse:
        """A presigned form to upload a file (up to MAX_UPLOAD_BYTES) straight to S3 under
        uploads/; its transcript appears at `transcript_url`."""
        return await run_in_threadpool(
            uploads.create_upload,
            filename=body.filename,
            content_type=body.content_type,
            language=body.language,
        )

    @app.get(
        "/transcripts/{upload_id:path}",
        tags=["uploads"],
        response_model=StoredTranscript,
        responses={
            202: {"model": PendingTranscript, "description": "Not transcribed yet"},
            404: {"model": ErrorResponse, "description": "Unknown id"},
            422: {"model": ErrorResponse, "description": "Transcription failed"},
        },
    )
    async def get_transcript(upload_id: str) -> JSONResponse:
        status, body = await run_in_threadpool(uploads.get_transcript, upload_id)
        return JSONResponse(body, status_code=status)

    return app


async def _read_audio(request: Request) -> tuple[bytes, str | None]:
    """The audio bytes and an optional form `language`. Content types are only a hint to
    tell multipart from a raw body; the bytes themselves decide what the audio is."""
    content_type = request.headers.get("content-type", "")
    if not content_type.lower().startswith("multipart/form-data"):
        return await request.body(), None
    try:
        # Files are bounded by the body limit; text fields (language) are small.
        form = await request.form(max_files=2, max_fields=20, max_part_size=64 * 1024)
    except (MultiPartException, StarletteHTTPException) as exc:
        # Starlette reports a multipart problem as an HTTPException(400) inside an app.
        detail = getattr(exc, "message", None) or getattr(exc, "detail", "")
        raise InvalidRequestError(
            f"Malformed multipart body: {detail}", param="file", code="invalid_multipart"
        ) from exc
    files = [f for f in form.getlist("file") if not isinstance(f, str)]
    if not files:
        raise InvalidRequestError(
            "Send the audio in the multipart field 'file'.", param="file", code="missing_file"
        )
    if len(files) > 1:
        raise InvalidRequestError(
            "Send one audio file per request.", param="file", code="too_many_files"
        )
    language = form.get("language")
    return await files[0].read(), language if isinstance(language, str) else None


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(SpeechAPIError)
    async def domain_error(_: Request, exc: SpeechAPIError) -> JSONResponse:
        retry_after = getattr(exc, "retry_after_s", None)
        headers = {"Retry-After": str(retry_after)} if retry_after else None
        if exc.status_code >= 500:
            logger.warning("%s: %s", exc.code, exc.message)
        return error_response(exc.status_code, exc.to_dict(), headers)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {}
        loc = [str(p) for p in first.get("loc", ()) if p not in ("body", "query")]
        param = ".".join(loc) or None
        code = first.get("type", "invalid_request")
        if code == "json_invalid":
            return error_response(
                400,
                {
                    "message": "The request body is not valid JSON.",
                    "type": "invalid_request_error",
                    "code": "invalid_json",
                    "param": None,
                },
            )
        message = first.get("msg", "Invalid request.")
        # OpenAI answers invalid fields with 400, and its SDK maps that to BadRequestError.
        status = 400 if request.url.path.startswith("/v1/") else 422
        return error_response(
            status,
            {
                "message": f"{param}: {message}" if param else message,
                "type": "invalid_request_error",
                "code": code,
                "param": param,
            },
        )

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        # 400 here is FastAPI's "error parsing the body" (e.g. JSON nested past the parser's
        # recursion limit).
        codes = {400: "invalid_body", 404: "not_found", 405: "method_not_allowed"}
        return error_response(
            exc.status_code,
            {
                "message": str(exc.detail),
                "type": "invalid_request_error",
                "code": codes.get(exc.status_code, "http_error"),
                "param": None,
            },
            getattr(exc, "headers", None),
        )

    @app.exception_handler(Exception)
    async def unexpected_error(_: Request, exc: Exception) -> JSONResponse:
        logger.exception("unhandled error")
        return error_response(
            500,
            {
                "message": "Internal server error.",
                "type": "server_error",
                "code": "internal_error",
                "param": None,
            },
        )
