"""Piper speaks fixed sentences, /stt hears them: the two halves agree on the words."""

import httpx
import pytest

from tests.support.wer import corpus_wer

# Harvard sentences (IEEE 1969), the standard phonetically balanced test set.
HARVARD = [
    "The birch canoe slid on the smooth planks.",
    "Glue the sheet to the dark blue background.",
    "It's easy to tell the depth of a well.",
    "These days a chicken leg is a rare dish.",
    "Rice is often served in round bowls.",
    "The juice of lemons makes fine punch.",
    "The box was thrown beside the parked truck.",
    "The hogs were fed chopped corn and garbage.",
    "Four hours of steady work faced us.",
    "A large size in stockings is hard to sell.",
    "The boy was there when the sun rose.",
    "A rod is used to catch pink salmon.",
]


@pytest.mark.slow
def test_piper_speech_transcribes_back_to_its_text(client):
    hypotheses = []
    for sentence in HARVARD:
        tts = client.post("/tts", json={"text": sentence, "format": "mp3"})
        assert tts.status_code == 200, tts.text
        audio = httpx.get(tts.json()["url"], timeout=10).content
        stt = client.post("/stt", files={"file": ("speech.mp3", audio)}, data={"language": "en"})
        assert stt.status_code == 200, stt.text
        hypotheses.append(stt.json()["text"])
    wer = corpus_wer(HARVARD, hypotheses)
    print(f"\nround trip Piper -> Whisper base: WER {wer:.2%} over {len(HARVARD)} sentences")
    assert wer <= 0.10
