"""Piper speaks fixed sentences, /stt hears them: the two halves agree on the words."""

import httpx
import pytest

from devkit.texts import SENTENCES
from devkit.wer import corpus_wer


@pytest.mark.slow
def test_piper_speech_transcribes_back_to_its_text(api):
    hypotheses = []
    for sentence in SENTENCES:
        tts = api.post("/tts", json={"text": sentence, "format": "mp3"})
        assert tts.status_code == 200, tts.text
        audio = httpx.get(tts.json()["url"], timeout=10).content
        stt = api.post("/stt", files={"file": ("speech.mp3", audio)}, data={"language": "en"})
        assert stt.status_code == 200, stt.text
        hypotheses.append(stt.json()["text"])
    wer = corpus_wer(SENTENCES, hypotheses)
    print(f"\nround trip Piper -> Whisper base: WER {wer:.2%} over {len(SENTENCES)} sentences")
    misheard = [(s, h) for s, h in zip(SENTENCES, hypotheses, strict=True) if corpus_wer([s], [h])]
    assert wer <= 0.10, misheard
