"""Settings: one typed object, read from the environment once and passed in.

Groups map to env prefixes with a single underscore (``STT_MODEL`` -> ``stt.model``,
``S3_ENDPOINT_URL`` -> ``s3.endpoint_url``), so the names users type match the README.
Nothing else in the package reads ``os.environ``.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from speech_api.formats import AudioFormat
from speech_api.schemas import MAX_TEXT_CHARS


def default_cache_dir() -> Path:
    """~/.cache/speech-api, or a temp folder where there is no usable home (Lambda sets no
    HOME, and its user has no passwd entry)."""
    home = Path(os.path.expanduser("~"))
    if str(home) == "~" or not home.is_absolute():
        return Path(tempfile.gettempdir()) / "speech-api"
    return home / ".cache" / "speech-api"


def usable_cores() -> int:
    """CPU cores this process may run on (a container's or a Lambda's share, not the host's)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


class _Group(BaseModel):
    # Frozen so that groups are hashable: the model caches are keyed on them.
    model_config = ConfigDict(frozen=True)


class STTSettings(_Group):
    model: str = Field("base", description="faster-whisper size/name or a local model directory")
    device: Literal["auto", "cpu", "cuda"] = "auto"
    compute_type: str | None = Field(None, description="default: int8 on CPU, float16 on CUDA")
    cpu_threads: int = Field(0, ge=0, description="CTranslate2 intra-op threads; 0 = all cores")
    num_workers: int = Field(1, ge=1, description="parallel transcriptions inside CTranslate2")
    # More models callers may pick by name (comma-separated), besides `model`.
    extra_models: str = ""
    beam_size: int = Field(5, ge=1, le=10)
    vad_filter: bool = True
    # Encode a clip that fits one 30 s window as its audio plus a margin instead of the whole
    # padded window; a result that looks wrong is decoded again over the full window.
    trim_context: bool = True
    context_margin_s: float = Field(2.0, ge=0.0, le=30.0)
    # Clips waiting while the model is busy are decoded together, up to this many (1 = off).
    # A clip that finds the model idle never waits.
    batch_size: int = Field(8, ge=1, le=64)
    # A transcription answered in the request (/stt, /v1/audio/transcriptions) stops and
    # answers 503 past this: noise can make Whisper decode every window at every temperature
    # of its fallback schedule. 25 s: API Gateway ends requests at 29 s.
    time_limit_s: float = Field(25.0, gt=0)


class TTSSettings(_Group):
    engine: Literal["piper", "coqui"] = "piper"
    default_format: AudioFormat = "mp3"
    # Piper: a voice name (bundled en_US-joe-medium, or NAME.onnx under voices_dir) or a path.
    piper_voice: str = "en_US-joe-medium"
    piper_voices_dir: Path | None = None
    # Sentences synthesized at once per engine (0: one per usable core). onnxruntime gives each
    # concurrent run its own buffers: 16 at once took RSS from 0.2 to 4 GB for no more speed.
    max_concurrent: int = Field(0, ge=0)
    # Names callers may use for a voice, `alias=voice,...` (OpenAI's names: alloy, marin, ...).
    # An OpenAI name not listed plays the default voice. A target that is not installed is
    # refused with a 400 naming it, never replaced by another voice.
    voice_aliases: str = ""
    # The voice the alias `es` plays, for Spanish text (a Piper voice name; production images
    # install it at build time). Empty: no Spanish alias.
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

    # Coqui: a model name resolved by Coqui's model manager, or local checkpoint + config.
    coqui_model: str = "tts_models/en/ljspeech/tacotron2-DDC"
    coqui_model_path: Path | None = None
    coqui_config_path: Path | None = None
    coqui_vocoder_path: Path | None = None
    coqui_vocoder_config_path: Path | None = None
    coqui_max_decoder_steps: int = Field(2000, ge=10)
    coqui_threads: int = Field(1, ge=1, description="torch threads; 1 is as fast and steadier")
    coqui_device: Literal["auto", "cpu", "cuda"] = "auto"
    # A synthesis that must finish before the answer (/tts; /v1/audio/speech where responses
    # are not streamed, as on Lambda) gets this long, estimated from the text, the speed and
    # the engine (formats.synthesis_estimate_s); longer is refused up front. 25 s: API
    # Gateway's integration timeout is 29 s, less room for the rest of the request.
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
