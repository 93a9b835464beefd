"""Cached getters: each model loads once per process, on first use, under a per-model lock.

Only the load is serialized; inference runs without a global lock. A failed load is not
cached, so the next request tries again (a transient error must not poison the process).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from pathlib import Path
from typing import TypeVar

from speech_api.config import STTSettings, TTSSettings
from speech_api.engines.base import SpeechToText, TextToSpeech
from speech_api.errors import ModelUnavailableError, SpeechAPIError

T = TypeVar("T")

_instances: dict[Hashable, object] = {}
_failures: dict[str, str] = {}  # model -> why its last load failed (for readiness)
_locks: dict[Hashable, threading.Lock] = {}
_locks_guard = threading.Lock()


def load_once(key: Hashable, factory: Callable[[], T]) -> T:
    try:
        return _instances[key]  # type: ignore[return-value]
    except KeyError:
        pass
    with _locks_guard:
        lock = _locks.setdefault(key, threading.Lock())
    with lock:
        if key not in _instances:
            _instances[key] = factory()
        return _instances[key]  # type: ignore[return-value]


def loaded_models() -> list[str]:
    return sorted(
        str(key[1])
        for key in _instances
        if isinstance(key, tuple) and len(key) > 1 and key[0] in ("stt", "tts")
    )


def load_failures() -> dict[str, str]:
    return dict(_failures)


def get_stt_engine(settings: STTSettings, cache_dir: Path) -> SpeechToText:
    def load() -> SpeechToText:
        from speech_api.engines.whisper import WhisperEngine

        return WhisperEngine(settings, cache_dir)

    return _guarded_load(("stt", settings.model, settings, cache_dir), load, settings.model)


def get_tts_engine(settings: TTSSettings, cache_dir: Path) -> TextToSpeech:
    def load() -> TextToSpeech:
        if settings.engine == "coqui":
            from speech_api.engines.coqui import CoquiEngine

            return CoquiEngine(settings)
        from speech_api.engines.piper import PiperEngine

        return PiperEngine(settings)

    return _guarded_load(("tts", settings.engine, settings, cache_dir), load, settings.engine)


def _guarded_load(key: Hashable, factory: Callable[[], T], what: str) -> T:
    try:
        engine = load_once(key, factory)
    except SpeechAPIError as exc:
        _failures[what] = exc.message
        raise
    except Exception as exc:  # any loader failure: missing files, bad weights, no network
        error = ModelUnavailableError(
            f"The model '{what}' could not be loaded: {type(exc).__name__}: {exc}"
        )
        _failures[what] = error.message
        raise error from exc
    _failures.pop(what, None)
    return engine
