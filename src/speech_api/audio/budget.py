"""What one decode may cost: wall time (checked on every read FFmpeg makes and after every
frame), the source audio its headers may make the decoder produce, plausible formats, and the
memory its sandboxed process may allocate."""

from __future__ import annotations

import io
import time

from speech_api.audio.sources import WHISPER_SAMPLE_RATE
from speech_api.errors import AudioTooLongError, UnsupportedAudioError

# What decoded input may declare. Real recordings run from 8 kHz telephony to 192 kHz studio
# masters with at most 7.1 channels; beyond that a header is lying, and believing it is how a
# tiny file makes the resampler allocate gigabytes (a 1 Hz WAV resampled to 16 kHz).
SOURCE_SAMPLE_RATES = (4_000, 192_000)
MAX_SOURCE_CHANNELS = 8
# Decoding may take this long plus a share of the audio's length limit (normal clips decode
# at 100x real time or more here); past it the file is refused, not decoded to the end.
DECODE_BASE_S = 2.0
DECODE_S_PER_AUDIO_S = 0.1
# Memory one decode may allocate beyond its input (the sandbox caps its child process at this).
# Real files need a few MB (a 4 h AAC track's MP4 index is about 20 MB); containers whose
# tables declare tens of millions of entries ask FFmpeg for gigabytes on open.
DECODE_MEMORY_MB = 128


def decode_time_limit_s(max_seconds: float) -> float:
    return DECODE_BASE_S + DECODE_S_PER_AUDIO_S * max_seconds


class DecodeBudget:
    """Bounds what one decode may cost: wall time (checked each time FFmpeg reads input and
    after each frame) and the source audio a header may make the decoder produce."""

    def __init__(self, max_seconds: float, param: str):
        self.max_seconds = max_seconds
        self.param = param
        self.limit_s = decode_time_limit_s(max_seconds)
        self.deadline = time.monotonic() + self.limit_s
        self.source_s = 0.0

    def check_time(self) -> None:
        if time.monotonic() > self.deadline:
            raise UnsupportedAudioError.decode_timeout(self.limit_s, param=self.param)

    def check_format(self, rate: int, channels: int) -> None:
        low, high = SOURCE_SAMPLE_RATES
        if rate and not low <= rate <= high:
            raise UnsupportedAudioError(
                f"The audio declares a sample rate of {rate} Hz; supported: {low}-{high} Hz.",
                param=self.param,
            )
        if channels > MAX_SOURCE_CHANNELS:
            raise UnsupportedAudioError(
                f"The audio declares {channels} channels; at most {MAX_SOURCE_CHANNELS} "
                "are supported.",
                param=self.param,
            )

    def take_frame(self, samples: int, rate: int, channels: int) -> None:
        """Account for a decoded frame before it is resampled: a frame's size comes from the
        file, and resampling multiplies it by 16000 / its rate."""
        self.check_format(rate, channels)
        self.source_s += samples / (rate or WHISPER_SAMPLE_RATE)
        if self.source_s > self.max_seconds:
            raise AudioTooLongError.over(self.max_seconds, param=self.param)
        self.check_time()


class BudgetedInput(io.RawIOBase):
    """The input as a file whose every read checks the time budget, so a demuxer that loops
    over crafted input is stopped too (PyAV re-raises our error)."""

    def __init__(self, source: io.BufferedIOBase | io.RawIOBase, budget: DecodeBudget):
        self._source = source
        self._budget = budget

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        self._budget.check_time()
        return self._source.readinto(buffer) or 0

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        return self._source.seek(offset, whence)

    def tell(self) -> int:
        return self._source.tell()
