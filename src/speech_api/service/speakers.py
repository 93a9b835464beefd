"""Who said what, for every transcription path: speaker labels (diarization), named speakers
from reference clips, and channel identification (one transcript per channel, merged by time).

Every entry point takes the options through `TranscriptionRequest` (diarize, min_speakers,
max_speakers, channel_identification, known speakers), whose `options()` checks them here;
`Transcription` calls this module. The speaker
encoder is loaded only by requests that ask for speakers (`ModelManager.speakers`).
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

from speech_api.config import Settings
from speech_api.engines import Transcript, TranscriptionOptions, TranscriptStream
from speech_api.engines.base import TranscriptSegment
from speech_api.errors import (
    AudioTooLongError,
    EmptyAudioError,
    InvalidRequestError,
    UnsupportedAudioError,
)
from speech_api.schemas import MAX_SPEAKERS

if TYPE_CHECKING:  # the light API function (presigned uploads) imports this without NumPy
    import numpy as np

    from speech_api.audio import AudioSource
    from speech_api.service.models import ModelManager

# OpenAI's limits on known speakers: at most 4, each reference 2-10 s of audio.
MAX_KNOWN_SPEAKERS = 4
REFERENCE_MIN_S = 2.0
REFERENCE_MAX_S = 10.0
MAX_SPEAKER_NAME_CHARS = 64
# Channel identification takes stereo recordings (one party per channel), as Transcribe does.
MAX_IDENTIFIED_CHANNELS = 2
# Speech a reference clip must hold for its voice to be told apart (Silero VAD).
REFERENCE_MIN_SPEECH_S = 1.0

REFERENCES = "known_speaker_references"
NAMES = "known_speaker_names"


def check_speaker_options(options: TranscriptionOptions) -> None:
    """Refuse speaker options that cannot be honoured, each naming its parameter."""
    low, high = options.min_speakers, options.max_speakers
    for value, param in ((low, "min_speakers"), (high, "max_speakers")):
        if value is not None and not 1 <= value <= MAX_SPEAKERS:
            raise InvalidRequestError(
                f"{param} must be between 1 and {MAX_SPEAKERS}, not {value}.",
                param=param,
                code="invalid_value",
            )
    if low is not None and high is not None and low > high:
        raise InvalidRequestError(
            f"min_speakers ({low}) is more than max_speakers ({high}).",
            param="min_speakers",
            code="invalid_value",
        )
    if (low is not None or high is not None) and not options.diarize:
        raise InvalidRequestError(
            "min_speakers and max_speakers need diarization (diarize=true).",
            param="min_speakers" if low is not None else "max_speakers",
            code="invalid_value",
        )
    if options.known_speakers and not options.diarize:
        raise InvalidRequestError(
            "known_speaker_names[] need diarization (response_format=diarized_json).",
            param=NAMES,
            code="invalid_value",
        )
    if options.channel_identification and options.diarize:
        raise InvalidRequestError(
            "channel_identification and diarize cannot be combined: each channel is one "
            "party already. Ask for one of them.",
            param="channel_identification",
            code="invalid_value",
        )
    names = [name for name, _ in options.known_speakers]
    if len(names) > MAX_KNOWN_SPEAKERS:
        raise InvalidRequestError(
            f"At most {MAX_KNOWN_SPEAKERS} known speakers are supported, not {len(names)}.",
            param=NAMES,
            code="too_many_speakers",
        )
    for name in names:
        if not name.strip() or len(name) > MAX_SPEAKER_NAME_CHARS:
            raise InvalidRequestError(
                f"Each of known_speaker_names[] must be 1 to {MAX_SPEAKER_NAME_CHARS} characters.",
                param=NAMES,
                code="invalid_value",
            )
    if len(set(names)) != len(names):
        raise InvalidRequestError(
            "known_speaker_names[] must not repeat a name.", param=NAMES, code="invalid_value"
        )


def known_speakers(names: Sequence[str], references: Sequence[str]) -> tuple:
    """(name, audio bytes) pairs from OpenAI's parallel arrays: names, and references as data
    URLs (`data:audio/wav;base64,...`)."""
    if len(names) != len(references):
        param = NAMES if len(names) > len(references) else REFERENCES
        raise InvalidRequestError(
            f"known_speaker_names[] has {len(names)} entries and known_speaker_references[] "
            f"{len(references)}: give one reference clip per name.",
            param=param,
            code="invalid_value",
        )
    pairs = zip(names, references, strict=True)
    return tuple((name.strip(), decode_data_url(url, i)) for i, (name, url) in enumerate(pairs))


_DATA_URL = re.compile(
    r"data:(?P<type>[\w.+-]+/[\w.+-]+)?(?P<params>(;[\w.+-]+=[^;,]*)*)(?P<b64>;base64)?,", re.I
)


def decode_data_url(url: str, index: int = 0) -> bytes:
    """A data URL's bytes (base64 or percent-encoded); the media type is not trusted (the
    audio is decoded by content, like any upload)."""
    match = _DATA_URL.match(url.strip())
    if match is None:
        raise InvalidRequestError(
            f"known_speaker_references[{index}] is not a data URL (data:audio/wav;base64,...).",
            param=REFERENCES,
            code="invalid_value",
        )
    payload = url.strip()[match.end() :]
    if match.group("b64"):
        try:
            return base64.b64decode(payload, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise InvalidRequestError(
                f"known_speaker_references[{index}] is not valid base64.",
                param=REFERENCES,
                code="invalid_value",
            ) from exc
    from urllib.parse import unquote_to_bytes

    return unquote_to_bytes(payload)


class SpeakerLabels:
    """Diarization and named speakers over the service's models."""

    def __init__(self, settings: Settings, models: ModelManager):
        self.settings = settings
        self.models = models

    def options(self, options: TranscriptionOptions):
        from speech_api.diarization import DiarizationOptions

        speakers = self.settings.speakers
        return DiarizationOptions(
            threshold=speakers.threshold,
            match_threshold=speakers.match_threshold,
            min_speakers=options.min_speakers,
            max_speakers=options.max_speakers,
        )

    def references(self, options: TranscriptionOptions) -> list[tuple[str, np.ndarray]]:
        """Each known speaker's name and voice embedding; a reference that is not 2-10 s of
        audio with speech in it is refused (400 naming known_speaker_references)."""
        if not options.known_speakers:
            return []
        import numpy as np

        from speech_api.audio import ArrayAudio, decode_audio
        from speech_api.diarization import reference_embedding, speech_regions

        clips = []
        for i, (name, data) in enumerate(options.known_speakers):
            where = f"known_speaker_references[{i}] ({name})"
            try:
                audio = decode_audio(data, max_seconds=REFERENCE_MAX_S + 0.5, param=REFERENCES)
            except AudioTooLongError as exc:
                raise InvalidRequestError(
                    f"{where} is longer than {REFERENCE_MAX_S:g} s; a reference is 2 to 10 s "
                    "of the speaker's voice.",
                    param=REFERENCES,
                    code="reference_too_long",
                ) from exc
            except (EmptyAudioError, UnsupportedAudioError) as exc:
                raise InvalidRequestError(
                    f"{where} is not audio: {exc.message}",
                    param=REFERENCES,
                    code="invalid_reference",
                ) from exc
            seconds = audio.duration_s
            if seconds < REFERENCE_MIN_S:
                raise InvalidRequestError(
                    f"{where} is {seconds:.1f} s long; a reference is 2 to 10 s of the "
                    "speaker's voice.",
                    param=REFERENCES,
                    code="reference_too_short",
                )
            if seconds > REFERENCE_MAX_S + 0.05:
                raise InvalidRequestError(
                    f"{where} is {seconds:.1f} s long; a reference is 2 to 10 s of the "
                    "speaker's voice.",
                    param=REFERENCES,
                    code="reference_too_long",
                )
            regions = speech_regions(ArrayAudio(audio.samples))
            speech = np.concatenate([audio.samples[a:b] for a, b in regions] or [np.zeros(0)])
            if len(speech) < REFERENCE_MIN_SPEECH_S * 16_000:
                raise InvalidRequestError(
                    f"{where} holds {len(speech) / 16_000:.1f} s of speech; a reference needs "
                    f"at least {REFERENCE_MIN_SPEECH_S:g} s of the speaker's voice.",
                    param=REFERENCES,
                    code="reference_without_speech",
                )
            clips.append((name, speech.astype(np.float32)))
        encoder = self.models.speakers()
        return [(name, reference_embedding(speech, encoder)) for name, speech in clips]

    def label(
        self,
        transcript: Transcript,
        audio: AudioSource,
        options: TranscriptionOptions,
        references: Sequence[tuple[str, np.ndarray]] = (),
    ) -> Transcript:
        """The transcript with a speaker on every segment."""
        from speech_api.diarization import diarize

        result = diarize(
            transcript.segments,
            audio,
            self.models.speakers(),
            self.options(options),
            language=transcript.language,
            references=references,
        )
        return replace(
            transcript,
            segments=result.segments,
            text=" ".join(s.text for s in result.segments if s.text),
        )

    def label_stream(
        self,
        stream: TranscriptStream,
        audio: AudioSource,
        options: TranscriptionOptions,
        references: Sequence[tuple[str, np.ndarray]] = (),
    ) -> TranscriptStream:
        """The same stream, its segments labelled: they come once the whole recording is
        decoded (speakers are found over all of it)."""

        def segments() -> Iterator[TranscriptSegment]:
            whole = stream.collect()
            yield from self.label(whole, audio, options, references).segments

        return replace(stream, segments=segments())


def merge_channels(
    streams: Sequence[TranscriptStream], on_segment: Callable[[TranscriptSegment], None] | None
) -> Transcript:
    """One transcript from one per channel: each segment tagged with its channel ("ch_0",
    "ch_1", as Amazon Transcribe names them), all sorted by start time and renumbered. The
    language is the one of the channel with the most words."""
    parts: list[Transcript] = [s.collect(on_segment) for s in streams]
    tagged = [
        replace(segment, channel=f"ch_{c}")
        for c, part in enumerate(parts)
        for segment in part.segments
    ]
    tagged.sort(key=lambda s: (s.start, s.channel))
    merged = [replace(s, id=i) for i, s in enumerate(tagged, start=1)]
    main = max(parts, key=lambda p: sum(len(s.text.split()) for s in p.segments))
    return replace(
        main,
        segments=merged,
        text=" ".join(s.text for s in merged if s.text),
        duration_s=max(p.duration_s for p in parts),
    )
