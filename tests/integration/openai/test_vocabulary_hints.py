"""Vocabulary hints through the OpenAI SDK (as its `gpt-transcribe` takes them): `keywords[]`
reach Whisper as hotwords, so a rare name it misses comes out right; `languages[]` limit
language detection; what Whisper cannot take is a 400 that names the parameter."""

from __future__ import annotations

import openai
import pytest

from devkit.clips import clip

# "Yet these thoughts affected Hester Prynne less with hope than apprehension."
PRYNNE = clip("ls_1221-135766-0002.wav")
HOMENAJE = clip("pico_es_homenaje.wav")  # "Un homenaje a Cabré era más que necesario."
ENGLISH = clip("arctic_a0007.wav")


def transcribe(openai_client, audio, **kwargs):
    kwargs.setdefault("model", "gpt-transcribe")
    with open(audio.path, "rb") as f:
        return openai_client.audio.transcriptions.create(file=f, **kwargs)


def test_keywords_bring_a_name_the_model_misses_without_them(openai_client):
    plain = transcribe(openai_client, PRYNNE).text
    assert "prynne" not in plain.lower()  # base hears "Hester Prin"
    hinted = transcribe(openai_client, PRYNNE, keywords=["Hester Prynne"]).text
    assert "Hester Prynne" in hinted
    assert "apprehension" in hinted.lower()


def test_keywords_reach_the_full_window_path_too(openai_client):
    # temperature > 0 takes the library's own decode rather than the trimmed batch.
    hinted = transcribe(openai_client, PRYNNE, keywords=["Hester Prynne"], temperature=0.2).text
    assert "Prynne" in hinted


def test_languages_limit_detection_to_the_ones_given(openai_client):
    spanish = transcribe(
        openai_client, HOMENAJE, languages=["en", "es"], response_format="verbose_json"
    )
    assert spanish.language == "es" and "necesario" in spanish.text.lower()
    # An English clip told it is French or German is decoded as one of them, not English.
    forced = transcribe(
        openai_client, ENGLISH, languages=["fr", "de"], response_format="verbose_json"
    )
    assert forced.language in ("fr", "de")
    one = transcribe(openai_client, ENGLISH, languages=["en"], response_format="verbose_json")
    assert one.language == "en" and "superlative" in one.text.lower()


@pytest.mark.parametrize(
    ("kwargs", "code", "param"),
    [
        ({"keywords": [f"word{i}" for i in range(101)]}, "too_many_keywords", "keywords"),
        ({"keywords": ["x" * 101]}, "string_too_long", "keywords"),
        # 100 keywords of 40 characters: far past the 223 tokens Whisper keeps.
        (
            {"keywords": [f"Pneumonoultramicroscopic{i:016d}" for i in range(100)]},
            "keywords_too_long",
            "keywords",
        ),
        ({"languages": ["xx"]}, "unsupported_language", "languages"),
        ({"language": "en", "languages": ["es", "fr"]}, "invalid_value", "languages"),
        ({"model": "tiny.en", "languages": ["es"]}, "unsupported_language", "languages"),
    ],
)
def test_hints_whisper_cannot_take_are_refused_by_name(openai_client, kwargs, code, param):
    with pytest.raises(openai.BadRequestError) as exc:
        transcribe(openai_client, ENGLISH, **kwargs)
    assert exc.value.status_code == 400
    assert (exc.value.code, exc.value.param) == (code, param)


def test_translations_refuse_keywords(openai_client):
    with open(ENGLISH.path, "rb") as f, pytest.raises(openai.BadRequestError) as exc:
        openai_client.audio.translations.create(
            model="whisper-1", file=f, extra_body={"keywords[]": ["Prynne"]}
        )
    assert (exc.value.code, exc.value.param) == ("unsupported_parameter", "keywords")


def test_gpt_transcribe_is_listed(openai_client):
    assert "gpt-transcribe" in {m.id for m in openai_client.models.list()}
