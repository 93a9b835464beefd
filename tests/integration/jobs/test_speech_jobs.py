"""Speech jobs as `make serve` runs them: POST /tts/jobs (and text files dropped in the bucket)
through the embedded queue to workers on every core, parts synthesized in parallel by the real
Piper voice, assembled into one public file, heard back by Whisper."""

from __future__ import annotations

import io
import time
import uuid
from itertools import pairwise

import av
import httpx
import pytest
from fastapi.testclient import TestClient

from devkit.texts import SENTENCES
from devkit.wer import corpus_wer
from speech_api.service import speech_jobs as speech_jobs_module
from tests.support.callbacks import CallbackReceiver
from tests.support.speech_job_worker import idle_jobs_app, jobs_app, spoken_parts


def text_of(chars: int) -> str:
    """Everyday sentences, each numbered (no two jobs share a text), up to ``chars``."""
    run = uuid.uuid4().hex[:6]
    out, i = [], 0
    while sum(len(s) + 1 for s in out) < chars:
        out.append(f"{SENTENCES[i % len(SENTENCES)]}")
        i += 1
    return f"Run {run}. " + " ".join(out)


@pytest.fixture(scope="module")
def jobs(make_settings):
    with jobs_app(make_settings, "t") as client:
        yield client


def wait_done(client: TestClient, job: dict, timeout_s: float = 600) -> tuple[dict, list[dict]]:
    """The job once it has ended, and every status seen on the way."""
    seen = []
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        r = client.get(job["status_url"])
        assert r.status_code == 200, r.text
        seen.append(r.json())
        if seen[-1]["status"] in ("done", "failed"):
            return seen[-1], seen
        time.sleep(0.5)
    raise AssertionError(f"job not done in {timeout_s}s: {seen[-1]}")


def decoded_seconds(data: bytes) -> float:
    with av.open(io.BytesIO(data)) as c:
        stream = c.streams.audio[0]
        return sum(f.samples for f in c.decode(stream)) / stream.rate


def test_a_job_is_spoken_in_parts_and_published_whole(jobs):
    text = text_of(800)  # about 45 s of speech: /stt takes up to 60 s
    r = jobs.post("/tts/jobs", json={"text": text, "format": "mp3"})
    assert r.status_code == 202, r.text
    job = r.json()
    assert job["status"] == "queued" and job["status_url"] == f"/tts/jobs/{job['id']}"
    assert r.headers["location"] == job["status_url"] and job["progress"]["chars_total"] == len(
        text
    )

    done, seen = wait_done(jobs, job)
    assert done["status"] == "done", done
    running = [s["progress"] for s in seen if s["status"] == "running"]
    assert all(a["chars_done"] <= b["chars_done"] for a, b in pairwise(running))
    assert done["progress"]["parts_total"] >= 3
    assert done["progress"]["chars_done"] == len(text)

    audio = httpx.get(done["url"], timeout=30)  # anonymous, as a browser
    assert audio.status_code == 200 and audio.headers["content-type"] == "audio/mpeg"
    # One encoder over the joined parts: its priming and padding once (at most 2,257 samples,
    # 0.1 s: a streamed MP3 has no header to tell decoders to drop them), none at the joins
    # (encoded apart, every part would add its own 50 to 100 ms).
    assert decoded_seconds(audio.content) == pytest.approx(done["duration_s"], abs=0.11)
    assert done["progress"]["audio_s_done"] == done["duration_s"]

    heard = jobs.post("/stt", files={"file": ("job.mp3", audio.content)}, data={"language": "en"})
    assert corpus_wer([text], [heard.json()["text"]]) <= 0.10


def test_the_same_request_finds_the_finished_audio(jobs):
    body = {"text": text_of(400), "format": "wav"}
    first, _ = wait_done(jobs, jobs.post("/tts/jobs", json=body).json())
    again = jobs.post("/tts/jobs", json=body)
    assert again.status_code == 200
    assert again.json()["status"] == "done" and again.json()["url"] == first["url"]
    # The audio sits where /tts puts the same text: /tts finds it too.
    tts = jobs.post("/tts", json={"text": body["text"], "format": "wav"}).json()
    assert tts["cached"] is True and tts["url"] == first["url"]


def test_speech_published_already_is_found_not_spoken_again(jobs, monkeypatch):
    """A job of text /tts (or another job) had published was spoken again in full and its
    audio overwritten, beside captions timed on the audio it replaced (an engine that
    samples noise speaks differently each run). Now it is done with what is there; only
    captions missing are a reason to speak it again."""
    spoken = spoken_parts(monkeypatch)
    text = text_of(300)
    tts = jobs.post("/tts", json={"text": text, "format": "wav", "captions": True}).json()
    audio = httpx.get(tts["url"], timeout=30).content
    for captions in (False, True):
        job, _ = wait_done(
            jobs,
            jobs.post(
                "/tts/jobs", json={"text": text, "format": "wav", "captions": captions}
            ).json(),
        )
        assert job["status"] == "done" and job["url"] == tts["url"], job
        assert job["duration_s"] == tts["duration_s"]
        assert job["captions"] == (tts["captions"] if captions else None)
    assert spoken == []
    assert httpx.get(tts["url"], timeout=30).content == audio

    # Published without captions: a job asking for them speaks it again, with them.
    other = text_of(300)
    plain = jobs.post("/tts", json={"text": other, "format": "wav"}).json()
    job, _ = wait_done(
        jobs, jobs.post("/tts/jobs", json={"text": other, "format": "wav", "captions": True}).json()
    )
    assert job["status"] == "done" and job["url"] == plain["url"] and spoken
    vtt = httpx.get(job["captions"]["vtt"], timeout=10)
    assert vtt.status_code == 200 and vtt.text.startswith("WEBVTT")


def test_audio_past_one_put_goes_up_in_parts_and_is_published_the_same(jobs, monkeypatch):
    """Audio past SINGLE_PUT_BYTES streams through a multipart upload to a private key and is
    copied into place: the same audio, captions and metadata as one PutObject gives."""
    from speech_api.service import speech_job_audio

    monkeypatch.setattr(speech_job_audio, "SINGLE_PUT_BYTES", 64 * 1024)
    staged = []
    real = speech_job_audio.MultipartUpload.__init__
    monkeypatch.setattr(
        speech_job_audio.MultipartUpload,
        "__init__",
        lambda self, storage, key, content_type: (
            staged.append(key) or real(self, storage, key, content_type)
        ),
    )
    text = text_of(500)
    body = {"text": text, "format": "wav", "captions": True}
    done, _ = wait_done(jobs, jobs.post("/tts/jobs", json=body).json())
    assert done["status"] == "done" and len(staged) == 1 and "/staging" in staged[0]
    audio = httpx.get(done["url"], timeout=30)
    assert audio.status_code == 200 and len(audio.content) > 64 * 1024
    assert decoded_seconds(audio.content) == pytest.approx(done["duration_s"], abs=0.001)
    vtt = httpx.get(done["captions"]["vtt"], timeout=10)
    assert vtt.status_code == 200 and vtt.text.startswith("WEBVTT")
    # Its signed metadata holds: /tts serves the same text from it.
    tts = jobs.post("/tts", json={"text": text, "format": "wav"}).json()
    assert tts["cached"] is True and tts["url"] == done["url"]


def test_captions_are_retimed_across_parts(jobs):
    text = text_of(900)
    done, _ = wait_done(jobs, jobs.post("/tts/jobs", json={"text": text, "captions": True}).json())
    assert done["status"] == "done" and done["progress"]["parts_total"] >= 3
    vtt = httpx.get(done["captions"]["vtt"], timeout=10).text
    srt = httpx.get(done["captions"]["srt"], timeout=10).text
    assert srt.startswith("1\n") and vtt.startswith("WEBVTT")
    starts = [line.split(" --> ")[0] for line in vtt.splitlines() if " --> " in line]
    seconds = [int(h) * 3600 + int(m) * 60 + float(s) for h, m, s in (t.split(":") for t in starts)]
    assert seconds == sorted(seconds) and len(set(seconds)) == len(seconds)
    assert seconds[-1] > done["duration_s"] - 10 and seconds[-1] < done["duration_s"]
    spoken = " ".join(
        line for line in vtt.splitlines()[1:] if line and " --> " not in line and not line.isdigit()
    )
    assert spoken.split() == text.split()


def test_an_ssml_job_pauses_where_it_breaks(jobs):
    take = uuid.uuid4().hex[:6]
    ssml = f'<speak><p>Chapter one, take {take}.</p><break time="3s"/><p>The end.</p></speak>'
    done, _ = wait_done(
        jobs, jobs.post("/tts/jobs", json={"text": ssml, "text_type": "ssml"}).json()
    )
    assert done["status"] == "done" and done["duration_s"] > 4.5


def test_a_failing_part_is_retried(jobs, monkeypatch):
    real = speech_jobs_module.synthesize_part
    failed = set()

    def flaky(engine, script, **kwargs):
        if script.spoken not in failed:
            failed.add(script.spoken)
            raise RuntimeError("worker died")
        return real(engine, script, **kwargs)

    monkeypatch.setattr(speech_jobs_module, "synthesize_part", flaky)
    done, _ = wait_done(jobs, jobs.post("/tts/jobs", json={"text": text_of(700)}).json())
    assert done["status"] == "done" and len(failed) == done["progress"]["parts_total"]


def test_an_assembly_delivered_twice_runs_once(jobs, monkeypatch):
    """Two workers that store the last two parts at once both queue the assembly (and SQS may
    deliver any message twice): the second delivery, arriving while the first assembles,
    leaves it to the first instead of encoding, publishing and cleaning up the job again."""
    real_send, real_assemble = speech_jobs_module.SqsQueue.send, speech_jobs_module.assemble
    calls = []

    def send_twice(self, messages):
        real_send(self, messages + [m for m in messages if m.get("step") == "assemble"])

    def slow_assemble(store, *args, **kwargs):
        calls.append(args[1])
        time.sleep(2.5)  # long enough for the other worker to take the duplicate
        return real_assemble(store, *args, **kwargs)

    from speech_api.service.speech_job_store import SpeechJobStore

    real_claim, claims = SpeechJobStore.claim_assembly, []

    def claim(self, job_id, **kwargs):
        claims.append(real_claim(self, job_id, **kwargs))
        return claims[-1]

    monkeypatch.setattr(speech_jobs_module.SqsQueue, "send", send_twice)
    monkeypatch.setattr(speech_jobs_module, "assemble", slow_assemble)
    monkeypatch.setattr(SpeechJobStore, "claim_assembly", claim)
    job = jobs.post("/tts/jobs", json={"text": text_of(400), "format": "wav"}).json()
    done, _ = wait_done(jobs, job)
    time.sleep(3)  # the duplicate has been taken by now
    assert done["status"] == "done" and calls == [job["id"]]
    # The copy did arrive while the first assembled (not after: that would prove nothing).
    assert claims.count(True) == 1 and claims.count(False) >= 1, claims
    assert httpx.get(done["url"], timeout=10).status_code == 200


def test_an_assembly_that_fails_is_taken_over_by_its_next_delivery(jobs, monkeypatch):
    """The delivery that claimed the assembly failed (a worker stopped would too): the
    message's next delivery claims it again and publishes."""
    real_assemble = speech_jobs_module.assemble
    calls = []

    def fails_once(store, *args, **kwargs):
        calls.append(args[1])
        if len(calls) == 1:
            raise RuntimeError("worker died while assembling")
        return real_assemble(store, *args, **kwargs)

    monkeypatch.setattr(speech_jobs_module, "assemble", fails_once)
    job = jobs.post("/tts/jobs", json={"text": text_of(400), "format": "wav"}).json()
    done, _ = wait_done(jobs, job, timeout_s=180)
    assert done["status"] == "done" and calls == [job["id"], job["id"]]
    assert httpx.get(done["url"], timeout=10).status_code == 200


def test_the_assembly_claim_goes_to_one_delivery_and_then_to_the_claimers_next(storage):
    from speech_api.service.speech_job_store import SpeechJobStore

    store = SpeechJobStore(storage, f"speech-jobs/claim-{uuid.uuid4().hex[:6]}/")
    job_id = uuid.uuid4().hex
    assert store.claim_assembly(job_id, delivery="a", attempt=1) is True
    assert store.claim_assembly(job_id, delivery="a", attempt=1) is False  # a copy of it
    # The other worker's message, even on a later delivery of its own, leaves it to "a".
    assert store.claim_assembly(job_id, delivery="b", attempt=1) is False
    assert store.claim_assembly(job_id, delivery="b", attempt=2) is False
    assert store.claim_assembly(job_id, delivery="a", attempt=2) is True  # "a" again
    assert store.claim_assembly(job_id, delivery="a", attempt=2) is False
    # A claim this code did not write does not hold the job up.
    storage.put(store.assembly_key(job_id), b"{}", content_type="application/json", metadata={})
    assert store.claim_assembly(job_id, delivery="c", attempt=1) is True


def test_a_restarted_local_queue_lets_a_new_message_assemble(make_settings, storage):
    """`serve` restarted while a job assembled: the embedded S3 keeps the claim on disk, the
    in-memory queue lost the claimer's message. Re-queuing the active jobs forgets their
    claims, so the message queued anew assembles instead of leaving the job running."""
    from speech_api.service import SpeechService

    settings = make_settings(speech_jobs_prefix=f"speech-jobs/restart-{uuid.uuid4().hex[:6]}/")
    sent = []

    class Queue:
        def send(self, messages):
            sent.extend(messages)

    jobs = speech_jobs_module.SpeechJobs(settings, SpeechService(settings), queue=Queue())
    job_id = uuid.uuid4().hex
    jobs.store.mark_active(job_id)
    assert jobs.store.claim_assembly(job_id, delivery="before-restart", attempt=1)
    assert jobs.requeue_active() == 1 and sent == [{"job": job_id, "step": "plan"}]
    assert jobs.store.claim_assembly(job_id, delivery="after-restart", attempt=1) is True
    jobs.store.clear_active(job_id)


def test_a_job_that_keeps_failing_publishes_nothing_and_says_so(jobs, monkeypatch, storage):
    calls = []

    def broken(engine, script, **kwargs):
        calls.append(1)
        raise RuntimeError("the engine is broken")

    monkeypatch.setattr(speech_jobs_module, "synthesize_part", broken)
    with CallbackReceiver() as receiver:
        body = {"text": text_of(700), "format": "wav", "callback_url": receiver.url("/done")}
        job = jobs.post("/tts/jobs", json=body).json()
        done, _ = wait_done(jobs, job)
        message = receiver.wait()[0].json()
    assert done["status"] == "failed" and "the engine is broken" in done["error"]["message"]
    assert done["url"] is None and message["type"] == "speech_job.failed"
    assert message["id"] == job["id"] and message["url"] is None
    # Nothing of it under the public prefix: the /tts key of this text is empty.
    tts_key = jobs.app.state.speech_jobs.cache.key(
        text=body["text"], engine="piper", voice="en_US-joe-medium", model="en_US-joe-medium",
        fmt="wav", speed=1.0,
    )  # fmt: skip
    assert storage.stat(tts_key) is None
    assert len(calls) >= 3  # tried MAX_WORKER_ATTEMPTS times


def test_a_dropped_text_file_becomes_a_job_and_calls_back(jobs, storage):
    text = text_of(400)
    with CallbackReceiver() as receiver:
        storage.put(
            f"texts/{uuid.uuid4().hex[:6]}/chapter.txt",
            text.encode(),
            content_type="text/plain",
            metadata={"format": "wav", "callback-url": receiver.url("/drop")},
        )
        message = receiver.wait(timeout_s=600)[0].json()
    assert message["type"] == "speech_job.completed"
    assert message["source_key"].endswith("/chapter.txt")
    status = jobs.get(message["status_url"]).json()
    assert status["status"] == "done" and status["format"] == "wav"
    assert httpx.get(message["url"], timeout=10).status_code == 200


def test_a_callback_to_a_private_address_is_refused(jobs):
    r = jobs.post(
        "/tts/jobs", json={"text": "Hello.", "callback_url": "https://169.254.169.254/latest/"}
    )
    assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_callback_url"


@pytest.fixture(scope="module")
def idle_jobs(make_settings):
    """Jobs queued with no worker to take them (they stay queued): at most two at once."""
    with idle_jobs_app(make_settings, cap=2) as client:
        yield client


def test_book_length_text_is_taken_and_jobs_flooding_the_queue_get_429(idle_jobs):
    # 200,000 characters without a sentence end: accepted (it is cut at words into parts).
    book = ("word " * 40_000).strip()
    r = idle_jobs.post("/tts/jobs", json={"text": book})
    assert r.status_code == 202, r.text
    assert r.json()["progress"]["chars_total"] == len(book) == 199_999
    assert idle_jobs.post("/tts/jobs", json={"text": text_of(100)}).status_code == 202
    flood = idle_jobs.post("/tts/jobs", json={"text": text_of(100)})
    assert flood.status_code == 429 and flood.headers["retry-after"]
    assert flood.json()["error"]["code"] == "too_many_jobs"


@pytest.mark.parametrize(
    ("text", "text_type", "status", "code"),
    [
        ("x" * 200_001, "text", 422, None),
        ("y" * 200_000, "text", 400, "word_too_long"),
        ("<speak>" + "<s>" * 10_000 + "x" + "</s>" * 10_000 + "</speak>", "ssml", 400,
         "invalid_ssml"),
        ('<speak>' + '<break time="10s"/>' * 9_000 + "x</speak>", "ssml", 400, "too_much_silence"),
        ('<!DOCTYPE speak [<!ENTITY x SYSTEM "file:///etc/passwd">]><speak>&x;</speak>', "ssml",
         400, "invalid_ssml"),
        ("[" * 200_000, "text", 400, "no_speech"),  # its regex was quadratic: minutes
        ("Order " + "7" * 4_301 + " shipped.", "text", 400, "word_too_long"),  # was a 500
        ("See www.example.com" + "/a" * 99_990, "text", 400, "text_too_long"),  # 12 hours
    ],
    ids=["200,001 characters", "one 200,000-character word", "nested 10,000 deep",
         "9,000 ten-second breaks", "external entity", "200,000 unclosed brackets",
         "a 4,301-digit number", "a 200,000-character URL"],
)  # fmt: skip
def test_hostile_jobs_are_refused_at_once_and_the_server_keeps_serving(
    idle_jobs, text, text_type, status, code
):
    started = time.perf_counter()
    r = idle_jobs.post("/tts/jobs", json={"text": text, "text_type": text_type})
    assert time.perf_counter() - started < 2.0
    assert r.status_code == status, r.text
    if code:
        assert r.json()["error"]["code"] == code and r.json()["error"]["param"] == "text"
    assert idle_jobs.get("/health").status_code == 200


def test_unknown_job_ids(idle_jobs):
    assert idle_jobs.get(f"/tts/jobs/{'0' * 32}").status_code == 404
    bad = idle_jobs.get("/tts/jobs/not-a-job")
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "invalid_id"


def test_a_second_caller_of_a_job_under_way_is_called_back_too(jobs):
    body = {"text": text_of(600), "format": "wav"}
    with CallbackReceiver() as first, CallbackReceiver() as second:
        created = jobs.post("/tts/jobs", json={**body, "callback_url": first.url("/a")})
        again = jobs.post("/tts/jobs", json={**body, "callback_url": second.url("/b")})
        assert created.status_code == 202 and again.status_code == 200
        assert again.json()["id"] == created.json()["id"]
        (one,), (two,) = first.wait(timeout_s=600), second.wait(timeout_s=600)
    assert one.json() == two.json() and one.json()["type"] == "speech_job.completed"
    assert (one.path, two.path) == ("/a", "/b")
