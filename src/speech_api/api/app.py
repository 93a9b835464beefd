"""The HTTP API, defined once: served by Uvicorn locally and in containers, and by the Lambda
handlers behind API Gateway. Routers translate HTTP; the service does the work."""

from __future__ import annotations

from fastapi import FastAPI
from starlette.middleware.cors import CORSMiddleware

from speech_api import __version__
from speech_api.api.errors import install_error_handlers
from speech_api.api.middleware import (
    APIKeyMiddleware,
    BodyLimitMiddleware,
    ConcurrencyLimitMiddleware,
    RequestLogMiddleware,
)
from speech_api.api.routers import (
    docs,
    openai,
    realtime,
    speech,
    system,
    transcription,
    uploads,
)
from speech_api.api.routers.realtime import live_hub
from speech_api.config import Settings
from speech_api.schemas import ErrorResponse
from speech_api.service import SpeechService, UploadService

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


def create_app(settings: Settings | None = None, service: SpeechService | None = None) -> FastAPI:
    settings = settings or Settings()
    service = service or SpeechService(settings)

    app = FastAPI(
        title="Speech API",
        version=__version__,
        description="Text-to-speech to a public S3 URL, and speech-to-text.",
        responses=_ERRORS,
        # Swagger UI from this package (routers/docs.py), not a CDN; no ReDoc (CDN-only).
        docs_url=None,
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.service = service
    app.state.uploads = UploadService(settings, service)
    app.state.realtime = live_hub(settings, service)
    # Added innermost first. A request meets: CORS, the request log, the body limits (so
    # nothing further in reads an unbounded or endless body), the API key, then backpressure.
    app.add_middleware(
        ConcurrencyLimitMiddleware,
        limit=settings.max_concurrent_requests,
        send_timeout_s=settings.send_timeout_s,
    )
    app.add_middleware(
        ConcurrencyLimitMiddleware,
        limit=settings.max_concurrent_uploads,
        paths=("/uploads",),
        send_timeout_s=settings.send_timeout_s,
    )
    if settings.api_key:
        app.add_middleware(APIKeyMiddleware, api_key=settings.api_key)
        document_api_key(app)
    app.add_middleware(
        BodyLimitMiddleware,
        max_bytes=settings.max_upload_bytes,
        max_json_bytes=settings.max_json_bytes,
        timeout_s=settings.body_timeout_s,
        min_rate=settings.min_body_rate,
    )
    app.add_middleware(RequestLogMiddleware)
    # Outermost: every answer, errors from the middleware included, carries CORS headers, and
    # preflight requests need no API key.
    app.add_middleware(
        CORSMiddleware,
        allow_origins=[o.strip() for o in settings.cors_allow_origins.split(",") if o.strip()],
        allow_methods=["GET", "POST", "HEAD", "OPTIONS"],
        allow_headers=["Authorization", "Content-Type", "X-Api-Key", "X-Request-ID"],
        expose_headers=["X-Request-ID", "X-Sample-Rate", "X-Voice", "Retry-After"],
        max_age=3600,
    )
    install_error_handlers(app)
    for module in (system, docs, speech, transcription, openai, uploads, realtime):
        app.include_router(module.router)
    return app


def document_api_key(app: FastAPI) -> None:
    """With API_KEY set, the schema says which operations need the key and how to send it,
    so Swagger UI's Authorize button sends it from /docs."""
    from speech_api.api.middleware import OPEN_PATHS

    build = app.openapi

    def openapi() -> dict:
        if app.openapi_schema is None:
            schema = build()
            schema.setdefault("components", {})["securitySchemes"] = {
                "bearer": {"type": "http", "scheme": "bearer"},
                "apiKey": {"type": "apiKey", "in": "header", "name": "x-api-key"},
            }
            for path, operations in schema["paths"].items():
                if path not in OPEN_PATHS:
                    for operation in operations.values():
                        operation["security"] = [{"bearer": []}, {"apiKey": []}]
        return app.openapi_schema

    app.openapi = openapi


def server_options(settings: Settings) -> dict:
    """Uvicorn's own limits for this app: idle keep-alive connections close, and past
    MAX_CONNECTIONS open connections new ones get 503 at once; WebSocket messages past
    REALTIME_MAX_EVENT_BYTES close their connection (1009), and pings find dead peers."""
    from speech_api.realtime.limits import PING_INTERVAL_S, PING_TIMEOUT_S

    return {
        "timeout_keep_alive": settings.keep_alive_timeout_s,
        "limit_concurrency": settings.max_connections,
        "ws_max_size": settings.realtime.max_event_bytes,
        "ws_ping_interval": PING_INTERVAL_S,
        "ws_ping_timeout": PING_TIMEOUT_S,
    }
