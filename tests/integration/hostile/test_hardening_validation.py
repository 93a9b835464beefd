"""Validation before work, against a running `speech-api serve` (hardening round 4): Whisper's
decoder prompt (`prompt` + `keywords[]` + special tokens) is checked before decoding and
refused with a 400 naming the parameter, and no combination of the transcription options an
accepted request can carry produces a 500 (a property test over all of them)."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tokenizers import Tokenizer

from devkit.clips import clip
from speech_api.engines.stt.whisper_models import resolve_model
from tests.support.attacks import joined_wav
from tests.support.s3 import serve_on_test_s3

SHORT = clip("arctic_a0007.wav")
# Two windows' worth of speech (40 s).
TWO_WINDOWS = joined_wav([clip(n).path for n in ("arctic_a0007.wav", "arctic_a0009.wav")], 5)


@pytest.fixture(scope="module")
def server(make_settings, s3_endpoint, model_cache_dir, tmp_path_factory):
    # The time limit is not what this module tests: room for a machine under load.
    env = {
        "PRELOAD_MODELS": "stt",
        "STT_TIME_LIMIT_S": "300",
    }
    with serve_on_test_s3(
        tmp_path_factory.mktemp("serve"), model_cache_dir, s3_endpoint, **env
    ) as proc:
        yield proc


@pytest.fixture(scope="module")
def tokens(model_cache_dir):
    """Tokens Whisper base counts in a text (as faster-whisper encodes it)."""
    tokenizer = Tokenizer.from_file(
        str(Path(resolve_model("base", model_cache_dir)) / "tokenizer.json")
    )
    return lambda text: len(tokenizer.encode(" " + text.strip(), add_special_tokens=False).ids)


def as_form(fields: list[tuple[str, str]]) -> dict[str, list[str]]:
    form: dict[str, list[str]] = {}
    for name, value in fields:
        form.setdefault(name, []).append(value)
    return form


def transcribe(server, data: bytes, fields: list[tuple[str, str]]) -> httpx.Response:
    return httpx.post(
        f"{server.base_url}/v1/audio/transcriptions",
        files={"file": ("a.wav", data, "audio/wav")},
        data=as_form(fields),
        timeout=300,
    )


def keywords_of(tokens, wanted: int) -> list[str]:
    """Keywords (at most 100 of at most 100 characters) that come to about ``wanted``
    tokens, just under the 223 that faster-whisper keeps."""
    words = [f"Pneumono{i:03d}" for i in range(100)]
    count = 1
    while count < len(words) and tokens(", ".join(words[: count + 1])) <= wanted:
        count += 1
    return words[:count]


@pytest.mark.parametrize("stream", ["false", "true"])
def test_keywords_at_their_cap_plus_a_prompt_are_refused_naming_the_prompt(server, tokens, stream):
    """Keywords of 219 tokens (under the old cap of 223) plus a prompt of 223 made a decoder
    prompt of 450 positions: CTranslate2 raised, a 500 (with stream=true a 200 whose only
    event was an error)."""
    keywords = keywords_of(tokens, 219)
    assert 200 <= tokens(", ".join(keywords)) <= 223
    prompt = "The meeting covered budgets, hiring and the roadmap. " * 30
    assert tokens(prompt) > 223
    fields = [("model", "whisper-1"), ("prompt", prompt), ("stream", stream)]
    fields += [("keywords[]", k) for k in keywords]
    r = transcribe(server, SHORT.read(), fields)
    assert r.status_code == 400, r.text
    error = r.json()["error"]
    assert (error["code"], error["param"]) == ("prompt_too_long", "prompt")
    assert "448-token decoder" in error["message"]


def test_keywords_that_leave_later_windows_no_room_are_refused_naming_keywords(server, tokens):
    """On audio longer than one window, the text carried from window to window takes its
    whole slot (223 tokens): keywords of 150 tokens would leave the decoder 70 positions."""
    keywords = keywords_of(tokens, 150)
    fields = [("model", "whisper-1")] + [("keywords[]", k) for k in keywords]
    r = transcribe(server, TWO_WINDOWS, fields)
    assert r.status_code == 400, r.text
    error = r.json()["error"]
    assert (error["code"], error["param"]) == ("keywords_too_long", "keywords")
    # The same keywords on one window fit, and the transcript comes back.
    r = transcribe(server, SHORT.read(), fields)
    assert r.status_code == 200, r.text


def test_a_prompt_and_keywords_that_fit_still_transcribe(server):
    prompt = "Sentences read aloud from an old novel, one speaker, with clear diction."
    fields = [("model", "whisper-1"), ("prompt", prompt)]
    fields += [("keywords[]", k) for k in ("superlative", "Arctic", "Hester Prynne")]
    r = transcribe(server, TWO_WINDOWS, fields)
    assert r.status_code == 200, r.text
    assert "superlative" in r.json()["text"].lower()


_TEXT = st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=120)
_FIELDS = st.fixed_dictionaries(
    {},
    optional={
        "model": st.sampled_from(["whisper-1", "gpt-4o-transcribe", "base", "tiny.en", "nope"]),
        "language": st.sampled_from(["en", "es", " EN ", "", "xx", "zh"]),
        "prompt": st.one_of(_TEXT, st.integers(0, 600).map(lambda n: "word " * n)),
        "temperature": st.one_of(st.floats(0, 1), st.sampled_from(["-1", "2", "x", "nan"])),
        "response_format": st.sampled_from(["json", "text", "srt", "vtt", "verbose_json", "xml"]),
        "stream": st.sampled_from(["true", "false", "maybe"]),
        "chunking_strategy": st.sampled_from(["auto", "server_vad"]),
    },
)
_LISTS = st.fixed_dictionaries(
    {},
    optional={
        "keywords[]": st.one_of(
            st.lists(_TEXT, max_size=8),
            st.integers(1, 100).map(lambda n: [f"Pneumono{i:03d}" for i in range(n)]),
        ),
        "languages[]": st.lists(st.sampled_from(["en", "es", "fr", "xx"]), max_size=3),
        "timestamp_granularities[]": st.lists(
            st.sampled_from(["word", "segment", "x"]), max_size=2
        ),
        "include[]": st.lists(st.sampled_from(["logprobs", "x"]), max_size=2),
    },
)


@settings(
    max_examples=30,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    endpoint=st.sampled_from(["transcriptions", "translations"]),
    fields=_FIELDS,
    lists=_LISTS,
    two_windows=st.booleans(),
)
def test_no_accepted_combination_of_options_is_a_server_error(
    server, endpoint, fields, lists, two_windows
):
    form = [(k, str(v)) for k, v in fields.items()]
    form += [(name, value) for name, values in lists.items() for value in values]
    data = TWO_WINDOWS if two_windows else SHORT.read()
    r = httpx.post(
        f"{server.base_url}/v1/audio/{endpoint}",
        files={"file": ("a.wav", data, "audio/wav")},
        data=as_form(form),
        timeout=300,
    )
    assert r.status_code in (200, 400), (r.status_code, r.text[:500], form)
    if r.status_code == 400:
        error = r.json()["error"]
        assert error["param"], error  # a refusal names what to change
        return
    if r.headers["content-type"].startswith("text/event-stream"):
        events = [
            json.loads(line[len("data: ") :])
            for line in r.text.splitlines()
            if line.startswith("data: ")
        ]
        assert events and not any("error" in e for e in events), events[-3:]
