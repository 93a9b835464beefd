"""How long a recording the upload worker (and `speech-api transcribe`) takes, from the time it
has, and how often it tries one file. Synchronous /stt keeps MAX_AUDIO_SECONDS (API Gateway's
29 s); the asynchronous paths take any length up to a limit derived from the time the worker
has. The CDK stack sizes the Worker function from these (infra/config.py)."""

from __future__ import annotations

# Seconds of worker time per second of audio, with Whisper `base` int8 on 2 CPU cores: `make
# bench` measured 0.056 on joined dev clips (README, Performance); this leaves about a 2x
# margin for speech-dense audio and full-window fallbacks. Lambda gives a function about one
# vCPU per 1,769 MB, so a worker of at least 3,538 MB runs at this rate or faster.
LONG_AUDIO_RTF = 0.12
# Speaker labels cost Whisper's word timings and the speaker encoder on top (docs/speakers.md:
# the target is at most 30 % more): a diarized recording counts as this much more audio
# against the worker's time, and its length limit is that much shorter.
DIARIZATION_TIME_FACTOR = 1.3
# A recording is accepted when its estimated time, this fixed allowance (cold start: image,
# model load; download and decoding) included, fills at most this share of the time left.
LONG_AUDIO_OVERHEAD_S = 60.0
LONG_AUDIO_TIME_SHARE = 0.75
# A worker that dies mid-file (timeout, out of memory, killed) is retried; after this many
# attempts the file gets its .error.json and its message goes to the dead-letter queue.
MAX_WORKER_ATTEMPTS = 3
# Progress records (transcripts/<id>.progress.json) are rewritten at most this often.
PROGRESS_INTERVAL_S = 10.0


# A running worker checks a decoded recording against the time its invocation has left; by
# then the cold start, the download and the decoding are behind it, and what remains besides
# transcribing (loading the model on first use, writing four objects) takes this long.
WORKER_FINISH_S = 10.0


# The most a recording's transcription may take, per second of audio, whatever the estimate
# (LONG_AUDIO_RTF) said: about 8x the measured rate. Past it (noise or music decoded at every
# temperature of the fallback schedule, window after window) the attempt stops and counts.
LONG_AUDIO_MAX_RTF = 1.0


def worker_work_budget_s(audio_s: float, time_left_s: float | None) -> float:
    """How long the worker may spend transcribing a decoded recording: LONG_AUDIO_MAX_RTF of
    its length plus a minute, and no more than the invocation's time left (less what writing
    the results takes)."""
    budget = LONG_AUDIO_OVERHEAD_S + audio_s * LONG_AUDIO_MAX_RTF
    if time_left_s is not None:
        budget = min(budget, time_left_s - WORKER_FINISH_S)
    return max(1.0, budget)


def long_audio_limit_s(time_s: float, rtf: float = LONG_AUDIO_RTF) -> int:
    """The longest recording (seconds of audio) a worker with ``time_s`` seconds can finish,
    with margin, cold start, download and decoding included: what the CDK stack sets as
    LONG_AUDIO_MAX_SECONDS from the worker's timeout."""
    return max(0, int((time_s - LONG_AUDIO_OVERHEAD_S) * LONG_AUDIO_TIME_SHARE / rtf))


def worker_audio_limit_s(time_left_s: float, rtf: float = LONG_AUDIO_RTF) -> int:
    """The longest decoded recording a running worker can still transcribe in ``time_left_s``
    (no fixed allowance for work already done: a 10 s clip fits in an invocation with 60 s
    left). A longer one waits for a delivery with more time, which is not a failure."""
    return max(0, int((time_left_s - WORKER_FINISH_S) * LONG_AUDIO_TIME_SHARE / rtf))


def min_worker_timeout_s(rtf: float = LONG_AUDIO_RTF, audio_s: float = 60.0) -> int:
    """The shortest worker timeout that accepts ``audio_s`` of audio (default: a minute, what
    /stt takes; the upload path exists for what it does not): shorter fails at synth."""
    return int(-(-(audio_s * rtf / LONG_AUDIO_TIME_SHARE + LONG_AUDIO_OVERHEAD_S) // 1))
