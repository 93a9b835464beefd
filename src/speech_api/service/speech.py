"""What the API does, independent of HTTP: transcribe audio, synthesize speech to a public URL
or as a stream, locally or on the GPU endpoint. Every entry point (the /stt, /tts and /v1
routes, the upload worker, the CLI) calls this one class; the work is in `transcription` and
`synthesis`."""

from __future__ import annotations

from speech_api.config import Settings
from speech_api.engines import (
    SpeechStream,
    SpeechToText,
)
from speech_api.openai_names import (
    OPENAI_DATED_MODELS,
    OPENAI_STT_MODELS,
    OPENAI_TTS_MODELS,
    openai_model,
)
from speech_api.schemas import SpeechRequest, TTSRequest, TTSResponse
from speech_api.service.models import ModelManager
from speech_api.service.synthesis import (
    LocalSynthesis,
    Synthesizer,
    checked_text,
    refuse_instructions,
    tts_model_names,
)
from speech_api.service.transcription import Transcription
from speech_api.storage import ObjectStorage
from speech_api.tts_cache import TTSCache

__all__ = ["SpeechService"]

WHISPER_ALIAS = OPENAI_STT_MODELS[0]


class SpeechService:
    def __init__(
        self,
        settings: Settings,
        storage: ObjectStorage | None = None,
        models: ModelManager | None = None,
    ):
        self.settings = settings
        self.storage = storage or ObjectStorage(settings)
        self.models = models or ModelManager(settings)
        self.stt = Transcription(settings, self.models)
        # Speech to text is Transcription's (service/transcription.py): its own calls, so
        # that their signatures are written once.
        self.transcribe = self.stt.transcribe
        self.transcribe_stream = self.stt.transcribe_stream
        self.transcribe_recording = self.stt.transcribe_recording
        cache = TTSCache(
            self.storage, prefix=settings.public_prefix, secret=settings.tts.cache_secret
        )
        # The CLI's `speak` and the voice list always use this process's engine.
        self.local_tts = LocalSynthesis(settings, self.models, cache)
        # Where /tts and /v1/audio/speech synthesize, chosen once: a configured GPU endpoint
        # takes every such request whole.
        self.tts: Synthesizer = self.local_tts
        if self.remote_tts:
            from speech_api.service.remote_synthesis import SageMakerTTS

            self.tts = SageMakerTTS(settings)

    @property
    def remote_tts(self) -> bool:
        return bool(self.settings.tts.sagemaker_endpoint)

    # --- models -----------------------------------------------------------------------------

    def model_ids(self) -> list[str]:
        """What /v1/models lists; each one resolves."""
        names = [*self.stt.model_names(), *tts_model_names(self.settings), *OPENAI_DATED_MODELS]
        return list(dict.fromkeys(names))

    def model_task(self, name: str) -> str:
        """What a listed model does: "speech" (text to speech) or "transcription"."""
        speech = name in tts_model_names(self.settings) or openai_model(name, OPENAI_TTS_MODELS)
        return "speech" if speech else "transcription"

    def has_model(self, name: str) -> bool:
        """Whether a request may name this model (listed, or a dated OpenAI snapshot)."""
        return (
            name in self.model_ids()
            or openai_model(name, OPENAI_STT_MODELS)
            or openai_model(name, OPENAI_TTS_MODELS)
        )

    def stt_engine(self, model: str | None = None) -> SpeechToText:
        return self.stt.engine(model)

    # --- speech to text ---------------------------------------------------------------------

    # --- text to speech ---------------------------------------------------------------------

    def synthesize(self, request: TTSRequest) -> TTSResponse:
        """Speak the text into the bucket's public prefix (content-addressed, so the same
        request is a cache hit) and return its public URL."""
        text = checked_text(request.text, self.settings.max_text_chars)
        return self.tts.synthesize(request.model_copy(update={"text": text}))

    def speech(self, request: SpeechRequest) -> SpeechStream:
        """OpenAI's speech request: audio streamed back (from the GPU endpoint, whole)."""
        refuse_instructions(request)
        text = checked_text(request.input, self.settings.max_text_chars)
        return self.tts.speech(request.model_copy(update={"input": text}))

    def speak(
        self, text: str, *, voice: str | None = None, fmt: str = "mp3", speed: float = 1.0
    ) -> SpeechStream:
        """Speech in any output format with the local engine (the CLI's `-o FILE`)."""
        text = checked_text(text, self.settings.max_text_chars)
        return self.local_tts.speak(text, voice=voice, fmt=fmt, speed=speed)

    def voices(self) -> dict:
        return self.local_tts.voices()
