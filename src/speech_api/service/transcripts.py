"""A transcript in each response format, as (body, media type): the routes wrap it in a
response, the CLI writes it to a file, the upload worker stores it."""

from __future__ import annotations

import json
from dataclasses import dataclass

from speech_api.engines import Transcript
from speech_api.schemas import Segment, TranscriptionResponse
from speech_api.subtitles import to_srt, to_vtt


@dataclass(frozen=True)
class RenderedTranscript:
    body: str
    media_type: str


def transcription_response(result: Transcript) -> TranscriptionResponse:
    """The API's own JSON (`/stt`, stored transcripts)."""
    return TranscriptionResponse(
        text=result.text,
        language=result.language,
        language_probability=result.language_probability,
        duration_s=result.duration_s,
        segments=[Segment(start=s.start, end=s.end, text=s.text) for s in result.segments],
        model=result.model,
    )


def render_transcript(
    result: Transcript, fmt: str, *, words: bool = False, segments: bool = True
) -> RenderedTranscript:
    """OpenAI's renderings: text, srt, vtt, json ({"text"}) and verbose_json (segments with
    decoder details, and words when asked for)."""
    if fmt == "text":
        return RenderedTranscript(result.text + "\n", "text/plain")
    if fmt == "srt":
        return RenderedTranscript(to_srt(result.segments), "application/x-subrip")
    if fmt == "vtt":
        return RenderedTranscript(to_vtt(result.segments), "text/vtt")
    if fmt == "json":
        return RenderedTranscript(json.dumps({"text": result.text}), "application/json")
    body: dict = {
        "task": result.task,
        "language": result.language,
        "duration": result.duration_s,
        "text": result.text,
    }
    if segments or not words:
        body["segments"] = [
            {
                "id": s.id,
                "seek": s.seek,
                "start": s.start,
                "end": s.end,
                "text": s.text,
                "tokens": list(s.tokens),
                "temperature": s.temperature,
                "avg_logprob": s.avg_logprob,
                "compression_ratio": s.compression_ratio,
                "no_speech_prob": s.no_speech_prob,
            }
            for s in result.segments
        ]
    if words:
        body["words"] = [{"word": w.word, "start": w.start, "end": w.end} for w in result.words]
    return RenderedTranscript(json.dumps(body), "application/json")
