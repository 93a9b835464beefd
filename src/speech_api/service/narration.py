"""A `Script` spoken by an engine: each stretch synthesized at the request's speed times its
<prosody rate>, pauses as silence, and word timings put back on the words as written.

The engine speaks the spoken form ("three dollars and fifty cents") and times the words of
that; each spoken word came from one written token ("$3.50"), so a written word lasts from
the start of the first spoken word made from it to the end of the last. Written tokens
with nothing to say (an emoji) get a zero-length timing where the previous word ended, and
tokens with no letter or digit join the word before them, as engines/tts/piper_word_timing.py
does.

What an engine can do comes from its spec (engines/spec.py): the speeds it makes, what its
speech costs, whether it takes phonemes."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

from speech_api.engines import Speech, TextToSpeech, WordTiming, registry
from speech_api.engines.spec import TextToSpeechSpec
from speech_api.errors import InvalidRequestError
from speech_api.text import Pause, Script, Token, Words
from speech_api.text.script import glued, written_words

if TYPE_CHECKING:
    import numpy as np

# numpy is imported where audio is made: the light API function (no numpy) imports this
# module to read and check texts.


def span_speed(speed: float, span: Words, speeds: tuple[float, float]) -> float:
    """The speed a stretch is asked for: the request's times its <prosody rate>, within the
    speeds the engine makes (its spec's)."""
    low, high = speeds
    return min(high, max(low, speed * span.rate))


def estimate_s(spec: TextToSpeechSpec, script: Script, speed: float) -> tuple[float, float]:
    """(seconds of audio, seconds of synthesis) the script takes: each stretch at its own
    speed (the engine's SynthesisCost), pauses as audio that costs nothing to make."""
    audio_s, work_s = script.pause_s, 0.0
    for span in script.spans:
        if isinstance(span, Words):
            at = span_speed(speed, span, spec.speeds)
            a, w = spec.cost.estimate_s(len(span.spoken), at)
            audio_s, work_s = audio_s + a, work_s + w
    return audio_s, work_s


def check_engine(spec: TextToSpeechSpec, engine: TextToSpeech, script: Script, voice: str) -> None:
    """Refuse (400) what this engine cannot do with the script: phonemes where the engine
    takes none (its spec says), or phonemes the voice does not have."""
    if not script.has_phonemes:
        return
    if not spec.phonemes:
        able = [e.name for e in registry.TTS_ENGINES if e.phonemes]
        instead = f" ({', '.join(able)} can: TTS_ENGINE={able[0]})" if able else ""
        raise InvalidRequestError(
            f"SSML: <phoneme> is not supported by the {spec.name} engine{instead}. Use "
            "<sub alias> to respell the word instead.",
            param="text",
            code="unsupported_ssml",
        )
    unknown_phonemes = engine.unknown_phonemes  # type: ignore[attr-defined]  (spec.phonemes)
    for span in script.spans:
        if not isinstance(span, Words):
            continue
        for token in span.tokens:
            if token.phonemes and (missing := unknown_phonemes(token.spoken[2:-2], voice)):
                raise InvalidRequestError(
                    f'SSML: <phoneme ph="{token.spoken[2:-2]}"> has phonemes the voice {voice} '
                    f"does not know: {' '.join(missing)}.",
                    param="text",
                    code="unknown_phonemes",
                )


def speak(
    engine: TextToSpeech,
    script: Script,
    *,
    voice: str,
    speed: float,
    speeds: tuple[float, float],
    words: bool = False,
) -> Speech:
    """The whole script as one piece of audio (with the written words' timings when
    ``words``); ``speeds``: the engine's (its spec's)."""
    import numpy as np

    pieces = list(_pieces(engine, script, voice=voice, speed=speed, speeds=speeds, words=words))
    rate = next((p.sample_rate for p in pieces if isinstance(p, Speech)), None)
    if rate is None:
        raise InvalidRequestError(
            "The text produced no speech (nothing pronounceable).", param="text", code="no_speech"
        )
    chunks: list[np.ndarray] = []
    timings: list[WordTiming] = []
    offset = 0
    for piece in pieces:
        if isinstance(piece, Pause):
            chunks.append(np.zeros(round(piece.seconds * rate), dtype=np.float32))
        else:
            chunks.append(piece.samples)
            shift = offset / rate
            timings += [
                WordTiming(word=w.word, start=w.start + shift, end=w.end + shift)
                for w in piece.words
            ]
        offset += len(chunks[-1])
    samples = np.concatenate(chunks).astype(np.float32, copy=False)
    return Speech(samples=samples, sample_rate=rate, words=tuple(timings))


def stream(
    engine: TextToSpeech, script: Script, *, voice: str, speed: float, speeds: tuple[float, float]
) -> Iterator[Speech]:
    """The script sentence by sentence as each is ready, pauses as silence (a pause before
    the first speech waits for it: the sample rate comes with the speech)."""
    waiting: list[Pause] = []
    rate: int | None = None
    for span in script.spans:
        if isinstance(span, Pause):
            if rate is None:
                waiting.append(span)
            else:
                yield _silence(span.seconds, rate)
            continue
        if not span.has_speech:
            continue
        at = span_speed(speed, span, speeds)
        for piece in engine.stream(span.spoken, voice=voice, speed=at):
            if rate is None:
                rate = piece.sample_rate
                for pause in waiting:
                    yield _silence(pause.seconds, rate)
            yield piece


def _silence(seconds: float, rate: int) -> Speech:
    import numpy as np

    return Speech(samples=np.zeros(round(seconds * rate), dtype=np.float32), sample_rate=rate)


def _pieces(
    engine: TextToSpeech,
    script: Script,
    *,
    voice: str,
    speed: float,
    speeds: tuple[float, float],
    words: bool,
) -> Iterator[Speech | Pause]:
    for span in script.spans:
        if isinstance(span, Pause):
            yield span
            continue
        if not span.has_speech:
            continue
        try:
            speech = engine.synthesize(
                span.spoken, voice=voice, speed=span_speed(speed, span, speeds), words=words
            )
        except ValueError as exc:  # the phonemizer refused the text: the input's fault
            raise InvalidRequestError(
                f"The text could not be synthesized: {exc}", param="text", code="no_speech"
            ) from exc
        if words:
            speech = Speech(
                samples=speech.samples,
                sample_rate=speech.sample_rate,
                words=tuple(written_timings(span.tokens, speech.words)),
            )
        yield speech


def written_timings(tokens: Sequence[Token], spoken: Sequence[WordTiming]) -> list[WordTiming]:
    """Timings of the written words of ``tokens``, from the timings of the words of their
    spoken form (``spoken``, as the engine timed "the tokens' spoken forms joined")."""
    owners = spoken_word_owners(tokens)
    token_spans: dict[int, list[float]] = {}
    if len(owners) == len(spoken):
        for timing, indexes in zip(spoken, owners, strict=True):
            for index in indexes:
                token_spans.setdefault(index, []).extend((timing.start, timing.end))
    else:  # cannot happen with piper_word_timing.written_words' rule; kept safe: spread evenly
        total = spoken[-1].end if spoken else 0.0
        count = max(1, len(tokens))
        for index in range(len(tokens)):
            token_spans[index] = [total * index / count, total * (index + 1) / count]

    timings: list[WordTiming] = []
    pending: list[tuple[str, list[int]]] = []  # words with no letter or digit before the first
    last_end = 0.0
    groups: list[tuple[str, list[int]]] = []
    for word, indexes in written_words(tokens):
        if not any(c.isalnum() for c in word):
            if groups:
                text, grouped = groups[-1]
                groups[-1] = (f"{text} {word}", [*grouped, *indexes])
            else:
                pending.append((word, indexes))
            continue
        prefix = " ".join(w for w, _ in pending)
        before = [i for _, ii in pending for i in ii]
        groups.append(((prefix + " " if prefix else "") + word, [*before, *indexes]))
        pending = []
    if pending and not groups:
        groups.append((" ".join(w for w, _ in pending), [i for _, ii in pending for i in ii]))
    for text, indexes in groups:
        times = [t for i in indexes for t in token_spans.get(i, [])]
        start, end = (min(times), max(times)) if times else (last_end, last_end)
        last_end = max(last_end, end)
        timings.append(WordTiming(word=text, start=start, end=end))
    return timings


def spoken_word_owners(tokens: Sequence[Token]) -> list[list[int]]:
    """For each word the engine times in the tokens' spoken forms joined (as `Words.spoken`
    joins them; split at whitespace; a piece with no letter or digit joins the word before
    it, or the next one at the start: engines/tts/piper_word_timing.written_words), the
    tokens it came from."""
    pieces: list[tuple[str, list[int]]] = []
    previous = None
    for index, token in enumerate(tokens):
        if not token.spoken:
            continue
        for number, piece in enumerate(token.spoken.split()):
            if number == 0 and pieces and glued(previous, token):
                text, indexes = pieces[-1]
                pieces[-1] = (text + piece, [*indexes, index])
            else:
                pieces.append((piece, [index]))
        previous = token
    owners: list[list[int]] = []
    pending: list[int] = []
    for piece, indexes in pieces:
        if not any(c.isalnum() for c in piece):
            if owners:
                owners[-1].extend(indexes)
            else:
                pending.extend(indexes)
            continue
        owners.append([*pending, *indexes])
        pending = []
    if pending and owners:
        owners[-1].extend(pending)
    elif pending:
        owners.append(pending)
    return owners
