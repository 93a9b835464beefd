"""What the commands ask of the engines, wherever they run: one interface, with a local
implementation (local_engines.py: the engines in this process) and a remote one (remote.py: a
running server, `--base-url`). The commands (commands.py) read files and write outputs around it."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from speech_api.service.transcription_request import TranscriptionRequest


@dataclass(frozen=True, kw_only=True)
class TranscribeRequest:
    fmt: str = "text"
    # The transcription's options, as the CLI's flags gave them (--language, --model, ...).
    options: TranscriptionRequest = field(default_factory=TranscriptionRequest)


@dataclass(frozen=True, kw_only=True)
class SynthesizeRequest:
    text: str
    fmt: str = "mp3"
    voice: str | None = None
    speed: float = 1.0


class Backend(Protocol):
    def transcribe(self, path: Path, request: TranscribeRequest) -> str:
        """The file's transcript in ``request.fmt``. Raises SystemExit (a one-line reason) or
        any exception for this file alone: a batch goes on with the next."""
        ...

    def speech(self, request: SynthesizeRequest) -> bytes:
        """The audio file's bytes."""
        ...

    def speech_url(self, request: SynthesizeRequest) -> str:
        """The audio stored in the bucket; its public URL."""
        ...

    def voices(self) -> dict:
        """``voices``, ``default``, ``aliases`` (and ``unavailable``), as /v1/audio/voices."""
        ...

    def model_ids(self) -> list[str]:
        """What /v1/models lists."""
        ...
