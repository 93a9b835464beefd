"""OpenAI-compatible audio API (/v1/...), so the official `openai` SDK and clients written for
it work against this service unchanged. Every parameter OpenAI defines is honoured or refused
with a 400 naming it; none is dropped silently."""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import Response
from starlette.datastructures import FormData

from speech_api.api.deps import SettingsDep, SpeechDep, offload
from speech_api.api.routers.speech import paced, sse_response, stream_response
from speech_api.api.routers.transcription import one_audio_file
from speech_api.errors import InvalidRequestError, NotFoundError
from speech_api.formats import TranscriptFormat
from speech_api.openai_names import TRANSCRIPTION_INCLUDES
from speech_api.schemas import MAX_KEYWORD_CHARS, MAX_KEYWORDS, SpeechRequest
from speech_api.service import (
    SpeechService,
    TranscriptionOptions,
    render_transcript,
    speech_events,
    transcript_events,
)
from speech_api.service.speech import WHISPER_ALIAS

router = APIRouter(prefix="/v1", tags=["openai"])

_COMMON_FIELDS = {"file", "model", "prompt", "response_format", "temperature"}
_TRANSCRIPTION_FIELDS = _COMMON_FIELDS | {
    "language",
    "stream",
    "include",
    "include[]",
    "timestamp_granularities",
    "timestamp_granularities[]",
    "chunking_strategy",
    "keywords",
    "keywords[]",
    "languages",
    "languages[]",
}


def _refuse_unknown_fields(form: FormData, allowed: set[str]) -> None:
    """OpenAI parameters this service does not implement (known_speaker_names[],
    keywords, ...) and misspelt ones alike: a 400 naming the field, not a silent drop."""
    for name in form:
        if name in allowed:
            continue
        # The SDK sends objects and arrays as `name[key]`, `name[]`: name the parameter.
        param = name.split("[", 1)[0]
        if param in allowed:
            raise InvalidRequestError(
                f"{param} takes a single value here, not '{name}'.",
                param=param,
                code="invalid_value",
            )
        raise InvalidRequestError(
            f"'{param}' is not supported by this endpoint.",
            param=param,
            code="unsupported_parameter",
        )


def _listed(form: FormData, name: str, *, allowed: tuple[str, ...] | None = None) -> list[str]:
    """An array field's values, each one of ``allowed`` where given. The SDK sends arrays as
    `name[]`; curl users often write `name`. Both mean the same."""
    values = [v for v in (*form.getlist(f"{name}[]"), *form.getlist(name)) if isinstance(v, str)]
    unknown = sorted(set(values) - set(allowed)) if allowed is not None else []
    if unknown:
        raise InvalidRequestError(
            f"{name}[] accepts {list(allowed)}, not {unknown}.", param=name, code="invalid_value"
        )
    return values


async def _audio_task(
    request: Request,
    service: SpeechService,
    options: TranscriptionOptions,
    response_format: str,
    *,
    allowed: set[str],
    stream: bool = False,
    chunking_strategy: str | None = None,
) -> Response:
    form = await request.form()
    _refuse_unknown_fields(form, allowed)
    options = _hints(form, options)
    # FastAPI's `file` keeps the last of several; the parsed form (cached) shows them all.
    file = one_audio_file(form)
    granularities = _listed(form, "timestamp_granularities", allowed=("word", "segment"))
    words = "word" in granularities
    if words and response_format != "verbose_json":
        raise InvalidRequestError(
            "timestamp_granularities[] needs response_format=verbose_json.",
            param="timestamp_granularities",
            code="invalid_value",
        )
    include = _listed(form, "include", allowed=TRANSCRIPTION_INCLUDES)
    with_logprobs = "logprobs" in include
    if with_logprobs and response_format != "json":
        raise InvalidRequestError(
            "include[]=logprobs needs response_format=json.", param="include", code="invalid_value"
        )
    # "auto" is what Whisper does anyway (voice activity detection splits the audio); a
    # server_vad configuration has nothing here to tune.
    if chunking_strategy not in (None, "auto"):
        raise InvalidRequestError(
            "chunking_strategy accepts only 'auto' here.",
            param="chunking_strategy",
            code="invalid_value",
        )
    if stream and response_format not in ("json", "text"):
        raise InvalidRequestError(
            "stream=true streams text events; use response_format json or text.",
            param="stream",
            code="invalid_value",
        )
    data = await file.read()
    # Word probabilities are where the logprobs come from.
    options = replace(options, word_timestamps=words or with_logprobs)
    if stream:
        started = await offload(service.transcribe_stream, data, options)
        return sse_response(transcript_events(started, with_logprobs=with_logprobs))
    result = await offload(service.transcribe, data, options)
    rendered = render_transcript(
        result,
        response_format,
        words=words,
        segments="segment" in granularities,
        with_logprobs=with_logprobs,
    )
    return Response(rendered.body, media_type=rendered.media_type)


def _hints(form: FormData, options: TranscriptionOptions) -> TranscriptionOptions:
    """`keywords[]` (Whisper's hotwords: a list before the prompt) and `languages[]`
    (detection chooses among them), as OpenAI's gpt-transcribe takes them."""
    keywords = [k.strip() for k in _listed(form, "keywords") if k.strip()]
    if len(keywords) > MAX_KEYWORDS:
        raise InvalidRequestError(
            f"keywords[] takes at most {MAX_KEYWORDS} entries, not {len(keywords)}.",
            param="keywords",
            code="too_many_keywords",
        )
    for keyword in keywords:
        if len(keyword) > MAX_KEYWORD_CHARS:
            raise InvalidRequestError(
                f"Each of keywords[] may be at most {MAX_KEYWORD_CHARS} characters; one has "
                f"{len(keyword)}.",
                param="keywords",
                code="string_too_long",
            )
    languages = tuple(_listed(form, "languages"))
    if not keywords and not languages:
        return options
    return replace(options, hotwords=", ".join(keywords) or None, languages=languages)


def _temperature(value: float) -> float | None:
    # 0 keeps faster-whisper's fallback schedule (OpenAI's behaviour for 0 too).
    return value if value > 0 else None


@router.post("/audio/transcriptions")
async def transcriptions(
    request: Request,
    service: SpeechDep,
    file: Annotated[UploadFile, File(description="The audio file")],
    model: Annotated[str, Form()] = WHISPER_ALIAS,
    language: Annotated[str | None, Form()] = None,
    prompt: Annotated[str | None, Form()] = None,
    response_format: Annotated[TranscriptFormat, Form()] = "json",
    temperature: Annotated[float, Form(ge=0, le=1)] = 0.0,
    stream: Annotated[bool, Form(description="Server-sent events as segments decode")] = False,
    include: Annotated[
        list[str] | None, Form(alias="include[]", description="logprobs (with json)")
    ] = None,
    chunking_strategy: Annotated[str | None, Form(description="auto only")] = None,
    timestamp_granularities: Annotated[
        list[str] | None, Form(alias="timestamp_granularities[]")
    ] = None,
    keywords: Annotated[
        list[str] | None,
        Form(alias="keywords[]", description="Words and names to expect (Whisper hotwords)"),
    ] = None,
    languages: Annotated[
        list[str] | None,
        Form(alias="languages[]", description="Languages the audio may be in (ISO-639-1)"),
    ] = None,
):
    """OpenAI `audio.transcriptions.create`, streamed as events with `stream=true`."""
    options = TranscriptionOptions(
        model=model, language=language, prompt=prompt, temperature=_temperature(temperature)
    )
    return await _audio_task(
        request,
        service,
        options,
        response_format,
        allowed=_TRANSCRIPTION_FIELDS,
        stream=stream,
        chunking_strategy=chunking_strategy,
    )


@router.post("/audio/translations")
async def translations(
    request: Request,
    service: SpeechDep,
    file: Annotated[UploadFile, File(description="The audio file")],
    model: Annotated[str, Form()] = WHISPER_ALIAS,
    prompt: Annotated[str | None, Form()] = None,
    response_format: Annotated[TranscriptFormat, Form()] = "json",
    temperature: Annotated[float, Form(ge=0, le=1)] = 0.0,
):
    """OpenAI `audio.translations.create`: speech in any language to English text."""
    options = TranscriptionOptions(
        task="translate", model=model, prompt=prompt, temperature=_temperature(temperature)
    )
    return await _audio_task(request, service, options, response_format, allowed=_COMMON_FIELDS)


@router.post(
    "/audio/speech",
    response_class=Response,
    responses={
        200: {"content": {"audio/mpeg": {}, "text/event-stream": {}}, "description": "Audio"}
    },
)
async def speech(request: Request, body: SpeechRequest, service: SpeechDep, settings: SettingsDep):
    """OpenAI `audio.speech.create`. The audio streams sentence by sentence: as bytes, or as
    `speech.audio.delta` events with `stream_format=sse`; either must be read at least as fast
    as it plays (after STREAM_READ_GRACE_S)."""
    stream = paced(request, await offload(service.speech, body), settings.stream_read_grace_s)
    if body.stream_format == "sse":
        return sse_response(speech_events(stream))
    return stream_response(stream)


def _model(name: str) -> dict:
    return {"id": name, "object": "model", "created": 0, "owned_by": "speech-api"}


@router.get("/models")
def models(service: SpeechDep):
    return {"object": "list", "data": [_model(n) for n in service.model_ids()]}


@router.get("/models/{model_id}")
def model(model_id: str, service: SpeechDep):
    """OpenAI `models.retrieve`: clients probe a model before using it."""
    if not service.has_model(model_id):
        raise NotFoundError(
            f"The model '{model_id}' does not exist.", param="model", code="model_not_found"
        )
    return _model(model_id)


@router.get("/audio/voices")
async def voices(service: SpeechDep):
    return await offload(service.voices)
