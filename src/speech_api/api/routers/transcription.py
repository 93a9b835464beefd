"""Speech to text: `POST /stt` (multipart `file` or the raw audio as the body)."""

from __future__ import annotations

from fastapi import APIRouter, Query, Request, UploadFile
from fastapi.responses import Response
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.formparsers import MultiPartException

from speech_api.api.deps import SpeechDep, offload
from speech_api.errors import InvalidRequestError
from speech_api.formats import TRANSCRIPT_FORMATS
from speech_api.schemas import TranscriptionResponse
from speech_api.service import render_transcript, transcription_response
from speech_api.service.transcription_request import STT, TranscriptionRequest

router = APIRouter(tags=["speech"])
# The options /stt takes, as form fields or query parameters.
_OPTIONS = TranscriptionRequest.taken_by(STT)

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
                        **{
                            name: {
                                "type": "string",
                                "description": TranscriptionRequest.model_fields[name].description,
                            }
                            for name in _OPTIONS
                        },
                        "response_format": {"type": "string", "enum": list(TRANSCRIPT_FORMATS)},
                    },
                }
            },
            "application/octet-stream": {"schema": {"type": "string", "format": "binary"}},
            "audio/*": {"schema": {"type": "string", "format": "binary"}},
        },
    }
}


@router.post("/stt", response_model=TranscriptionResponse, openapi_extra=_STT_BODY)
async def stt(
    request: Request,
    service: SpeechDep,
    language: str | None = Query(None, description="ISO 639-1 code; detected if absent"),
    response_format: str | None = Query(
        None,
        description="json (this schema, default), text, srt, vtt or verbose_json",
        json_schema_extra={"enum": list(TRANSCRIPT_FORMATS)},
    ),
):
    """Transcribe a clip: multipart field `file`, or the raw audio as the body. `language`
    and `response_format` come as query parameters or form fields (the form wins). (The
    query parameters are declared for the OpenAPI document; the options are read below, as
    TranscriptionRequest says /stt takes them.)"""
    data, form = await read_audio(request)
    fmt = form.get("response_format") or response_format or "json"
    if fmt not in TRANSCRIPT_FORMATS:
        raise InvalidRequestError(
            f"response_format must be one of {', '.join(TRANSCRIPT_FORMATS)}, not '{fmt}'.",
            param="response_format",
            code="invalid_value",
        )
    fields = {name: form.get(name) or request.query_params.get(name) for name in _OPTIONS}
    options = TranscriptionRequest.parse(fields, STT).options()
    result = await offload(service.transcribe, data, options)
    if fmt == "json":
        return transcription_response(result)
    rendered = render_transcript(result, fmt)
    return Response(rendered.body, media_type=rendered.media_type)


_STT_FORM_FIELDS = ("file", *_OPTIONS, "response_format")


async def read_audio(request: Request) -> tuple[bytes, dict[str, str]]:
    """The audio bytes and the form's text fields (`language`, `response_format`). Content
    types are only a hint to tell multipart from a raw body; the bytes decide what the audio
    is. An unknown form field is refused, not ignored."""
    content_type = request.headers.get("content-type", "")
    if not content_type.lower().startswith("multipart/form-data"):
        return await request.body(), {}
    try:
        # Files are bounded by the body limit; text fields (language) are small.
        form = await request.form(max_files=2, max_fields=20, max_part_size=64 * 1024)
    except (MultiPartException, StarletteHTTPException) as exc:
        # Starlette reports a multipart problem as an HTTPException(400) inside an app.
        detail = getattr(exc, "message", None) or getattr(exc, "detail", "")
        raise InvalidRequestError(
            f"Malformed multipart body: {detail}", param="file", code="invalid_multipart"
        ) from exc
    audio = one_audio_file(form)
    for name in form:
        if name not in _STT_FORM_FIELDS:
            raise InvalidRequestError(
                f"'{name}' is not a field of /stt (it takes {', '.join(_STT_FORM_FIELDS)}).",
                param=name,
                code="unsupported_parameter",
            )
    fields = {k: v for k, v in form.items() if k != "file" and isinstance(v, str)}
    return await audio.read(), fields


def one_audio_file(form: FormData) -> UploadFile:
    """The multipart field `file`, sent once: every route refuses a second file rather than
    keep one of them silently."""
    files = [f for f in form.getlist("file") if not isinstance(f, str)]
    if not files:
        raise InvalidRequestError(
            "Send the audio in the multipart field 'file'.", param="file", code="missing_file"
        )
    if len(files) > 1:
        raise InvalidRequestError(
            "Send one audio file per request.", param="file", code="too_many_files"
        )
    return files[0]
