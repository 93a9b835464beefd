"""Knowing when an upload's transcript is done without polling: the worker POSTs the documented
message to the upload's callback URL and publishes it to the transcript topic (SNS) once the
transcript, or its failure, is written. Callback URLs that could reach this service's network
are refused when the upload is created, and again when the callback is sent."""

import base64
import hashlib
import hmac
import json
import socket
import time
import uuid

import httpx
import pytest
from fastapi.testclient import TestClient

from devkit.clips import clip
from speech_api.api import create_app
from speech_api.service.callback_delivery import background_delivery
from speech_api.storage import aws_client
from tests.support.callbacks import CallbackReceiver, TestCA
from tests.support.live_server import LiveServer
from tests.support.upload_worker import running_upload_worker

SECRET = "callback-test-secret"


@pytest.fixture(scope="module")
def notified(make_settings):
    """`make serve`'s upload flow with a transcript topic, an SQS queue subscribed to it, and
    callbacks signed."""
    probe = make_settings()
    sns, sqs = aws_client("sns", probe), aws_client("sqs", probe)
    topic = sns.create_topic(Name=f"transcripts-{uuid.uuid4().hex[:8]}")["TopicArn"]
    inbox = sqs.create_queue(QueueName=f"transcripts-inbox-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    inbox_arn = sqs.get_queue_attributes(QueueUrl=inbox, AttributeNames=["QueueArn"])
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=inbox_arn["Attributes"]["QueueArn"])
    settings = make_settings(transcript_topic_arn=topic, callback_secret=SECRET)
    with (
        running_upload_worker(settings) as queue,
        LiveServer(create_app(settings)) as server,
        httpx.Client(base_url=server.base_url, timeout=60) as api,
    ):
        yield Flow(api, sqs, inbox, queue.url)


class Flow:
    def __init__(self, api: httpx.Client, sqs, inbox: str, uploads_queue: str):
        self.api, self.sqs, self.inbox, self.uploads_queue = api, sqs, inbox, uploads_queue
        self.published: list[dict] = []

    def upload(self, data: bytes, callback_url: str | None, filename: str = "clip.wav") -> dict:
        request = {"filename": filename, "content_type": "audio/wav"}
        if callback_url is not None:
            request["callback_url"] = callback_url
        created = self.api.post("/uploads", json=request)
        assert created.status_code == 200, created.text
        body = created.json()
        form = body["upload"]
        sent = httpx.post(form["url"], data=form["fields"], files={"file": (filename, data)})
        assert sent.status_code in (200, 204), sent.text
        return body

    def topic_message(self, upload_id: str, timeout_s: float = 120) -> dict:
        """The SNS envelope of the message about this upload, from the subscribed queue."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            for envelope in self.published:
                if json.loads(envelope["Message"])["id"] == upload_id:
                    return envelope
            for m in self.sqs.receive_message(
                QueueUrl=self.inbox, MaxNumberOfMessages=10, WaitTimeSeconds=1
            ).get("Messages", []):
                self.published.append(json.loads(m["Body"]))
                self.sqs.delete_message(QueueUrl=self.inbox, ReceiptHandle=m["ReceiptHandle"])
        raise AssertionError(f"no message about {upload_id} on the topic in {timeout_s}s")

    def wait_until_the_worker_is_idle(self, timeout_s: float = 60) -> None:
        """The worker is done with every upload (its handler returned), and the callbacks it
        handed over are delivered (they go out on a thread of their own)."""
        names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            found = self.sqs.get_queue_attributes(QueueUrl=self.uploads_queue, AttributeNames=names)
            if not any(int(v) for v in found["Attributes"].values()):
                assert background_delivery().drain(max(1.0, deadline - time.monotonic()))
                return
            time.sleep(0.2)
        raise AssertionError(f"the worker is still busy after {timeout_s}s")


def verify_signature(received) -> None:
    timestamp, digest = (
        p.split("=", 1)[1] for p in received.headers["x-speech-api-signature"].split(",")
    )
    expected = hmac.new(
        SECRET.encode(), timestamp.encode() + b"." + received.body, hashlib.sha256
    ).hexdigest()
    assert hmac.compare_digest(digest, expected)
    assert abs(time.time() - int(timestamp)) < 300


def test_the_callback_and_the_topic_say_when_the_transcript_is_written(notified):
    with CallbackReceiver() as receiver:
        url = receiver.url("/hooks/speech?user=7")
        body = notified.upload(clip("arctic_a0009.wav").read(), url)
        # The URL is in the form's signed policy: the uploader cannot send it elsewhere.
        assert body["upload"]["fields"]["x-amz-meta-callback-url"] == url
        (received,) = receiver.wait(1)

    # Written before it is announced: no poll needed, the first GET has it.
    transcript = notified.api.get(body["transcript_url"])
    assert transcript.status_code == 200
    t = transcript.json()
    assert "gregson across the table" in t["text"].lower()
    expected = {
        "type": "transcript.completed",
        "version": 1,
        "id": body["id"],
        "source_key": body["key"],
        "etag": t["etag"],
        "transcript_url": body["transcript_url"],
        "language": "en",
        "duration_s": t["duration_s"],
        "error": None,
        "created_at": t["created_at"],
    }
    assert received.path == "/hooks/speech?user=7"
    assert received.headers["content-type"] == "application/json"
    assert received.headers["x-speech-api-event"] == "transcript.completed"
    assert received.json() == expected
    verify_signature(received)

    envelope = notified.topic_message(body["id"])
    assert json.loads(envelope["Message"]) == expected
    assert envelope["MessageAttributes"]["type"]["Value"] == "transcript.completed"
    assert envelope["Subject"] == "speech-api transcript.completed"


def test_a_failed_upload_is_announced_with_the_error_the_api_answers(notified):
    with CallbackReceiver() as receiver:
        body = notified.upload(b"not audio, just text" * 50, receiver.url("/failed"))
        (received,) = receiver.wait(1)
    answer = notified.api.get(body["transcript_url"])
    assert answer.status_code == 422
    message = received.json()
    assert message["type"] == "transcript.failed" and message["id"] == body["id"]
    assert message["error"] == answer.json()["error"]
    assert message["error"]["code"] == "unsupported_audio"
    assert (message["language"], message["duration_s"]) == (None, None)
    assert json.loads(notified.topic_message(body["id"])["Message"]) == message


def test_without_a_callback_url_the_topic_still_hears(notified):
    body = notified.upload(clip("arctic_a0009.wav").read(), None)
    message = json.loads(notified.topic_message(body["id"])["Message"])
    assert message["type"] == "transcript.completed"
    assert "x-amz-meta-callback-url" not in body["upload"]["fields"]


@pytest.mark.parametrize(
    "statuses,attempts", [((500,), 3), ((503, 204), 2), ((404,), 1), ((302,), 1)]
)
def test_a_failing_callback_is_retried_a_little_and_never_fails_the_transcript(
    notified, statuses, attempts
):
    """Server errors are tried 3 times in all; a 4xx or a redirect (never followed) once."""
    with CallbackReceiver(statuses=statuses) as receiver:
        body = notified.upload(clip("arctic_a0009.wav").read(), receiver.url("/flaky"))
        notified.topic_message(body["id"])
        notified.wait_until_the_worker_is_idle()
        assert len(receiver.received) == attempts
    assert notified.api.get(body["transcript_url"]).status_code == 200


@pytest.fixture(scope="module")
def ca(tmp_path_factory) -> TestCA:
    return TestCA(tmp_path_factory.mktemp("ca"))


def test_https_callbacks_are_verified_against_the_name_not_the_address(notified, ca, monkeypatch):
    """The callback connects to the address it checked (127.0.0.1) and still verifies the
    certificate for the name in the URL."""
    monkeypatch.setenv("SSL_CERT_FILE", str(ca.cert_path))  # trust the test CA (OpenSSL)
    with (
        CallbackReceiver(tls=ca.server_context("localhost")) as good,
        CallbackReceiver(tls=ca.server_context("someone-else.example")) as impostor,
    ):
        kept = notified.upload(clip("arctic_a0009.wav").read(), good.url("/tls", "localhost"))
        refused = notified.upload(
            clip("arctic_a0009.wav").read(), impostor.url("/tls", "localhost")
        )
        (received,) = good.wait(1)
        assert received.json()["id"] == kept["id"]
        assert received.headers["host"] == f"localhost:{good.port}"
        notified.topic_message(refused["id"])
        notified.wait_until_the_worker_is_idle()
        assert impostor.received == []  # its certificate does not name localhost


def test_a_name_that_resolves_elsewhere_at_delivery_gets_no_callback(notified, ca, monkeypatch):
    """DNS rebinding: the name resolved to this machine when the upload was created, and to
    the cloud metadata address when the callback is due: nothing is sent anywhere."""
    answers = iter(["127.0.0.1", "169.254.169.254"])
    real = socket.getaddrinfo
    asked = []

    def getaddrinfo(host, port, *args, **kwargs):
        if host != "rebind.test":
            return real(host, port, *args, **kwargs)
        address = next(answers)
        asked.append(address)
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    monkeypatch.setenv("SSL_CERT_FILE", str(ca.cert_path))
    with CallbackReceiver(tls=ca.server_context("rebind.test")) as receiver:
        body = notified.upload(clip("arctic_a0009.wav").read(), receiver.url("/x", "rebind.test"))
        notified.topic_message(body["id"])
        notified.wait_until_the_worker_is_idle()
        assert asked == ["127.0.0.1", "169.254.169.254"]
        assert receiver.received == []
    assert notified.api.get(body["transcript_url"]).status_code == 200


REFUSED = [
    "http://example.com/hook",  # http only to this machine
    "https://10.0.0.1/hook",
    "https://169.254.169.254/latest/meta-data/",
    "https://[::ffff:169.254.169.254]/",
    "https://[fd00::1]/",
    "https://100.64.0.1/",
    "https://0.0.0.0:8000/",
    "https://224.0.0.251/",
    "ftp://127.0.0.1/hook",
    "file:///etc/passwd",
    "https://user:secret@93.184.215.14/hook",
    "https://no-such-host.invalid/hook",
    "https://exa mple.com/",
    "not a url",
]


@pytest.mark.parametrize("url", REFUSED)
def test_callback_urls_that_could_reach_private_networks_are_refused(notified, url):
    r = notified.api.post(
        "/uploads", json={"filename": "a.wav", "content_type": "audio/wav", "callback_url": url}
    )
    assert r.status_code == 400, r.text
    error = r.json()["error"]
    assert (error["code"], error["param"], error["type"]) == (
        "invalid_callback_url",
        "callback_url",
        "invalid_request_error",
    )


@pytest.fixture(scope="module")
def deployed(make_settings):
    """The app as the CDK stack configures it: no loopback callbacks."""
    with TestClient(create_app(make_settings(callback_allow_loopback=False))) as c:
        yield c


@pytest.mark.parametrize(
    "url",
    ["http://127.0.0.1:8000/hook", "https://localhost/hook", "https://[::1]/", "https://127.1/"],
)
def test_loopback_callbacks_are_refused_where_loopback_is_off(deployed, url):
    r = deployed.post(
        "/uploads", json={"filename": "a.wav", "content_type": "audio/wav", "callback_url": url}
    )
    assert r.status_code == 400, r.text
    assert r.json()["error"]["code"] == "invalid_callback_url"


def test_https_to_a_public_address_is_accepted_and_signed_into_the_form(deployed):
    url = "https://93.184.215.14/hooks/speech?user=7"
    r = deployed.post(
        "/uploads", json={"filename": "a.wav", "content_type": "audio/wav", "callback_url": url}
    )
    assert r.status_code == 200, r.text
    fields = r.json()["upload"]["fields"]
    assert fields["x-amz-meta-callback-url"] == url
    policy = json.loads(base64.b64decode(fields["policy"]))
    assert {"x-amz-meta-callback-url": url} in policy["conditions"]


def test_a_server_that_trickles_its_answer_cannot_hold_the_worker(make_settings):
    """Each attempt has CALLBACK_TIMEOUT_S for the whole exchange, not per read: a server
    that sends its status line a byte at a time gets 3 short attempts."""
    import threading

    from speech_api.service.notify import Notifier

    stop = threading.Event()
    listener = socket.create_server(("127.0.0.1", 0))
    connections = []

    def trickle(conn):
        conn.recv(65536)
        for byte in b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n":
            if stop.wait(0.2):
                break
            conn.sendall(bytes([byte]))
        conn.close()

    def serve():
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            connections.append(conn)
            threading.Thread(target=trickle, args=(conn,), daemon=True).start()

    threading.Thread(target=serve, daemon=True).start()
    notifier = Notifier(make_settings(callback_timeout_s=0.5))
    message = {"type": "transcript.completed", "id": "x.wav"}
    started = time.monotonic()
    try:
        notifier.send(message, f"http://127.0.0.1:{listener.getsockname()[1]}/slow")
        handed_over = time.monotonic() - started
        assert background_delivery().drain(20)
        elapsed = time.monotonic() - started
    finally:
        stop.set()
        listener.close()
    # The worker only hands the callback over; its delivery runs apart: 3 attempts of 0.5 s
    # and waits of 1 + 2 s; the answer alone would take 8 s.
    assert handed_over < 0.5
    assert len(connections) == 3
    assert elapsed < 6
