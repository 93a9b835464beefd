"""The hostile review, the embedded S3 of `speech-api serve`: what an anonymous client may do
(read public/, nothing else), what a signature must be (the server's own key, signed), and what
the presigned upload form allows (its key, its content type, its fields, a non-empty file,
its policy as signed). Each refusal is S3's AccessDenied with the reason, and the API keeps
serving (conftest's `review_api`)."""

from __future__ import annotations

import base64
import http.client
import json
from pathlib import Path

import boto3
import httpx
import pytest

from devkit.clips import clip

WAV = clip("arctic_a0007.wav").read()
BUCKET = "speech-api"  # `serve`'s default
PUBLIC_ONLY = "Anonymous access is allowed only to read objects under the public prefix."


@pytest.fixture(scope="module")
def s3_url(review_server) -> str:
    return f"http://127.0.0.1:{review_server.env['EMBEDDED_S3_PORT']}"


@pytest.fixture(scope="module")
def anonymous(s3_url):
    """A client of the bucket without credentials."""
    with httpx.Client(base_url=f"{s3_url}/{BUCKET}", timeout=10) as client:
        yield client


@pytest.fixture(scope="module")
def public_url(review_server) -> str:
    """Speech stored under public/ by the API (so the bucket holds an object)."""
    r = httpx.post(f"{review_server.base_url}/tts", json={"text": "Only this is public."})
    assert r.status_code == 200, r.text
    return r.json()["url"]


def assert_denied(r: httpx.Response, why: str) -> None:
    assert r.status_code == 403, r.text
    assert "<Code>AccessDenied</Code>" in r.text and why in r.text, r.text


def test_anyone_reads_what_the_api_made_public(review_api, public_url):
    assert httpx.get(public_url).status_code == 200


ANONYMOUS = [
    # id, request, the reason given
    (
        "s3: anonymous PUT under public/",
        lambda s3: s3.put("/public/x.txt", content=b"x"),
        PUBLIC_ONLY,
    ),
    ("s3: anonymous GET under uploads/", lambda s3: s3.get("/uploads/review/x.wav"), PUBLIC_ONLY),
    ("s3: anonymous bucket listing", lambda s3: s3.get("/"), PUBLIC_ONLY),
    ("s3: anonymous ListObjectsV2", lambda s3: s3.get("?list-type=2"), PUBLIC_ONLY),
    (
        "s3: anonymous GET public/../uploads/",
        lambda s3: s3.get("/public/../uploads/x.wav"),
        PUBLIC_ONLY,
    ),
    (
        "s3: query-string presigned URL",
        lambda s3: s3.get("/public/x?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Signature=0"),
        "Presigned URLs are not supported",
    ),
]


@pytest.mark.parametrize("send,why", [c[1:] for c in ANONYMOUS], ids=[c[0] for c in ANONYMOUS])
def test_anonymous_clients_only_read_public_objects(review_api, anonymous, send, why):
    assert_denied(send(anonymous), why)


def credentials(review_server) -> dict:
    """The keys `serve` made for itself in DATA_DIR (the API and the worker use them)."""
    return json.loads((Path(review_server.env["DATA_DIR"]) / "credentials.json").read_text())


def s3_client(s3_url: str, access_key_id: str, secret_access_key: str):
    return boto3.client(
        "s3",
        region_name="us-east-1",
        endpoint_url=s3_url,
        aws_access_key_id=access_key_id,
        aws_secret_access_key=secret_access_key,
    )


@pytest.mark.parametrize(
    "call",
    [
        lambda s3: s3.list_objects_v2(Bucket=BUCKET),
        lambda s3: s3.put_object(Bucket=BUCKET, Key="public/tts/poison.mp3", Body=b"x"),
    ],
    ids=["s3: another key lists the bucket", "s3: another key writes under public/"],
)
def test_another_key_gets_nothing(review_api, s3_url, call):
    forged = s3_client(s3_url, "embedded", "embedded")
    with pytest.raises(forged.exceptions.ClientError, match="AccessDenied"):
        call(forged)


def test_the_servers_key_with_a_made_up_signature_gets_nothing(review_api, review_server, s3_url):
    key_id = credentials(review_server)["access_key_id"]
    auth = (
        f"AWS4-HMAC-SHA256 Credential={key_id}/20260101/us-east-1/s3/aws4_request, "
        "SignedHeaders=host, Signature=" + "0" * 64
    )
    r = httpx.get(
        f"{s3_url}/{BUCKET}?list-type=2",
        headers={"Authorization": auth, "x-amz-date": "20260101T000000Z"},
    )
    assert_denied(r, "signature does not match")


def test_the_servers_own_key_works(review_api, review_server, s3_url, public_url):
    own = credentials(review_server)
    s3 = s3_client(s3_url, own["access_key_id"], own["secret_access_key"])
    assert s3.list_objects_v2(Bucket=BUCKET)["KeyCount"] >= 1


FORM_CHANGES = [
    # id, fields changed or added, the file sent, the reason given
    (
        "s3: upload form with its key changed",
        {"key": "public/owned.wav"},
        ("a.wav", WAV, "audio/wav"),
        "key must be",
    ),
    (
        "s3: upload form with another content type",
        {"Content-Type": "text/html"},
        ("a.html", b"<b>", "text/html"),
        "content-type must be",
    ),
    (
        "s3: upload form with an extra field",
        {"x-amz-meta-evil": "1"},
        ("a.wav", WAV, "audio/wav"),
        "not covered by the policy",
    ),
    ("s3: upload form with an empty file", {}, ("a.wav", b"", "audio/wav"), "the policy allows 1-"),
    (
        "s3: upload form with its policy altered",
        None,
        ("a.wav", WAV, "audio/wav"),
        "no valid policy",
    ),
    (  # json.loads raised RecursionError: a 500
        "s3: upload form with a policy nested 100,000 deep",
        {"policy": base64.b64encode(b"[" * 100_000).decode()},
        ("a.wav", WAV, "audio/wav"),
        "no valid policy",
    ),
]


def upload_form(api: httpx.Client) -> dict:
    r = api.post("/uploads", json={"filename": "a.wav", "content_type": "audio/wav"})
    assert r.status_code == 200, r.text
    return r.json()["upload"]


@pytest.mark.parametrize(
    "changed,file,why", [c[1:] for c in FORM_CHANGES], ids=[c[0] for c in FORM_CHANGES]
)
def test_the_upload_form_allows_only_what_it_was_made_for(review_api, changed, file, why):
    form = upload_form(review_api)
    fields = form["fields"]
    if changed is None:  # the policy, re-encoded with its last bytes changed
        changed = {"policy": fields["policy"][:-4] + "AAA="}
    r = httpx.post(form["url"], data={**fields, **changed}, files={"file": file}, timeout=30)
    assert_denied(r, why)


def test_the_upload_form_as_given_is_accepted(review_api):
    form = upload_form(review_api)
    r = httpx.post(
        form["url"], data=form["fields"], files={"file": ("a.wav", WAV, "audio/wav")}, timeout=30
    )
    assert r.status_code == 204, r.text


@pytest.mark.parametrize("length", ["abc", "9" * 5_000], ids=["letters", "5,000 digits"])
def test_an_upload_form_with_a_content_length_that_is_no_number_is_denied(review_api, length):
    # int() on it raised ValueError: a 500 from the embedded S3.
    form = upload_form(review_api)
    url = httpx.URL(form["url"])
    connection = http.client.HTTPConnection(url.host, url.port, timeout=30)
    connection.putrequest("POST", url.raw_path.decode())
    connection.putheader("Content-Type", "multipart/form-data; boundary=x")
    connection.putheader("Content-Length", length)
    connection.endheaders(b"--x--\r\n")
    answer = connection.getresponse()
    body = answer.read().decode()
    connection.close()
    assert answer.status == 403 and "not a number of bytes" in body, (answer.status, body)
