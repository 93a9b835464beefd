"""A transcript in each response format, as (body, media type): the routes wrap it in a
response, the CLI writes it to a file, the upload worker stores it."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from dataclasses import dataclass

from speech_api.engines import Transcript, TranscriptSegment, TranscriptStream, WordTiming
from speech_api.formats import SRT_MEDIA_TYPE
from speech_api.schemas import Segment, TranscriptionResponse
from speech_api.subtitles import to_paragraphs, to_srt, to_vtt, who


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
        segments=[
            Segment(start=s.start, end=s.end, text=s.text, speaker=s.speaker, channel=s.channel)
            for s in result.segments
        ],
        model=result.model,
    )


def usage(duration_s: float) -> dict:
    """OpenAI's usage for duration-billed models: whole seconds of audio, rounded up."""
    return {"type": "duration", "seconds": math.ceil(round(duration_s, 3))}


def logprobs(words) -> list[dict]:
    """OpenAI's `logprobs`, one entry per word: faster-whisper reports each word's probability
    (the mean over its tokens) rather than per-token values, so a token here is a word."""
    return [
        {
            "token": w.word,
            "logprob": round(math.log(max(w.probability, 1e-10)), 4),
            "bytes": list(w.word.encode("utf-8")),
        }
        for w in words
    ]


def render_transcript(
    result: Transcript,
    fmt: str,
    *,
    words: bool = False,
    segments: bool = True,
    with_logprobs: bool = False,
) -> RenderedTranscript:
    """OpenAI's renderings: text, srt, vtt, json ({"text", "usage"}, and "logprobs" when
    asked for), verbose_json (segments with decoder details, words when asked for) and
    diarized_json (segments with their speakers). Where segments have speakers or channels,
    text has one paragraph per turn, SRT and WebVTT name who speaks (see subtitles)."""
    if fmt == "text":
        if any(who(s) for s in result.segments):
            return RenderedTranscript(to_paragraphs(result.segments), "text/plain")
        return RenderedTranscript(result.text + "\n", "text/plain")
    if fmt == "diarized_json":
        return RenderedTranscript(json.dumps(diarized_json(result)), "application/json")
    if fmt == "srt":
        return RenderedTranscript(to_srt(result.segments), SRT_MEDIA_TYPE)
    if fmt == "vtt":
        return RenderedTranscript(to_vtt(result.segments), "text/vtt")
    if fmt == "json":
        body: dict = {"text": result.text, "usage": usage(result.duration_s)}
        if with_logprobs:
            body["logprobs"] = logprobs(result.words)
        return RenderedTranscript(json.dumps(body), "application/json")
    body = {
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
                **_who(s),
            }
            for s in result.segments
        ]
    if words:
        body["words"] = [{"word": w.word, "start": w.start, "end": w.end} for w in result.words]
    body["usage"] = usage(result.duration_s)
    return RenderedTranscript(json.dumps(body), "application/json")


def _who(segment: TranscriptSegment) -> dict:
    """A segment's speaker and channel, where it has them."""
    return {k: v for k, v in (("speaker", segment.speaker), ("channel", segment.channel)) if v}


def segment_id(index: int) -> str:
    """A diarized segment's id, as OpenAI writes them (`seg_001`)."""
    return f"seg_{index:03d}"


def diarized_json(result: Transcript) -> dict:
    """OpenAI's `diarized_json` (TranscriptionDiarized): segments of
    `{"type": "transcript.text.segment", "id", "start", "end", "text", "speaker"}`, speakers
    "A", "B", ... in order of first appearance (or the known speakers' names)."""
    segments = [s for s in result.segments if s.text]
    return {
        "task": "transcribe",
        "duration": result.duration_s,
        "text": " ".join(s.text for s in segments),
        "segments": [_diarized_segment(s, i) for i, s in enumerate(segments, start=1)],
        "usage": usage(result.duration_s),
    }


def _diarized_segment(segment: TranscriptSegment, index: int) -> dict:
    return {
        "type": "transcript.text.segment",
        "id": segment_id(index),
        "start": segment.start,
        "end": segment.end,
        "text": segment.text,
        "speaker": segment.speaker or "A",
    }


def transcript_events(
    stream: TranscriptStream, *, with_logprobs: bool = False, diarized: bool = False
) -> Iterator[dict]:
    """OpenAI's streamed transcription: a `transcript.text.delta` per decoded segment (the
    deltas concatenate to the final text), then `transcript.text.done` with the text and
    usage. ``diarized``: each delta names its segment (`segment_id`) and is followed by a
    `transcript.text.segment` event with the segment's speaker. Advancing it decodes: run it
    off the event loop."""
    texts: list[str] = []
    words: list[WordTiming] = []
    for segment in stream.segments:
        if not segment.text:
            continue
        delta = segment.text if not texts else " " + segment.text
        texts.append(segment.text)
        words.extend(segment.words)
        event: dict = {"type": "transcript.text.delta", "delta": delta}
        if with_logprobs:
            event["logprobs"] = logprobs(segment.words)
        if diarized:
            event["segment_id"] = segment_id(len(texts))
            yield event
            yield _diarized_segment(segment, len(texts))
            continue
        yield event
    done: dict = {
        "type": "transcript.text.done",
        "text": " ".join(texts),
        "usage": usage(stream.duration_s),
    }
    if with_logprobs:
        done["logprobs"] = logprobs(words)
    yield done


def transcript_of(stored: TranscriptionResponse) -> Transcript:
    """A stored transcript (the API's own JSON) as the engines' transcript."""
    segments = [
        TranscriptSegment(
            start=s.start, end=s.end, text=s.text, id=i, speaker=s.speaker, channel=s.channel
        )
        for i, s in enumerate(stored.segments, start=1)
    ]
    return Transcript(
        text=stored.text,
        language=stored.language,
        language_probability=stored.language_probability,
        duration_s=stored.duration_s,
        segments=segments,
        model=stored.model,
    )


def render_stored(stored: TranscriptionResponse, fmt: str) -> RenderedTranscript:
    """A stored transcript (the worker's JSON) as text, srt or vtt: the same renderings the
    worker writes beside it."""
    segments = transcript_of(stored).segments
    if fmt == "text":
        if any(who(s) for s in segments):
            return RenderedTranscript(to_paragraphs(segments), "text/plain; charset=utf-8")
        return RenderedTranscript(stored.text + "\n", "text/plain; charset=utf-8")
    if fmt == "srt":
        return RenderedTranscript(to_srt(segments), f"{SRT_MEDIA_TYPE}; charset=utf-8")
    return RenderedTranscript(to_vtt(segments), "text/vtt; charset=utf-8")
