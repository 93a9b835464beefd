"""The commands against a running server (`--base-url`, `--api-key`): its synchronous routes,
and the upload flow (remote_uploads.py) for a file too long or too large for them."""

from __future__ import annotations

import json
from pathlib import Path

from speech_api.config import Settings
from speech_api.runtime.cli.backend import SynthesizeRequest, TranscribeRequest
from speech_api.runtime.cli.remote_uploads import transcribe_long
from speech_api.runtime.cli.server import Server
from speech_api.runtime.cli.terminal import size_text
from speech_api.service.transcription_request import (
    STT,
    TRANSCRIPTIONS,
    TRANSLATIONS,
    TranscriptionRequest,
)

# What the synchronous routes take by default (MAX_AUDIO_SECONDS, MAX_UPLOAD_BYTES): a longer or
# larger file goes to a server's upload flow (POST /uploads) at once, without a refused /stt
# first. A server with lower limits answers 413, and the file takes the same way.
_SYNC_MAX_AUDIO_S = Settings.model_fields["max_audio_seconds"].default
_SYNC_MAX_BYTES = Settings.model_fields["max_upload_bytes"].default


class RemoteBackend:
    def __init__(self, base_url: str, api_key: str | None, *, interactive: bool):
        self.server = Server(base_url, api_key, interactive=interactive)
        self.http = self.server.http

    def transcribe(self, path: Path, request: TranscribeRequest) -> str:
        size, duration = path.stat().st_size, _probed_duration_s(path)
        # The body is the file plus the form's few hundred bytes.
        too_large = size + 64 * 1024 > _SYNC_MAX_BYTES
        if too_large or (duration or 0) > _SYNC_MAX_AUDIO_S:
            why = (
                f"{size_text(size)}, over /stt's {size_text(_SYNC_MAX_BYTES)}"
                if too_large
                else f"{duration:.0f} s, over /stt's {_SYNC_MAX_AUDIO_S:.0f} s"
            )
            return transcribe_long(self.server, path, request, why=why)
        route, response = self._post_sync(path, request)
        if response.status_code == 413:
            # Too long or too large for this server's synchronous routes (its limits may be
            # lower than the defaults, a gateway's too): the upload flow takes it.
            try:
                why = f"refused by {route}: " + response.json()["error"]["message"].rstrip(".")
            except (ValueError, KeyError, TypeError, AttributeError):
                why = f"too long or too large for {route}"
            return transcribe_long(self.server, path, request, why=why)
        self.server.check(response)
        if request.fmt in ("text", "srt", "vtt"):
            return response.text
        return json.dumps(response.json(), indent=2)

    def _post_sync(self, path: Path, request: TranscribeRequest):
        """The file to /stt (the API's own JSON, as the local engines give) or OpenAI's
        routes (every other format, an option /stt does not take); (route, response)."""
        given = request.options.given()
        with open(path, "rb") as fh:
            files = {"file": (path.name, fh)}
            if request.fmt == "json" and set(given) <= set(TranscriptionRequest.taken_by(STT)):
                return "/stt", self.http.post("/stt", params=given, files=files)
            route = TRANSLATIONS if given.pop("translate", False) else TRANSCRIPTIONS
            data = _openai_form(given, route)
            data |= {"model": data.get("model") or "whisper-1", "response_format": request.fmt}
            return route, self.http.post(route, data=data, files=files)

    def speech(self, request: SynthesizeRequest) -> bytes:
        body = {
            "model": "tts-1",
            "input": request.text,
            "voice": request.voice or "alloy",
            "response_format": request.fmt,
            "speed": request.speed,
        }
        return self.server.check(self.http.post("/v1/audio/speech", json=body)).content

    def speech_url(self, request: SynthesizeRequest) -> str:
        body = {
            "text": request.text,
            "format": request.fmt,
            "speed": request.speed,
            **({"voice": request.voice} if request.voice else {}),
        }
        return self.server.check(self.http.post("/tts", json=body)).json()["url"]

    def voices(self) -> dict:
        return self.server.check(self.http.get("/v1/audio/voices")).json()

    def model_ids(self) -> list[str]:
        return [m["id"] for m in self.server.check(self.http.get("/v1/models")).json()["data"]]


def _probed_duration_s(path: Path) -> float | None:
    """The container's duration from its header (nothing is decoded); None when unknown."""
    try:
        import av

        with av.open(str(path)) as container:
            duration = container.duration
    except Exception:  # not audio, or nothing PyAV can open: the server will say what
        return None
    return None if duration is None else duration / av.time_base


def _openai_form(given: dict, route: str) -> dict:
    """The form fields of OpenAI's ``route`` for the options given: arrays as `name[]`, word
    timings as timestamp_granularities[]."""
    taken = TranscriptionRequest.taken_by(route)
    data: dict = {}
    for name, value in given.items():
        if name == "word_timestamps":
            data["timestamp_granularities[]"] = ["word", "segment"]
        elif name == "language" and route == TRANSLATIONS:
            continue  # translating, Whisper detects the spoken language itself
        elif name not in taken:
            flag = "--" + name.replace("_", "-")
            raise SystemExit(f"{flag} is not available with {route}")
        else:
            data[f"{name}[]" if TranscriptionRequest.is_list(name) else name] = value
    return data
