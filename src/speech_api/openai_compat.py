"""OpenAI-compatible audio API (/v1/...), so the official `openai` SDK and clients written for
it work against this service unchanged."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Literal

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import JSONResponse, PlainTextResponse, Response, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from speech_api.audio import OUTPUT_FORMATS, StreamEncoder, decode_audio
from speech_api.config import Settings
from speech_api.engines import Transcript, get_stt_engine
from speech_api.errors import InvalidRequestError, UnknownVoiceError
from speech_api.service import SpeechService, normalize_language, speakable_text
from speech_api.subtitles import to_srt, to_vtt

# OpenAI's voice names: each plays the configured default voice.
OPENAI_VOICES = (
    "alloy",
    "ash",
    "ballad",
    "coral",
    "echo",
    "fable",
    "nova",
    "onyx",
    "sage",
    "shimmer",
    "verse",
)
OPENAI_TTS_MODELS = ("tts-1", "tts-1-hd", "gpt-4o-mini-tts")
WHISPER_ALIAS = "whisper-1"

ResponseFormat = Literal["json", "text", "srt", "vtt", "verbose_json"]
SpeechFormat = Literal["mp3", "opus", "aac", "flac", "wav", "pcm"]


class SpeechRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")  # OpenAI adds fields over time

    model: str = Field(description="tts-1, tts-1-hd or the engine name")
    input: str = Field(min_length=1, max_length=4096)
    voice: str
    response_format: SpeechFormat = "mp3"
    speed: float = Field(1.0, ge=0.25, le=4.0, allow_inf_nan=False)
    instructions: str | None = Field(None, description="Accepted and ignored")


def stt_models(settings: Settings) -> list[str]:
    extra = [m.strip() for m in settings.stt.extra_models.split(",") if m.strip()]
    return list(dict.fromkeys([settings.stt.model, *extra]))


def transcript_body(result: Transcript, response_format: str, words: bool, segments: bool):
    if response_format == "text":
        return PlainTextResponse(result.text + "\n")
    if response_format == "srt":
        return PlainTextResponse(to_srt(result.segments), media_type="application/x-subrip")
    if response_format == "vtt":
        return PlainTextResponse(to_vtt(result.segments), media_type="text/vtt")
    if response_format == "json":
        return JSONResponse({"text": result.text})
    body = {
        "task": result.task,
        "language": result.language,
        "duration": result.duration_s,
        "text": result.text,
    }
    if segments or not words:
        body["segments"] = [
            {
                "id": s.id,
                "seek": s.seek,
                "start": s.start,
                "end": s.end,
                "text": s.text,
                "tokens": list(s.tokens),
                "temperature": s.temperature,
                "avg_logprob": s.avg_logprob,
                "compression_ratio": s.compression_ratio,
                "no_speech_prob": s.no_speech_prob,
            }
            for s in result.segments
        ]
    if words:
        body["words"] = [{"word": w.word, "start": w.start, "end": w.end} for w in result.words]
    return JSONResponse(body)


def create_router(settings: Settings, service: SpeechService) -> APIRouter:
    router = APIRouter(prefix="/v1", tags=["openai"])

    def resolve_stt_model(name: str):
        available = stt_models(settings)
        chosen = settings.stt.model if name in (WHISPER_ALIAS, "") else name
        if chosen not in available:
            raise InvalidRequestError(
                f"Unknown model '{name}'. Available: {', '.join([WHISPER_ALIAS, *available])}.",
                param="model",
                code="model_not_found",
            )
        return get_stt_engine(
            settings.stt.model_copy(update={"model": chosen}), settings.model_cache_dir
        )

    def run_audio_task(
        task: str,
        data: bytes,
        model: str,
        language: str | None,
        prompt: str | None,
        temperature: float | None,
        words: bool,
    ) -> Transcript:
        engine = resolve_stt_model(model)
        audio = decode_audio(data, max_seconds=settings.max_audio_seconds)
        return engine.transcribe(
            audio.samples,
            language=normalize_language(language),
            task=task,
            prompt=prompt,
            temperature=temperature,
            word_timestamps=words,
        )

    async def audio_endpoint(
        task: str,
        file: UploadFile,
        model: str,
        language: str | None,
        prompt: str | None,
        response_format: str,
        temperature: float,
        granularities: list[str] | None,
    ):
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
        result = await service.run(
            run_audio_task,
            task,
            data,
            model,
            language if task == "transcribe" else None,
            prompt,
            temperature if temperature > 0 else None,
            words,
        )
        return transcript_body(result, response_format, words, "segment" in granularities)

    @router.post("/audio/transcriptions")
    async def transcriptions(
        file: Annotated[UploadFile, File(description="The audio file")],
        model: Annotated[str, Form()] = WHISPER_ALIAS,
        language: Annotated[str | None, Form()] = None,
        prompt: Annotated[str | None, Form()] = None,
        response_format: Annotated[ResponseFormat, Form()] = "json",
        temperature: Annotated[float, Form(ge=0, le=1)] = 0.0,
        timestamp_granularities: Annotated[
            list[str] | None, Form(alias="timestamp_granularities[]")
        ] = None,
    ):
        """OpenAI `audio.transcriptions.create`."""
        return await audio_endpoint(
            "transcribe",
            file,
            model,
            language,
            prompt,
            response_format,
            temperature,
            timestamp_granularities,
        )

    @router.post("/audio/translations")
    async def translations(
        file: Annotated[UploadFile, File(description="The audio file")],
        model: Annotated[str, Form()] = WHISPER_ALIAS,
        prompt: Annotated[str | None, Form()] = None,
        response_format: Annotated[ResponseFormat, Form()] = "json",
        temperature: Annotated[float, Form(ge=0, le=1)] = 0.0,
    ):
        """OpenAI `audio.translations.create`: speech in any language to English text."""
        return await audio_endpoint(
            "translate", file, model, None, prompt, response_format, temperature, None
        )

    def prepare_speech(body: SpeechRequest):
        engine = service.tts_engine()
        known_models = {*OPENAI_TTS_MODELS, engine.engine, engine.model}
        if body.model not in known_models:
            raise InvalidRequestError(
                f"Unknown model '{body.model}'. Available: {', '.join(sorted(known_models))}.",
                param="model",
                code="model_not_found",
            )
        voice = engine.default_voice if body.voice in OPENAI_VOICES else body.voice
        if voice not in engine.voices():
            raise UnknownVoiceError(
                f"Unknown voice '{body.voice}'. Available: "
                f"{', '.join([*OPENAI_VOICES, *engine.voices()])}.",
                param="voice",
            )
        return engine, voice

    @router.post(
        "/audio/speech",
        response_class=Response,
        responses={200: {"content": {"audio/mpeg": {}}, "description": "Audio"}},
    )
    async def speech(body: SpeechRequest, request: Request):
        """OpenAI `audio.speech.create`. The audio streams sentence by sentence."""
        engine, voice = await service.run(prepare_speech, body)
        pieces = engine.stream(speakable_text(body.input), voice=voice, speed=body.speed)
        # Synthesize the first sentence before answering, so the sample rate is known and a
        # failure is still a clean error response rather than a broken stream.
        first = await service.run(next, pieces, None)
        rate = first.sample_rate if first is not None else 22050
        encoder = StreamEncoder(body.response_format, rate)

        def step(piece) -> bytes:
            return encoder.feed(piece.samples) if piece is not None else encoder.close()

        async def chunks() -> AsyncIterator[bytes]:
            # Each sentence is synthesized and encoded on the inference pool, not the loop.
            piece = first
            while piece is not None:
                yield await service.run(step, piece)
                piece = await service.run(next, pieces, None)
            yield await service.run(step, None)

        spec = OUTPUT_FORMATS[body.response_format]
        headers = {"X-Sample-Rate": str(encoder.sample_rate)}
        media_type = spec.content_type if body.response_format != "opus" else "audio/ogg"
        return StreamingResponse(chunks(), media_type=media_type, headers=headers)

    @router.get("/models")
    def models():
        names = [WHISPER_ALIAS, *stt_models(settings), *OPENAI_TTS_MODELS, settings.tts.engine]
        return {
            "object": "list",
            "data": [
                {"id": n, "object": "model", "created": 0, "owned_by": "speech-api"}
                for n in dict.fromkeys(names)
            ],
        }

    @router.get("/audio/voices")
    async def voices():
        engine = await run_in_threadpool(service.tts_engine)
        return {
            "voices": engine.voices(),
            "default": engine.default_voice,
            "aliases": {name: engine.default_voice for name in OPENAI_VOICES},
        }

    return router
