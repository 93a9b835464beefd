"""Hostile and unusual audio, through real HTTP and through the upload worker: each case gets
the same answer both ways (a transcript, or the same error code), never a 500, and the
service keeps serving."""

from __future__ import annotations

import io
import json
import struct
import uuid

import av
import numpy as np
import pytest

from devkit.clips import clip
from devkit.events import s3_object_created, sqs_batch
from devkit.lambda_context import LocalLambdaContext
from handlers.transcribe_upload import handler as transcribe_upload
from tests.support.audio_files import container_index_bombs, encode, noise
from tests.support.s3 import TEST_BUCKET

SPEECH = clip("arctic_a0007.wav")  # "And you always want to see it in the superlative degree."
WORDS = "superlative degree"


def speech_samples(rate: int) -> np.ndarray:
    with av.open(str(SPEECH.path)) as c:
        resampler = av.AudioResampler(format="flt", layout="mono", rate=rate)
        frames = [f for frame in c.decode(audio=0) for f in resampler.resample(frame)]
    return np.concatenate([f.to_ndarray().reshape(-1) for f in frames])


def speech_as(
    rate: int, codec: str = "pcm_s16le", container: str = "wav", layout: str = "mono"
) -> bytes:
    return encode(speech_samples(rate), rate, codec=codec, container=container, layout=layout)


def truncated(data: bytes, fraction: float = 0.5) -> bytes:
    return data[: int(len(data) * fraction)]


def wav_claiming_more_data() -> bytes:
    data = speech_as(16000)
    # Patch the RIFF and data chunk sizes to claim ten times the data present.
    riff = struct.pack("<I", len(data) * 10)
    index = data.index(b"data") + 4
    return (
        data[:4]
        + riff
        + data[8:index]
        + struct.pack("<I", (len(data) - 44) * 10)
        + data[index + 4 :]
    )


PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + bytes(range(256)) * 4
HTML = b"<!doctype html><html><body><h1>Not audio</h1></body></html>" * 20
JSON_BODY = json.dumps({"audio": "no", "values": list(range(500))}).encode()

# (id, bytes, HTTP status, error code or words expected in the transcript)
AUDIO_CASES = [
    ("png posing as wav", PNG, 415, "unsupported_audio"),
    ("html posing as mp3", HTML, 415, "unsupported_audio"),
    ("json posing as audio", JSON_BODY, 415, "unsupported_audio"),
    ("wav cut to 20 bytes", speech_as(16000)[:20], 415, "unsupported_audio"),
    ("wav header only", speech_as(16000)[:44], 415, "unsupported_audio"),
    ("truncated wav", truncated(speech_as(16000), 0.6), 200, "want to see it"),
    ("truncated mp3", truncated(speech_as(16000, "libmp3lame", "mp3"), 0.6), 200, "want to see it"),
    ("truncated flac", truncated(speech_as(16000, "flac", "flac"), 0.6), 200, "want to see it"),
    (
        "truncated ogg opus",
        truncated(speech_as(48000, "libopus", "ogg"), 0.6),
        200,
        "want to see it",
    ),
    ("wav claiming more data than present", wav_claiming_more_data(), 200, WORDS),
    ("0.1 s of audio", encode(noise(0.1), 16000), 200, None),
    ("pure noise", encode(noise(3.0, level=0.05), 16000), 200, None),
    # Telephone band: `base` hears "separat of degree" here, exactly as a direct faster-whisper
    # call on the same file does (tests/unit/test_audio.py checks the decoding is identical).
    ("8 kHz wav", speech_as(8000), 200, "want to see it in the"),
    ("44.1 kHz wav", speech_as(44100), 200, WORDS),
    ("48 kHz stereo wav", speech_as(48000, layout="stereo"), 200, WORDS),
    ("24-bit wav", speech_as(16000, "pcm_s24le"), 200, WORDS),
    ("float32 wav", speech_as(16000, "pcm_f32le"), 200, WORDS),
    ("61 s of audio", encode(noise(61), 16000), 413, "audio_too_long"),
    # Sample tables declaring 50 M samples: FFmpeg's index for it is +1.75 GB, unguarded.
    (
        "m4a index bomb",
        container_index_bombs()["m4a_stsz_stsc_50M"],
        415,
        "unsupported_audio",
    ),
]


@pytest.mark.parametrize("case", AUDIO_CASES, ids=[c[0] for c in AUDIO_CASES])
def test_stt_answers_each_audio_case(live_api, case):
    _, data, status, expected = case
    r = live_api.post("/stt", content=data, headers={"content-type": "audio/wav"})
    assert r.status_code == status, r.text
    if status == 200:
        body = r.json()
        if expected:
            assert expected in body["text"].lower()
        assert all(
            0 <= s["start"] <= s["end"] <= body["duration_s"] + 0.5 for s in body["segments"]
        )
    else:
        assert (r.json()["error"]["code"], r.json()["error"]["param"]) == (expected, "file")
    assert live_api.get("/health").status_code == 200


@pytest.mark.parametrize("case", AUDIO_CASES, ids=[c[0] for c in AUDIO_CASES])
def test_upload_worker_answers_each_audio_case(process_settings, storage, case):
    name, data, status, expected = case
    if expected == "audio_too_long":  # /stt's minute; the worker takes long recordings
        status, expected = 200, None
    process_settings()
    key = f"uploads/bad-audio/{uuid.uuid4().hex[:8]}.wav"
    storage.put(key, data, content_type="audio/wav", metadata={})
    etag = storage.client.head_object(Bucket=TEST_BUCKET, Key=key)["ETag"].strip('"')
    event = sqs_batch(
        [{"Records": [s3_object_created(TEST_BUCKET, key, etag=etag, size=len(data))]}]
    )
    assert transcribe_upload(event, LocalLambdaContext()) == {"batchItemFailures": []}
    base = "transcripts/" + key.removeprefix("uploads/")
    if status == 200:
        transcript = json.loads(storage.get(base + ".json", max_bytes=10**6).data)
        if expected:
            assert expected in transcript["text"].lower()
        assert storage.head(base + ".srt") is not None and storage.head(base + ".vtt") is not None
    else:
        error = json.loads(storage.get(base + ".error.json", max_bytes=10**6).data)
        assert error["error"]["code"] == expected, name


TEXT_CASES = [
    # id, text, acceptable statuses
    ("only emoji", "😀🎉🚀", {200, 400}),
    ("control characters", "Hello\x00\x07\x1b world\x7f.", {200}),
    ("right-to-left script", "שלום עולם, مرحبا بالعالم", {200, 400}),
    ("SSML and HTML tags", "<speak>Hello <break time='1s'/> <b>world</b></speak>", {200}),
    ("4096 characters of words", ("word " * 820)[:4090], {200}),
]


@pytest.mark.parametrize("case", TEXT_CASES, ids=[c[0] for c in TEXT_CASES])
def test_unusual_text_is_spoken_or_refused_cleanly(live_api, case):
    _, text, statuses = case
    r = live_api.post("/tts", json={"text": text + f" {uuid.uuid4().hex[:4]}"}, timeout=300)
    assert r.status_code in statuses, r.text
    if r.status_code == 400:
        assert r.json()["error"]["code"] == "no_speech"
    assert live_api.get("/health").status_code == 200


@pytest.mark.parametrize(
    "payload,status,code,param",
    [
        (
            json.dumps({"text": "x" * 10_000}).encode(),
            422,
            "string_too_long",
            "text",
        ),
        (
            json.dumps({"text": {"a": {"b": {"c": ["deep"] * 3}}}}).encode(),
            422,
            "string_type",
            "text",
        ),
        (("[" * 5000 + "]" * 5000).encode(), 400, "invalid_body", None),
        (json.dumps("just a string").encode(), 422, "model_attributes_type", None),
        (json.dumps({"text": "Hi.", "speed": True}).encode(), 422, "float_type", "speed"),
        (json.dumps({"text": "Hi.", "speed": "2"}).encode(), 422, "float_type", "speed"),
        (json.dumps({"text": "Hi.", "voice": 7}).encode(), 422, "string_type", "voice"),
    ],
    ids=[
        "10000-char word",
        "nested object as text",
        "5000-deep nesting",
        "JSON string",
        "boolean speed",
        "string speed",
        "number voice",
    ],
)
def test_more_malformed_tts_bodies(live_api, payload, status, code, param):
    r = live_api.post("/tts", content=payload, headers={"content-type": "application/json"})
    assert r.status_code == status, r.text
    assert (r.json()["error"]["code"], r.json()["error"]["param"]) == (code, param)
    assert live_api.get("/health").status_code == 200


def test_text_of_only_control_characters_has_nothing_to_speak(live_api):
    r = live_api.post("/tts", json={"text": "\x00\x01\x02 \x1b"})
    assert r.status_code == 400 and r.json()["error"]["code"] == "no_speech"


def test_multipart_with_a_huge_text_field_is_refused(live_api):
    r = live_api.post(
        "/stt", files={"file": ("a.wav", SPEECH.read())}, data={"language": "e" * 200_000}
    )
    assert r.status_code == 400
    assert r.json()["error"]["code"] == "invalid_multipart"
    assert live_api.get("/health").status_code == 200


def test_the_same_audio_with_a_lying_content_type_and_name_still_works(live_api):
    r = live_api.post(
        "/stt", files={"file": ("picture.png", io.BytesIO(SPEECH.read()), "image/png")}
    )
    assert r.status_code == 200 and WORDS in r.json()["text"].lower()
