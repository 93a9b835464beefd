"""Memory that stays bounded while the encoder sees a new input length on nearly every call
(trimmed decodes, batches and live partials all do): oneDNN, which runs CTranslate2's
convolutions on CPU, keeps a compiled kernel per shape (up to 1,024 by default, about 1 MB
each); the Whisper engine caps that cache. Runs in its own process: the cap is read when the
first kernel is made, and an earlier test's model would have made it already."""

from __future__ import annotations

import os
import subprocess
import sys

PROBE = """
import ctypes
import numpy as np
from speech_api.config import STTSettings, default_cache_dir
from speech_api.engines import TranscriptionOptions, registry
from speech_api.realtime.decoding import PartialDecoder


class MallInfo(ctypes.Structure):
    names = "arena ordblks smblks hblks hblkhd usmblks fsmblks uordblks fordblks keepcost"
    _fields_ = [(n, ctypes.c_size_t) for n in names.split()]


libc = ctypes.CDLL("libc.so.6")
libc.mallinfo2.restype = MallInfo
engine = registry.stt_engine().load(STTSettings(model="tiny.en"),
                                    default_cache_dir())
decode = PartialDecoder.for_engine(engine)
rng = np.random.default_rng(0)
audio = (rng.standard_normal(16000 * 20) * 0.0001).astype(np.float32)
lengths = rng.permutation(np.arange(1600, 16000 * 20, 160))[:60]
options = TranscriptionOptions(language="en")
for n in lengths[:20]:  # the shapes every decode makes, whatever its length
    decode(audio[:n], options)
before = libc.mallinfo2().uordblks
for n in lengths[20:]:
    decode(audio[:n], options)
print((libc.mallinfo2().uordblks - before) / 2**20)
"""


def test_forty_new_input_lengths_leave_the_heap_where_it_was():
    env = {k: v for k, v in os.environ.items() if k != "ONEDNN_PRIMITIVE_CACHE_CAPACITY"}
    done = subprocess.run(
        [sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-3000:]
    grown_mb = float(done.stdout.strip().splitlines()[-1])
    # Uncapped, these 40 lengths kept 45.9 MB (tiny.en); capped, under 1 MB.
    assert grown_mb < 16, f"the heap grew by {grown_mb:.1f} MB over 40 new input lengths"
