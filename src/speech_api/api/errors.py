"""Every error response is built here: domain errors (raised by the service, the middleware or
a route) and the framework's own (validation, unknown route, unexpected exception) all become
``{"error": {"message", "type", "code", "param"}}`` with their status and headers."""

from __future__ import annotations

import json
import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect

from speech_api.errors import (
    InvalidRequestError,
    NotFoundError,
    SpeechAPIError,
    UnsupportedMediaTypeError,
)

logger = logging.getLogger("speech_api")


def error_response(exc: SpeechAPIError) -> JSONResponse:
    return JSONResponse({"error": exc.to_dict()}, exc.status_code, headers=exc.headers())


async def send_error(send, exc: SpeechAPIError, headers: dict[str, str] | None = None) -> None:
    """The same response, from ASGI middleware (no Request/Response objects there)."""
    body = json.dumps({"error": exc.to_dict()}).encode()
    extra = {**exc.headers(), **(headers or {})}
    await send(
        {
            "type": "http.response.start",
            "status": exc.status_code,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                *((k.lower().encode(), v.encode()) for k, v in extra.items()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def validation_error(request: Request, exc: RequestValidationError) -> SpeechAPIError:
    first = exc.errors()[0] if exc.errors() else {}
    if first.get("type") == "json_invalid":
        return InvalidRequestError("The request body is not valid JSON.", code="invalid_json")
    if tuple(first.get("loc", ())) == ("body",) and not _declares_json(request):
        return not_json(request.headers.get("content-type"))
    loc = [str(p) for p in first.get("loc", ()) if p not in ("body", "query")]
    param = ".".join(loc) or None
    message = first.get("msg", "Invalid request.")
    # OpenAI answers invalid fields with 400, and its SDK maps that to BadRequestError.
    return InvalidRequestError(
        f"{param}: {message}" if param else message,
        param=param,
        code=first.get("type", "invalid_request"),
        status_code=400 if request.url.path.startswith("/v1/") else 422,
    )


def _declares_json(request: Request) -> bool:
    """As FastAPI decides whether to parse a body as JSON: application/json or */*+json."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    return kind == "application/json" or (
        kind.startswith("application/") and kind.endswith("+json")
    )


def not_json(content_type: str | None) -> UnsupportedMediaTypeError:
    """415 for a JSON route's body sent as something else: the fix, not the parser's words."""
    sent = f"'{content_type}'" if content_type else "no Content-Type"
    return UnsupportedMediaTypeError(
        f"This route takes a JSON body, and the request declared {sent}. Send the header "
        "'Content-Type: application/json' (curl: -H 'content-type: application/json')."
    )


def http_error(exc: StarletteHTTPException) -> SpeechAPIError:
    if exc.status_code == 404:
        return NotFoundError(str(exc.detail))
    # 400 here is FastAPI's "error parsing the body" (e.g. JSON nested past the parser's
    # recursion limit).
    codes = {400: "invalid_body", 405: "method_not_allowed"}
    return InvalidRequestError(
        str(exc.detail),
        code=codes.get(exc.status_code, "http_error"),
        status_code=exc.status_code,
    )


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(SpeechAPIError)
    async def domain(_: Request, exc: SpeechAPIError) -> JSONResponse:
        if exc.status_code >= 500:
            logger.warning("%s: %s", exc.code, exc.message)
        return error_response(exc)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        return error_response(validation_error(request, exc))

    @app.exception_handler(StarletteHTTPException)
    async def http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        response = error_response(http_error(exc))
        response.headers.update(getattr(exc, "headers", None) or {})
        return response

    @app.exception_handler(ClientDisconnect)
    async def client_left(_: Request, exc: ClientDisconnect) -> Response:
        # The client hung up while its body was read: nobody to answer (the server drops this),
        # nothing to log as an error; the request log says 499, as nginx does.
        return Response(status_code=499)

    @app.exception_handler(Exception)
    async def unexpected(_: Request, exc: Exception) -> JSONResponse:
        logger.exception("unhandled error")
        return error_response(SpeechAPIError("Internal server error."))
