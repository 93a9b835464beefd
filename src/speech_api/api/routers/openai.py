"""OpenAI-compatible audio API (/v1/...), so the official `openai` SDK and clients written for
it work against this service unchanged. Every parameter OpenAI defines is honoured or refused
with a 400 naming it; none is dropped silently."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import Response
from starlette.datastructures import FormData

from speech_api.api.deps import SettingsDep, SpeechDep, offload
from speech_api.api.routers.speech import paced, sse_response, stream_response
from speech_api.api.routers.transcription import one_audio_file
from speech_api.errors import InvalidRequestError, NotFoundError
from speech_api.formats import TranscriptFormat
from speech_api.openai_names import OPENAI_DIARIZE_MODEL, TRANSCRIPTION_INCLUDES, openai_model
from speech_api.schemas import SpeechRequest
from speech_api.service import SpeechService, render_transcript, speech_events, transcript_events
from speech_api.service.speech import WHISPER_ALIAS
from speech_api.service.transcription_request import (
    TRANSCRIPTIONS,
    TRANSLATIONS,
    TranscriptionRequest,
)

router = APIRouter(prefix="/v1", tags=["openai"])

# Options the routes set themselves rather than read from a field of the same name: the
# translations route translates, and word timings come from timestamp_granularities[] (or
# include[]=logprobs, which word probabilities make).
_SET_BY_THE_ROUTE = {"translate", "word_timestamps", "diarize"}


def _fields(entry_point: str, *own: str) -> set[str]:
    """The form fields a route takes: its own, and the options it takes (arrays also as
    `name[]`, as the SDK sends them)."""
    options = set(TranscriptionRequest.taken_by(entry_point)) - _SET_BY_THE_ROUTE
    arrays = {f"{name}[]" for name in options if TranscriptionRequest.is_list(name)}
    return {"file", "response_format", *own, *options, *arrays}


_TRANSLATION_FIELDS = _fields(TRANSLATIONS)
_TRANSCRIPTION_FIELDS = _fields(
    TRANSCRIPTIONS,
    "stream",
    "include",
    "include[]",
    "timestamp_granularities",
    "timestamp_granularities[]",
    "chunking_strategy",
)


def _refuse_unknown_fields(form: FormData, allowed: set[str]) -> None:
    """OpenAI parameters this service does not implement (known_speaker_names[],
    keywords, ...) and misspelt ones alike: a 400 naming the field, not a silent drop."""
    for name in form:
        if name in allowed or (
            "chunking_strategy" in allowed and name.startswith("chunking_strategy[")
        ):
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
    entry_point: str,
    fields: dict,
    response_format: str,
    *,
    allowed: set[str],
    stream: bool = False,
) -> Response:
    """``fields``: the options the route declared (FastAPI read and typed them); every other
    option the entry point takes is read from the form here."""
    form = await request.form()
    _refuse_unknown_fields(form, allowed)
    taken = set(TranscriptionRequest.taken_by(entry_point)) - _SET_BY_THE_ROUTE
    raw = {n: _listed(form, n) if TranscriptionRequest.is_list(n) else form.get(n) for n in taken}
    fields = {**raw, **fields}
    # FastAPI's `file` keeps the last of several; the parsed form (cached) shows them all.
    file = one_audio_file(form)
    granularities = _listed(form, "timestamp_granularities", allowed=("word", "segment"))
    if entry_point == TRANSCRIPTIONS:
        fields["chunking_strategy"] = _chunking_strategy(form)
        _speakers(form, fields, response_format)
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
    if stream and response_format not in ("json", "text", "diarized_json"):
        raise InvalidRequestError(
            "stream=true streams text events; use response_format json, text or diarized_json.",
            param="stream",
            code="invalid_value",
        )
    if words or with_logprobs:  # word probabilities are where the logprobs come from
        fields["word_timestamps"] = True
    transcription = TranscriptionRequest.parse(fields, entry_point).options()
    data = await file.read()
    if stream:
        started = await offload(service.transcribe_stream, data, transcription)
        events = transcript_events(
            started, with_logprobs=with_logprobs, diarized=response_format == "diarized_json"
        )
        return sse_response(events)
    result = await offload(service.transcribe, data, transcription)
    rendered = render_transcript(
        result,
        response_format,
        words=words,
        segments="segment" in granularities,
        with_logprobs=with_logprobs,
    )
    return Response(rendered.body, media_type=rendered.media_type)


def _chunking_strategy(form: FormData) -> str | dict | None:
    """OpenAI's `chunking_strategy` as one value for TranscriptionRequest: "auto", a JSON
    object (curl users), or the object the SDK sends as `chunking_strategy[field]` fields."""
    fields = {
        name[len("chunking_strategy[") : -1]: value
        for name, value in form.multi_items()
        if name.startswith("chunking_strategy[") and name.endswith("]")
    }
    plain = form.get("chunking_strategy")
    if plain is not None and fields:
        raise InvalidRequestError(
            "Send chunking_strategy once: 'auto', or a server_vad object.",
            param="chunking_strategy",
            code="invalid_value",
        )
    return fields or plain


def _speakers(form: FormData, fields: dict, response_format: str) -> None:
    """Speaker labels: `gpt-4o-transcribe-diarize` (the configured model, diarized) or
    `response_format=diarized_json` with any model. What OpenAI refuses with the diarization
    model (a prompt, word timestamps, logprobs) is refused here too, naming the parameter."""
    diarize_model = openai_model(fields.get("model") or "", (OPENAI_DIARIZE_MODEL,))
    if diarize_model:
        for param, given in (
            ("prompt", fields.get("prompt")),
            ("timestamp_granularities", _listed(form, "timestamp_granularities")),
            ("include", _listed(form, "include")),
        ):
            if given:
                raise InvalidRequestError(
                    f"{param} is not supported with {OPENAI_DIARIZE_MODEL}.",
                    param=param,
                    code="unsupported_parameter",
                )
    # The diarization model labels speakers in every format that has segments (OpenAI
    # answers json and text without them: so does this).
    diarize = response_format == "diarized_json" or (
        diarize_model and response_format in ("srt", "vtt", "verbose_json")
    )
    names = fields.get("known_speaker_names")
    references = fields.get("known_speaker_references")
    if (names or references) and not diarize:
        raise InvalidRequestError(
            "known_speaker_names[] label speakers: use response_format=diarized_json.",
            param="known_speaker_names" if names else "known_speaker_references",
            code="invalid_value",
        )
    fields["diarize"] = bool(diarize)


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
    chunking_strategy: Annotated[
        str | None,
        Form(description="auto, or a server_vad object (its fields as chunking_strategy[field])"),
    ] = None,
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
    known_speaker_names: Annotated[
        list[str] | None,
        Form(alias="known_speaker_names[]", description="Names for known_speaker_references[]"),
    ] = None,
    known_speaker_references: Annotated[
        list[str] | None,
        Form(
            alias="known_speaker_references[]",
            description="Data URLs of 2-10 s clips of each known speaker (at most 4)",
        ),
    ] = None,
):
    """OpenAI `audio.transcriptions.create`, streamed as events with `stream=true`. Speaker
    labels with `model=gpt-4o-transcribe-diarize` or `response_format=diarized_json`."""
    fields = {"model": model, "language": language, "prompt": prompt, "temperature": temperature}
    return await _audio_task(
        request,
        service,
        TRANSCRIPTIONS,
        fields,
        response_format,
        allowed=_TRANSCRIPTION_FIELDS,
        stream=stream,
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
    if response_format == "diarized_json":
        raise InvalidRequestError(
            "Translations have no speaker labels: diarized_json is for transcriptions.",
            param="response_format",
            code="invalid_value",
        )
    fields = {"model": model, "prompt": prompt, "temperature": temperature, "translate": True}
    return await _audio_task(
        request, service, TRANSLATIONS, fields, response_format, allowed=_TRANSLATION_FIELDS
    )


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


def _model(name: str, service: SpeechService) -> dict:
    # `task` is ours (OpenAI's model objects have none): which routes take the model.
    task = service.model_task(name)
    return {"id": name, "object": "model", "created": 0, "owned_by": "speech-api", "task": task}


@router.get("/models")
def models(service: SpeechDep):
    return {"object": "list", "data": [_model(n, service) for n in service.model_ids()]}


@router.get("/models/{model_id}")
def model(model_id: str, service: SpeechDep):
    """OpenAI `models.retrieve`: clients probe a model before using it."""
    if not service.has_model(model_id):
        raise NotFoundError(
            f"The model '{model_id}' does not exist.", param="model", code="model_not_found"
        )
    return _model(model_id, service)


@router.get("/audio/voices")
async def voices(service: SpeechDep):
    return await offload(service.voices)
