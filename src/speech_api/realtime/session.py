"""One transcription session's state, with no socket and no model in it: the input audio
buffer, turn detection, item IDs, and when to decode what. Audio goes in (already 16 kHz
float32, with its VAD frame probabilities); server events and decode work come out, and decode
results go back in. The connection (api/routers/realtime.py) runs the work and sends the
events; tests drive this class directly.

Work it asks for:
- `Partial`: decode the utterance so far, cheaply (its words feed `delta` events); at most one
  in flight per session, and a new one only after `partial_interval_s` more audio;
- `Speculate`: start the full decode of an utterance whose pause has begun, before the pause
  is long enough to end the turn; if the turn does end there, its commit reuses that decode
  (the `completed` event then follows the end of the turn by little more than the rest of the
  decode), and if speech resumes it is dropped;
- `Final`: the full-quality decode of a committed item, in commit order.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

import numpy as np

from speech_api.realtime.partials import Agreement
from speech_api.realtime.protocol import (
    MIN_COMMIT_MS,
    Dialect,
    SessionConfig,
    error_event,
    event,
    new_id,
    user_item,
)
from speech_api.realtime.vad import FRAME, Turn, TurnDetector

RATE = 16000


@dataclass(frozen=True)
class Partial:
    item_id: str
    generation: int
    audio: np.ndarray
    prefix: str


@dataclass(frozen=True)
class Speculate:
    key: tuple[str, int]  # (item id, end sample): a Final with the same key reuses it
    audio: np.ndarray


@dataclass(frozen=True)
class Final:
    item_id: str
    audio: np.ndarray
    key: tuple[str, int]


Work = Partial | Speculate | Final


@dataclass(frozen=True)
class Limits:
    # A turn that goes on this long is cut (at its quietest frame in the last 3 s) and
    # committed, and the rest goes on as a new item: one Whisper window, with room.
    max_utterance_s: float = 28.0
    # Without turn detection the client commits; the buffer holds at most this much.
    max_buffer_s: float = 60.0
    # Audio an utterance needs before its first partial, and between partials.
    first_partial_s: float = 1.0
    partial_interval_s: float = 0.5
    # Audio kept after the pause begins, in the committed item (the rest is silence).
    end_padding_ms: int = 100
    # How long a pause lasts before its turn is decoded speculatively (at least
    # end_padding_ms: the decode needs the audio up to the item's end).
    speculate_after_ms: int = 100


class _Buffer:
    """The retained audio, addressed by absolute sample index (since the session began)."""

    def __init__(self) -> None:
        self.start = 0  # absolute index of the first retained sample
        self.chunks: deque[np.ndarray] = deque()
        self.end = 0

    def append(self, samples: np.ndarray) -> None:
        if len(samples):
            self.chunks.append(samples)
            self.end += len(samples)

    def drop_before(self, index: int) -> None:
        while self.chunks and self.start + len(self.chunks[0]) <= index:
            self.start += len(self.chunks.popleft())
        if self.chunks and self.start < index:
            cut = index - self.start
            self.chunks[0] = self.chunks[0][cut:]
            self.start = index
        if not self.chunks:
            self.start = max(self.start, min(index, self.end))

    def slice(self, begin: int, end: int) -> np.ndarray:
        begin, end = max(begin, self.start), min(end, self.end)
        if end <= begin:
            return np.zeros(0, dtype=np.float32)
        out, pos = [], self.start
        for chunk in self.chunks:
            lo, hi = max(begin - pos, 0), min(end - pos, len(chunk))
            if lo < hi:
                out.append(chunk[lo:hi])
            pos += len(chunk)
            if pos >= end:
                break
        return np.concatenate(out) if len(out) > 1 else out[0].copy()


@dataclass
class _Utterance:
    item_id: str
    start: int  # absolute sample where its audio begins (prefix padding included)
    generation: int
    agreement: Agreement = field(default_factory=Agreement)
    partial_at: int = 0  # buffer end when the last partial was asked for
    # (first sample, probability) of its VAD frames, for choosing where to cut a long one.
    probs: deque = field(default_factory=lambda: deque(maxlen=4 * RATE // FRAME))


class Session:
    def __init__(
        self,
        config: SessionConfig,
        *,
        dialect: Dialect = "ga",
        limits: Limits = Limits(),
        partials: bool = True,
    ):
        self.config = config
        self.dialect: Dialect = dialect
        self.limits = limits
        self.partials = partials
        self.events: list[dict] = []
        self.work: list[Work] = []
        self._buffer = _Buffer()
        self._frames_done = 0  # VAD frames seen (frame k covers samples [512k, 512k+512))
        self._dropped = 0  # samples a full buffer refused (manual commits only)
        self._utterance: _Utterance | None = None
        self._generation = 0
        self._partial_in_flight = False
        self._speculated: tuple[str, int] | None = None
        self._last_item: str | None = None
        self._full_reported = False
        self._agreements: dict[str, Agreement] = {}  # committed items awaiting their final
        self._detector = self._new_detector()

    # --- configuration ------------------------------------------------------------------

    def reconfigure(self, config: SessionConfig) -> None:
        """A new configuration: a new turn detector when its settings changed (an
        utterance in progress goes on)."""
        old = self.config.turn_detection
        self.config = config
        if config.turn_detection != old:
            self._detector = self._new_detector()
            if self._utterance is not None and config.turn_detection is not None:
                self._detector.speaking = True

    def _new_detector(self) -> TurnDetector | None:
        vad = self.config.turn_detection
        if vad is None:
            return None
        return TurnDetector(vad.threshold, vad.silence_duration_ms)

    # --- input --------------------------------------------------------------------------

    def append(self, samples: np.ndarray, probs: np.ndarray) -> None:
        """New audio and the VAD probabilities of the frames it completed (frames count from
        the first sample the session was sent; audio dropped from a full buffer shifts them
        against the buffer's own indices by `_dropped`)."""
        first = self._frames_done * FRAME - self._dropped
        self._frames_done += len(probs)
        if self._detector is None:
            self._append_manual(samples)
        else:
            self._buffer.append(samples)
            if self._utterance is not None:
                self._utterance.probs.extend(_framed(probs, first))
            for turn in self._detector.feed(probs, first):
                self._on_turn(turn, probs, first)
            self._maybe_speculate()
            if self._utterance is None:
                keep = self.config.turn_detection.prefix_padding_ms * RATE // 1000
                self._buffer.drop_before(self._buffer.end - keep - FRAME)
            else:
                self._cut_if_too_long()
        self._maybe_partial()

    def _append_manual(self, samples: np.ndarray) -> None:
        room = int(self.limits.max_buffer_s * RATE) - (self._buffer.end - self._buffer.start)
        if len(samples) > room:
            self._dropped += len(samples) - max(room, 0)
            samples = samples[: max(room, 0)]
            if not self._full_reported:
                self._full_reported = True
                self.events.append(
                    error_event(
                        {
                            "type": "invalid_request_error",
                            "code": "input_audio_buffer_full",
                            "message": (
                                f"The input audio buffer holds at most "
                                f"{self.limits.max_buffer_s:g} s; audio past that was "
                                "dropped. Commit the buffer (input_audio_buffer.commit) "
                                "or turn server_vad on."
                            ),
                            "param": None,
                            "event_id": None,
                        }
                    )
                )
        self._buffer.append(samples)
        if self._utterance is None and self._buffer.end > self._buffer.start:
            self._utterance = self._begin(self._buffer.start)

    def commit(self, event_id: str | None = None) -> None:
        """The client's `input_audio_buffer.commit`."""
        begin = self._utterance.start if self._utterance else self._buffer.start
        end = self._buffer.end
        if (end - begin) * 1000 < MIN_COMMIT_MS * RATE:
            self.events.append(
                error_event(
                    {
                        "type": "invalid_request_error",
                        "code": "input_audio_buffer_commit_empty",
                        "message": (
                            "Error committing input audio buffer: buffer too small. Expected "
                            f"at least {MIN_COMMIT_MS}ms of audio, but buffer only has "
                            f"{(end - begin) / RATE * 1000:.2f}ms of audio."
                        ),
                        "param": None,
                        "event_id": event_id,
                    }
                )
            )
            return
        utterance = self._utterance or self._begin(begin)
        self._commit(utterance, end, stopped=False)
        if self._detector is not None:
            self._detector.reset()

    def clear(self) -> None:
        """The client's `input_audio_buffer.clear`: the audio and any turn in progress go."""
        self._buffer.drop_before(self._buffer.end)
        self._utterance = None
        self._speculated = None
        self._full_reported = False
        if self._detector is not None:
            self._detector.reset()
        self.events.append(event("input_audio_buffer.cleared"))

    # --- decode results -----------------------------------------------------------------

    def partial_done(self, work: Partial, continuation: str | None) -> None:
        """A partial decode's words after its prefix (None: nothing usable)."""
        self._partial_in_flight = False
        u = self._utterance
        if u is None or u.item_id != work.item_id or u.generation != work.generation:
            return  # committed or cleared meanwhile
        if continuation is not None:
            delta = u.agreement.update(continuation)
            if delta:
                self.events.append(self._delta(u.item_id, delta))
        self._maybe_partial()

    def final_done(self, work: Final, transcript: str, duration_s: float) -> None:
        agreement = self._agreements.pop(work.item_id, None)
        tail = agreement.finish(transcript) if agreement else None
        if tail:
            self.events.append(self._delta(work.item_id, tail))
        self.events.append(
            event(
                "conversation.item.input_audio_transcription.completed",
                item_id=work.item_id,
                content_index=0,
                transcript=transcript,
                usage={"type": "duration", "seconds": round(duration_s, 3)},
            )
        )
        if self.dialect == "ga":
            self.events.append(
                event(
                    "conversation.item.done", item=user_item(work.item_id, transcript, dialect="ga")
                )
            )

    def final_failed(self, work: Final, error: dict) -> None:
        self._agreements.pop(work.item_id, None)
        self.events.append(
            event(
                "conversation.item.input_audio_transcription.failed",
                item_id=work.item_id,
                content_index=0,
                error=error,
            )
        )

    def take(self) -> tuple[list[dict], list[Work]]:
        """The events and work produced since the last call."""
        events, work = self.events, self.work
        self.events, self.work = [], []
        return events, work

    # --- turns --------------------------------------------------------------------------

    def _begin(self, start: int) -> _Utterance:
        self._generation += 1
        return _Utterance(new_id("item"), start, self._generation)

    def _on_turn(self, turn: Turn, probs: np.ndarray, first: int) -> None:
        vad = self.config.turn_detection
        if turn.kind == "start":
            pad = vad.prefix_padding_ms * RATE // 1000
            start = max(turn.sample - pad, self._buffer.start)
            self._utterance = self._begin(start)
            self._utterance.probs.extend(
                (at, p) for at, p in _framed(probs, first) if at >= turn.sample
            )
            self.events.append(
                event(
                    "input_audio_buffer.speech_started",
                    audio_start_ms=start * 1000 // RATE,
                    item_id=self._utterance.item_id,
                )
            )
        elif turn.kind == "resume":
            self._speculated = None
        elif turn.kind == "pause":
            pass
        elif turn.kind == "stop" and self._utterance is not None:
            end = min(turn.sample + self.limits.end_padding_ms * RATE // 1000, self._buffer.end)
            self._commit(self._utterance, end, stopped=True)

    def _maybe_speculate(self) -> None:
        """Decode a paused turn before its pause has lasted long enough to end it."""
        u, detector = self._utterance, self._detector
        if u is None or detector is None or detector.pause_at is None or self._speculated:
            return
        end = detector.pause_at + self.limits.end_padding_ms * RATE // 1000
        if self._buffer.end < detector.pause_at + self.limits.speculate_after_ms * RATE // 1000:
            return
        self._speculated = (u.item_id, end)
        self.work.append(Speculate(self._speculated, self._buffer.slice(u.start, end)))

    def _cut_if_too_long(self) -> None:
        u = self._utterance
        limit = int(self.limits.max_utterance_s * RATE)
        if u is None or self._buffer.end - u.start < limit:
            return
        end = u.start + limit
        window = [(at, p) for at, p in u.probs if end - 3 * RATE <= at and at + FRAME <= end]
        # The quietest frame (the latest of equals: as much of the turn as fits).
        cut = min(reversed(window), key=lambda item: item[1])[0] if window else end
        cut = min(max(cut, u.start + RATE), self._buffer.end)
        self._commit(u, cut, stopped=True)
        self._utterance = self._begin(cut)
        self._utterance.probs.extend((at, p) for at, p in u.probs if at >= cut)
        self._detector.speaking = True
        self.events.append(
            event(
                "input_audio_buffer.speech_started",
                audio_start_ms=cut * 1000 // RATE,
                item_id=self._utterance.item_id,
            )
        )

    def _commit(self, u: _Utterance, end: int, *, stopped: bool) -> None:
        audio = self._buffer.slice(u.start, end)
        if stopped:
            self.events.append(
                event(
                    "input_audio_buffer.speech_stopped",
                    audio_end_ms=end * 1000 // RATE,
                    item_id=u.item_id,
                )
            )
        self.events.append(
            event(
                "input_audio_buffer.committed", previous_item_id=self._last_item, item_id=u.item_id
            )
        )
        kind = "conversation.item.added" if self.dialect == "ga" else "conversation.item.created"
        self.events.append(
            event(
                kind,
                previous_item_id=self._last_item,
                item=user_item(u.item_id, None, dialect=self.dialect),
            )
        )
        self._last_item = u.item_id
        self._agreements[u.item_id] = u.agreement
        key = (u.item_id, end)
        self.work.append(Final(u.item_id, audio, key))
        self._speculated = None
        self._utterance = None
        self._full_reported = False
        self._buffer.drop_before(end)

    # --- partials -----------------------------------------------------------------------

    def _maybe_partial(self) -> None:
        u = self._utterance
        if u is None or not self.partials or self._partial_in_flight:
            return
        if self._detector is not None and self._detector.pause_at is not None:
            return  # a pause: the CPU goes to the turn's final decode, which may be next
        heard = self._buffer.end - u.start
        if heard < self.limits.first_partial_s * RATE:
            return
        if u.partial_at and self._buffer.end - u.partial_at < self.limits.partial_interval_s * RATE:
            return
        u.partial_at = self._buffer.end
        self._partial_in_flight = True
        audio = self._buffer.slice(u.start, self._buffer.end)
        self.work.append(Partial(u.item_id, u.generation, audio, u.agreement.prefix))

    def _delta(self, item_id: str, text: str) -> dict:
        return event(
            "conversation.item.input_audio_transcription.delta",
            item_id=item_id,
            content_index=0,
            delta=text,
        )


def _framed(probs: np.ndarray, first: int):
    """(first sample, probability) of each frame, the first frame starting at ``first``."""
    return ((first + i * FRAME, p) for i, p in enumerate(probs.tolist()))
