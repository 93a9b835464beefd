"""The Coqui TTS adapter (``coqui-tts``, import name ``TTS``; needs torch).

``TTS_COQUI_MODEL`` is a Coqui model name resolved (and downloaded) by Coqui's model manager,
by default ``tts_models/en/ljspeech/tacotron2-DDC`` with its default vocoder. Local
checkpoints load through the same ``TTS.api.TTS`` entry point with explicit paths.

Import-light: torch, Coqui and numpy are imported when the engine loads.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Literal

from pydantic import Field

from speech_api.engines.base import Speech, joined_samples
from speech_api.engines.spec import EngineSettings, Prefetch, SynthesisCost, TextToSpeechSpec
from speech_api.engines.tts.sentences import bounded_sentences
from speech_api.errors import UnknownVoiceError
from speech_api.work_limits import check_work, produced_audio

DEFAULT_VOICE = "default"
DEFAULT_MODEL = "tts_models/en/ljspeech/tacotron2-DDC"


class CoquiSettings(EngineSettings):
    """Read from TTS_COQUI_<NAME> (TTS_COQUI_MODEL, TTS_COQUI_MODEL_PATH, ...): a model name
    resolved by Coqui's model manager, or a local checkpoint with its config (and vocoder)."""

    model: str = Field(DEFAULT_MODEL, description="a Coqui model name (its model manager's)")
    model_path: Path | None = Field(None, description="a local checkpoint, instead of `model`")
    config_path: Path | None = Field(None, description="the local checkpoint's config.json")
    vocoder_path: Path | None = Field(None, description="a local vocoder checkpoint")
    vocoder_config_path: Path | None = Field(None, description="its config.json")
    max_decoder_steps: int = Field(
        2000,
        ge=10,
        description="where an autoregressive decoder (Tacotron) stops: on odd input it could "
        "run on forever",
    )
    threads: int = Field(1, ge=1, description="torch threads; 1 is as fast and steadier")
    device: Literal["auto", "cpu", "cuda"] = Field("auto", description="auto: CUDA if present")

    def summary(self) -> str:
        return f"model {self.model_path or self.model}"


class CoquiEngine:
    engine = "coqui"

    def __init__(self, settings: CoquiSettings):
        import torch
        from TTS.api import TTS

        torch.set_num_threads(settings.threads)
        if settings.model_path is not None:
            self.model = str(settings.model_path)
            tts = TTS(
                model_path=str(settings.model_path),
                config_path=_opt(settings.config_path),
                vocoder_path=_opt(settings.vocoder_path),
                vocoder_config_path=_opt(settings.vocoder_config_path),
                progress_bar=False,
            )
        else:
            self.model = settings.model
            tts = TTS(settings.model, progress_bar=False)
        device = settings.device
        if device == "auto":
            device = "cuda" if torch.cuda.is_available() else "cpu"
        tts.to(device)
        model = tts.synthesizer.tts_model
        # Autoregressive decoders (Tacotron) can run on forever on odd input: cap them.
        for decoder in ("decoder", "coarse_decoder"):
            if hasattr(getattr(model, decoder, None), "max_decoder_steps"):
                getattr(model, decoder).max_decoder_steps = settings.max_decoder_steps
        self._tts = tts
        self._speakers = list(tts.speakers or []) if tts.is_multi_speaker else []
        self.default_voice = self._speakers[0] if self._speakers else DEFAULT_VOICE
        # Tacotron keeps decoder/attention state on the module during inference, so one
        # synthesis at a time per loaded model (other engines and STT are not blocked).
        self._lock = threading.Lock()

    def voices(self) -> list[str]:
        return self._speakers or [DEFAULT_VOICE]

    def synthesize(self, text: str, *, voice: str, speed: float, words: bool = False) -> Speech:
        if words:
            raise NotImplementedError("Coqui gives no word timings")
        pieces = list(self.stream(text, voice=voice, speed=speed))
        rate = pieces[0].sample_rate if pieces else self._rate
        return Speech(samples=joined_samples([p.samples for p in pieces]), sample_rate=rate)

    def stream(self, text: str, *, voice: str, speed: float) -> Iterator[Speech]:
        sentences = self._tts.synthesizer.split_into_sentences(text) or [text]
        for sentence in sentences:
            for piece in bounded_sentences(sentence):  # no sentence past MAX_SENTENCE_CHARS
                check_work()  # its client gone, or out of time: stop before the next one
                speech = self._speak(piece, voice=voice, speed=speed)
                produced_audio(len(speech.samples) / speech.sample_rate)
                yield speech

    @property
    def _rate(self) -> int:
        return int(self._tts.synthesizer.output_sample_rate)

    def _speak(self, text: str, *, voice: str, speed: float) -> Speech:
        if voice not in self.voices():
            raise UnknownVoiceError(
                f"Unknown voice '{voice}'. Available: {', '.join(self.voices())}.", param="voice"
            )
        import numpy as np
        import torch

        from speech_api.audio import change_tempo

        with self._lock, torch.inference_mode():
            wav = self._tts.tts(
                text, speaker=voice if self._speakers else None, split_sentences=False
            )
        rate = self._rate
        samples = np.asarray(wav, dtype=np.float32)
        # Tacotron has no duration control: change tempo afterwards, keeping the pitch.
        return Speech(samples=change_tempo(samples, rate, speed), sample_rate=rate)


def _opt(path) -> str | None:
    return None if path is None else str(path)


def load(settings: CoquiSettings, *, cache_dir: Path, max_concurrent: int) -> CoquiEngine:
    # One synthesis at a time per loaded model (see CoquiEngine): max_concurrent cannot raise it.
    return CoquiEngine(settings)


def _prefetch(dest: Path, *, coqui_model: str) -> str:
    """The model (and its default vocoder) into Coqui's model cache, TTS_HOME, where the same
    name resolves offline at run time (``dest`` is not used: TTS_HOME is where it goes)."""
    from TTS.api import TTS

    TTS(coqui_model, progress_bar=False)  # downloads into TTS_HOME
    return f"Coqui model {coqui_model} cached"


SPEC = TextToSpeechSpec(
    name="coqui",
    settings=CoquiSettings,
    extra="coqui",
    needs_torch=True,
    load=load,
    prefetch=Prefetch(options={"--coqui-model": DEFAULT_MODEL}, run=_prefetch),
    # The image step's model (Dockerfile ARG COQUI_MODEL; the CDK context key coqui_model).
    image_args={"COQUI_MODEL": DEFAULT_MODEL},
    gpu_env={"TTS_COQUI_DEVICE": "cuda"},
    # Tacotron2-DDC on LJSpeech speaks about 15 characters a second (0.065 s a character; the
    # corpus's 24 h for 13,100 clips of ~100-character text); with HiFiGAN it synthesizes at
    # 0.2-0.4 of the audio's length with one torch thread. It makes speed-1 speech and changes
    # the tempo afterwards: its work does not follow the speed.
    cost=SynthesisCost(speech_s_per_char=0.065, synthesis_rtf=0.4, work_follows_speed=False),
    # Tacotron's attention could time phonemes, but it blurs exactly where the audio goes
    # wrong: no captions (see the README, "Captions").
    captions=False,
    # It takes text only (this adapter has no way to hand it IPA): <phoneme> is refused.
    phonemes=False,
    speeds=(0.25, 4.0),
)
