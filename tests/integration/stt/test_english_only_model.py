"""An English-only model (`tiny.en`) given audio in another language and no `language`: it
cannot detect languages, and used to write invented English with `language_probability` 1.0.
The installed multilingual model (`base`) checks the clip's language first."""

from __future__ import annotations

import pytest

from devkit.clips import clip, load_clips


def stt(client, name: str, **data):
    c = clip(name)
    return client.post("/stt", files={"file": (c.file, c.read())}, data=data)


@pytest.mark.parametrize("name", [c.file for c in load_clips() if c.language == "es"])
def test_spanish_to_an_english_only_model_is_refused_naming_what_works(tiny_api, name):
    r = stt(tiny_api, name)
    assert r.status_code == 400, r.text
    error = r.json()["error"]
    assert (error["code"], error["param"]) == ("unsupported_language", "language")
    assert "does not sound like English" in error["message"]
    assert "tiny.en transcribes English only" in error["message"]
    assert "model=base" in error["message"] and "language=en" in error["message"]


def test_english_is_transcribed_with_the_measured_probability_of_english(tiny_api):
    r = stt(tiny_api, "arctic_a0008.wav")
    assert r.status_code == 200, r.text
    body = r.json()
    assert "your letter came just in time" in body["text"].lower()
    assert body["language"] == "en" and 0.5 < body["language_probability"] < 1.0


def test_language_given_skips_the_check(tiny_api):
    """`language=en` says the caller knows: the Spanish clip is transcribed as English."""
    r = stt(tiny_api, "pico_es_equipo.wav", language="en")
    assert r.status_code == 200 and r.json()["language_probability"] == 1.0
