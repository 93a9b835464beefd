"""The small interfaces every engine adapter implements, and the values they return."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    import numpy as np

    from speech_api.audio import AudioSource


def normalize_language(language: str | None) -> str | None:
    """A language code as engines take it: trimmed, lower case; blank means detect."""
    if language is None:
        return None
    return language.strip().lower() or None


@dataclass(frozen=True)
class VoiceActivity:
    """How speech is told from silence (OpenAI's `chunking_strategy` of type `server_vad`);
    None keeps the engine's default for that field."""

    threshold: float | None = None  # 0..1: higher needs louder speech
    silence_ms: int | None = None  # a pause this long ends a stretch of speech
    padding_ms: int | None = None  # audio kept before (and after) each stretch


@dataclass(frozen=True)
class TranscriptionOptions:
    """What one transcription asks for, passed unchanged from the route (or worker, or CLI)
    to the decoder. A new option is a field here and its mapping in the engine adapter."""

    task: str = "transcribe"  # or "translate" (to English)
    model: str | None = None  # a configured model name or whisper-1; None: the default
    language: str | None = None  # None: detected
    prompt: str | None = None
    temperature: float | None = None  # None: faster-whisper's fallback schedule
    word_timestamps: bool = False
    # Words and names to expect (faster-whisper's hotwords: put before the prompt).
    hotwords: str | None = None
    # The languages the audio may be in: detection chooses among them (one: that language).
    languages: tuple[str, ...] = ()
    # Who said what (speech_api.diarization): a speaker on every segment, "A", "B", ... in
    # order of first appearance, within these bounds when given; segments whose voice matches
    # one of `known_speakers` (name, audio file of 2-10 s of that voice) take its name.
    diarize: bool = False
    min_speakers: int | None = None
    max_speakers: int | None = None
    known_speakers: tuple[tuple[str, bytes], ...] = ()
    # Voice activity detection settings (None: the engine's defaults).
    voice_activity: VoiceActivity | None = None
    # Each channel of a multi-channel recording transcribed on its own ("ch_0", "ch_1" on the
    # segments), the turns merged by time: a call recorded one party per channel.
    channel_identification: bool = False

    def __post_init__(self) -> None:
        # Normalized once here, so no layer below has to ("" and " EN " arrive from forms).
        object.__setattr__(self, "language", normalize_language(self.language))
        object.__setattr__(self, "prompt", self.prompt or None)
        object.__setattr__(self, "hotwords", (self.hotwords or "").strip() or None)
        languages = (normalize_language(code) for code in self.languages)
        object.__setattr__(self, "languages", tuple(dict.fromkeys(c for c in languages if c)))


def pick_language(
    ranked: Iterable[tuple[str, float]], allowed: tuple[str, ...]
) -> tuple[str, float] | None:
    """The most probable of ``ranked`` (language code, probability) within ``allowed`` (all
    when empty), its probability renormalized over the allowed ones; None if none is ranked."""
    ranked = list(ranked)
    within = [(c, p) for c, p in ranked if not allowed or c in allowed]
    if not within:
        return None
    best = max(within, key=lambda item: item[1])
    total = sum(p for _, p in within) if allowed else 1.0
    return best[0], (best[1] / total if total > 0 else best[1])


@dataclass(frozen=True)
class WordTiming:
    word: str
    start: float
    end: float
    probability: float = 0.0


@dataclass(frozen=True)
class TranscriptSegment:
    start: float
    end: float
    text: str
    # Decoder details, as OpenAI's verbose_json reports them.
    id: int = 0
    seek: int = 0
    tokens: tuple[int, ...] = ()
    temperature: float = 0.0
    avg_logprob: float = 0.0
    compression_ratio: float = 0.0
    no_speech_prob: float = 0.0
    words: tuple[WordTiming, ...] = ()
    # Who says it (diarization: "A", "B", ... or a known speaker's name) and which channel it
    # was heard on (channel identification: "ch_0", "ch_1"); None when not asked for.
    speaker: str | None = None
    channel: str | None = None


@dataclass(frozen=True)
class Transcript:
    text: str
    language: str
    language_probability: float
    duration_s: float
    segments: list[TranscriptSegment] = field(default_factory=list)
    task: str = "transcribe"
    model: str = ""

    @property
    def words(self) -> list[WordTiming]:
        return [w for s in self.segments for w in s.words]


@dataclass
class TranscriptStream:
    """A transcript as the decoder produces it: what is known before decoding (language,
    duration), then the segments, each decoded when the iterator is advanced (blocking model
    work: advance it off the event loop)."""

    language: str
    language_probability: float
    duration_s: float
    segments: Iterator[TranscriptSegment]
    task: str = "transcribe"
    model: str = ""

    def collect(self, on_segment=None) -> Transcript:
        """Decode to the end: the whole transcript, calling `on_segment(segment)` as each is
        decoded (the CLI's progress over audio seconds)."""
        segments = []
        for segment in self.segments:
            segments.append(segment)
            if on_segment is not None:
                on_segment(segment)
        return Transcript(
            text=" ".join(s.text for s in segments if s.text),
            language=self.language,
            language_probability=self.language_probability,
            duration_s=self.duration_s,
            segments=segments,
            task=self.task,
            model=self.model,
        )


@dataclass(frozen=True)
class Speech:
    samples: np.ndarray  # mono float32 in [-1, 1]
    sample_rate: int
    # Where each word of the text is spoken (asked for with `words=True`), else empty.
    words: tuple[WordTiming, ...] = ()


def joined_samples(pieces: Sequence) -> np.ndarray:
    """Pieces of mono audio played one after another, as one float32 array (empty for none)."""
    import numpy as np

    if not pieces:
        return np.zeros(0, dtype=np.float32)
    return np.concatenate(pieces).astype(np.float32, copy=False)


@dataclass
class StreamProgress:
    """How much audio a stream has produced so far (what its chunks hold), in seconds."""

    audio_s: float = 0.0


@dataclass
class SpeechStream:
    """Encoded audio, produced sentence by sentence as the iterator is advanced (each step is
    blocking model work: advance it off the event loop)."""

    media_type: str
    sample_rate: int
    chunks: Iterator[bytes]
    voice: str | None = None  # the voice that speaks (an alias resolved), when known
    # Where known: the seconds of audio the chunks handed out so far hold (the HTTP layer
    # cuts a client that reads more slowly than the audio plays).
    progress: StreamProgress | None = None


class SpeechToText(Protocol):
    name: str
    multilingual: bool

    def transcribe(self, samples: np.ndarray, options: TranscriptionOptions) -> Transcript: ...

    def transcribe_stream(
        self, samples: np.ndarray, options: TranscriptionOptions
    ) -> TranscriptStream:
        """The same transcript, segment by segment as the decoder produces them."""
        ...

    def transcribe_long(
        self,
        audio: AudioSource,
        options: TranscriptionOptions,
        on_progress: Callable[[float], None] | None = None,
    ) -> TranscriptStream:
        """A recording of any length, read a stretch at a time; `on_progress(seconds done)`
        is called as the decoding advances."""
        ...


class SpeakerEncoder(Protocol):
    """A voice as a vector: stretches of speech that sound like one person have embeddings
    with a high cosine similarity (diarization clusters them; named speakers match them)."""

    name: str
    sample_rate: int  # what `embed` takes (16 kHz mono float32)

    def embed(self, batch: np.ndarray) -> np.ndarray:
        """(n, samples) equal-length stretches -> (n, dims) L2-normalized embeddings."""
        ...


class TextToSpeech(Protocol):
    engine: str
    model: str
    default_voice: str

    def voices(self) -> list[str]: ...

    def synthesize(self, text: str, *, voice: str, speed: float, words: bool = False) -> Speech: ...

    def stream(self, text: str, *, voice: str, speed: float) -> Iterator[Speech]:
        """The same speech, sentence by sentence, as each sentence is ready."""
        ...
