"""Live input audio to 16 kHz: G.711 against its reference implementation (CPython's audioop,
present in 3.11 and 3.12), and a resampler that gives the same samples however the stream is cut."""

import itertools
import warnings

import numpy as np
import pytest

from speech_api.audio.pcm import (
    ALAW_TO_PCM16,
    PCM24K,
    PCMA,
    PCMU,
    ULAW_TO_PCM16,
    Resampler,
    StreamDecoder,
    encode_g711,
    encode_stream,
)

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    audioop = pytest.importorskip("audioop")

EVERY_SAMPLE = np.arange(-32768, 32768).astype("<i2")


def test_g711_decoding_matches_the_reference_for_every_code():
    codes = bytes(range(256))
    assert np.array_equal(np.frombuffer(audioop.ulaw2lin(codes, 2), "<i2"), ULAW_TO_PCM16)
    assert np.array_equal(np.frombuffer(audioop.alaw2lin(codes, 2), "<i2"), ALAW_TO_PCM16)


def test_g711_encoding_matches_the_reference_for_every_sample():
    assert encode_g711(EVERY_SAMPLE, "ulaw") == audioop.lin2ulaw(EVERY_SAMPLE.tobytes(), 2)
    assert encode_g711(EVERY_SAMPLE, "alaw") == audioop.lin2alaw(EVERY_SAMPLE.tobytes(), 2)


def sine(freq: float, rate: int, seconds: float = 1.0, level: float = 0.5) -> np.ndarray:
    return (level * np.sin(2 * np.pi * freq * np.arange(int(rate * seconds)) / rate)).astype(
        np.float32
    )


def dominant_hz(samples: np.ndarray, rate: int) -> float:
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(len(samples))))
    return float(np.argmax(spectrum) * rate / len(samples))


@pytest.mark.parametrize("rate_in", [24000, 8000])
def test_resampling_keeps_pitch_and_level(rate_in):
    out = Resampler(rate_in, 16000)(sine(1000, rate_in))
    assert len(out) == 16000
    assert dominant_hz(out[200:], 16000) == pytest.approx(1000, abs=2)
    rms = float(np.sqrt(np.mean(out[200:] ** 2)))
    assert rms == pytest.approx(0.5 / np.sqrt(2), rel=0.02)


def test_resampling_removes_what_16k_cannot_hold():
    # 10 kHz fits 24 kHz audio but not 16 kHz: it must vanish, not fold back to 6 kHz.
    out = Resampler(24000, 16000)(sine(10000, 24000))
    assert float(np.sqrt(np.mean(out[200:] ** 2))) < 0.001


@pytest.mark.parametrize("fmt", [PCM24K, PCMU, PCMA], ids=lambda f: f.name)
def test_a_stream_cut_anywhere_decodes_as_a_whole(fmt):
    audio = sine(440, 16000, 2.0, 0.3)
    data = encode_stream(audio, 16000, fmt)
    whole = StreamDecoder(fmt)(data)
    decoder = StreamDecoder(fmt)
    cuts = [0, 1, 2, 7, 1001, 4097, 4098, len(data) // 2 + 1, len(data)]
    pieces = [decoder(data[a:b]) for a, b in itertools.pairwise(cuts)]
    assert np.array_equal(np.concatenate(pieces), whole)
    # Round trip: the tone comes back at 16 kHz (G.711 is lossy, PCM nearly exact).
    tolerance = 0.002 if fmt is PCM24K else 0.03
    lag = np.argmax(np.correlate(whole[1000:1400], audio[1000:1200], mode="valid"))
    assert np.max(np.abs(whole[1000 + lag : 3000 + lag] - audio[1000:3000])) < tolerance


def test_odd_bytes_wait_for_their_other_half():
    decoder = StreamDecoder(PCM24K)
    first = decoder(b"\x00\x10\x00")  # one sample and half of the next
    second = decoder(b"\x10")
    assert len(first) + len(second) == len(StreamDecoder(PCM24K)(b"\x00\x10\x00\x10"))
