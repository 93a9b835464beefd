"""The Whisper adapter (faster-whisper on CTranslate2): its spec for the registry, its model
step for image builds, and how it loads (the engine itself: whisper_engine.py and the decoding
modules beside it; its settings: whisper_settings.py; where models come from:
whisper_models.py).

Import-light: faster-whisper, CTranslate2 and numpy are imported when the engine loads."""

from __future__ import annotations

import shutil
from pathlib import Path

from speech_api.engines.spec import Prefetch, SpeechToTextSpec
from speech_api.engines.stt.whisper_models import installed_models, resolve_model
from speech_api.engines.stt.whisper_settings import WhisperSettings

# Whisper's language codes (multilingual models; English-only models take "en" alone). Checked
# against faster-whisper's own list by the tests; kept here so the light API function can
# validate an upload's language without importing the engine.
_WHISPER_CODES = """
af am ar as az ba be bg bn bo br bs ca cs cy da de el en es et eu fa fi fo fr gl gu ha haw
he hi hr ht hu hy id is it ja jw ka kk km kn ko la lb ln lo lt lv mg mi mk ml mn mr ms mt my
ne nl nn no oc pa pl ps pt ro ru sa sd si sk sl sn so sq sr su sv sw ta te tg th tk tl tr tt
uk ur uz vi yi yo zh yue
"""
WHISPER_LANGUAGES = frozenset(_WHISPER_CODES.split())

# What a model directory holds, copied into the image.
_MODEL_FILES = (
    "model.bin",
    "config.json",
    "tokenizer.json",
    "vocabulary.json",
    "vocabulary.txt",
    "preprocessor_config.json",
)


def load(settings: WhisperSettings, cache_dir: Path):
    from speech_api.engines.stt.whisper_engine import WhisperEngine

    return WhisperEngine(settings, cache_dir)


def prefetch_model(model: str, dest: Path) -> Path:
    """``model`` into ``dest/stt`` (the image then sets ``STT_MODEL=<dest>/stt``): a local
    model directory or a bundled name is copied; any other name is downloaded by
    faster-whisper."""
    target = dest / "stt"
    source = resolve_model(model, dest / "cache")
    if not Path(source).is_dir():
        from faster_whisper import download_model

        source = download_model(model, output_dir=str(dest / "download"))
    target.mkdir(parents=True, exist_ok=True)
    for name in _MODEL_FILES:
        if (Path(source) / name).is_file():
            shutil.copy2(Path(source) / name, target / name)
    if not (target / "model.bin").is_file():
        raise FileNotFoundError(f"no model.bin in {source}")
    shutil.rmtree(dest / "cache", ignore_errors=True)
    shutil.rmtree(dest / "download", ignore_errors=True)
    return target


def _prefetch(dest: Path, *, stt_model: str) -> str:
    return f"STT model -> {prefetch_model(stt_model, dest)}"


SPEC = SpeechToTextSpec(
    name="whisper",
    settings=WhisperSettings,
    extra="",  # faster-whisper is a base dependency; weights: the `models` extra or the hub
    needs_torch=False,
    load=load,
    prefetch=Prefetch(options={"--stt-model": "base"}, run=_prefetch),
    gpu_env={"STT_DEVICE": "cuda"},
    languages=WHISPER_LANGUAGES,
    installed_models=installed_models,
)
