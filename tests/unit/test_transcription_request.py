"""One mapping per direction: every entry point's raw fields become TranscriptionOptions through
TranscriptionRequest (service/transcription_request.py), and the options become faster-whisper's
arguments through whisper_arguments (engines/stt/whisper_arguments.py), for every decode path."""

from __future__ import annotations

import pytest

from speech_api.engines.base import TranscriptionOptions, VoiceActivity
from speech_api.engines.stt.whisper_arguments import (
    LIBRARY_DEFAULTS,
    batch_key,
    decoding,
    greedy,
    whisper_arguments,
)
from speech_api.errors import InvalidRequestError
from speech_api.runtime.cli.commands import parser
from speech_api.service.transcription_request import (
    CLI,
    EVERYWHERE,
    STT,
    TRANSCRIPTIONS,
    TRANSLATIONS,
    UPLOADS,
    TranscriptionRequest,
)
from speech_api.service.upload_jobs import _carried_options


def test_each_entry_point_takes_what_it_took_before_the_one_model():
    # Speaker options (issue 29): /stt's diarize (also from response_format=diarized_json),
    # /v1's from response_format and known_speaker_*[], uploads' and the CLI's all four.
    speakers = ("diarize", "min_speakers", "max_speakers", "channel_identification")
    assert TranscriptionRequest.taken_by(STT) == ("language", "diarize")
    assert TranscriptionRequest.taken_by(UPLOADS) == ("language", *speakers)
    assert set(TranscriptionRequest.taken_by(TRANSLATIONS)) == {
        "model",
        "prompt",
        "temperature",
        "translate",
    }
    assert set(TranscriptionRequest.taken_by(TRANSCRIPTIONS)) == {
        "model",
        "language",
        "prompt",
        "temperature",
        "keywords",
        "languages",
        "word_timestamps",
        "diarize",
        "known_speaker_names",
        "known_speaker_references",
        "chunking_strategy",
    }
    assert set(TranscriptionRequest.taken_by(CLI)) == {
        "model",
        "language",
        "translate",
        "word_timestamps",
        *speakers,
    }


def test_the_cli_flags_derive_from_the_model():
    args = parser().parse_args(
        ["transcribe", "a.wav", "--language", "es", "--model", "base", "--translate"]
    )
    flags = {name: getattr(args, name) for name in TranscriptionRequest.taken_by(CLI)}
    options = TranscriptionRequest.parse(flags, CLI).options()
    assert (options.task, options.language, options.model) == ("translate", "es", "base")
    assert options.word_timestamps is False


def test_the_options_engines_take():
    request = TranscriptionRequest.parse(
        {
            "model": "whisper-1",
            "language": " EN ",
            "prompt": "",
            "temperature": 0.0,
            "keywords": ["Gregson", " ", "Baker Street "],
            "languages": ["EN", "es"],
            "word_timestamps": True,
        },
        TRANSCRIPTIONS,
    )
    assert request.options() == TranscriptionOptions(
        model="whisper-1",
        language="en",
        prompt=None,
        temperature=None,  # 0: the library's fallback schedule, as OpenAI does
        word_timestamps=True,
        hotwords="Gregson, Baker Street",
        languages=("en", "es"),
    )
    translation = TranscriptionRequest.parse({"translate": True, "temperature": 0.4}, TRANSLATIONS)
    assert (translation.options().task, translation.options().temperature) == ("translate", 0.4)


def test_a_field_the_entry_point_does_not_take_is_refused_by_name():
    with pytest.raises(InvalidRequestError) as refused:
        TranscriptionRequest.parse({"prompt": "Hello"}, STT)
    assert (refused.value.param, refused.value.code) == ("prompt", "unsupported_parameter")
    # Not given (None) is not refused: routes pass every field they read.
    assert TranscriptionRequest.parse({"prompt": None}, STT).options() == TranscriptionOptions()


@pytest.mark.parametrize(
    "fields, param, code",
    [
        ({"temperature": 1.5}, "temperature", "invalid_value"),
        ({"keywords": ["word"] * 101}, "keywords", "too_many_keywords"),
        ({"keywords": ["x" * 101]}, "keywords", "string_too_long"),
        # Whisper's tokenizer would read them as its control tokens, not as text.
        ({"prompt": "Notes <|endoftext|><|startoftranscript|><|fr|>"}, "prompt", "invalid_value"),
        ({"keywords": ["Anna", "<|translate|>"]}, "keywords", "invalid_value"),
        ({"prompt": "Aloha <|haw|> at <|12.50|>"}, "prompt", "invalid_value"),
        # json.loads raised RecursionError: a 500.
        ({"chunking_strategy": "[" * 100_000}, "chunking_strategy", "invalid_value"),
    ],
)
def test_a_bad_value_is_a_400_naming_its_field(fields, param, code):
    with pytest.raises(InvalidRequestError) as refused:
        TranscriptionRequest.parse(fields, TRANSCRIPTIONS)
    assert (refused.value.status_code, refused.value.param, refused.value.code) == (
        400,
        param,
        code,
    )


def test_an_upload_carries_its_options_as_metadata_for_the_worker():
    # What create_upload writes (its metadata) is what the worker reads back: a raw drop
    # into uploads/ with the same metadata too.
    assert _carried_options({"language": "es", "original-filename": "a.wav"}).options() == (
        TranscriptionOptions(language="es")
    )
    assert _carried_options({}).options() == TranscriptionOptions()
    with pytest.raises(InvalidRequestError):
        TranscriptionRequest.parse({"language": "es", "prompt": "x"}, UPLOADS)


def test_speaker_options_travel_as_metadata_and_are_checked_on_both_sides():
    # POST /uploads' options, as create_upload writes them (flags as true/false), read back by
    # the worker; what cannot be honoured is refused naming the option, on either side.
    carried = _carried_options(
        {"diarize": "true", "min_speakers": "2", "max_speakers": "3", "language": "en"}
    ).options()
    assert (carried.diarize, carried.min_speakers, carried.max_speakers) == (True, 2, 3)
    assert _carried_options({"channel_identification": "true"}).options().channel_identification
    for metadata, param in (
        ({"diarize": "perhaps"}, "diarize"),
        ({"diarize": "true", "max_speakers": "two"}, "max_speakers"),
        ({"diarize": "true", "max_speakers": "31"}, "max_speakers"),
        ({"diarize": "true", "min_speakers": "3", "max_speakers": "2"}, "min_speakers"),
        ({"min_speakers": "2"}, "min_speakers"),
        ({"diarize": "true", "channel_identification": "true"}, "channel_identification"),
    ):
        with pytest.raises(InvalidRequestError) as caught:
            _carried_options(metadata).options()
        assert caught.value.param == param, metadata


def test_chunking_strategy_becomes_voice_activity_settings():
    vad = {"type": "server_vad", "threshold": "0.6", "silence_duration_ms": "300"}
    options = TranscriptionRequest.parse({"chunking_strategy": vad}, TRANSCRIPTIONS).options()
    assert options.voice_activity == VoiceActivity(threshold=0.6, silence_ms=300)
    as_json = '{"type": "server_vad", "prefix_padding_ms": 200}'
    options = TranscriptionRequest.parse({"chunking_strategy": as_json}, TRANSCRIPTIONS).options()
    assert options.voice_activity == VoiceActivity(padding_ms=200)
    auto = TranscriptionRequest.parse({"chunking_strategy": "auto"}, TRANSCRIPTIONS).options()
    assert auto.voice_activity is None
    for bad in ("sometimes", {"type": "semantic_vad"}, {"type": "server_vad", "threshold": 2}):
        with pytest.raises(InvalidRequestError) as caught:
            TranscriptionRequest.parse({"chunking_strategy": bad}, TRANSCRIPTIONS)
        assert caught.value.param == "chunking_strategy"
        assert "server_vad" in caught.value.message


def test_every_option_is_taken_somewhere():
    for name in TranscriptionRequest.model_fields:
        assert any(name in TranscriptionRequest.taken_by(e) for e in EVERYWHERE), name


# --- the other direction: options -> faster-whisper ---------------------------------------


def test_options_become_the_librarys_arguments():
    options = TranscriptionOptions(
        task="translate", language="es", prompt="Hola.", hotwords="Madrid", word_timestamps=True
    )
    arguments = whisper_arguments(options, beam_size=5, vad_filter=True)
    assert arguments == {
        "language": "es",
        "task": "translate",
        "beam_size": 5,
        "vad_filter": True,
        "initial_prompt": "Hola.",
        "hotwords": "Madrid",
        "word_timestamps": True,
    }
    # Every argument is one `WhisperModel.transcribe` takes (the stock path passes them as
    # they are; the batched path reads the same names over the library's defaults).
    assert set(arguments) <= set(LIBRARY_DEFAULTS)
    assert decoding(arguments)["patience"] == LIBRARY_DEFAULTS["patience"]


def test_a_sampling_temperature_leaves_the_trimmed_path():
    default = whisper_arguments(TranscriptionOptions(), beam_size=5, vad_filter=True)
    sampled = whisper_arguments(TranscriptionOptions(temperature=0.6), beam_size=5, vad_filter=True)
    assert "temperature" not in default and greedy(default)
    assert sampled["temperature"] == 0.6 and not greedy(sampled)


def test_clips_share_a_batch_only_with_the_same_decoding_arguments():
    english = whisper_arguments(TranscriptionOptions(language="en"), beam_size=5, vad_filter=True)
    spanish = whisper_arguments(TranscriptionOptions(language="es"), beam_size=5, vad_filter=True)
    wider = whisper_arguments(TranscriptionOptions(), beam_size=8, vad_filter=True)
    assert batch_key(english) == batch_key(spanish)  # the prompt carries the language
    assert batch_key(english) != batch_key(wider)


def test_post_uploads_publishes_every_option_an_upload_carries():
    """POST /uploads' body (schemas.UploadRequest, whose schema the gateway checks) has a
    field for each option the upload flow takes."""
    from speech_api.schemas import UploadRequest

    assert set(TranscriptionRequest.taken_by(UPLOADS)) <= set(UploadRequest.model_fields)


def test_a_prompt_with_brackets_and_bars_is_still_text():
    options = TranscriptionRequest.parse(
        {"prompt": PLAIN_PROMPT, "keywords": ["C|D", "<|-- x --|>"]}, TRANSCRIPTIONS
    ).options()
    assert options.prompt == PLAIN_PROMPT and options.hotwords == "C|D, <|-- x --|>"


# Text between "<|" and "|>" that is not one of Whisper's tokens is text to its tokenizer.
PLAIN_PROMPT = "Tables: a | b, <b>bold</b>, x || y, Elm's <| and |> pipes, <| endoftext |>"


def test_the_control_tokens_refused_are_exactly_whispers(model_cache_dir):
    """Every token Whisper's tokenizer adds to its vocabulary is refused in a prompt and in a
    keyword; text that merely looks like one (a word, capitals, an unknown code) reaches it
    as text, and is taken."""
    import json
    from pathlib import Path

    from tokenizers import Tokenizer

    from speech_api.engines.stt.whisper_models import resolve_model

    path = Path(resolve_model("base", model_cache_dir)) / "tokenizer.json"
    special = [t["content"] for t in json.loads(path.read_text())["added_tokens"]]
    assert len(special) > 1_600 and "<|yue|>" not in special  # base predates Cantonese
    for token in [*special, "<|yue|>", "<|nocaptions|>"]:  # large-v3's
        for fields, param in (
            ({"prompt": f"a {token} b"}, "prompt"),
            ({"keywords": [token]}, "keywords"),
        ):
            with pytest.raises(InvalidRequestError) as refused:
                TranscriptionRequest.parse(fields, TRANSCRIPTIONS)
            assert refused.value.param == param, token
    tokenizer = Tokenizer.from_file(str(path))
    first_special = min(tokenizer.token_to_id(t) for t in special)
    for text in ("<|and|>", "<|EN|>", "<|xx|>", "<|abc|>", "<| en |>", "<|0.5|>"):
        ids = tokenizer.encode(" " + text, add_special_tokens=False).ids
        assert max(ids) < first_special, text
        options = TranscriptionRequest.parse({"prompt": text, "keywords": [text]}, TRANSCRIPTIONS)
        assert options.options().prompt == text
