import pytest
from pydantic import ValidationError

from speech_api.config import Settings


def test_defaults_match_the_documented_embedded_setup(monkeypatch):
    for name in ("STT_MODEL", "TTS_ENGINE", "S3_BUCKET", "MAX_UPLOAD_BYTES", "PORT"):
        monkeypatch.delenv(name, raising=False)
    s = Settings(_env_file=None)
    assert s.stt.model == "base"
    assert s.stt.vad_filter is True
    assert s.tts.engine == "piper"
    assert s.tts.coqui_model == "tts_models/en/ljspeech/tacotron2-DDC"
    assert s.public_prefix == "public/"
    assert s.max_upload_bytes == 25 * 1024 * 1024
    assert s.max_audio_seconds == 60
    assert (s.host, s.port) == ("127.0.0.1", 8000)


def test_env_names_in_the_readme_reach_nested_groups(monkeypatch):
    monkeypatch.setenv("STT_MODEL", "tiny.en")
    monkeypatch.setenv("STT_COMPUTE_TYPE", "float32")
    monkeypatch.setenv("TTS_ENGINE", "coqui")
    monkeypatch.setenv("TTS_COQUI_MODEL_PATH", "/models/tacotron/model.pth")
    monkeypatch.setenv("S3_BUCKET", "my-audio")
    monkeypatch.setenv("S3_ENDPOINT_URL", "http://127.0.0.1:9000")
    monkeypatch.setenv("PUBLIC_BASE_URL", "https://cdn.example.com")
    monkeypatch.setenv("MAX_UPLOAD_BYTES", "1000")
    s = Settings(_env_file=None)
    assert s.stt.model == "tiny.en"
    assert s.stt.compute_type == "float32"
    assert s.tts.engine == "coqui"
    assert str(s.tts.coqui_model_path) == "/models/tacotron/model.pth"
    assert s.s3.bucket == "my-audio"
    assert s.s3.endpoint_url == "http://127.0.0.1:9000"
    assert s.public_base_url == "https://cdn.example.com"
    assert s.max_upload_bytes == 1000


def test_invalid_values_are_rejected_at_startup(monkeypatch):
    monkeypatch.setenv("TTS_ENGINE", "festival")
    with pytest.raises(ValidationError, match="engine"):
        Settings(_env_file=None)


def test_groups_are_hashable_so_models_cache_per_configuration():
    s = Settings(_env_file=None)
    assert hash(s.stt) == hash(Settings(_env_file=None).stt)


def flat_env_names(settings: Settings) -> set[str]:
    names = set()
    for name, value in settings:
        if hasattr(value, "model_fields"):
            names |= {f"{name}_{sub}".upper() for sub in type(value).model_fields}
        else:
            names.add(name.upper())
    return names


def test_env_example_documents_every_setting_with_its_default(tmp_path, monkeypatch):
    from pathlib import Path

    example = Path(__file__).resolve().parents[2] / ".env.example"
    keys = {
        line.split("=", 1)[0]
        for line in example.read_text().splitlines()
        if line and not line.startswith("#")
    }
    defaults = Settings(_env_file=None)
    assert keys == flat_env_names(defaults)
    for key in keys:
        monkeypatch.delenv(key, raising=False)
    assert Settings(_env_file=example) == defaults


def test_whisper_languages_are_faster_whispers_own():
    from faster_whisper.tokenizer import _LANGUAGE_CODES

    from speech_api.engines.stt.whisper import WHISPER_LANGUAGES

    assert frozenset(_LANGUAGE_CODES) == WHISPER_LANGUAGES
