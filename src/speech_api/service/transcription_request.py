"""A transcription's options as the entry points receive them, validated by one model, which makes
the `TranscriptionOptions` the engines take (engines/base.py; and from there, one mapping to
faster-whisper's arguments: engines/stt/whisper_arguments.py).

Every entry point builds its options here from its raw fields: `/stt` (form or query),
`/v1/audio/transcriptions` and `/translations` (form), `POST /uploads` (JSON) and the uploaded
object's metadata (the worker's side, a raw drop into uploads/ included), the CLI (its
flags derive from this model, and `--base-url` sends the fields a server route takes), and a
live session's transcription settings (`/v1/realtime`).
Each field says which entry points take it (`Taken`): an option every entry point should
offer is a field taken by EVERYWHERE, its line in `options()` if its name or value differs
from TranscriptionOptions', and its faster-whisper argument. (POST /uploads also lists its
fields in schemas.UploadRequest, the body's published schema.)
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Annotated, Any, Literal, get_args, get_origin

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from speech_api.engines.base import TranscriptionOptions, VoiceActivity
from speech_api.engines.stt.whisper import WHISPER_LANGUAGES
from speech_api.errors import InvalidRequestError
from speech_api.schemas import MAX_KEYWORD_CHARS, MAX_KEYWORDS, MAX_SPEAKERS
from speech_api.service.speakers import check_speaker_options, known_speakers

# The entry points.
STT = "/stt"
TRANSCRIPTIONS = "/v1/audio/transcriptions"
TRANSLATIONS = "/v1/audio/translations"
UPLOADS = "/uploads"  # the POST /uploads body, then the uploaded object's metadata
CLI = "speech-api transcribe"
REALTIME = "/v1/realtime"  # a live session's audio transcription settings
EVERYWHERE = (STT, TRANSCRIPTIONS, TRANSLATIONS, UPLOADS, CLI, REALTIME)


class Taken:
    """Field metadata: the entry points that take this option."""

    def __init__(self, *entry_points: str):
        unknown = set(entry_points) - set(EVERYWHERE)
        if unknown:
            raise ValueError(f"unknown entry points {sorted(unknown)}")
        self.by = frozenset(entry_points)


class ServerVad(BaseModel):
    """OpenAI's `chunking_strategy` object: the voice activity detection that cuts the audio
    (and finds speech for speaker windows)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: Literal["server_vad"]
    threshold: float | None = Field(None, ge=0, le=1)
    silence_duration_ms: int | None = Field(None, ge=0, le=10_000)
    prefix_padding_ms: int | None = Field(None, ge=0, le=10_000)


# Whisper's special tokens, as its tokenizer spells them: the named ones, a language it knows
# (<|en|>, <|haw|>) and a timestamp (<|0.00|> to <|30.00|>). Other text between "<|" and "|>"
# (Elm's pipes, "<| endoftext |>", "<|and|>", "<|EN|>") is text to the tokenizer and is left
# alone.
_CONTROL_TOKEN = re.compile(
    r"<\|(?:endoftext|startoftranscript|startoflm|startofprev|nospeech|nocaptions"
    r"|notimestamps|translate|transcribe|\d{1,2}\.\d\d|"
    + "|".join(sorted(WHISPER_LANGUAGES, key=len, reverse=True))
    + r")\|>"
)


def _json_object(value: Any) -> Any:
    """A form sends chunking_strategy as "auto" or as a JSON object in a string (the SDK sends
    `chunking_strategy[field]` fields, which the route gathers into a dict)."""
    if isinstance(value, str) and value.strip() not in ("", "auto"):
        try:
            return json.loads(value)
        except (ValueError, RecursionError):  # RecursionError: "[[[[..." thousands deep
            return value
    if isinstance(value, str) and not value.strip():
        return "auto"
    return value


# Messages for fields whose validation errors would not say what the field takes (a union's).
_WHAT_IT_TAKES = {
    "chunking_strategy": "chunking_strategy is 'auto' or a server_vad object "
    '({"type": "server_vad", ...}) with threshold (0 to 1), silence_duration_ms and '
    "prefix_padding_ms (0 to 10000).",
}


class TranscriptionRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    model: Annotated[str | None, Taken(TRANSCRIPTIONS, TRANSLATIONS, CLI, REALTIME)] = Field(
        None, description="a model from `speech-api models` (GET /v1/models); default: STT_MODEL"
    )
    language: Annotated[str | None, Taken(STT, TRANSCRIPTIONS, UPLOADS, CLI, REALTIME)] = Field(
        None, description="ISO 639-1 code; detected when absent"
    )
    prompt: Annotated[str | None, Taken(TRANSCRIPTIONS, TRANSLATIONS, REALTIME)] = Field(
        None, description="text the speech continues (spellings, style)"
    )
    temperature: Annotated[float, Taken(TRANSCRIPTIONS, TRANSLATIONS)] = Field(
        0.0, ge=0, le=1, description="sampling temperature; 0: Whisper's fallback schedule"
    )
    keywords: Annotated[list[str], Taken(TRANSCRIPTIONS, REALTIME)] = Field(
        default_factory=list, description="words and names to expect (Whisper's hotwords)"
    )
    languages: Annotated[list[str], Taken(TRANSCRIPTIONS, REALTIME)] = Field(
        default_factory=list,
        description="languages the audio may be in (ISO 639-1): detection chooses among them",
    )
    # /v1/audio/translations sets it; the CLI's --translate.
    translate: Annotated[bool, Taken(TRANSLATIONS, CLI)] = Field(
        False, description="to English text"
    )
    # /v1: from timestamp_granularities[]=word (or include[]=logprobs, which word
    # probabilities make); the CLI's --word-timestamps.
    word_timestamps: Annotated[bool, Taken(TRANSCRIPTIONS, CLI)] = Field(
        False, description="word timings (with --format verbose_json)"
    )
    # Who said what (docs/speakers.md). /v1 sets it from response_format=diarized_json or the
    # gpt-4o-transcribe-diarize model, /stt from response_format=diarized_json.
    diarize: Annotated[bool, Taken(STT, TRANSCRIPTIONS, UPLOADS, CLI)] = Field(
        False, description="label who speaks (A, B, ...) on every segment"
    )
    min_speakers: Annotated[int | None, Taken(UPLOADS, CLI)] = Field(
        None, ge=1, le=MAX_SPEAKERS, description="with diarize: at least this many speakers"
    )
    max_speakers: Annotated[int | None, Taken(UPLOADS, CLI)] = Field(
        None, ge=1, le=MAX_SPEAKERS, description="with diarize: at most this many speakers"
    )
    channel_identification: Annotated[bool, Taken(UPLOADS, CLI)] = Field(
        False,
        description="transcribe each channel of a stereo file on its own (ch_0, ch_1), "
        "merged by time",
    )
    # OpenAI's parallel arrays: names, and 2-10 s reference clips as data URLs.
    known_speaker_names: Annotated[list[str], Taken(TRANSCRIPTIONS)] = Field(
        default_factory=list, description="names for known_speaker_references[]"
    )
    known_speaker_references: Annotated[list[str], Taken(TRANSCRIPTIONS)] = Field(
        default_factory=list,
        description="data URLs of 2-10 s clips of each known speaker (at most 4)",
    )
    chunking_strategy: Annotated[
        Literal["auto"] | ServerVad | None,
        Taken(TRANSCRIPTIONS),
        BeforeValidator(_json_object),
    ] = Field(None, description="auto, or a server_vad object (threshold, silence, padding)")

    @classmethod
    def taken_by(cls, entry_point: str) -> tuple[str, ...]:
        """The options ``entry_point`` takes, in the model's order."""
        return tuple(
            name
            for name, info in cls.model_fields.items()
            if any(isinstance(m, Taken) and entry_point in m.by for m in info.metadata)
        )

    @classmethod
    def is_list(cls, name: str) -> bool:
        return get_origin(cls.model_fields[name].annotation) is list

    @classmethod
    def parse(cls, fields: Mapping[str, Any], entry_point: str) -> TranscriptionRequest:
        """The options in an entry point's raw fields (None or absent: not given). A field the
        entry point does not take is refused by name (400 unsupported_parameter); a value that
        does not validate is a 400 naming its field."""
        given = {name: value for name, value in fields.items() if value is not None}
        taken = cls.taken_by(entry_point)
        for name in given:
            if name not in taken:
                raise InvalidRequestError(
                    f"'{name}' is not an option {entry_point} takes (it takes {', '.join(taken)}).",
                    param=name,
                    code="unsupported_parameter",
                )
        try:
            request = cls(**given)
        except ValidationError as exc:
            first = exc.errors()[0]
            param = str(first["loc"][0]) if first.get("loc") else None
            message = _WHAT_IT_TAKES.get(param or "", f"{param}: {first['msg']}")
            raise InvalidRequestError(message, param=param, code="invalid_value") from exc
        request._check_keywords()
        request._check_control_tokens()
        return request

    def _check_control_tokens(self) -> None:
        """Whisper's tokenizer reads "<|endoftext|>", "<|fr|>", "<|translate|>" in a prompt or
        a hotword as its control tokens, not as text: a prompt could end the context, switch
        the task or the language, or split a batch it shares with other callers' clips."""
        for param, values in (("prompt", [self.prompt or ""]), ("keywords", self.keywords)):
            for value in values:
                if found := _CONTROL_TOKEN.search(value):
                    raise InvalidRequestError(
                        f"{param} may not hold Whisper's control tokens such as "
                        f"'{found.group(0)}' (they would be read as instructions, not text).",
                        param=param,
                        code="invalid_value",
                    )

    def _check_keywords(self) -> None:
        keywords = [k.strip() for k in self.keywords if k.strip()]
        if len(keywords) > MAX_KEYWORDS:
            raise InvalidRequestError(
                f"keywords[] takes at most {MAX_KEYWORDS} entries, not {len(keywords)}.",
                param="keywords",
                code="too_many_keywords",
            )
        for keyword in keywords:
            if len(keyword) > MAX_KEYWORD_CHARS:
                raise InvalidRequestError(
                    f"Each of keywords[] may be at most {MAX_KEYWORD_CHARS} characters; one "
                    f"has {len(keyword)}.",
                    param="keywords",
                    code="string_too_long",
                )

    def options(self) -> TranscriptionOptions:
        """What the engines take: the one mapping from a request's options to theirs."""
        keywords = [k.strip() for k in self.keywords if k.strip()]
        options = TranscriptionOptions(
            task="translate" if self.translate else "transcribe",
            model=self.model,
            language=self.language,
            prompt=self.prompt,
            # 0 keeps faster-whisper's fallback schedule (OpenAI's behaviour for 0 too).
            temperature=self.temperature if self.temperature > 0 else None,
            word_timestamps=self.word_timestamps,
            hotwords=", ".join(keywords) or None,
            languages=tuple(self.languages),
            diarize=self.diarize,
            min_speakers=self.min_speakers,
            max_speakers=self.max_speakers,
            channel_identification=self.channel_identification,
            known_speakers=known_speakers(self.known_speaker_names, self.known_speaker_references),
            voice_activity=self._voice_activity(),
        )
        check_speaker_options(options)
        return options

    def _voice_activity(self) -> VoiceActivity | None:
        vad = self.chunking_strategy
        if not isinstance(vad, ServerVad):  # "auto": what Whisper does anyway
            return None
        return VoiceActivity(
            threshold=vad.threshold,
            silence_ms=vad.silence_duration_ms,
            padding_ms=vad.prefix_padding_ms,
        )

    def given(self) -> dict[str, Any]:
        """The options that differ from their defaults (what a client passes on)."""
        return {
            name: value
            for name, value in self
            if value != self.model_fields[name].get_default(call_default_factory=True)
        }


def _flag_type(name: str) -> type:
    annotation = TranscriptionRequest.model_fields[name].annotation
    args = [a for a in get_args(annotation) if a is not type(None)]
    return args[0] if args else annotation


def cli_flags() -> list[tuple[str, dict]]:
    """argparse's (flag, keyword arguments) for each option the CLI takes."""
    flags = []
    for name in TranscriptionRequest.taken_by(CLI):
        info = TranscriptionRequest.model_fields[name]
        flag = "--" + name.replace("_", "-")
        if info.annotation is bool:
            flags.append((flag, {"action": "store_true", "help": info.description}))
        elif TranscriptionRequest.is_list(name):
            flags.append((flag, {"action": "append", "help": info.description}))
        else:
            flags.append((flag, {"type": _flag_type(name), "help": info.description}))
    return flags
