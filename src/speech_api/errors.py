"""Domain exceptions. Each carries its HTTP status and a stable machine-readable code;
``speech_api.app`` maps them to ``{"error": {"message", "type", "code", "param"}}`` in one place."""

from __future__ import annotations


class SpeechAPIError(Exception):
    status_code: int = 500
    code: str = "internal_error"
    error_type: str = "server_error"

    def __init__(self, message: str, *, param: str | None = None, code: str | None = None):
        super().__init__(message)
        self.message = message
        self.param = param
        if code is not None:
            self.code = code

    def to_dict(self) -> dict:
        return {
            "message": self.message,
            "type": self.error_type,
            "code": self.code,
            "param": self.param,
        }


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


class UnsupportedAudioError(InvalidRequestError):
    status_code = 415
    code = "unsupported_audio"


class ServiceUnavailableError(SpeechAPIError):
    status_code = 503
    code = "service_unavailable"
    error_type = "service_unavailable_error"
    retry_after_s = 5


class StorageUnavailableError(ServiceUnavailableError):
    code = "storage_unavailable"


class ModelUnavailableError(ServiceUnavailableError):
    code = "model_unavailable"
    retry_after_s = 30
