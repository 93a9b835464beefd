"""Who said what on the asynchronous paths: POST /uploads takes diarize (with min/max
speakers) and channel_identification, a raw drop into uploads/ takes the same as S3 object
metadata; the worker stores segments with their speaker or channel, SRT with `A: `, WebVTT
with voice spans, text one paragraph per turn; bad options are refused naming the field and
nothing half-written reaches S3. The CLI offers the same, locally and against a server."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import time
import uuid

import httpx
import pytest
import srt
import webvtt

from devkit.speakers import Plan, build, hypothesis_turns, pcm_wav, speaker_error, two_channel_call
from devkit.wer import normalize
from speech_api.api import create_app
from tests.support.live_server import LiveServer
from tests.support.s3 import TEST_BUCKET
from tests.support.upload_worker import running_upload_worker

TWO_VOICES = Plan(
    "uploads-2spk",
    ("lj_LJ001-0004.mp3", "arctic_aew_a0001.wav", "lj_LJ001-0006.mp3", "arctic_aew_a0002.wav"),
    0.5,
)


@pytest.fixture(scope="module")
def flow(make_settings):
    settings = make_settings(api_key="speakers-key", stt={"model": "tiny.en"})
    with (
        running_upload_worker(settings),
        LiveServer(create_app(settings)) as server,
        httpx.Client(
            base_url=server.base_url,
            timeout=120,
            headers={"Authorization": "Bearer speakers-key"},
        ) as api,
    ):
        yield api, settings


@pytest.fixture(scope="module")
def conversation():
    return build(TWO_VOICES)


def wait_for(api, url: str, timeout_s: float = 240) -> httpx.Response:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        r = api.get(url)
        if r.status_code != 202:
            return r
        time.sleep(0.5)
    raise AssertionError(f"{url} still pending after {timeout_s} s")


def upload(api, data: bytes, **options) -> dict:
    created = api.post(
        "/uploads", json={"filename": "talk.wav", "content_type": "audio/wav", **options}
    )
    assert created.status_code == 200, created.text
    body = created.json()
    form = body["upload"]
    stored = httpx.post(form["url"], data=form["fields"], files={"file": ("talk.wav", data)})
    assert stored.status_code in (200, 204), stored.text
    return body


def drop(storage, data: bytes, **metadata) -> str:
    """A file put straight into uploads/ (no POST /uploads), options as object metadata."""
    key = f"uploads/{uuid.uuid4().hex[:8]}/call.wav"
    storage.put(key, data, content_type="audio/wav", metadata=metadata)
    return key.removeprefix("uploads/")


def test_an_upload_with_diarize_stores_speakers_in_every_rendering(flow, conversation):
    api, _ = flow
    body = upload(api, conversation.wav(), diarize=True, min_speakers=1, max_speakers=4)
    fields = body["upload"]["fields"]
    assert fields["x-amz-meta-diarize"] == "true"
    assert fields["x-amz-meta-min_speakers"] == "1" and fields["x-amz-meta-max_speakers"] == "4"
    done = wait_for(api, body["transcript_url"])
    assert done.status_code == 200, done.text
    segments = done.json()["segments"]
    assert segments[0]["speaker"] == "A" and {s["speaker"] for s in segments} == {"A", "B"}
    assert all(s["channel"] is None for s in segments)

    class Seg:
        def __init__(self, s):
            self.start, self.end, self.speaker = s["start"], s["end"], s["speaker"]

    score = speaker_error(conversation.turns, hypothesis_turns([Seg(s) for s in segments]))
    assert score.error < 0.05, score

    url = body["transcript_url"]
    cues = list(srt.parse(api.get(url, params={"format": "srt"}).text))
    assert [c.content.split(":", 1)[0] for c in cues] == [s["speaker"] for s in segments]
    vtt = webvtt.from_buffer(io.StringIO(api.get(url, params={"format": "vtt"}).text))
    assert [c.raw_text.split(">", 1)[0] for c in vtt] == [f"<v {s['speaker']}" for s in segments]
    paragraphs = api.get(url, params={"format": "text"}).text.strip().split("\n\n")
    turns = [
        s["speaker"]
        for i, s in enumerate(segments)
        if not i or s["speaker"] != segments[i - 1]["speaker"]
    ]
    assert [p.split(":", 1)[0] for p in paragraphs] == turns == ["A", "B", "A", "B"]
    assert "printed book" in normalize(paragraphs[0])


def test_a_raw_drop_takes_channel_identification_from_its_metadata(flow, storage):
    api, _ = flow
    call = two_channel_call()
    upload_id = drop(storage, call.wav, channel_identification="true")
    done = wait_for(api, f"/transcripts/{upload_id}")
    assert done.status_code == 200, done.text
    segments = done.json()["segments"]
    assert [s["start"] for s in segments] == sorted(s["start"] for s in segments)
    assert {s["channel"] for s in segments} == {"ch_0", "ch_1"}

    class Seg:
        def __init__(self, s):
            self.start, self.end, self.speaker = s["start"], s["end"], s["channel"]

    score = speaker_error(call.turns, hypothesis_turns([Seg(s) for s in segments]))
    assert score.error == 0.0 and score.mapping == {"ch_0": "ch_0", "ch_1": "ch_1"}
    left = normalize(" ".join(s["text"] for s in segments if s["channel"] == "ch_0"))
    assert "printed book" in left and "author of the danger trail" not in left
    cues = list(srt.parse(api.get(f"/transcripts/{upload_id}", params={"format": "srt"}).text))
    assert {c.content.split(":", 1)[0] for c in cues} == {"ch_0", "ch_1"}


@pytest.mark.parametrize(
    ("metadata", "param", "code"),
    [
        ({"diarize": "perhaps"}, "diarize", "invalid_value"),
        ({"diarize": "true", "max_speakers": "two"}, "max_speakers", "invalid_value"),
        ({"diarize": "true", "min_speakers": "3", "max_speakers": "2"}, "min_speakers", None),
        ({"diarize": "true", "channel_identification": "true"}, "channel_identification", None),
        (
            {"channel_identification": "true", "eight": "channels"},
            "channel_identification",
            "too_many_channels",
        ),
    ],
)
def test_bad_speaker_metadata_is_recorded_and_nothing_half_written(
    flow, storage, metadata, param, code
):
    api, _ = flow
    audio = build(TWO_VOICES).samples[: 5 * 16_000]
    channels = 8 if metadata.pop("eight", None) else 1
    upload_id = drop(storage, pcm_wav([audio] * channels), **metadata)
    done = wait_for(api, f"/transcripts/{upload_id}")
    assert done.status_code == 422, done.text
    error = done.json()["error"]
    assert error["param"] == param
    if code:
        assert error["code"] == code
    listed = storage.client.list_objects_v2(
        Bucket=TEST_BUCKET, Prefix=f"transcripts/{upload_id}"
    ).get("Contents", [])
    # The error record, and no transcript or rendering (the worker's progress record may
    # still be there for a moment: it is removed just after the error is written).
    keys = {o["Key"].removeprefix(f"transcripts/{upload_id}") for o in listed}
    assert ".error.json" in keys and keys <= {".error.json", ".progress.json"}, keys


@pytest.mark.parametrize(
    ("payload", "param"),
    [
        ({"diarize": True, "min_speakers": 4, "max_speakers": 2}, "min_speakers"),
        ({"min_speakers": 2}, "min_speakers"),
        ({"diarize": True, "channel_identification": True}, "channel_identification"),
        ({"diarize": True, "max_speakers": 31}, "max_speakers"),
        ({"diarize": "yes"}, "diarize"),
    ],
)
def test_upload_requests_with_bad_speaker_options_are_refused(flow, payload, param):
    api, _ = flow
    r = api.post("/uploads", json={"filename": "a.wav", "content_type": "audio/wav", **payload})
    assert r.status_code in (400, 422) and r.json()["error"]["param"] == param, r.text
    # Pydantic's bounds and types are 422 (as every /uploads field); combinations are 400.
    assert r.status_code == (422 if param in ("diarize", "max_speakers") else 400)


def run_cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(("STT_", "TTS_"))}
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "speech_api", *args],
        capture_output=True,
        text=True,
        env=full_env,
        timeout=600,
    )


def test_the_cli_labels_speakers_and_channels_locally(tmp_path, model_cache_dir, conversation):
    talk = tmp_path / "talk.wav"
    talk.write_bytes(conversation.wav())
    call = tmp_path / "call.wav"
    call.write_bytes(two_channel_call().wav)
    env = {"STT_MODEL": "tiny.en", "MODEL_CACHE_DIR": str(model_cache_dir)}
    result = run_cli("transcribe", str(talk), "--diarize", "--format", "srt", "-o", "-", env=env)
    assert result.returncode == 0, result.stderr
    cues = list(srt.parse(result.stdout))
    assert cues[0].content.startswith("A: ") and {c.content[:2] for c in cues} == {"A:", "B:"}
    result = run_cli(
        "transcribe", str(call), "--channel-identification", "--format", "json", "-o", "-", env=env
    )
    assert result.returncode == 0, result.stderr
    channels = [s["channel"] for s in json.loads(result.stdout)["segments"]]
    assert set(channels) == {"ch_0", "ch_1"} and channels[0] == "ch_0"
    refused = run_cli("transcribe", str(talk), "--max-speakers", "2", env=env)
    assert refused.returncode == 1 and "need --diarize" in refused.stderr


def test_the_cli_labels_speakers_through_a_server(flow, tmp_path, conversation):
    api, _ = flow
    talk = tmp_path / "talk.wav"
    talk.write_bytes(conversation.wav())
    remote = ["--base-url", str(api.base_url), "--api-key", "speakers-key"]
    result = run_cli("transcribe", str(talk), "--diarize", "--format", "vtt", "-o", "-", *remote)
    assert result.returncode == 0, result.stderr
    captions = webvtt.from_buffer(io.StringIO(result.stdout))
    assert {c.raw_text.split(">", 1)[0] for c in captions} == {"<v A", "<v B"}
