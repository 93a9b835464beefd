"""The commands with the engines in this process: recordings of any length up to
LONG_AUDIO_MAX_SECONDS, a bar over each one's seconds of audio."""

from __future__ import annotations

from pathlib import Path

from speech_api.config import Settings
from speech_api.runtime.cli.backend import SynthesizeRequest, TranscribeRequest
from speech_api.runtime.cli.terminal import seconds_bar


class LocalBackend:
    def __init__(self, settings: Settings, *, interactive: bool):
        from speech_api.service import SpeechService

        self.settings = settings
        self.interactive = interactive
        self.service = SpeechService(settings)  # models load on first use

    def transcribe(self, path: Path, request: TranscribeRequest) -> str:
        from speech_api.service import render_transcript, transcription_response

        options = request.options.options()
        # Decoded to a temporary PCM file, then transcribed a stretch at a time, the bar
        # advancing in seconds of audio.
        seconds = None

        def progress(done_s: float, total_s: float) -> None:
            nonlocal seconds
            if seconds is None:
                seconds = seconds_bar(path.name, total_s, self.interactive)
            seconds.update(max(0.0, min(done_s, total_s) - seconds.n))

        try:
            with self.service.transcribe_recording(path, options, on_progress=progress) as stream:
                result = stream.collect(lambda seg: progress(seg.end, stream.duration_s))
        finally:
            if seconds is not None:
                seconds.close()
        if request.fmt == "json":
            return transcription_response(result).model_dump_json(indent=2)
        return render_transcript(result, request.fmt, words=options.word_timestamps).body

    def speech(self, request: SynthesizeRequest) -> bytes:
        speech = self.service.speak(
            request.text, voice=request.voice, fmt=request.fmt, speed=request.speed
        )
        return b"".join(speech.chunks)

    def speech_url(self, request: SynthesizeRequest) -> str:
        from speech_api.runtime.embedded.s3 import needs_embedded_s3
        from speech_api.schemas import TTSRequest

        # `serve` starts an S3 of its own when nothing is configured; a URL into one that
        # stops when this command exits would be dead at once.
        if needs_embedded_s3(self.settings):
            raise SystemExit(
                "--url stores the audio in a bucket and prints its URL: configure one "
                "(S3_ENDPOINT_URL, or AWS credentials / AWS_PROFILE) or pass --base-url "
                "of a running server (make serve)."
            )
        tts = TTSRequest(
            text=request.text, voice=request.voice, format=request.fmt, speed=request.speed
        )
        return self.service.synthesize(tts).url

    def voices(self) -> dict:
        return self.service.voices()

    def model_ids(self) -> list[str]:
        return self.service.model_ids()
