"""What every live session of one process shares: the settings, the speech service (its
engines and model names), the decoding scheduler, the session count and its limit."""

from __future__ import annotations

from dataclasses import dataclass, field

from speech_api.config import Settings
from speech_api.machine import usable_cores
from speech_api.realtime.scheduler import LiveScheduler


@dataclass
class LiveHub:
    settings: Settings
    service: object  # SpeechService (not imported: the light API function lists no engines)
    keys: object  # api.keys.KeyStore: who may open a session
    scheduler: LiveScheduler = field(default_factory=LiveScheduler)
    active: int = 0
    # Live figures for logs and tests: sessions refused at the limit, ended by each cause.
    refused: int = 0
    ended: dict[str, int] = field(default_factory=dict)
    metrics: object = None  # realtime.metrics.SessionMetrics, when configured

    @property
    def max_sessions(self) -> int:
        configured = self.settings.realtime.max_sessions
        return configured or 2 * usable_cores()

    def enter(self) -> bool:
        """Take a session slot; False when all are taken."""
        if self.active >= self.max_sessions:
            self.refused += 1
            return False
        self.active += 1
        return True

    def leave(self, why: str) -> None:
        self.active -= 1
        self.ended[why] = self.ended.get(why, 0) + 1
