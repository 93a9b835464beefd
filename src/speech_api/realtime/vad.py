"""Voice activity on a live stream: Silero VAD (the model faster-whisper bundles) run frame by
frame with its recurrent state carried across chunks, so a stream fed in pieces gets exactly
the probabilities one pass over the whole would; and the turn detector OpenAI's `server_vad`
describes (threshold, prefix padding, silence duration) on top of them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# Silero's window at 16 kHz (32 ms), and the context it prepends to each window.
FRAME = 512
_CONTEXT = 64


class SileroStream:
    """Speech probabilities, one per 512-sample frame, of audio fed in chunks of any size."""

    def __init__(self):
        from faster_whisper.vad import get_vad_model  # onnxruntime: loaded on first use

        self._session = get_vad_model().session  # one per process; run() is thread-safe
        self._h = np.zeros((1, 1, 128), dtype=np.float32)
        self._c = np.zeros((1, 1, 128), dtype=np.float32)
        self._context = np.zeros(_CONTEXT, dtype=np.float32)
        self._pending = np.zeros(0, dtype=np.float32)

    def __call__(self, samples: np.ndarray) -> np.ndarray:
        """Probabilities of the frames completed by ``samples`` (a partial frame waits)."""
        data = np.concatenate([self._pending, samples.astype(np.float32, copy=False)])
        whole = len(data) // FRAME * FRAME
        self._pending = data[whole:]
        if not whole:
            return np.zeros(0, dtype=np.float32)
        frames = data[:whole].reshape(-1, FRAME)
        contexts = np.concatenate([self._context[None], frames[:-1, -_CONTEXT:]])
        self._context = frames[-1, -_CONTEXT:].copy()
        out, self._h, self._c = self._session.run(
            None,
            {"input": np.concatenate([contexts, frames], axis=1), "h": self._h, "c": self._c},
        )
        return np.asarray(out, dtype=np.float32).reshape(-1)


@dataclass
class Turn:
    """What the detector saw in one frame: speech began (`start`), a pause began
    (`pause`), speech came back within the pause (`resume`), or the pause lasted long
    enough to end the turn (`stop`). `sample` is where: the first speech sample for start
    and resume, the first silent sample for pause and stop."""

    kind: str
    sample: int


class TurnDetector:
    """OpenAI's server_vad on frame probabilities: speech starts at a frame at or above
    `threshold`; once speaking, a frame below `threshold - 0.15` starts a pause (frames in
    between keep the current state, so a word's soft ending does not end it), and a pause of
    `silence_duration_ms` ends the turn."""

    def __init__(self, threshold: float, silence_duration_ms: int, sample_rate: int = 16000):
        self.threshold = threshold
        self.neg_threshold = max(threshold - 0.15, 0.01)
        self.silence_samples = silence_duration_ms * sample_rate // 1000
        self.speaking = False
        self.pause_at: int | None = None

    def reset(self) -> None:
        self.speaking = False
        self.pause_at = None

    def feed(self, probs: np.ndarray, first_sample: int) -> list[Turn]:
        """The turns in these frames, the first of which begins at ``first_sample``."""
        turns: list[Turn] = []
        for i, p in enumerate(probs.tolist()):
            start = first_sample + i * FRAME
            if not self.speaking:
                if p >= self.threshold:
                    self.speaking = True
                    self.pause_at = None
                    turns.append(Turn("start", start))
                continue
            if p >= self.threshold:
                if self.pause_at is not None:
                    self.pause_at = None
                    turns.append(Turn("resume", start))
            elif p < self.neg_threshold and self.pause_at is None:
                self.pause_at = start
                turns.append(Turn("pause", start))
            if self.pause_at is not None and start + FRAME - self.pause_at >= self.silence_samples:
                turns.append(Turn("stop", self.pause_at))
                self.speaking = False
                self.pause_at = None
        return turns
