"""OpenAI-compatible audio API (/v1/...), so the official `openai` SDK and clients written for
it work against this service unchanged."""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import Response

from speech_api.api.deps import SettingsDep, SpeechDep, offload
from speech_api.api.routers.speech import stream_response
from speech_api.api.routers.transcription import one_audio_file
from speech_api.errors import InvalidRequestError
from speech_api.formats import TranscriptFormat
from speech_api.schemas import SpeechRequest
from speech_api.service import SpeechService, TranscriptionOptions, render_transcript
from speech_api.service.speech import OPENAI_TTS_MODELS, OPENAI_VOICES, WHISPER_ALIAS

router = APIRouter(prefix="/v1", tags=["openai"])


async def _audio_task(
    request: Request,
    service: SpeechService,
    file: UploadFile,
    options: TranscriptionOptions,
    response_format: str,
    granularities: list[str] | None,
) -> Response:
    # FastAPI's `file` keeps the last of several; the parsed form (cached) shows them all.
    file = one_audio_file(await request.form())
    granularities = granularities or []
    unknown = set(granularities) - {"word", "segment"}
    if unknown:
        raise InvalidRequestError(
            f"timestamp_granularities[] accepts 'word' and 'segment', not {sorted(unknown)}.",
            param="timestamp_granularities",
            code="invalid_value",
        )
    words = "word" in granularities
    if words and response_format != "verbose_json":
        raise InvalidRequestError(
            "timestamp_granularities[] needs response_format=verbose_json.",
            param="timestamp_granularities",
            code="invalid_value",
        )
    data = await file.read()
    options = replace(options, word_timestamps=words)
    result = await offload(service.transcribe, data, options)
    rendered = render_transcript(
        result, response_format, words=words, segments="segment" in granularities
    )
    return Response(rendered.body, media_type=rendered.media_type)


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
    timestamp_granularities: Annotated[
        list[str] | None, Form(alias="timestamp_granularities[]")
    ] = None,
):
    """OpenAI `audio.transcriptions.create`."""
    options = TranscriptionOptions(
        model=model,
        language=language,
        prompt=prompt,
        temperature=temperature if temperature > 0 else None,
    )
    return await _audio_task(
        request, service, file, options, response_format, timestamp_granularities
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
        task="translate",
        model=model,
        prompt=prompt,
        temperature=temperature if temperature > 0 else None,
    )
    return await _audio_task(request, service, file, options, response_format, None)


@router.post(
    "/audio/speech",
    response_class=Response,
    responses={200: {"content": {"audio/mpeg": {}}, "description": "Audio"}},
)
async def speech(body: SpeechRequest, service: SpeechDep):
    """OpenAI `audio.speech.create`. The audio streams sentence by sentence."""
    return stream_response(await offload(service.speech, body))


@router.get("/models")
def models(settings: SettingsDep, service: SpeechDep):
    names = [
        WHISPER_ALIAS,
        *service.models.stt_names(),
        *OPENAI_TTS_MODELS,
        settings.tts.engine,
    ]
    return {
        "object": "list",
        "data": [
            {"id": n, "object": "model", "created": 0, "owned_by": "speech-api"}
            for n in dict.fromkeys(names)
        ],
    }


@router.get("/audio/voices")
async def voices(service: SpeechDep):
    engine = await offload(service.tts_engine)
    return {
        "voices": engine.voices(),
        "default": engine.default_voice,
        "aliases": {name: engine.default_voice for name in OPENAI_VOICES},
    }
