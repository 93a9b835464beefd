"""Coqui TTS adapter (``coqui-tts``, import name ``TTS``).

``TTS_COQUI_MODEL`` is a Coqui model name resolved (and downloaded) by Coqui's model manager,
by default ``tts_models/en/ljspeech/tacotron2-DDC`` with its default vocoder. Local
checkpoints load through the same ``TTS.api.TTS`` entry point with explicit paths.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

import numpy as np

from speech_api.audio import change_tempo
from speech_api.config import TTSSettings
from speech_api.engines.base import Speech
from speech_api.engines.tts.sentences import bounded_sentences
from speech_api.errors import UnknownVoiceError
from speech_api.work_limits import check_work, produced_audio

DEFAULT_VOICE = "default"


class CoquiEngine:
    engine = "coqui"
    # Tacotron's attention could time phonemes, but it blurs exactly where the audio goes
    # wrong; not offered (see the README, "Captions").
    captions = False

    def __init__(self, settings: TTSSettings):
        import torch
        from TTS.api import TTS

        torch.set_num_threads(settings.coqui_threads)
        if settings.coqui_model_path is not None:
            self.model = str(settings.coqui_model_path)
            tts = TTS(
                model_path=str(settings.coqui_model_path),
                config_path=_opt(settings.coqui_config_path),
                vocoder_path=_opt(settings.coqui_vocoder_path),
                vocoder_config_path=_opt(settings.coqui_vocoder_config_path),
                progress_bar=False,
            )
        else:
            self.model = settings.coqui_model
            tts = TTS(settings.coqui_model, progress_bar=False)
        device = settings.coqui_device
        if device == "auto":
            device = "cuda" if torch.cuda.is_available() else "cpu"
        tts.to(device)
        model = tts.synthesizer.tts_model
        # Autoregressive decoders (Tacotron) can run on forever on odd input: cap them.
        for decoder in ("decoder", "coarse_decoder"):
            if hasattr(getattr(model, decoder, None), "max_decoder_steps"):
                getattr(model, decoder).max_decoder_steps = settings.coqui_max_decoder_steps
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
        if not pieces:
            return Speech(samples=np.zeros(0, dtype=np.float32), sample_rate=self._rate)
        samples = np.concatenate([p.samples for p in pieces]).astype(np.float32, copy=False)
        return Speech(samples=samples, sample_rate=pieces[0].sample_rate)

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
        import torch

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
