"""A harder English set made from the speech-dev clips, reproducibly (no audio is stored).

The dev clips are clean read speech; the clips users send are not. Each clip here is a dev clip
put through one documented transform, with a fixed seed, so every run builds the same audio:

* ``opus8k`` / ``opus12k``: re-encoded as Ogg Opus at 8 / 12 kb/s (PyAV's libopus), and sent
  as that Opus file (the issue's slowest clip was a FLEURS Opus clip);
* ``noise10`` / ``noise5``: pink noise added at 10 / 5 dB SNR;
* ``music8``: a music-like bed (chords of harmonic tones with a beat) at 8 dB SNR;
* ``reverb``: a synthetic room (exponentially decaying noise, RT60 0.7 s);
* ``fast`` / ``slow``: played 1.25x / 0.8x faster (pitch moves with it, like a sped-up tape);
* ``pad``: 2.5 s of quiet room noise before and after;
* ``cut``: cut off at 65 % of its length, mid-word (no reference: left out of WER);
* ``joined``: two clips joined with 0.4 s of pause into 10-11 s (the issue's length).

`hard_clips()` builds them; each has the same fields the bench reads from a dev clip (`file`,
`text`, `language`, `duration_s`, `read()`).
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field

import numpy as np

from devkit.clips import Clip, load_clips

RATE = 16_000


@dataclass(frozen=True)
class HardClip:
    file: str  # a name with the extension of what `read()` returns
    text: str | None  # the reference; None where the transform makes it unknowable
    samples: np.ndarray = field(repr=False)
    encoded: bytes = field(repr=False)
    language: str = "en"

    @property
    def duration_s(self) -> float:
        return round(len(self.samples) / RATE, 2)

    def read(self) -> bytes:
        return self.encoded


def _decode(c: Clip) -> np.ndarray:
    from speech_api.audio import decode_audio

    return decode_audio(c.read(), max_seconds=60).samples


def _wav(samples: np.ndarray) -> bytes:
    import wave

    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes((np.clip(samples, -1, 1) * 32767).astype(np.int16).tobytes())
    return out.getvalue()


def opus(samples: np.ndarray, bitrate: int) -> bytes:
    """Ogg Opus at ``bitrate`` b/s, as a phone or a browser recorder would send it."""
    import av

    out = io.BytesIO()
    with av.open(out, "w", format="ogg") as container:
        stream = container.add_stream("libopus", rate=48_000)
        stream.bit_rate = bitrate
        stream.layout = "mono"
        resampler = av.AudioResampler(format="s16", layout="mono", rate=48_000)
        frame = av.AudioFrame.from_ndarray(
            np.asarray(samples, dtype=np.float32).reshape(1, -1), format="flt", layout="mono"
        )
        frame.sample_rate = RATE
        for resampled in [*resampler.resample(frame), *resampler.resample(None)]:
            for packet in stream.encode(resampled):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return out.getvalue()


def _power(x: np.ndarray) -> float:
    return float(np.mean(np.square(x, dtype=np.float64))) + 1e-12


def _mix(speech: np.ndarray, bed: np.ndarray, snr_db: float) -> np.ndarray:
    gain = np.sqrt(_power(speech) / (_power(bed) * 10 ** (snr_db / 10)))
    mixed = speech + gain * bed[: len(speech)]
    return (mixed / max(1.0, float(np.max(np.abs(mixed))) / 0.99)).astype(np.float32)


def pink_noise(n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    spectrum = np.fft.rfft(rng.standard_normal(n))
    spectrum /= np.sqrt(np.maximum(np.arange(len(spectrum)), 1))
    return np.fft.irfft(spectrum, n).astype(np.float32)


def music_bed(n: int, seed: int) -> np.ndarray:
    """Chords of harmonic tones changing every half second, with a decaying beat: music to a
    voice detector, not speech."""
    rng = np.random.default_rng(seed)
    t = np.arange(n) / RATE
    out = np.zeros(n)
    step = RATE // 2
    for start in range(0, n, step):
        seg = slice(start, min(n, start + step))
        root = 110 * 2 ** (rng.integers(0, 12) / 12)
        for ratio in (1.0, 1.26, 1.5):
            for harmonic in (1, 2, 3):
                out[seg] += np.sin(2 * np.pi * root * ratio * harmonic * t[seg]) / harmonic
        beat = np.exp(-np.arange(seg.stop - seg.start) / (0.05 * RATE))
        out[seg] += 0.5 * beat * rng.standard_normal(seg.stop - seg.start)
    return out.astype(np.float32)


def reverb(samples: np.ndarray, rt60_s: float, seed: int) -> np.ndarray:
    from scipy.signal import fftconvolve

    rng = np.random.default_rng(seed)
    n = int(rt60_s * RATE)
    ir = rng.standard_normal(n) * np.exp(-6.9 * np.arange(n) / n)
    ir[0] = 1.0
    wet = fftconvolve(samples, ir)[: len(samples)]
    return (wet / max(1e-9, float(np.max(np.abs(wet)))) * 0.9).astype(np.float32)


def speed(samples: np.ndarray, factor: float) -> np.ndarray:
    positions = np.arange(0, len(samples) - 1, factor)
    return np.interp(positions, np.arange(len(samples)), samples).astype(np.float32)


def _room(n: int, seed: int) -> np.ndarray:
    """Quiet room noise (pink, RMS 0.003)."""
    noise = pink_noise(n, seed)
    return (noise * 0.003 / max(1e-9, float(np.std(noise)))).astype(np.float32)


# Short and mid-length English dev clips (the product's clips), by name.
_BASES = (
    "arctic_a0007.wav",
    "arctic_aew_a0002.wav",
    "lj_LJ001-0001.wav",
    "lj_LJ001-0004.mp3",
    "ls_1089-134686-0001.wav",
    "ls_1272-128104-0000.wav",
    "ls_1995-1837-0001.wav",
    "pico_en_platforms.wav",
    "ami_ES2011a_headset0_40-46s.wav",
    "jfk_inaugural.flac",
)
_JOINED = (
    ("arctic_a0008.wav", "ls_1221-135766-0002.wav"),
    ("lj_LJ001-0003.flac", "arctic_aew_a0001.wav"),
    ("ls_1272-141231-0002.mp3", "arctic_a0009.wav"),
    ("arctic_aew_a0003.wav", "lj_LJ001-0007.wav"),
)


def hard_clips(transforms: tuple[str, ...] | None = None) -> list[HardClip]:
    """The harder set: every base clip through every transform, and the joined pairs (about
    a hundred clips, 2-16 s). ``transforms`` keeps only those named."""
    dev = {c.file: c for c in load_clips()}
    out: list[HardClip] = []

    def add(name: str, text: str | None, samples: np.ndarray, encoded: bytes | None = None):
        if transforms is None or name.split(":")[0] in transforms:
            out.append(HardClip(name, text, samples, encoded or _wav(samples)))

    for i, base in enumerate(_BASES):
        c = dev[base]
        x = _decode(c)
        stem = base.rsplit(".", 1)[0]
        for kbps in (8, 12):
            if transforms is None or f"opus{kbps}k" in transforms:
                encoded = opus(x, kbps * 1000)
                add(f"opus{kbps}k:{stem}.ogg", c.text, x, encoded)
        add(f"noise10:{stem}.wav", c.text, _mix(x, pink_noise(len(x), 10 + i), 10))
        add(f"noise5:{stem}.wav", c.text, _mix(x, pink_noise(len(x), 20 + i), 5))
        add(f"music8:{stem}.wav", c.text, _mix(x, music_bed(len(x), 30 + i), 8))
        add(f"reverb:{stem}.wav", c.text, reverb(x, 0.7, 40 + i))
        add(f"fast:{stem}.wav", c.text, speed(x, 1.25))
        add(f"slow:{stem}.wav", c.text, speed(x, 0.8))
        pad = _room(int(2.5 * RATE), 50 + i)
        add(f"pad:{stem}.wav", c.text, np.concatenate([pad, x + _room(len(x), 60 + i), pad]))
        add(f"cut:{stem}.wav", None, x[: int(0.65 * len(x))])
    for a, b in _JOINED:
        xa, xb = _decode(dev[a]), _decode(dev[b])
        gap = _room(int(0.4 * RATE), 70)
        name = f"joined:{a.rsplit('.', 1)[0]}+{b.rsplit('.', 1)[0]}.wav"
        add(name, f"{dev[a].text} {dev[b].text}", np.concatenate([xa, gap, xb]))
    return out
