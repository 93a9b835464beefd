"""OpenAI's Realtime transcription protocol, as this server speaks it: the client events it
accepts (validated here, refused with OpenAI's error shape), the session configuration they
set, and the server events it sends.

Two dialects of the same session:
- GA (the current reference): `session.update` with ``{"type": "transcription", "audio":
  {"input": {"format", "transcription", "turn_detection", ...}}}``; items are announced with
  `conversation.item.added` / `conversation.item.done`.
- beta (older SDKs, speaches and its clients; header ``OpenAI-Beta: realtime=v1``):
  `transcription_session.update` with a flat session (``input_audio_format: pcm16 |
  g711_ulaw | g711_alaw``, ``input_audio_transcription``, ``turn_detection``), answered with
  `transcription_session.updated`; items with `conversation.item.created`.
A session answers in the dialect it was opened in, and switches to beta at its first
`transcription_session.update`.

A field this server cannot honour (noise reduction, semantic VAD, logprobs, a delay) is refused
with an `error` naming it, never silently dropped; the update is then not applied at all.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from speech_api.audio.pcm import INPUT_FORMATS, PCM24K, PCMA, PCMU, InputFormat

# Beta names of the formats.
BETA_FORMATS = {"pcm16": PCM24K, "g711_ulaw": PCMU, "g711_alaw": PCMA}
BETA_NAMES = {fmt.name: name for name, fmt in BETA_FORMATS.items()}

# OpenAI's server_vad defaults.
DEFAULT_THRESHOLD = 0.5
DEFAULT_PREFIX_PADDING_MS = 300
DEFAULT_SILENCE_DURATION_MS = 500
# What a commit needs, as OpenAI answers it ("buffer too small. Expected at least 100ms").
MIN_COMMIT_MS = 100

CLIENT_EVENTS = (
    "session.update",
    "transcription_session.update",
    "input_audio_buffer.append",
    "input_audio_buffer.commit",
    "input_audio_buffer.clear",
)
# Events of OpenAI's conversation (speech-to-speech) sessions: named in the refusal, since a
# client sending them has connected to the wrong kind of session.
CONVERSATION_EVENTS = (
    "conversation.item.create",
    "conversation.item.retrieve",
    "conversation.item.truncate",
    "conversation.item.delete",
    "response.create",
    "response.cancel",
    "output_audio_buffer.clear",
)

Dialect = Literal["ga", "beta"]


def new_id(prefix: str) -> str:
    """IDs shaped like OpenAI's (`item_`, `event_`, `sess_` + 21 characters)."""
    return f"{prefix}_{uuid.uuid4().hex[:21]}"


# --- the effective configuration ----------------------------------------------------------


@dataclass(frozen=True)
class TurnDetection:
    threshold: float = DEFAULT_THRESHOLD
    prefix_padding_ms: int = DEFAULT_PREFIX_PADDING_MS
    silence_duration_ms: int = DEFAULT_SILENCE_DURATION_MS


@dataclass(frozen=True)
class TranscriptionConfig:
    model: str = "whisper-1"
    language: str | None = None
    prompt: str | None = None
    languages: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()


@dataclass(frozen=True)
class SessionConfig:
    """What a session runs with. `turn_detection` None: the client commits."""

    format: InputFormat = PCM24K
    transcription: TranscriptionConfig = field(default_factory=TranscriptionConfig)
    turn_detection: TurnDetection | None = field(default_factory=TurnDetection)


# --- client events ------------------------------------------------------------------------


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _Format(_Strict):
    type: Literal["audio/pcm", "audio/pcmu", "audio/pcma"]
    rate: int | None = None


class _Transcription(_Strict):
    model: str | None = None
    language: str | None = None
    prompt: str | None = Field(None, max_length=4096)
    languages: list[str] | None = Field(None, max_length=100)
    keywords: list[str] | None = Field(None, max_length=100)
    delay: str | None = None


class _TurnDetection(_Strict):
    type: Literal["server_vad", "semantic_vad"] = "server_vad"
    threshold: float | None = Field(None, ge=0.0, le=1.0)
    prefix_padding_ms: int | None = Field(None, ge=0, le=5000)
    silence_duration_ms: int | None = Field(None, ge=100, le=10_000)
    create_response: bool | None = None
    interrupt_response: bool | None = None
    idle_timeout_ms: int | None = None
    eagerness: str | None = None


class _AudioInput(_Strict):
    format: _Format | None = None
    transcription: _Transcription | None = None
    turn_detection: _TurnDetection | None = None
    noise_reduction: dict[str, Any] | None = None


class _Audio(_Strict):
    input: _AudioInput | None = None


class _Session(_Strict):
    type: Literal["transcription"]
    audio: _Audio | None = None
    include: list[str] | None = None


class SessionUpdate(_Strict):
    type: Literal["session.update"]
    event_id: str | None = None
    session: _Session


class _BetaTranscription(_Strict):
    model: str | None = None
    language: str | None = None
    prompt: str | None = Field(None, max_length=4096)


class _BetaSession(_Strict):
    input_audio_format: Literal["pcm16", "g711_ulaw", "g711_alaw"] | None = None
    input_audio_transcription: _BetaTranscription | None = None
    turn_detection: _TurnDetection | None = None
    input_audio_noise_reduction: dict[str, Any] | None = None
    include: list[str] | None = None
    modalities: list[Literal["text", "audio"]] | None = None


class TranscriptionSessionUpdate(_Strict):
    type: Literal["transcription_session.update"]
    event_id: str | None = None
    session: _BetaSession


class Append(_Strict):
    type: Literal["input_audio_buffer.append"]
    event_id: str | None = None
    audio: str


class Commit(_Strict):
    type: Literal["input_audio_buffer.commit"]
    event_id: str | None = None


class Clear(_Strict):
    type: Literal["input_audio_buffer.clear"]
    event_id: str | None = None


ClientEvent = SessionUpdate | TranscriptionSessionUpdate | Append | Commit | Clear
_MODELS: dict[str, type[BaseModel]] = {
    "session.update": SessionUpdate,
    "transcription_session.update": TranscriptionSessionUpdate,
    "input_audio_buffer.append": Append,
    "input_audio_buffer.commit": Commit,
    "input_audio_buffer.clear": Clear,
}


@dataclass
class ProtocolError(Exception):
    """A client event refused: becomes an `error` event with OpenAI's error shape."""

    message: str
    code: str
    param: str | None = None
    event_id: str | None = None
    type: str = "invalid_request_error"

    def error(self) -> dict:
        return {
            "type": self.type,
            "code": self.code,
            "message": self.message,
            "param": self.param,
            "event_id": self.event_id,
        }


def parse_event(text: str) -> ClientEvent:
    """One text frame to a client event, or `ProtocolError` saying what is wrong with it."""
    try:
        raw = json.loads(text)
    except (ValueError, RecursionError):
        raise ProtocolError(
            "The event is not valid JSON. Send one JSON object per text frame.",
            code="invalid_json",
        ) from None
    if not isinstance(raw, dict):
        raise ProtocolError(
            f"An event is a JSON object with a 'type'; got a JSON {type(raw).__name__}.",
            code="invalid_type",
        )
    event_id = raw.get("event_id") if isinstance(raw.get("event_id"), str) else None
    kind = raw.get("type")
    if not isinstance(kind, str):
        raise ProtocolError(
            "Missing required parameter: 'type'.",
            code="missing_required_parameter",
            param="type",
            event_id=event_id,
        )
    model = _MODELS.get(kind)
    if model is None:
        supported = ", ".join(f"'{name}'" for name in CLIENT_EVENTS)
        if kind in CONVERSATION_EVENTS:
            raise ProtocolError(
                f"'{kind}' belongs to conversation sessions; this server runs transcription "
                f"sessions only. Supported events: {supported}.",
                code="unsupported_event",
                param="type",
                event_id=event_id,
            )
        raise ProtocolError(
            f"Invalid value: '{kind[:100]}'. Supported values are: {supported}.",
            code="invalid_value",
            param="type",
            event_id=event_id,
        )
    try:
        return model.model_validate(raw)  # type: ignore[return-value]
    except ValidationError as exc:
        raise _validation_error(exc, raw, event_id) from None


def _validation_error(exc: ValidationError, raw: dict, event_id: str | None) -> ProtocolError:
    first = exc.errors()[0]
    param = ".".join(str(p) for p in first["loc"]) or None
    kind = first["type"]
    if kind == "extra_forbidden":
        return ProtocolError(
            f"Unknown parameter: '{param}'.",
            code="unknown_parameter",
            param=param,
            event_id=event_id,
        )
    if kind == "missing":
        return ProtocolError(
            f"Missing required parameter: '{param}'.",
            code="missing_required_parameter",
            param=param,
            event_id=event_id,
        )
    if param == "session.type" and raw.get("type") == "session.update":
        return ProtocolError(
            f"Invalid value: '{first.get('input')}'. This server runs transcription sessions "
            "only: 'session.type' must be 'transcription'.",
            code="invalid_value",
            param=param,
            event_id=event_id,
        )
    if kind in ("literal_error", "enum"):
        return ProtocolError(
            f"Invalid value for '{param}': {first['msg']}.",
            code="invalid_value",
            param=param,
            event_id=event_id,
        )
    bounds = {
        "greater_than_equal": "below_min_value",
        "greater_than": "below_min_value",
        "less_than_equal": "above_max_value",
        "less_than": "above_max_value",
        "too_long": "above_max_length",
        "string_too_long": "above_max_length",
    }
    if kind in bounds:
        # The bound's type is the field's (an int sent for a float field is still a decimal).
        limits = (first.get("ctx") or {}).values()
        number = "decimal" if any(isinstance(v, float) for v in limits) else "integer"
        prefix = "" if kind.endswith("too_long") else f"{number}_"
        return ProtocolError(
            f"Invalid value for '{param}': {first['msg']}.",
            code=prefix + bounds[kind],
            param=param,
            event_id=event_id,
        )
    return ProtocolError(
        f"Invalid type for '{param}': {first['msg']}.",
        code="invalid_type",
        param=param,
        event_id=event_id,
    )


def _unsupported(param: str, why: str, event_id: str | None) -> ProtocolError:
    return ProtocolError(
        f"'{param}' is not supported here: {why}",
        code="unsupported_parameter",
        param=param,
        event_id=event_id,
    )


def apply_update(
    current: SessionConfig, event: SessionUpdate | TranscriptionSessionUpdate
) -> SessionConfig:
    """The configuration after an update (fields present replace, absent ones stay; a null
    `turn_detection` turns VAD off), or `ProtocolError` for what cannot be honoured. The
    model name and languages are checked by the caller, against the engines."""
    if isinstance(event, SessionUpdate):
        return _apply_ga(current, event)
    return _apply_beta(current, event)


def _apply_ga(current: SessionConfig, event: SessionUpdate) -> SessionConfig:
    session, eid = event.session, event.event_id
    _check_include(session.include, "session.include", eid)
    audio_input = session.audio.input if session.audio else None
    if audio_input is None:
        return current
    base = "session.audio.input"
    config = current
    if audio_input.noise_reduction:
        raise _unsupported(
            f"{base}.noise_reduction",
            "this server does not filter noise; send null or leave it out.",
            eid,
        )
    if audio_input.format is not None:
        fmt = audio_input.format
        if fmt.type == "audio/pcm" and fmt.rate not in (None, 24000):
            raise ProtocolError(
                f"Invalid value for '{base}.format.rate': {fmt.rate}. audio/pcm is 24000 Hz.",
                code="invalid_value",
                param=f"{base}.format.rate",
                event_id=eid,
            )
        if fmt.type != "audio/pcm" and fmt.rate not in (None, 8000):
            raise ProtocolError(
                f"Invalid value for '{base}.format.rate': {fmt.rate}. {fmt.type} is 8000 Hz.",
                code="invalid_value",
                param=f"{base}.format.rate",
                event_id=eid,
            )
        config = replace(config, format=INPUT_FORMATS[fmt.type])
    if "transcription" in audio_input.model_fields_set:
        t = audio_input.transcription
        if t is None:
            raise ProtocolError(
                f"'{base}.transcription' cannot be null in a transcription session.",
                code="invalid_value",
                param=f"{base}.transcription",
                event_id=eid,
            )
        if t.delay is not None:
            raise _unsupported(
                f"{base}.transcription.delay",
                "partial text arrives as soon as it is stable; leave delay out.",
                eid,
            )
        config = replace(config, transcription=_merge_transcription(config.transcription, t))
    if "turn_detection" in audio_input.model_fields_set:
        config = replace(
            config,
            turn_detection=_turn_detection(
                config.turn_detection, audio_input.turn_detection, f"{base}.turn_detection", eid
            ),
        )
    return config


def _apply_beta(current: SessionConfig, event: TranscriptionSessionUpdate) -> SessionConfig:
    session, eid = event.session, event.event_id
    _check_include(session.include, "session.include", eid)
    if session.input_audio_noise_reduction:
        raise _unsupported(
            "session.input_audio_noise_reduction",
            "this server does not filter noise; send null or leave it out.",
            eid,
        )
    config = current
    if session.input_audio_format is not None:
        config = replace(config, format=BETA_FORMATS[session.input_audio_format])
    if session.input_audio_transcription is not None:
        t = session.input_audio_transcription
        merged = _merge_transcription(config.transcription, _Transcription(**t.model_dump()))
        config = replace(config, transcription=merged)
    if "turn_detection" in session.model_fields_set:
        config = replace(
            config,
            turn_detection=_turn_detection(
                config.turn_detection, session.turn_detection, "session.turn_detection", eid
            ),
        )
    return config


def _check_include(include: list[str] | None, param: str, eid: str | None) -> None:
    if include:
        raise _unsupported(
            param, f"{include[0]!r} is not produced by this server; send [] or leave it out.", eid
        )


def _merge_transcription(current: TranscriptionConfig, t: _Transcription) -> TranscriptionConfig:
    given = t.model_fields_set
    values: dict[str, Any] = {}
    for name in ("model", "language", "prompt"):
        if name in given:
            values[name] = getattr(t, name)
    if "model" in values and values["model"] is None:
        values["model"] = TranscriptionConfig.model
    for name in ("languages", "keywords"):
        if name in given:
            values[name] = tuple(getattr(t, name) or ())
    return replace(current, **values)


def _turn_detection(
    current: TurnDetection | None, given: _TurnDetection | None, param: str, eid: str | None
) -> TurnDetection | None:
    if given is None:
        return None
    if given.type == "semantic_vad":
        raise ProtocolError(
            f"Invalid value for '{param}.type': 'semantic_vad' is not served here; use "
            "'server_vad' (silence_duration_ms sets how long a pause ends a turn) or null.",
            code="invalid_value",
            param=f"{param}.type",
            event_id=eid,
        )
    for name in ("create_response", "interrupt_response"):
        if getattr(given, name):
            raise _unsupported(
                f"{param}.{name}", "a transcription session creates no responses.", eid
            )
    if given.idle_timeout_ms is not None:
        raise _unsupported(
            f"{param}.idle_timeout_ms", "a transcription session creates no responses.", eid
        )
    if given.eagerness is not None:
        raise _unsupported(f"{param}.eagerness", "it applies to semantic_vad only.", eid)
    result = current or TurnDetection()
    for name in ("threshold", "prefix_padding_ms", "silence_duration_ms"):
        value = getattr(given, name)
        if value is not None:
            result = replace(result, **{name: value})
    return result


# --- server events ------------------------------------------------------------------------


def event(kind: str, **fields: Any) -> dict:
    return {"type": kind, "event_id": new_id("event"), **fields}


def error_event(error: ProtocolError | dict) -> dict:
    return event("error", error=error.error() if isinstance(error, ProtocolError) else error)


def session_object(
    config: SessionConfig, *, session_id: str, expires_at: int, dialect: Dialect
) -> dict:
    """The session as `session.created` / `.updated` report it (the effective values)."""
    t = config.transcription
    transcription: dict[str, Any] = {"model": t.model, "language": t.language, "prompt": t.prompt}
    vad = config.turn_detection
    turn = (
        None
        if vad is None
        else {
            "type": "server_vad",
            "threshold": vad.threshold,
            "prefix_padding_ms": vad.prefix_padding_ms,
            "silence_duration_ms": vad.silence_duration_ms,
        }
    )
    if dialect == "beta":
        return {
            "id": session_id,
            "object": "realtime.transcription_session",
            "expires_at": expires_at,
            "modalities": ["text"],
            "input_audio_format": BETA_NAMES[config.format.name],
            "input_audio_transcription": transcription,
            "turn_detection": turn,
            "input_audio_noise_reduction": None,
            "include": [],
        }
    if t.languages:
        transcription["languages"] = list(t.languages)
    if t.keywords:
        transcription["keywords"] = list(t.keywords)
    fmt: dict[str, Any] = {"type": config.format.name}
    if config.format is PCM24K:
        fmt["rate"] = 24000
    return {
        "type": "transcription",
        "id": session_id,
        "object": "realtime.transcription_session",
        "expires_at": expires_at,
        "audio": {
            "input": {
                "format": fmt,
                "transcription": transcription,
                "turn_detection": turn,
                "noise_reduction": None,
            }
        },
        "include": [],
    }


def user_item(item_id: str, transcript: str | None, *, dialect: Dialect) -> dict:
    """The conversation item a committed buffer becomes (audio itself is never echoed)."""
    item = {
        "id": item_id,
        "type": "message",
        "status": "completed",
        "role": "user",
        "content": [{"type": "input_audio", "transcript": transcript}],
    }
    if dialect == "beta":
        item["object"] = "realtime.item"
    return item


def expires_at(max_duration_s: float) -> int:
    return int(time.time() + max_duration_s)
