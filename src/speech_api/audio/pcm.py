"""Raw audio as live clients stream it, to Whisper's 16 kHz mono float32, chunk by chunk.

OpenAI's Realtime transcription sessions send 24 kHz mono 16-bit little-endian PCM
(`audio/pcm`) or telephony's G.711 at 8 kHz (`audio/pcmu` μ-law, `audio/pcma` A-law). A chunk
may end anywhere, even inside a sample: `StreamDecoder` keeps what is left over for the next
one, and its resampler keeps its filter's history, so chunking never changes the result.

G.711 is decoded from its ITU-T definition (two 256-entry tables), encoded the same way (the
CLI and the tests send μ-law/A-law made from recordings).
"""

from __future__ import annotations

from dataclasses import dataclass
from math import gcd

import numpy as np

from speech_api.audio.sources import WHISPER_SAMPLE_RATE


def _ulaw_table() -> np.ndarray:
    code = ~np.arange(256, dtype=np.int32) & 0xFF
    exponent = (code >> 4) & 0x07
    mantissa = code & 0x0F
    magnitude = (((mantissa << 3) + 0x84) << exponent) - 0x84
    return np.where(code & 0x80, -magnitude, magnitude).astype(np.int16)


def _alaw_table() -> np.ndarray:
    code = np.arange(256, dtype=np.int32) ^ 0x55
    exponent = (code >> 4) & 0x07
    mantissa = code & 0x0F
    magnitude = np.where(
        exponent == 0, (mantissa << 4) + 8, ((mantissa << 4) + 0x108) << (exponent - 1)
    )
    return np.where(code & 0x80, magnitude, -magnitude).astype(np.int16)


ULAW_TO_PCM16 = _ulaw_table()
ALAW_TO_PCM16 = _alaw_table()


_ULAW_SEGMENT_ENDS = np.array([0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF, 0x1FFF])
_ALAW_SEGMENT_ENDS = np.array([0x1F, 0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF])


def _encode_ulaw(pcm16: np.ndarray) -> np.ndarray:
    """ITU-T G.711 μ-law (the reference encoder's 14-bit segment search)."""
    value = pcm16.astype(np.int32) >> 2
    mask = np.where(value < 0, 0x7F, 0xFF)
    value = np.minimum(np.abs(value), 8159) + (0x84 >> 2)
    segment = np.searchsorted(_ULAW_SEGMENT_ENDS, value)
    code = (np.minimum(segment, 7) << 4) | ((value >> (np.minimum(segment, 7) + 1)) & 0x0F)
    code = np.where(segment >= 8, 0x7F, code)
    return (code ^ mask).astype(np.uint8)


def _encode_alaw(pcm16: np.ndarray) -> np.ndarray:
    """ITU-T G.711 A-law (the reference encoder's 13-bit segment search)."""
    value = pcm16.astype(np.int32) >> 3
    mask = np.where(value >= 0, 0xD5, 0x55)
    value = np.where(value >= 0, value, -value - 1)
    segment = np.searchsorted(_ALAW_SEGMENT_ENDS, value)
    shift = np.where(segment < 2, 1, np.minimum(segment, 7))
    code = (np.minimum(segment, 7) << 4) | ((value >> shift) & 0x0F)
    code = np.where(segment >= 8, 0x7F, code)
    return (code ^ mask).astype(np.uint8)


def encode_g711(pcm16: np.ndarray, law: str) -> bytes:
    """int16 samples to G.711 bytes (`law` is "ulaw" or "alaw")."""
    return (_encode_ulaw(pcm16) if law == "ulaw" else _encode_alaw(pcm16)).tobytes()


def _lowpass(cutoff: float, taps_per_phase: int, up: int) -> np.ndarray:
    """A Kaiser-windowed sinc low-pass at ``cutoff`` (a fraction of the upsampled Nyquist),
    scaled by ``up`` so that zero-stuffing keeps the level."""
    n = taps_per_phase * up
    t = np.arange(n) - (n - 1) / 2
    h = cutoff * np.sinc(cutoff * t) * np.kaiser(n, 8.0)
    return (h * up / h.sum()).astype(np.float64)


class Resampler:
    """Streaming rational resampling (polyphase FIR: up by ``up``, low-pass, down by
    ``down``). Successive calls give exactly what one call on the joined input would."""

    def __init__(self, rate_in: int, rate_out: int, taps_per_phase: int = 24):
        g = gcd(rate_in, rate_out)
        self.up, self.down = rate_out // g, rate_in // g
        cutoff = 0.9 * min(1.0 / self.up, 1.0 / self.down)
        self.filter = _lowpass(cutoff, taps_per_phase, self.up)
        self.history = np.zeros(taps_per_phase, dtype=np.float64)
        # Where the next output falls on the upsampled grid, counted from the next input.
        self._phase = 0
        # Upsampled index m = q*up + p sees input samples q, q-1, ... through the filter's
        # taps p, p+up, ...: one short filter per phase p, reversed to dot with a window.
        self._phases = [self.filter[p :: self.up][::-1] for p in range(self.up)]
        self._taps = taps_per_phase

    def __call__(self, x: np.ndarray) -> np.ndarray:
        if self.up == self.down == 1:
            return x.astype(np.float32)
        data = np.concatenate([self.history, x.astype(np.float64)])
        n_new = len(x)
        # Output sample positions on the upsampled grid of the new input: m = phase + k*down,
        # with input index i = m // up and filter phase p = m % up.
        total_up = n_new * self.up
        m = np.arange(self._phase, total_up, self.down)
        self._phase = int(m[-1] + self.down - total_up) if len(m) else self._phase - total_up
        if not len(m):
            self.history = data[-self._taps :]
            return np.zeros(0, dtype=np.float32)
        i = m // self.up + self._taps  # position in `data` of the newest input tap
        p = m % self.up
        out = np.empty(len(m), dtype=np.float64)
        offsets = np.arange(-self._taps + 1, 1)
        for phase in range(self.up):
            sel = p == phase
            if not sel.any():
                continue
            windows = data[i[sel, None] + offsets]
            out[sel] = windows @ self._phases[phase]
        self.history = data[-self._taps :]
        return out.astype(np.float32)


@dataclass(frozen=True)
class InputFormat:
    """One way live audio may arrive: its encoding and sample rate."""

    name: str  # audio/pcm, audio/pcmu, audio/pcma
    encoding: str  # pcm16, ulaw, alaw
    sample_rate: int

    @property
    def bytes_per_sample(self) -> int:
        return 2 if self.encoding == "pcm16" else 1

    def seconds(self, n_bytes: int) -> float:
        return n_bytes / self.bytes_per_sample / self.sample_rate


PCM24K = InputFormat("audio/pcm", "pcm16", 24_000)
PCMU = InputFormat("audio/pcmu", "ulaw", 8_000)
PCMA = InputFormat("audio/pcma", "alaw", 8_000)
INPUT_FORMATS = {f.name: f for f in (PCM24K, PCMU, PCMA)}


class StreamDecoder:
    """Bytes of one `InputFormat`, in chunks of any size, to 16 kHz float32 in [-1, 1]."""

    def __init__(self, fmt: InputFormat):
        self.format = fmt
        self._leftover = b""
        self._resample = Resampler(fmt.sample_rate, WHISPER_SAMPLE_RATE)

    def __call__(self, data: bytes) -> np.ndarray:
        if self.format.encoding == "pcm16":
            data = self._leftover + data
            usable = len(data) - len(data) % 2
            self._leftover = data[usable:]
            samples = np.frombuffer(data[:usable], dtype="<i2")
        else:
            table = ULAW_TO_PCM16 if self.format.encoding == "ulaw" else ALAW_TO_PCM16
            samples = table[np.frombuffer(data, dtype=np.uint8)]
        return self._resample(samples.astype(np.float32) / 32768.0)


def to_pcm16(samples: np.ndarray) -> np.ndarray:
    """float32 in [-1, 1] to int16 (clipped)."""
    return (np.clip(samples, -1.0, 1.0) * 32767.0).round().astype("<i2")


def encode_stream(samples: np.ndarray, rate: int, fmt: InputFormat) -> bytes:
    """Mono float32 at ``rate`` as ``fmt``'s bytes (what a live client sends): resampled to
    the format's rate, then 16-bit PCM or G.711."""
    converted = Resampler(rate, fmt.sample_rate)(samples)
    pcm = to_pcm16(converted)
    if fmt.encoding == "pcm16":
        return pcm.tobytes()
    return encode_g711(pcm, fmt.encoding)
