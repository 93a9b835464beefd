"""Driving speech jobs step by step, as the Narrator function sees them: a queue that only
records what is sent, and the step messages a job will need (known in advance: a job is cut
into parts the same way every time)."""

from __future__ import annotations

from speech_api.text import read
from speech_api.text.parts import split


class RecordingQueue:
    """Keeps what is sent instead of sending it: the test delivers it."""

    def __init__(self) -> None:
        self.sent: list[dict] = []

    def send(self, messages: list[dict]) -> None:
        self.sent += messages


def job_steps(job_id: str, text: str, part_chars: int, text_type: str = "text") -> list[dict]:
    """plan, each part, assemble: the messages the job's steps arrive as."""
    parts = split(read(text, text_type), part_chars)
    return [
        {"job": job_id, "step": "plan"},
        *({"job": job_id, "step": "part", "part": n} for n in range(len(parts))),
        {"job": job_id, "step": "assemble"},
    ]
