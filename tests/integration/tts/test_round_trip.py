"""Piper speaks fixed sentences, /stt hears them: the two halves agree on the words.

Both sides are scored in their spoken form, as `make bench` scores the round trip
(bench/narration.py, `judged`): Whisper writing "platform number 4" for "platform number
four" is the same words, not an error (it was one point of WER, in a test whose noise-sampled
audio ranges from 1.5 to 9 %)."""

import httpx
import pytest

from devkit.texts import SENTENCES
from devkit.wer import corpus_wer
from speech_api.text import read


def _said(text: str) -> str:
    return read(text, "text", language="en").spoken if text.strip() else ""  # heard nothing


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
    references, hypotheses = [_said(s) for s in SENTENCES], [_said(h) for h in hypotheses]
    wer = corpus_wer(references, hypotheses)
    print(f"\nround trip Piper -> Whisper base: WER {wer:.2%} over {len(SENTENCES)} sentences")
    misheard = [(s, h) for s, h in zip(references, hypotheses, strict=True) if corpus_wer([s], [h])]
    assert wer <= 0.10, misheard
