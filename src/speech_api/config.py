"""Settings: one typed object, read from the environment once and passed in.

Groups map to env prefixes with a single underscore (``STT_MODEL`` -> ``stt.model``,
``S3_ENDPOINT_URL`` -> ``s3.endpoint_url``), so the names users type match the README.
Nothing else in the package reads ``os.environ``.
"""

from __future__ import annotations

import copy
import os
import tempfile
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, create_model, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from speech_api.engines import registry
from speech_api.engines.spec import EngineSettings
from speech_api.formats import AudioFormat
from speech_api.schemas import MAX_JOB_CHARS, MAX_TEXT_CHARS


def default_cache_dir() -> Path:
    """~/.cache/speech-api, or a temp folder where there is no usable home (Lambda sets no
    HOME, and its user has no passwd entry)."""
    home = Path(os.path.expanduser("~"))
    if str(home) == "~" or not home.is_absolute():
        return Path(tempfile.gettempdir()) / "speech-api"
    return home / ".cache" / "speech-api"


_Group = EngineSettings  # frozen, so hashable: the model caches are keyed on the groups

# The STT group is the STT engine's own settings (STT_MODEL, STT_BEAM_SIZE, ...): see
# engines/stt/whisper_settings.py.
STTSettings = registry.stt_engine().settings


class _TTSCommon(_Group):
    """What every TTS engine shares. Each registered engine's own settings (declared in its
    adapter, engines/tts/<name>.py) join the group flat, prefixed with its name:
    an engine ``x``'s setting ``voice`` is TTS_X_VOICE, ``tts.x_voice``;
    `engine_settings` hands an engine its own."""

    engine: Literal[registry.tts_names()] = registry.DEFAULT_TTS_ENGINE  # type: ignore[valid-type]
    default_format: AudioFormat = "mp3"
    # Sentences synthesized at once per engine (0: the engine decides, e.g. one per core).
    max_concurrent: int = Field(0, ge=0)
    # Names callers may use for a voice, `alias=voice,...` (OpenAI's names: alloy, marin, ...).
    # An OpenAI name not listed plays the default voice. A target that is not installed is
    # refused with a 400 naming it, never replaced by another voice.
    voice_aliases: str = ""
    # The voice the alias `es` plays, for Spanish text (a voice of the engine; production
    # images install it at build time). Empty: no Spanish alias.
    spanish_voice: str = "es_ES-davefx-medium"

    @field_validator("voice_aliases")
    @classmethod
    def _alias_pairs(cls, value: str) -> str:
        for pair in filter(None, (p.strip() for p in value.split(","))):
            name, sep, voice = pair.partition("=")
            if not (sep and name.strip() and voice.strip()):
                raise ValueError(f"'{pair}' is not alias=voice")
        return value

    def voice_alias_map(self) -> dict[str, str]:
        pairs = (p.partition("=") for p in self.voice_aliases.split(",") if p.strip())
        return {name.strip(): voice.strip() for name, _, voice in pairs}

    # A synthesis that must finish before the answer (/tts; /v1/audio/speech where responses
    # are not streamed, as on Lambda) gets this long, estimated from the text, the speed and
    # the engine's cost figures (its spec); longer is refused up front. 25 s: API Gateway's
    # integration timeout is 29 s, less room for the rest of the request.
    time_limit_s: float = Field(25.0, gt=0)
    # The most speech one request may make, in seconds at speed 1 (slower speech may be
    # longer in proportion): refused up front by its phonemes where the engine counts them,
    # and stopped as it is made. 4,096 characters of prose make about 205-255 s; digits,
    # symbols and other scripts are read out in full and make far more.
    max_speech_s: float = Field(300.0, gt=0)
    # Where set, a streamed synthesis stops after this long (the Lambda streaming runtime
    # sets it: there a client that hangs up is not seen, and the work would run on, billed).
    stream_time_limit_s: float | None = Field(None, gt=0)
    # When set, /tts forwards to this SageMaker endpoint (a GPU container running this app).
    sagemaker_endpoint: str | None = None
    # The SageMaker runtime's URL when it is not AWS's default (a VPC endpoint, an emulator).
    sagemaker_endpoint_url: str | None = None
    # When set, cached audio under the public prefix is signed with it (HMAC over key, ETag
    # and what the response reports), and a cache hit is trusted only if the signature holds:
    # an object someone else wrote there is synthesized again and overwritten. The embedded
    # S3 sets one (kept in DATA_DIR); on AWS only the TTS role may write there.
    cache_secret: SecretStr | None = Field(None, repr=False)

    def engine_settings(self, name: str | None = None) -> EngineSettings:
        """An engine's own settings (default: the configured engine's), from its fields."""
        spec = registry.tts_engine(name or self.engine)
        values = {
            field: getattr(self, f"{spec.name}_{field}") for field in spec.settings.model_fields
        }
        return spec.settings(**values)

    @model_validator(mode="after")
    def _engines_accept_their_settings(self):
        # Each engine's own checks (its settings class's validators) run now, not at load.
        for spec in registry.TTS_ENGINES:
            self.engine_settings(spec.name)
        return self


def _engine_fields(specs) -> dict:
    return {
        f"{spec.name}_{name}": (info.annotation, copy.copy(info))
        for spec in specs
        for name, info in spec.settings.model_fields.items()
    }


TTSSettings = create_model(
    "TTSSettings",
    __base__=_TTSCommon,
    __module__=__name__,
    **_engine_fields(registry.TTS_ENGINES),
)


class RealtimeSettings(_Group):
    """Live transcription sessions (`/v1/realtime`, docs/realtime.md). The deployed stack
    sets its load balancer's and CloudFront's timeouts from these."""

    # Sessions one process serves at once (0: two per usable core); one more gets an error
    # event and close code 1013.
    max_sessions: int = Field(0, ge=0)
    # A session ends after this long (OpenAI's limit: 60 minutes), or after this long
    # without an event from its client.
    session_max_s: float = Field(3600.0, gt=0)
    idle_timeout_s: float = Field(300.0, gt=0)
    # The largest event a client may send (OpenAI allows 15 MiB of audio per append; base64
    # makes that 20 MiB); larger closes the connection with code 1009.
    max_event_bytes: int = Field(16 * 1024 * 1024, ge=64 * 1024)
    # Partial text while a turn is spoken (`delta` events); off: deltas come with `completed`.
    partials: bool = True
    partial_interval_s: float = Field(0.5, gt=0)
    # A turn that goes on this long is cut at its quietest point and committed.
    max_utterance_s: float = Field(28.0, ge=5, le=29)
    # Deployed: the session count goes to CloudWatch under this namespace (the service scales
    # on it), with this value for its Service dimension. Unset: no metric.
    metrics_namespace: str | None = None
    metrics_service: str = "speech-api-realtime"


class _SpeakersCommon(_Group):
    """Who said what (speech_api.diarization); the encoder loads on the first request that
    asks for speakers. The encoder's own settings (engines/registry.py's speaker encoder) are
    SPEAKERS_<ATTR> too (SPEAKERS_WEIGHTS, SPEAKERS_THREADS)."""

    # Average cosine similarity at which two groups of speech are one voice (chosen on the
    # tuning conversations of docs/speakers.md, between 0.59 across and 0.73 within voices).
    threshold: float = Field(0.65, gt=0, lt=1)
    # A voice takes a known speaker's name at this similarity to the reference clip or more
    # (same voice 0.89 or more, different voices 0.70 or less on the evaluation set).
    match_threshold: float = Field(0.8, gt=0, lt=1)

    def encoder_settings(self) -> EngineSettings:
        """The speaker encoder's own settings, from its fields here."""
        spec = registry.speaker_encoder()
        return spec.settings(**{name: getattr(self, name) for name in spec.settings.model_fields})


SpeakersSettings = create_model(
    "SpeakersSettings",
    __base__=_SpeakersCommon,
    __module__=__name__,
    **{
        name: (info.annotation, copy.copy(info))
        for name, info in registry.speaker_encoder().settings.model_fields.items()
    },
)


class S3Settings(_Group):
    bucket: str = "speech-api"
    endpoint_url: str | None = None
    access_key_id: str | None = None
    secret_access_key: str | None = None
    connect_timeout_s: float = Field(2.0, gt=0)
    read_timeout_s: float = Field(10.0, gt=0)
    max_attempts: int = Field(3, ge=1)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_nested_delimiter="_",
        env_nested_max_split=1,
        env_file=".env",
        env_file_encoding="utf-8",
        env_ignore_empty=True,  # `KEY=` in .env means "use the default"
        extra="ignore",
        frozen=True,
    )

    host: str = "127.0.0.1"
    port: int = Field(8000, ge=0, le=65535)
    log_level: str = "info"
    # Server processes for `serve` (containers). Each loads its own models; see the README's
    # Performance section for the measured trade-off.
    workers: int = Field(1, ge=1, le=32)

    aws_region: str = "us-east-1"
    # Only consulted to decide whether `serve` needs the embedded S3 (see runtime/embedded/s3.py).
    aws_access_key_id: str | None = None
    aws_profile: str | None = None
    embedded_s3: Literal["auto"] | bool = "auto"
    # The embedded S3's port: fixed, so URLs handed out before a restart keep working (0: any
    # free port). When it is taken, `serve` says so and uses a free one.
    embedded_s3_port: int = Field(8001, ge=0, le=65535)
    # Where the embedded S3 keeps its objects and credentials, so they survive a crash.
    data_dir: Path = Path(".data")
    public_prefix: str = "public/"
    public_base_url: str | None = None

    # Object layout in the one bucket. Uploads trigger transcription (S3 -> SQS -> worker).
    uploads_prefix: str = "uploads/"
    transcripts_prefix: str = "transcripts/"
    upload_url_expires_s: int = Field(900, ge=60, le=7 * 24 * 3600)

    # When set, every route but the open ones (/health, /ready, /ping and the playground page)
    # needs `Authorization: Bearer <key>`.
    api_key: str | None = Field(None, repr=False)
    # Deployed: the API Gateway usage plan whose API keys also open live transcription
    # sessions on the ECS service (one key store for both; see api/keys.py).
    api_keys_usage_plan: str | None = None

    # Browsers on these origins (comma-separated; * for any) may call the API.
    cors_allow_origins: str = "*"
    # The engines this process serves (stt, tts, or none): /ready checks them, and a Lambda
    # environment initialized for provisioned concurrency loads them before any request.
    preload_models: str = "stt,tts"

    def served_engines(self) -> set[str]:
        return {e.strip() for e in self.preload_models.split(",")} & {"stt", "tts"}

    # Backpressure: inference requests (STT, TTS) in flight at once; more get 429 at once.
    max_concurrent_requests: int = Field(16, ge=1)

    # Backpressure for presigned-upload requests (light, but each is a thread and an S3 call).
    max_concurrent_uploads: int = Field(32, ge=1)

    # Slow clients: a request body gets BODY_TIMEOUT_S plus one second per MIN_BODY_RATE bytes
    # received (a client trickling a byte a second is cut off after about 10 s, a 25 MB upload
    # at 1 Mbit/s is not), else 408; a response the client stops reading for SEND_TIMEOUT_S is
    # dropped. Inference slots are taken only once the body is complete.
    body_timeout_s: float = Field(10.0, gt=0)
    min_body_rate: int = Field(16 * 1024, ge=1)
    send_timeout_s: float = Field(15.0, gt=0)
    # A streamed speech response must be read at least as fast as it plays, after its first
    # STREAM_READ_GRACE_S: a client that falls further behind is cut and its slot freed.
    stream_read_grace_s: float = Field(10.0, gt=0)
    # Idle keep-alive connections close after this; at most MAX_CONNECTIONS are open at once
    # (beyond that uvicorn answers 503 at once).
    keep_alive_timeout_s: float = Field(5.0, gt=0)
    max_connections: int = Field(256, ge=1)
    # A connection must deliver a complete request head within REQUEST_HEADER_TIMEOUT_S of
    # opening (or of its previous response), else it is closed; at most MAX_IDLE_CONNECTIONS
    # may be open without a request in progress (a new one closes the one idle longest).
    request_header_timeout_s: float = Field(5.0, gt=0)
    max_idle_connections: int = Field(64, ge=1)

    max_upload_bytes: int = Field(25 * 1024 * 1024, ge=1)
    # JSON bodies (/tts, /v1/audio/speech, /uploads, /invocations) are small: 4096 characters
    # fit in 64 KB even when every one is a JSON-escaped emoji.
    max_json_bytes: int = Field(64 * 1024, ge=1024)
    max_audio_seconds: float = Field(60.0, gt=0)
    # The upload worker and `speech-api transcribe` take recordings up to this long (4 h by
    # default; the CDK stack sets what its worker's timeout allows), and objects up to
    # MAX_LONG_UPLOAD_BYTES (presigned upload forms allow that size too).
    long_audio_max_seconds: float = Field(4 * 3600.0, gt=0)
    max_long_upload_bytes: int = Field(2 * 1024**3, ge=1)
    # Where the worker moves the message of a file that failed MAX_WORKER_ATTEMPTS times (the
    # CDK stack sets it to its dead-letter queue). Unset: SQS's redrive policy moves it.
    uploads_dead_letter_url: str | None = None
    # When an upload's transcript (or its failure) is written, the worker publishes a message
    # to this SNS topic (the CDK stack sets its TranscriptTopicArn). Unset: no topic.
    transcript_topic_arn: str | None = None
    # Callbacks are delivered apart from the transcription: on a thread of their own, or, when
    # this is set (the CDK stack's callbacks queue), by the function that reads this queue.
    callback_queue_url: str | None = None
    # Callback URLs given at POST /uploads: http to loopback (this machine) is allowed too,
    # for developers (the CDK stack turns it off). Each attempt gets CALLBACK_TIMEOUT_S.
    callback_allow_loopback: bool = True
    callback_timeout_s: float = Field(5.0, gt=0, le=30)
    # When set, callbacks carry X-Speech-API-Signature: t=<unix time>,v1=<HMAC-SHA256 of
    # "<t>.<body>" with this secret, hex>.
    callback_secret: SecretStr | None = Field(None, repr=False)
    max_text_chars: int = Field(MAX_TEXT_CHARS, ge=1, le=MAX_TEXT_CHARS)

    # Speech jobs (POST /tts/jobs, text files dropped under TEXT_DROPS_PREFIX): their records
    # and work under SPEECH_JOBS_PREFIX (private), their messages on SPEECH_JOBS_QUEUE_URL
    # (`serve` sets its embedded queue; the CDK stack its SQS queue). Without a queue, POST
    # /tts/jobs answers 503.
    speech_jobs_prefix: str = "speech-jobs/"
    text_drops_prefix: str = "texts/"
    speech_jobs_queue_url: str | None = None
    max_job_chars: int = Field(MAX_JOB_CHARS, ge=1, le=MAX_JOB_CHARS)
    # A job is cut at sentence ends into even parts of at most this many characters of
    # speech, synthesized in parallel (one per core locally, a multiple of the workers of
    # them; one invocation each on Lambda). See speech_api.text.parts.split.
    speech_job_part_chars: int = Field(1000, ge=100, le=20_000)
    # At most this many jobs queued or running at once; more get 429 until some finish.
    max_active_speech_jobs: int = Field(20, ge=1)
    # Worker threads `serve` runs for speech jobs (0: one per usable core).
    speech_job_workers: int = Field(0, ge=0)
    # JSON bodies of POST /tts/jobs (200,000 characters, JSON-escaped).
    max_job_json_bytes: int = Field(3 * 1024 * 1024, ge=1024)
    # Whether responses reach the client as they are produced (Uvicorn) or only once complete
    # (Lambda behind API Gateway, which sets this false): streamed speech then has to fit
    # TTS_TIME_LIMIT_S too.
    streamed_responses: bool = True

    model_cache_dir: Path = Field(default_factory=default_cache_dir)

    @field_validator("model_cache_dir", "data_dir")
    @classmethod
    def _expand_home(cls, value: Path) -> Path:
        return value.expanduser()

    stt: STTSettings = STTSettings()
    tts: TTSSettings = TTSSettings()
    s3: S3Settings = S3Settings()
    realtime: RealtimeSettings = RealtimeSettings()
    speakers: SpeakersSettings = SpeakersSettings()
