"""Domain exceptions. Each carries its HTTP status and a stable machine-readable code;
``speech_api.api.errors`` turns them into ``{"error": {"message", "type", "code", "param"}}`` in
one place, for routes and middleware alike."""

from __future__ import annotations


class SpeechAPIError(Exception):
    status_code: int = 500
    code: str = "internal_error"
    error_type: str = "server_error"
    retry_after_s: int | None = None

    def __init__(
        self,
        message: str,
        *,
        param: str | None = None,
        code: str | None = None,
        status_code: int | None = None,
        error_type: str | None = None,
    ):
        super().__init__(message)
        self.message = message
        self.param = param
        if code is not None:
            self.code = code
        if status_code is not None:
            self.status_code = status_code
        if error_type is not None:
            self.error_type = error_type

    def to_dict(self) -> dict:
        return {
            "message": self.message,
            "type": self.error_type,
            "code": self.code,
            "param": self.param,
        }

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after_s)} if self.retry_after_s else {}


class InvalidRequestError(SpeechAPIError):
    status_code = 400
    code = "invalid_request"
    error_type = "invalid_request_error"


class EmptyAudioError(InvalidRequestError):
    code = "empty_audio"


class UnknownVoiceError(InvalidRequestError):
    code = "unknown_voice"


class UnsupportedLanguageError(InvalidRequestError):
    code = "unsupported_language"


class PayloadTooLargeError(InvalidRequestError):
    status_code = 413
    code = "payload_too_large"


class AudioTooLongError(InvalidRequestError):
    status_code = 413
    code = "audio_too_long"

    @classmethod
    def over(
        cls, max_seconds: float, *, param: str | None, seconds: float | None = None
    ) -> AudioTooLongError:
        """Audio past ``max_seconds``: its length where known (what a header declares), else
        only that it passed the limit (decoding stops there, so the rest is never counted)."""
        if seconds is None:
            return cls(
                f"The audio is longer than the limit of {max_seconds:g} seconds.", param=param
            )
        return cls(
            f"The audio is {_clock(seconds)} long; the limit here is {_clock(max_seconds)} "
            f"({max_seconds:g} seconds).",
            param=param,
        )

    def for_clips(self) -> AudioTooLongError:
        """The same refusal from a route that takes clips only (/stt, /v1/audio/*): it says
        where longer recordings go."""
        return AudioTooLongError(
            f"{self.message} Send longer recordings with POST /uploads (a presigned upload; "
            "the worker transcribes recordings of hours), or run `speech-api transcribe FILE "
            "--base-url <this server's URL>`, which does that for you.",
            param=self.param,
        )


class RequestTimeoutError(InvalidRequestError):
    status_code = 408
    code = "request_timeout"


class SpeechTooLongError(InvalidRequestError):
    """Text whose synthesis would not finish within TTS_TIME_LIMIT_S."""

    code = "speech_too_long"


class UnsupportedAudioError(InvalidRequestError):
    status_code = 415
    code = "unsupported_audio"

    @classmethod
    def decode_timeout(cls, limit_s: float, *, param: str | None) -> UnsupportedAudioError:
        """Decoding past its time budget, whether the decoder noticed or its parent did."""
        return cls(
            f"The file took longer than {limit_s:g} s to decode; it is not a well-formed "
            "audio file.",
            param=param,
            code="decode_timeout",
        )


class UnsupportedMediaTypeError(InvalidRequestError):
    """A JSON route's body sent without `Content-Type: application/json` (curl's `-d` sends
    application/x-www-form-urlencoded)."""

    status_code = 415
    code = "unsupported_media_type"


class NotFoundError(InvalidRequestError):
    status_code = 404
    code = "not_found"


class TranscriptionFailedError(InvalidRequestError):
    """An upload whose transcription failed for good; the stored reason is the message."""

    status_code = 422


class AuthenticationError(InvalidRequestError):
    status_code = 401
    code = "invalid_api_key"

    def headers(self) -> dict[str, str]:
        return {"WWW-Authenticate": "Bearer"}


class ClientGoneError(SpeechAPIError):
    """The client closed the connection, so its work was stopped: there is nobody to answer
    (the request log says 499, as nginx does)."""

    status_code = 499
    code = "client_closed_request"
    error_type = "invalid_request_error"


class TooManyRequestsError(SpeechAPIError):
    status_code = 429
    code = "too_many_requests"
    error_type = "rate_limit_error"
    retry_after_s = 1


class ServiceUnavailableError(SpeechAPIError):
    status_code = 503
    code = "service_unavailable"
    error_type = "service_unavailable_error"
    retry_after_s = 5


class StorageUnavailableError(ServiceUnavailableError):
    code = "storage_unavailable"


class DecoderUnavailableError(ServiceUnavailableError):
    """The decoding child was killed from outside (out of memory, a shutdown): the file was
    not at fault, so a request gets 503 and an upload is retried."""

    code = "decoder_unavailable"
    retry_after_s = 2


class TranscriptionTimeLimitError(ServiceUnavailableError):
    """Decoding that ran past its time limit (STT_TIME_LIMIT_S, or an upload worker's time):
    every temperature of the fallback schedule on every window (noise, music), or a machine
    too busy. Which one cannot be told, so the file is not blamed: 503 (a request), or an
    attempt counted against MAX_WORKER_ATTEMPTS (an upload)."""

    code = "transcription_time_limit"
    retry_after_s = 10


class SynthesisTimeLimitError(ServiceUnavailableError):
    """Speech that its estimate said would be ready in time, not ready in time: the server was
    busier (or slower) than its figures, not the text too long. 503: retry shortly."""

    code = "synthesis_time_limit"


class ModelUnavailableError(ServiceUnavailableError):
    code = "model_unavailable"
    retry_after_s = 30


class WorkerOutOfTimeError(ServiceUnavailableError):
    """An upload worker invocation without time left for this recording: the recording is not
    at fault, so it is retried (a later delivery starts with the whole timeout) and the
    attempt is not counted against MAX_WORKER_ATTEMPTS."""

    code = "worker_time_left"


def _clock(seconds: float) -> str:
    seconds = int(seconds)
    if seconds < 120:
        return f"{seconds} s"
    hours, rest = divmod(seconds, 3600)
    return f"{hours} h {rest // 60:02d} min" if hours else f"{rest // 60} min {rest % 60:02d} s"
