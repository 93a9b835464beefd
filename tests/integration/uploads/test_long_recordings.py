"""Recordings longer than /stt's minute, through the upload worker and the service: as
accurate as their clips one by one, with progress while they run, and a worker that dies
mid-file is retried, then given up on with a reason and a dead-lettered message."""

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid

import pytest
import srt

from devkit.clips import clip, joined_recording, write_sparse_recording
from devkit.events import s3_object_created, s3_test_event, sqs_batch
from devkit.lambda_context import LocalLambdaContext
from devkit.wer import corpus_wer
from handlers.transcribe_upload import handler
from speech_api.service import SpeechService, UploadService
from speech_api.service.upload_limits import MAX_WORKER_ATTEMPTS, worker_audio_limit_s
from speech_api.storage import ObjectStorage, aws_client
from tests.support.lambda_runtime import RuntimeAPI, lambda_env, start_runtime_client
from tests.support.s3 import TEST_BUCKET


@pytest.fixture(scope="module")
def five_minutes():
    return joined_recording(min_s=300)


@pytest.fixture(scope="module")
def two_and_a_half_minutes():
    return joined_recording(min_s=150, seed=7)


@pytest.fixture(scope="module")
def service(default_settings):
    return SpeechService(default_settings)


def put_upload(storage, name: str, data: bytes) -> dict:
    key = f"uploads/{uuid.uuid4().hex[:8]}/{name}"
    storage.put(key, data, content_type="audio/flac", metadata={})
    etag = storage.client.head_object(Bucket=TEST_BUCKET, Key=key)["ETag"].strip('"')
    return s3_object_created(TEST_BUCKET, key, etag=etag, size=len(data))


def read_json(storage, key):
    found = storage.get(key, max_bytes=10**6)
    return None if found is None else json.loads(found.data)


def test_a_five_minute_recording_is_as_accurate_as_its_clips_one_by_one(
    service, five_minutes, tmp_path
):
    path = tmp_path / "meeting.flac"
    path.write_bytes(five_minutes.flac())
    with service.transcribe_recording(path) as stream:  # language detected, not given
        assert stream.language == "en"
        assert stream.duration_s == pytest.approx(five_minutes.duration_s, abs=0.01)
        transcript = stream.collect()

    one_by_one = {c.file: service.transcribe(c.read()).text for c in set(five_minutes.clips)}
    clip_wer = corpus_wer(
        [five_minutes.reference], [" ".join(one_by_one[c.file] for c in five_minutes.clips)]
    )
    long_wer = corpus_wer([five_minutes.reference], [transcript.text])
    assert long_wer <= 1.3 * clip_wer, f"long {long_wer:.3f} vs clip by clip {clip_wer:.3f}"
    # No stretch skipped: every clip has words over it, on the recording's own clock.
    for (start, end), c in zip(five_minutes.spans, five_minutes.clips, strict=True):
        assert any(s.text and s.start < end and s.end > start for s in transcript.segments), (
            f"nothing transcribed over {c.file} at {start:.1f}-{end:.1f} s"
        )
    assert transcript.segments[-1].end <= five_minutes.duration_s


def test_the_worker_reports_progress_in_audio_seconds_then_writes_subtitles(
    process_settings, storage, api, two_and_a_half_minutes, monkeypatch
):
    settings = process_settings()
    uploads = UploadService(settings, SpeechService(settings))
    monkeypatch.setattr("speech_api.service.transcript_store.PROGRESS_INTERVAL_S", 0.0)
    event = put_upload(storage, "call.flac", two_and_a_half_minutes.flac())
    upload_id = event["s3"]["object"]["key"].removeprefix("uploads/")
    progress_key = f"transcripts/{upload_id}.progress.json"
    seen = []  # (record written, what GET /transcripts/{id} answered right after)
    original_put = ObjectStorage.put

    def spy(self, key, data, **kwargs):
        original_put(self, key, data, **kwargs)
        if key == progress_key:
            seen.append((json.loads(data), uploads.get_transcript(upload_id)))

    monkeypatch.setattr(ObjectStorage, "put", spy)
    assert handler(sqs_batch([{"Records": [event]}]), LocalLambdaContext()) == {
        "batchItemFailures": []
    }

    total = two_and_a_half_minutes.duration_s
    records = [r for r, _ in seen]
    assert records[0]["progress"] == {"audio_s_done": 0.0, "audio_s_total": None}
    assert records[1]["progress"]["audio_s_total"] == pytest.approx(total, abs=0.01)
    done = [r["progress"]["audio_s_done"] for r in records]
    assert done == sorted(done) and 100 < done[-1] <= total
    # Per stretch of audio (120 s), not per segment: 2 stretches, plus the two at the start.
    assert len(records) <= 4
    assert {r["status"] for r in records} == {"processing"} and records[-1]["attempt"] == 1
    answered = seen[-1][1]
    assert answered.status == "processing" and answered.progress.audio_s_done == done[-1]

    transcript = read_json(storage, f"transcripts/{upload_id}.json")
    assert transcript["duration_s"] == pytest.approx(total, abs=0.01)
    assert storage.head(progress_key) is None
    srt = storage.get(f"transcripts/{upload_id}.srt", max_bytes=10**6).data.decode()
    vtt = storage.get(f"transcripts/{upload_id}.vtt", max_bytes=10**6).data.decode()
    last_srt = [line for line in srt.splitlines() if " --> " in line][-1]
    last_vtt = [line for line in vtt.splitlines() if " --> " in line][-1]
    assert last_srt.startswith("00:02:") and "," in last_srt
    assert last_vtt.startswith("00:02:") and last_vtt.count(".") == 2
    # The API serves each of them too.
    for fmt, stored, media_type in (("srt", srt, "application/x-subrip"), ("vtt", vtt, "text/vtt")):
        served = api.get(f"/transcripts/{upload_id}", params={"format": fmt})
        assert served.status_code == 200 and served.text == stored
        assert served.headers["content-type"] == f"{media_type}; charset=utf-8"
    text = api.get(f"/transcripts/{upload_id}", params={"format": "text"})
    assert text.text == transcript["text"] + "\n"
    wrong = api.get(f"/transcripts/{upload_id}", params={"format": "docx"})
    assert wrong.status_code == 422 and wrong.json()["error"]["param"] == "format"


def test_a_recording_too_long_for_the_time_left_waits_for_a_later_delivery(
    process_settings, storage, five_minutes
):
    process_settings()
    event = put_upload(storage, "long.flac", five_minutes.flac())
    upload_id = event["s3"]["object"]["key"].removeprefix("uploads/")
    context = LocalLambdaContext(timeout_ms=40_000)  # an invocation with 40 s left
    fits, length = worker_audio_limit_s(40), five_minutes.duration_s
    assert 60 < fits < length
    # With a second record that succeeds, as a failed record alone fails the whole batch.
    batch = sqs_batch([{"Records": [event]}, s3_test_event(TEST_BUCKET)])
    started = time.monotonic()
    answer = handler(batch, context)
    assert time.monotonic() - started < 20  # refused before transcribing, not timed out
    # Not the file's fault: SQS delivers it again (to an invocation with its whole timeout),
    # no .error.json, and the attempt is not counted against MAX_WORKER_ATTEMPTS.
    assert answer == {"batchItemFailures": [{"itemIdentifier": batch["Records"][0]["messageId"]}]}
    assert storage.head(f"transcripts/{upload_id}.error.json") is None
    assert storage.head(f"transcripts/{upload_id}.json") is None
    record = read_json(storage, f"transcripts/{upload_id}.progress.json")
    assert record["attempt"] == 0
    assert record["last_error"]["code"] == "worker_time_left"
    assert record["last_error"]["message"] == (
        f"The recording is {length:.0f} s long; this invocation had 40 s left, enough for "
        f"about {fits} s of audio. It is retried by a later delivery, which starts with the "
        "whole timeout."
    )


def test_a_short_clip_is_transcribed_by_an_invocation_with_a_minute_left(process_settings, storage):
    # The fixed 60 s allowance for a cold start made this "the limit here is 0 s", for good.
    process_settings()
    c = clip("lj_LJ001-0001.wav")
    event = put_upload(storage, c.file, c.read())
    upload_id = event["s3"]["object"]["key"].removeprefix("uploads/")
    answer = handler(sqs_batch([{"Records": [event]}]), LocalLambdaContext(timeout_ms=60_000))
    assert answer == {"batchItemFailures": []}
    transcript = read_json(storage, f"transcripts/{upload_id}.json")
    assert transcript is not None, read_json(storage, f"transcripts/{upload_id}.error.json")
    assert corpus_wer([c.text], [transcript["text"]]) <= 0.2


@pytest.fixture
def dead_letters(make_settings):
    sqs = aws_client("sqs", make_settings())
    url = sqs.create_queue(QueueName=f"dlq-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    yield url
    sqs.delete_queue(QueueUrl=url)


def dead_lettered(settings, url: str) -> list[str]:
    found = aws_client("sqs", settings).receive_message(QueueUrl=url, MaxNumberOfMessages=10)
    return [m["Body"] for m in found.get("Messages", [])]


def invoke_unanswered(runtime, event) -> None:
    """An invocation whose runtime is killed before it answers: nothing comes back (and a
    thread left waiting must not report that as an error later in the run)."""
    with contextlib.suppress(TimeoutError, RuntimeError):
        runtime.invoke(event, 300)


def test_a_worker_killed_mid_file_is_retried_then_given_up_with_a_reason(
    s3_endpoint,
    process_settings,
    make_settings,
    storage,
    two_and_a_half_minutes,
    dead_letters,
    tmp_path,
):
    event = put_upload(storage, "killer.flac", two_and_a_half_minutes.flac())
    upload_id = event["s3"]["object"]["key"].removeprefix("uploads/")
    progress_key = f"transcripts/{upload_id}.progress.json"
    batch = sqs_batch([{"Records": [event]}])
    env = lambda_env(s3_endpoint, MODEL_CACHE_DIR=str(tmp_path / "cache"))

    for attempt in range(1, MAX_WORKER_ATTEMPTS + 1):
        # The real runtime api, killed (as Lambda does at its timeout or out of memory)
        # once the recording is decoded and transcription has started.
        with RuntimeAPI() as runtime:
            proc = start_runtime_client("handlers.transcribe_upload.handler", runtime.address, env)
            try:
                waiting = threading.Thread(
                    target=invoke_unanswered, args=(runtime, batch), daemon=True
                )
                waiting.start()
                deadline = time.monotonic() + 120
                while time.monotonic() < deadline:
                    record = read_json(storage, progress_key) or {}
                    if record.get("attempt") == attempt and record["progress"]["audio_s_total"]:
                        break
                    assert proc.poll() is None, proc.stdout.read()
                    time.sleep(0.2)
                else:
                    pytest.fail(f"attempt {attempt} never started transcribing")
                proc.send_signal(signal.SIGKILL)
                proc.wait(10)
            finally:
                proc.kill()
        assert storage.head(f"transcripts/{upload_id}.json") is None  # no "done" marker
        assert storage.head(f"transcripts/{upload_id}.error.json") is None

    # The next delivery gives up: the reason on record, the message in the dead-letter queue.
    settings = process_settings(make_settings(uploads_dead_letter_url=dead_letters))
    assert handler(batch, LocalLambdaContext()) == {"batchItemFailures": []}
    error = read_json(storage, f"transcripts/{upload_id}.error.json")["error"]
    assert error["code"] == "worker_failed"
    assert error["message"].startswith(
        f"Transcription failed {MAX_WORKER_ATTEMPTS} times: each attempt stopped before "
        "finishing (the last one at "
    )
    assert "ran out of time or memory" in error["message"]
    assert storage.head(progress_key) is None
    assert dead_lettered(settings, dead_letters) == [batch["Records"][0]["body"]]


def test_a_failure_worth_retrying_is_recorded_after_the_last_attempt(
    process_settings, make_settings, storage, dead_letters
):
    settings = process_settings(
        make_settings(stt={"model": "./no-such-model"}, uploads_dead_letter_url=dead_letters)
    )
    event = put_upload(storage, "clip.flac", joined_recording(min_s=5).flac())
    upload_id = event["s3"]["object"]["key"].removeprefix("uploads/")
    # With a second record that succeeds, as a failed record alone fails the whole batch.
    batch = sqs_batch([{"Records": [event]}, s3_test_event(TEST_BUCKET)])
    failed = {"batchItemFailures": [{"itemIdentifier": batch["Records"][0]["messageId"]}]}
    for _ in range(MAX_WORKER_ATTEMPTS - 1):
        assert handler(batch, LocalLambdaContext()) == failed  # SQS retries it
        record = read_json(storage, f"transcripts/{upload_id}.progress.json")
        assert record["last_error"]["code"] == "model_unavailable"
    assert handler(batch, LocalLambdaContext()) == {"batchItemFailures": []}
    error = read_json(storage, f"transcripts/{upload_id}.error.json")["error"]
    assert error["code"] == "worker_failed"
    assert error["message"].startswith(f"Transcription failed {MAX_WORKER_ATTEMPTS} times: ")
    assert "(model_unavailable)" in error["message"]
    assert dead_lettered(settings, dead_letters) == [batch["Records"][0]["body"]]

    # The cause fixed, the message replayed from the dead-letter queue: transcribed this time.
    process_settings(make_settings(uploads_dead_letter_url=dead_letters))
    assert handler(batch, LocalLambdaContext()) == {"batchItemFailures": []}
    assert read_json(storage, f"transcripts/{upload_id}.json")["duration_s"] > 4
    assert storage.head(f"transcripts/{upload_id}.error.json") is None


def test_a_recording_without_speech_gives_an_empty_transcript(service, tmp_path):
    from speech_api.audio import encode_audio
    from tests.support.audio_files import noise

    path = tmp_path / "room-tone.flac"
    path.write_bytes(encode_audio(noise(150, level=0.002), 16_000, "flac").data)
    with service.transcribe_recording(path) as stream:  # no language given: detected
        transcript = stream.collect()
    assert transcript.text == "" and transcript.segments == []
    assert transcript.duration_s == pytest.approx(150, abs=0.01)


def test_results_for_a_version_replaced_mid_transcription_are_dropped(
    process_settings, storage, monkeypatch
):
    """The old version's worker must not overwrite what the new version's worker writes."""
    process_settings()
    event = put_upload(storage, "take-1.flac", joined_recording(min_s=20).flac())
    key = event["s3"]["object"]["key"]
    upload_id = key.removeprefix("uploads/")
    original_put = ObjectStorage.put

    def replace_upload_once_started(self, put_key, data, **kwargs):
        original_put(self, put_key, data, **kwargs)
        record = json.loads(data) if put_key.endswith(".progress.json") else {}
        if (record.get("progress") or {}).get("audio_s_total"):
            monkeypatch.setattr(ObjectStorage, "put", original_put)
            # The user's upload, from outside the worker (its own thread: the IAM contract
            # records calls by the code path that makes them, and this is not the worker's).
            newer = joined_recording(min_s=5).flac()
            user = threading.Thread(
                target=storage.put,
                args=(key, newer),
                kwargs={"content_type": "audio/flac", "metadata": {}},
            )
            user.start()
            user.join()

    monkeypatch.setattr(ObjectStorage, "put", replace_upload_once_started)
    assert handler(sqs_batch([{"Records": [event]}]), LocalLambdaContext()) == {
        "batchItemFailures": []
    }
    assert storage.head(f"transcripts/{upload_id}.json") is None
    assert storage.head(f"transcripts/{upload_id}.srt") is None
    assert storage.head(f"transcripts/{upload_id}.progress.json") is None


def test_transcript_status_codes_pending_then_processing_with_progress(api, storage):
    upload_id = f"{uuid.uuid4().hex[:8]}/talk.mp3"
    storage.put(f"uploads/{upload_id}", b"x", content_type="audio/mpeg", metadata={})
    assert api.get(f"/transcripts/{upload_id}").json() == {
        "id": upload_id,
        "status": "pending",
    }
    decoding = {"id": upload_id, "status": "processing", "attempt": 1,
                "progress": {"audio_s_done": 0.0, "audio_s_total": None}}  # fmt: skip
    storage.put(
        f"transcripts/{upload_id}.progress.json",
        json.dumps(decoding).encode(),
        content_type="application/json",
        metadata={},
    )
    assert api.get(f"/transcripts/{upload_id}").json()["progress"] == {
        "audio_s_done": 0.0,
        "audio_s_total": None,  # not known until the recording is decoded
    }
    record = {
        "id": upload_id,
        "status": "processing",
        "etag": "e",
        "attempt": 2,
        "progress": {"audio_s_done": 120.0, "audio_s_total": 3600.5},
        "updated_at": "2026-11-26T01:00:00Z",
    }
    storage.put(
        f"transcripts/{upload_id}.progress.json",
        json.dumps(record).encode(),
        content_type="application/json",
        metadata={},
    )
    response = api.get(f"/transcripts/{upload_id}")
    assert response.status_code == 202
    assert response.json()["progress"] == {"audio_s_done": 120.0, "audio_s_total": 3600.5}
    assert response.json() == {
        "id": upload_id,
        "status": "processing",
        "progress": {"audio_s_done": 120.0, "audio_s_total": 3600.5},
        "attempt": 2,
        "updated_at": "2026-11-26T01:00:00Z",
    }


def test_a_two_hour_recording_is_transcribed_in_bounded_memory(tmp_path, model_cache_dir):
    """2 h of 16 kHz audio is 460 MB as float32, and the library's own path held it and more
    (1.9 GB peak measured with `base`): here the recording stays on disk as PCM and is read
    a stretch at a time. The CLI's process reports its own peak RSS (VmHWM)."""
    path = tmp_path / "two-hours.wav"
    placed = write_sparse_recording(path, hours=2)
    script = (
        # Its own peak (VmHWM): ru_maxrss would carry this big test process's over from fork.
        "def peak_kb():\n"
        "    with open('/proc/self/status') as status:\n"
        "        return next(int(l.split()[1]) for l in status if l.startswith('VmHWM:'))\n"
        "import sys\n"
        "from speech_api.runtime.cli import main\n"
        "try:\n"
        f"    main(['transcribe', {str(path)!r}, '--format', 'srt', '-o', {str(tmp_path)!r}])\n"
        "except SystemExit as exc:\n"
        "    assert not exc.code, exc.code\n"
        "print('peak_kb', peak_kb(), file=sys.stderr)\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("STT_", "TTS_"))}
    env.update(STT_MODEL="tiny.en", MODEL_CACHE_DIR=str(model_cache_dir))
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=600
    )
    assert result.returncode == 0, result.stderr[-2000:]
    peak_mb = int(result.stderr.split("peak_kb")[-1]) / 1024
    print(f"\n[2 h recording, tiny.en] peak RSS {peak_mb:.0f} MB")
    assert peak_mb < 1024
    cues = list(srt.parse((tmp_path / "two-hours.srt").read_text()))
    last_start, last_clip = placed[-1]
    assert cues[-1].start.total_seconds() >= last_start  # transcribed to the end
    assert last_clip.text.split()[-1].lower().strip(".,") in cues[-1].content.lower()
