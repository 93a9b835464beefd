"""Whisper engines built in-process, for the modules here that test the engine itself rather
than a server: `engines(model, **stt_settings)` builds one per model and settings, once per
module."""

from __future__ import annotations

import pytest

from speech_api.config import STTSettings
from speech_api.engines.stt.whisper_engine import WhisperEngine


@pytest.fixture(scope="module")
def engines(model_cache_dir):
    made = {}

    def make(model: str = "base", **stt) -> WhisperEngine:
        key = (model, tuple(sorted(stt.items())))
        if key not in made:
            made[key] = WhisperEngine(STTSettings(model=model, **stt), model_cache_dir)
        return made[key]

    return make
