"""Which models this process has loaded, and loading them through the engine registry: once, on
first use, under a lock per model. Only the load is serialized; inference runs without a global
lock. A failed load is not kept, so the next request tries again (a transient error must not
poison the process)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from typing import TypeVar

from speech_api.config import Settings
from speech_api.engines import registry
from speech_api.engines.base import SpeechToText, TextToSpeech
from speech_api.engines.spec import EngineSpec, TextToSpeechSpec
from speech_api.errors import ModelUnavailableError, SpeechAPIError

T = TypeVar("T")


class ModelCache:
    """Loaded models keyed by everything that determines them. One per process is shared by
    every manager (a model is a process resource: two apps with the same settings, e.g. the
    API and the local upload worker, use one copy)."""

    def __init__(self) -> None:
        self._instances: dict[Hashable, object] = {}
        self._locks: dict[Hashable, threading.Lock] = {}
        self._guard = threading.Lock()

    def __contains__(self, key: Hashable) -> bool:
        return key in self._instances

    def get(self, key: Hashable, factory: Callable[[], T]) -> T:
        try:
            return self._instances[key]  # type: ignore[return-value]
        except KeyError:
            pass
        with self._guard:
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:
            if key not in self._instances:
                self._instances[key] = factory()
            return self._instances[key]  # type: ignore[return-value]


PROCESS_MODELS = ModelCache()


class ModelManager:
    """The models one service uses: its STT models by name, its TTS engine; what is loaded
    and why a load failed (for /health and /ready)."""

    def __init__(self, settings: Settings, cache: ModelCache = PROCESS_MODELS):
        self._settings = settings
        self._cache = cache
        self._failures: dict[str, str] = {}

    def stt_names(self) -> list[str]:
        """The configured model first, then STT_EXTRA_MODELS, then the bundled models that
        are installed: callers may pick any of them by name (each loads on first use)."""
        stt = self._settings.stt
        extra = [m.strip() for m in stt.extra_models.split(",") if m.strip()]
        return list(dict.fromkeys([stt.model, *extra, *registry.stt_engine().installed_models()]))

    def _stt_key(self, name: str) -> tuple:
        return ("stt", self._settings.stt.model_copy(update={"model": name}), self._cache_dir)

    def _tts_key(self) -> tuple:
        return ("tts", self._settings.tts, self._cache_dir)

    @property
    def _cache_dir(self):
        return self._settings.model_cache_dir

    def stt(self, name: str | None = None) -> SpeechToText:
        name = name or self._settings.stt.model
        key = self._stt_key(name)
        spec = registry.stt_engine()

        def load() -> SpeechToText:
            return spec.load(key[1], self._cache_dir)

        return self._load(key, load, name, spec)

    def tts(self) -> TextToSpeech:
        settings = self._settings.tts
        spec = self.tts_spec()

        def load() -> TextToSpeech:
            return spec.load(
                settings.engine_settings(),
                cache_dir=self._cache_dir,
                max_concurrent=settings.max_concurrent,
            )

        return self._load(self._tts_key(), load, settings.engine, spec)

    def tts_spec(self) -> TextToSpeechSpec:
        """The configured TTS engine's spec (what it can do, what it costs)."""
        return registry.tts_engine(self._settings.tts.engine)

    def loaded(self) -> list[str]:
        names = [n for n in self.stt_names() if self._stt_key(n) in self._cache]
        if self._tts_key() in self._cache:
            names.append(self._settings.tts.engine)
        return sorted(names)

    def failures(self) -> dict[str, str]:
        return dict(self._failures)

    def _load(self, key: Hashable, factory: Callable[[], T], what: str, spec: EngineSpec) -> T:
        try:
            model = self._cache.get(key, factory)
        except SpeechAPIError as exc:
            self._failures[what] = exc.message
            raise
        except Exception as exc:  # any loader failure: missing files, bad weights, no network
            hint = ""
            if isinstance(exc, ImportError) and spec.extra:
                hint = f" (the {spec.name} engine needs the [{spec.extra}] extra installed)"
            error = ModelUnavailableError(
                f"The model '{what}' could not be loaded: {type(exc).__name__}: {exc}{hint}"
            )
            self._failures[what] = error.message
            raise error from exc
        self._failures.pop(what, None)
        return model
