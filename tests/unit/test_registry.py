"""The engine registry (engines/registry.py): every engine declares what the rest of the code
needs of it, checked when the spec is made, so an engine that misses a figure fails at import
(start-up), never at the request that would need it."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from speech_api.config import Settings, TTSSettings
from speech_api.engines import registry
from speech_api.engines.spec import (
    EngineSettings,
    Prefetch,
    SynthesisCost,
    TextToSpeechSpec,
)

REPO = Path(__file__).resolve().parents[2]


class _Settings(EngineSettings):
    pass


def _declarations(**overrides) -> dict:
    spec = {
        "name": "sample",
        "settings": _Settings,
        "extra": "",
        "needs_torch": False,
        "load": lambda settings, **kwargs: None,
        "cost": SynthesisCost(speech_s_per_char=0.05, synthesis_rtf=0.1, work_follows_speed=True),
        "captions": False,
        "speeds": (0.5, 2.0),
    }
    return {**spec, **overrides}


def _tts(**overrides) -> TextToSpeechSpec:
    return TextToSpeechSpec(**_declarations(**overrides))


def test_a_complete_spec_is_accepted():
    assert _tts().cost.estimate_s(100, 1.0) == pytest.approx((5.0, 0.5))


@pytest.mark.parametrize("missing", ["cost", "captions", "speeds", "settings", "load"])
def test_a_spec_missing_a_declaration_is_refused(missing):
    assert missing in {f.name for f in dataclasses.fields(TextToSpeechSpec)}
    declarations = _declarations()
    del declarations[missing]
    with pytest.raises(TypeError, match=missing):
        TextToSpeechSpec(**declarations)


@pytest.mark.parametrize(
    "figures",
    [
        {"speech_s_per_char": None},
        {"speech_s_per_char": 0},
        {"synthesis_rtf": -0.1},
        {"synthesis_rtf": True},
        {"work_follows_speed": None},
    ],
)
def test_a_cost_without_a_real_figure_is_refused(figures):
    good = {"speech_s_per_char": 0.05, "synthesis_rtf": 0.1, "work_follows_speed": True}
    with pytest.raises(ValueError, match="SynthesisCost"):
        SynthesisCost(**(good | figures))


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"name": "Big Engine"}, "lower case"),
        ({"settings": dict}, "EngineSettings"),
        ({"speeds": (1.5, 4.0)}, "include 1"),
        ({"image_args": {"lower": "x"}}, "NAME=str"),
        ({"prefetch": "download it"}, "Prefetch"),
    ],
)
def test_a_spec_with_a_wrong_declaration_is_refused(overrides, message):
    with pytest.raises(ValueError, match=message):
        _tts(**overrides)


def test_a_prefetch_option_must_be_a_long_flag():
    with pytest.raises(ValueError, match="--long-flag"):
        Prefetch(options={"model": "x"}, run=print)


def test_the_registry_refuses_what_cannot_work():
    stt, tts = registry.STT_ENGINES, registry.TTS_ENGINES
    with pytest.raises(ValueError, match="unique"):
        registry.check(stt, (*tts, _tts(name=tts[0].name)), registry.DEFAULT_TTS_ENGINE)
    with pytest.raises(ValueError, match="not registered"):
        registry.check(stt, tts, "espeak")
    with pytest.raises(ValueError, match="torch"):
        registry.check(stt, (_tts(needs_torch=True),), "sample")
    with pytest.raises(ValueError, match="no tts engine"):
        registry.check(stt, (), registry.DEFAULT_TTS_ENGINE)


def test_every_engine_declares_an_existing_extra_and_documents_its_settings():
    extras = tomllib.loads((REPO / "pyproject.toml").read_text())["project"][
        "optional-dependencies"
    ]
    for spec in registry.all_engines():
        assert spec.extra == "" or spec.extra in extras, spec.name
        for name, info in spec.settings.model_fields.items():
            assert info.description, f"{spec.name}: setting {name} is not documented"
        hash(spec.settings())  # frozen: loaded models are cached by their settings


def test_each_engine_reads_its_own_variables(monkeypatch):
    """TTS_<ENGINE>_<SETTING> for every registered engine's every setting, as the README and
    the CDK stack set them (TTS_PIPER_VOICE, TTS_COQUI_MODEL, ...)."""
    for spec in registry.TTS_ENGINES:
        for name, info in spec.settings.model_fields.items():
            if info.annotation in (str, str | None):
                monkeypatch.setenv(f"TTS_{spec.name}_{name}".upper(), f"value-of-{name}")
    settings = Settings()
    for spec in registry.TTS_ENGINES:
        own = settings.tts.engine_settings(spec.name)
        assert isinstance(own, spec.settings)
        for name, info in spec.settings.model_fields.items():
            if info.annotation in (str, str | None):
                assert getattr(own, name) == f"value-of-{name}"


def test_tts_engine_choices_are_the_registered_engines():
    assert TTSSettings().engine == registry.DEFAULT_TTS_ENGINE
    for name in registry.tts_names():
        assert TTSSettings(engine=name).engine == name
    with pytest.raises(ValueError, match="engine"):
        TTSSettings(engine="espeak")


def test_an_engines_own_checks_run_when_the_settings_are_read():
    for spec in registry.TTS_ENGINES:
        for name, info in spec.settings.model_fields.items():
            if any(getattr(m, "ge", None) is not None for m in info.metadata):
                with pytest.raises(ValueError, match=f"{spec.name}_{name}"):
                    TTSSettings(**{f"{spec.name}_{name}": -1})


def test_prefetch_options_are_distinct_across_engines():
    flags = [f for s in registry.all_engines() if s.prefetch for f in s.prefetch.options]
    assert len(flags) == len(set(flags)), flags


def test_synthesis_work_follows_speed_only_where_the_engine_says_so():
    for spec in registry.TTS_ENGINES:
        _, at_one = spec.cost.estimate_s(1000, 1.0)
        _, slower = spec.cost.estimate_s(1000, 0.5)
        assert slower == pytest.approx(at_one * (2 if spec.cost.work_follows_speed else 1))
        fits = spec.cost.chars_within(0.5, 25.0)
        assert spec.cost.estimate_s(fits, 0.5)[1] <= 25.0 < spec.cost.estimate_s(fits + 2, 0.5)[1]


def test_reading_the_registry_loads_no_engine_library():
    """The light Lambda layer and the CDK app read the registry and the settings: adapters
    import their libraries only when an engine loads or prefetches."""
    code = (
        "import sys, speech_api.config, speech_api.engines.registry; "
        "print(sorted(m for m in ('numpy', 'av', 'torch', 'onnxruntime', 'ctranslate2', "
        "'faster_whisper', 'piper', 'TTS') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO
    )
    assert out.stdout.strip() == "[]"
