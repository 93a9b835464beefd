"""Speech jobs under concurrency and at their edges (a fourth hostile review): identical
submissions at once, the active-job bound under a burst, text drops the bound or their size
would have lost, the same text reaching two ids, a long job judged stalled, stale messages,
and a record that cannot be read."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections import Counter

import pytest
from fastapi.testclient import TestClient

from speech_api.runtime.speech_job_worker import (
    JOB_WORKER_ENGINE_SETTINGS,
    worker_settings,
)
from speech_api.schemas import SpeechJobRequest
from speech_api.service import SpeechService
from speech_api.service.speech_jobs import RUNTIME_ONLY, SpeechJobs
from speech_api.text import parts as script_parts
from tests.integration.jobs.test_speech_jobs import text_of, wait_done
from tests.support.callbacks import CallbackReceiver
from tests.support.speech_job_worker import idle_jobs_app, jobs_app, spoken_parts


def at_once(count: int, call) -> list:
    """``call(i)`` from ``count`` threads released together; the results in order."""
    barrier = threading.Barrier(count)
    results: list = [None] * count

    def run(i: int) -> None:
        barrier.wait()
        results[i] = call(i)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


@pytest.fixture(scope="module")
def jobs(make_settings):
    with jobs_app(make_settings, "race") as client:
        yield client


def test_identical_submissions_at_once_make_one_job_and_every_caller_is_told(jobs, monkeypatch):
    """Ten POSTs of one request at once were ten `202 queued` (each stored its record, the
    last one's callback the only one kept, part 1 synthesized twice): one creates the job,
    the others join it, every caller is called back, and each part is spoken once."""
    scripts = spoken_parts(monkeypatch)
    body = {"text": text_of(700), "format": "wav"}
    with CallbackReceiver() as receiver:
        answers = at_once(
            10,
            lambda i: jobs.post("/tts/jobs", json={**body, "callback_url": receiver.url(f"/{i}")}),
        )
        assert sorted(r.status_code for r in answers) == [200] * 9 + [202]
        assert len({r.json()["id"] for r in answers}) == 1
        done, _ = wait_done(jobs, answers[0].json())
        received = receiver.wait(10, timeout_s=120)
    assert done["status"] == "done"
    assert sorted(r.path for r in received) == sorted(f"/{i}" for i in range(10))
    assert {r.json()["type"] for r in received} == {"speech_job.completed"}
    spoken = Counter(json.dumps(script_parts.to_json(s), sort_keys=True) for s in scripts)
    assert spoken and max(spoken.values()) == 1, spoken


def test_the_active_job_bound_holds_under_a_burst(make_settings):
    """Ten different jobs at once with room for two: all ten were taken (a count taken
    before any of them was marked). Now at most two are, the rest 429 too_many_jobs."""
    with idle_jobs_app(make_settings, cap=2) as client:
        answers = at_once(10, lambda i: client.post("/tts/jobs", json={"text": text_of(80)}))
        codes = Counter(r.status_code for r in answers)
        assert set(codes) <= {202, 429} and 1 <= codes[202] <= 2, codes
        assert all(
            r.json()["error"]["code"] == "too_many_jobs" for r in answers if r.status_code == 429
        )
        jobs = client.app.state.speech_jobs
        assert len(jobs.store.active_ids()) == codes[202]


@pytest.mark.parametrize("joiner_creates", ["before", "after"])
def test_a_job_created_while_its_twin_gives_way_stays_counted(make_settings, joiner_creates):
    """Two submissions of one text with the bound reached: the first marks the job, counts
    and gives way (429, clearing the mark); the second found the mark taken, skipped the
    count and created the job. It ran unmarked, outside MAX_ACTIVE_SPEECH_JOBS, and stayed
    so. The job the second creates is counted whether it creates it "before" or "after" the
    first gives way."""
    with idle_jobs_app(make_settings, cap=1) as client:
        jobs = client.app.state.speech_jobs
        assert client.post("/tts/jobs", json={"text": text_of(80)}).status_code == 202
        body = {"text": text_of(90)}
        real_count, real_create = jobs.store.active_count, jobs.store.create
        at_create, first_gave_way = threading.Event(), threading.Event()
        second: dict = {}

        def create(record, *, replacing):
            if joiner_creates == "after":
                at_create.set()
                assert first_gave_way.wait(30)
            return real_create(record, replacing=replacing)

        def count(at_most):
            if not second:  # the first submission, holding the mark: the second runs now
                second["thread"] = threading.Thread(
                    target=lambda: second.setdefault("answer", client.post("/tts/jobs", json=body))
                )
                second["thread"].start()
                if joiner_creates == "before":
                    second["thread"].join(30)
                else:
                    assert at_create.wait(30)
            return real_count(at_most)

        jobs.store.active_count, jobs.store.create = count, create
        try:
            first = client.post("/tts/jobs", json=body)
            first_gave_way.set()
            second["thread"].join(30)
        finally:
            jobs.store.active_count, jobs.store.create = real_count, real_create
        assert first.status_code == 429 and first.json()["error"]["code"] == "too_many_jobs"
        answer = second["answer"]
        assert answer.status_code == 202, answer.json()
        assert answer.json()["id"] in jobs.store.active_ids()
        assert len(jobs.store.active_ids()) == 2
        # Counted: the next new job is refused.
        refused = client.post("/tts/jobs", json={"text": text_of(100)})
        assert refused.status_code == 429


def test_a_dropped_file_waits_its_turn_instead_of_being_lost(make_settings, storage):
    """Five chapters dropped with room for two jobs: the last three were refused (429) on
    every delivery, then dead-lettered with no record and no message. Drops are not bound
    by MAX_ACTIVE_SPEECH_JOBS: each becomes a queued job."""
    with idle_jobs_app(make_settings, cap=2) as client:
        jobs = client.app.state.speech_jobs
        folder = f"texts/{uuid.uuid4().hex[:6]}/"
        ids = []
        for n in range(5):
            key = f"{folder}chapter-{n}.txt"
            storage.put(key, text_of(200).encode(), content_type="text/plain", metadata={})
            ids.append(jobs.submit_dropped(key))
        assert all(ids) and len(set(ids)) == 5
        assert {jobs.status(i).status for i in ids} == {"queued"}
        # POST /tts/jobs is still bound.
        refused = client.post("/tts/jobs", json={"text": text_of(80)})
        assert refused.status_code == 429


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b"", "invalid_drop"),
        ("caf\xe9 au lait".encode("latin-1"), "invalid_drop"),
        (b"x" * 800_001, "payload_too_large"),  # over 4 bytes a character: was never recorded
    ],
    ids=["empty", "not UTF-8", "too large"],
)
def test_a_refused_drop_is_recorded_and_calls_its_callback(make_settings, storage, data, code):
    """A drop that cannot be a job gets a failed record and its own callback (the callback
    was never called, and a file too large was retried, dead-lettered and forgotten)."""
    with idle_jobs_app(make_settings, cap=2) as client, CallbackReceiver() as receiver:
        jobs = client.app.state.speech_jobs
        key = f"texts/{uuid.uuid4().hex[:6]}/bad.txt"
        storage.put(
            key,
            data,
            content_type="text/plain",
            metadata={"callback-url": receiver.url("/refused")},
        )
        job_id = jobs.submit_dropped(key)
        record = client.get(f"/tts/jobs/{job_id}").json()
        (message,) = receiver.wait(1, timeout_s=30)
    assert record["status"] == "failed" and record["error"]["code"] == code, record
    assert record["source_key"] == key
    assert message.path == "/refused"
    assert message.json()["type"] == "speech_job.failed" and message.json()["source_key"] == key


def test_the_same_audio_is_one_job_however_it_is_asked_for(make_settings):
    """The default voice named or left out, and the API against the job workers (who run
    the voice on other threads and kernels), made two ids for one audio: synthesized twice."""
    with idle_jobs_app(make_settings, cap=5) as client:
        text = text_of(120)
        plain = client.post("/tts/jobs", json={"text": text}).json()
        named = client.post("/tts/jobs", json={"text": text, "voice": "en_US-joe-medium"})
        assert named.status_code == 200 and named.json()["id"] == plain["id"]
        api = client.app.state.speech_jobs
        settings = worker_settings(api.settings)
        workers = SpeechJobs(settings, SpeechService(settings))
        request = SpeechJobRequest(text=text)
        assert workers.job_id(request, text) == api.job_id(request, text) == plain["id"]
    # What the workers change is how the voice runs, never what it says.
    assert set(JOB_WORKER_ENGINE_SETTINGS) <= RUNTIME_ONLY


def test_the_same_text_dropped_again_is_announced_under_its_own_key(jobs, storage):
    """A copy of a finished chapter under another key found the job and said nothing: a
    pipeline waiting for its key waited forever."""
    text = text_of(300).encode()
    folder = f"texts/{uuid.uuid4().hex[:6]}/"
    with CallbackReceiver() as receiver:
        meta = {"format": "wav", "callback-url": receiver.url("/a")}
        storage.put(f"{folder}a.txt", text, content_type="text/plain", metadata=meta)
        (first,) = receiver.wait(1, timeout_s=600)
        meta = {"format": "wav", "callback-url": receiver.url("/b")}
        storage.put(f"{folder}b-copy.txt", text, content_type="text/plain", metadata=meta)
        second = receiver.wait(2, timeout_s=120)[1]
    assert first.json()["source_key"] == f"{folder}a.txt"
    assert second.path == "/b" and second.json()["source_key"] == f"{folder}b-copy.txt"
    assert second.json()["id"] == first.json()["id"] and second.json()["url"] == first.json()["url"]


def back_date(client: TestClient, storage, job_id: str, hours: float) -> None:
    store = client.app.state.speech_jobs.store
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - hours * 3600))
    record = {**store.record(job_id), "updated_at": stamp}
    body = json.dumps(record).encode()
    storage.put(store.record_key(job_id), body, content_type="application/json", metadata={})


def test_a_long_job_whose_parts_still_appear_is_not_started_again(make_settings, storage):
    """A job's record is written when it is planned and when it ends, not as parts are made:
    a job over an hour long was judged stalled, and submitting it again deleted its parts
    and its first caller's callback. Parts written lately keep it alive; a job truly stalled
    is started again with its callers kept."""
    with idle_jobs_app(make_settings, cap=5) as client:
        jobs = client.app.state.speech_jobs
        body = {"text": text_of(150), "callback_url": "http://127.0.0.1:9/first"}
        job_id = client.post("/tts/jobs", json=body).json()["id"]
        back_date(client, storage, job_id, hours=2)
        part = f"{jobs.store.folder(job_id)}parts/00000-22050-abcd1234.pcm"
        storage.put(part, b"\0\0" * 100, content_type="application/octet-stream", metadata={})
        again = client.post("/tts/jobs", json={**body, "callback_url": "http://127.0.0.1:9/2"})
        assert again.status_code == 200 and storage.stat(part) is not None
        # Nothing for two hours: started again, the first caller still to be told.
        storage.delete(part)
        back_date(client, storage, job_id, hours=2)
        third = client.post("/tts/jobs", json={**body, "callback_url": "http://127.0.0.1:9/3"})
        assert third.status_code == 202
        assert jobs.store.record(job_id)["callback_url"] == "http://127.0.0.1:9/3"
        assert set(jobs.store.callbacks(job_id)) == {
            "http://127.0.0.1:9/first",
            "http://127.0.0.1:9/2",
        }


def test_a_step_from_an_earlier_run_does_nothing(make_settings):
    """A part or assembly message outliving its run (the job was started again) met a
    record without parts: it queued the assembly after one part, which failed the job on
    "parts made at different rates: set()"."""
    with idle_jobs_app(make_settings, cap=5) as client:
        jobs = client.app.state.speech_jobs
        job_id = client.post("/tts/jobs", json={"text": text_of(150)}).json()["id"]
        for message in ({"step": "part", "part": 0}, {"step": "assemble"}):
            jobs.handle({"job": job_id, **message}, delivery=uuid.uuid4().hex)
        assert jobs.store.record(job_id)["status"] == "queued"
        assert jobs.store.done_parts(job_id) == {}


@pytest.mark.parametrize("content", [b'{"id": "', b"[]", b'{"id": "x"}'])
def test_a_record_that_cannot_be_read_is_a_failed_job_that_can_be_submitted_again(
    make_settings, storage, content
):
    """A record cut short, or not a record, was a 500 on every GET and every POST of it."""
    with idle_jobs_app(make_settings, cap=5) as client:
        jobs = client.app.state.speech_jobs
        body = {"text": text_of(150)}
        job_id = client.post("/tts/jobs", json=body).json()["id"]
        jobs.store.clear_active(job_id)
        storage.put(
            jobs.store.record_key(job_id), content, content_type="application/json", metadata={}
        )
        status = client.get(f"/tts/jobs/{job_id}")
        assert status.status_code == 200 and status.json()["status"] == "failed"
        assert "submit the job again" in status.json()["error"]["message"]
        again = client.post("/tts/jobs", json=body)
        assert again.status_code == 202 and again.json()["id"] == job_id
        assert (
            json.loads(storage.get(jobs.store.record_key(job_id), max_bytes=1 << 20).data)["status"]
            == "queued"
        )
