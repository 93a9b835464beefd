"""Knowing that a transcript is done without polling. When the worker has written an upload's
last record (``transcripts/<id>.json``, or ``.error.json`` when the upload failed for good),
one JSON message (``transcript_message``) goes to the SNS topic TRANSCRIPT_TOPIC_ARN (the CDK
stack's TranscriptTopicArn) and, when the upload was created with a ``callback_url``, is
POSTed there. Neither can fail the transcription: a failed notification is logged.

A callback URL is the caller's choice, so it could make this service send requests where it
can reach and the caller cannot (SSRF). It must be https, or http to loopback (a developer's
own machine; CALLBACK_ALLOW_LOOPBACK, which the stack turns off), and every address its host
resolves to must be public: never loopback (unless allowed), nor in any block of IANA's
special-purpose registries (private, link-local such as 169.254.169.254, shared, 192.0.0.0/24,
documentation, ...), multicast, or a cloud's metadata endpoint (service/special_addresses.py).
Checked when the upload is created and again at delivery, since a name may resolve elsewhere
by then; the delivery connects to the address it checked, TLS verified against the
name."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import ipaddress
import json
import logging
import socket
import ssl
import time
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as ResolveTimeout
from dataclasses import dataclass
from functools import cached_property
from typing import NoReturn
from urllib.parse import quote, urlsplit

from speech_api import __version__
from speech_api.config import Settings
from speech_api.errors import InvalidRequestError
from speech_api.service.callback_delivery import QueuedDelivery, background_delivery
from speech_api.service.special_addresses import refused_because

# A callback is tried this many times (waiting 1 s, then 2 s), each within CALLBACK_TIMEOUT_S.
CALLBACK_ATTEMPTS = 3
# What became of a delivery.
DELIVERED, RETRY, GIVEN_UP = "delivered", "retry", "given_up"


logger = logging.getLogger("speech_api.notify")

MESSAGE_VERSION = 1
COMPLETED = "transcript.completed"
FAILED = "transcript.failed"
# The upload's S3 user metadata that carries its callback URL (set by the upload form).
CALLBACK_METADATA = "callback-url"
SIGNATURE_HEADER = "X-Speech-API-Signature"
# Answers worth another try; any other non-2xx (a redirect included: never followed) is final.
_RETRIED = {408, 425, 429, 500, 502, 503, 504}
_resolver = ThreadPoolExecutor(max_workers=4, thread_name_prefix="callback-dns")


def transcript_path(upload_id: str) -> str:
    """The API route of an upload's transcript."""
    return "/transcripts/" + quote(upload_id, safe="/")


def transcript_message(record: dict) -> dict:
    """The message for a stored record: the transcript (``<id>.json``) or the failure
    (``<id>.error.json``, whose ``error`` is what GET /transcripts/{id} answers with 422)."""
    error = record.get("error")
    return {
        "type": FAILED if error else COMPLETED,
        "version": MESSAGE_VERSION,
        "id": record["id"],
        "source_key": record["source_key"],
        "etag": record["etag"],
        "transcript_url": transcript_path(record["id"]),
        "language": None if error else record.get("language"),
        "duration_s": None if error else record.get("duration_s"),
        "error": error or None,
        "created_at": record["created_at"],
    }


@dataclass(frozen=True)
class CallbackTarget:
    """A checked callback URL, and the addresses its host resolved to: what to connect to."""

    scheme: str
    host: str  # the name (or literal address) as given, lowercase, without brackets
    netloc: str  # the Host header
    target: str  # path and query
    port: int
    addresses: tuple[ipaddress.IPv4Address | ipaddress.IPv6Address, ...]
    literal: bool  # the host is an address, not a name

    def pinned_urls(self) -> list[str]:
        """The URL with each checked address in place of the host, in resolver order."""
        shown = (f"[{a}]" if a.version == 6 else str(a) for a in self.addresses)
        return [f"{self.scheme}://{a}:{self.port}{self.target}" for a in shown]


def check_callback_url(
    url: str, *, allow_loopback: bool, resolve_timeout_s: float = 2.0
) -> CallbackTarget:
    """The URL's target, or InvalidRequestError (400 ``invalid_callback_url``) saying why it
    is refused. Resolves the host (at most ``resolve_timeout_s``)."""
    if not url.isascii() or any(ch.isspace() or not ch.isprintable() for ch in url):
        _refuse("must be ASCII without spaces or control characters (IDN hosts in punycode)")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        _refuse("is not a valid URL")
    scheme = parts.scheme.lower()
    if scheme not in ("https", "http"):
        _refuse("must be an https URL")
    if "@" in parts.netloc:
        _refuse("must not carry credentials (user:password@)")
    host = (parts.hostname or "").lower()
    if not host:
        _refuse("has no host")
    literal = _address(host)
    loopback_name = host == "localhost" or host.endswith(".localhost")
    if scheme == "http" and not (
        allow_loopback and (loopback_name or (literal is not None and literal.is_loopback))
    ):
        _refuse(
            "must be https (http only to this machine: localhost, 127.0.0.1, [::1])"
            if allow_loopback
            else "must be https"
        )
    port = port or (443 if scheme == "https" else 80)
    addresses = [literal] if literal is not None else _resolve(host, port, resolve_timeout_s)
    for address in addresses:
        why = _not_public(address, allow_loopback)
        if why is None and scheme == "http" and not _effective(address).is_loopback:
            why = "non-loopback"
        if why is not None:
            shown = host if literal is not None else f"{host}, which resolves to {address}"
            _refuse(
                f"goes to {shown} ({why} address); callbacks go to public addresses only"
                + (" or to this machine" if allow_loopback else "")
            )
    return CallbackTarget(
        scheme=scheme,
        host=host,
        netloc=parts.netloc,
        target=(parts.path or "/") + (f"?{parts.query}" if parts.query else ""),
        port=port,
        addresses=tuple(addresses),
        literal=literal is not None,
    )


def _refuse(why: str) -> NoReturn:
    raise InvalidRequestError(
        f"callback_url {why}.", param="callback_url", code="invalid_callback_url"
    )


def _address(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def _resolve(host: str, port: int, timeout_s: float) -> list:
    """Every address the name resolves to (each must pass: a name with one public and one
    private address is refused). Bounded in time: the API answers within its own timeout."""
    try:
        found = _resolver.submit(socket.getaddrinfo, host, port, type=socket.SOCK_STREAM).result(
            timeout=timeout_s
        )
    except (OSError, UnicodeError, ResolveTimeout):
        _refuse(f"has a host that does not resolve ({host})")
    addresses = [ipaddress.ip_address(info[4][0].split("%", 1)[0]) for info in found]
    return list(dict.fromkeys(addresses)) or _refuse(f"has a host that does not resolve ({host})")


def _effective(address):
    """An IPv4-mapped IPv6 address is the IPv4 address it maps."""
    return getattr(address, "ipv4_mapped", None) or address


def _not_public(address, allow_loopback: bool) -> str | None:
    """Why the address may not be called back (None: it may): service/special_addresses.py."""
    return refused_because(address, allow_loopback=allow_loopback)


class Notifier:
    """Sends an upload's message where it is wanted: the topic (if configured) and the
    upload's callback URL (if it has one), the callback apart from the caller (its own queue
    or thread: service/callback_delivery.py). Never raises."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.topic_arn = settings.transcript_topic_arn
        self.allow_loopback = settings.callback_allow_loopback
        self.timeout_s = settings.callback_timeout_s
        self.secret = settings.callback_secret

    def check(self, url: str) -> str:
        """The URL, if a callback may go there (else InvalidRequestError)."""
        check_callback_url(url, allow_loopback=self.allow_loopback)
        return url

    def send(self, message: dict, callback_url: str | None) -> None:
        body = json.dumps(message).encode("utf-8")
        if self.topic_arn:
            self._publish(message, body)
        if callback_url:
            self.call_back(message, callback_url)

    @cached_property
    def _queue(self) -> QueuedDelivery:
        from speech_api.storage import aws_client

        return QueuedDelivery(self.settings.callback_queue_url, aws_client("sqs", self.settings))

    def call_back(self, message: dict, callback_url: str) -> None:
        """The callback alone (no topic message; also for a second caller of the same work),
        handed to its own queue or thread: delivery never holds up the caller."""
        what = f"{message['type']} of {message['id']}"
        try:
            if self.settings.callback_queue_url:
                self._queue.submit(callback_url, message)
            else:
                background_delivery().submit(lambda: self.deliver(callback_url, message), what)
        except Exception:  # whatever happens to a callback, the transcript stands
            logger.exception("callback for %s not handed over", what)

    @cached_property
    def _sns(self):
        from botocore.config import Config

        from speech_api.storage import aws_client

        s3 = self.settings.s3
        config = Config(
            connect_timeout=s3.connect_timeout_s,
            read_timeout=s3.read_timeout_s,
            retries={"max_attempts": s3.max_attempts, "mode": "standard"},
        )
        return aws_client("sns", self.settings, config=config)

    def _publish(self, message: dict, body: bytes) -> None:
        try:
            self._sns.publish(
                TopicArn=self.topic_arn,
                Message=body.decode("utf-8"),
                Subject=f"speech-api {message['type']}",
                # Subscriptions may filter on it (e.g. only failures to an email address).
                MessageAttributes={"type": {"DataType": "String", "StringValue": message["type"]}},
            )
        except Exception:  # the transcript is written; its notification is best effort
            logger.exception("publishing %s of %s failed", message["type"], message["id"])

    async def deliver(self, url: str, message: dict, attempts: int = CALLBACK_ATTEMPTS) -> str:
        """POST the message to ``url``: up to ``attempts`` tries (waiting 1 s, then 2 s),
        each within CALLBACK_TIMEOUT_S. Returns DELIVERED, RETRY (worth another try later) or
        GIVEN_UP (refused, or an answer that another try would not change)."""
        what = f"{message['type']} of {message['id']}"
        body = json.dumps(message).encode("utf-8")
        try:
            # Resolved and checked once, then connected to: a name that resolves elsewhere by
            # the time of the request cannot redirect it.
            target = await asyncio.to_thread(
                check_callback_url,
                url,
                allow_loopback=self.allow_loopback,
                resolve_timeout_s=self.timeout_s,
            )
        except InvalidRequestError as exc:
            logger.warning("callback for %s not sent: %s", what, exc.message)
            return GIVEN_UP
        outcome = GIVEN_UP
        for attempt in range(attempts):
            if attempt:
                await asyncio.sleep(2 ** (attempt - 1))
            try:
                status = await _post(target, body, self._headers(message, body), self.timeout_s)
            except Exception as exc:  # refused, reset, TLS, timed out: worth another try
                logger.warning("callback for %s failed: %s", what, f"{type(exc).__name__}: {exc}")
                outcome = RETRY
                continue
            if 200 <= status < 300:
                return DELIVERED
            logger.warning("callback for %s answered %s", what, status)
            if status not in _RETRIED:
                return GIVEN_UP
            outcome = RETRY
        return outcome

    def _headers(self, message: dict, body: bytes) -> dict[str, str]:
        headers = {
            "Content-Type": "application/json",
            "User-Agent": f"speech-api/{__version__}",
            "X-Speech-API-Event": message["type"],
        }
        if self.secret is not None:
            timestamp = str(int(time.time()))
            digest = hmac.new(
                self.secret.get_secret_value().encode("utf-8"),
                timestamp.encode("ascii") + b"." + body,
                hashlib.sha256,
            ).hexdigest()
            headers[SIGNATURE_HEADER] = f"t={timestamp},v1={digest}"
        return headers


async def _post(target: CallbackTarget, body: bytes, headers: dict[str, str], timeout_s) -> int:
    """POST to a checked address (the next one when one cannot be reached: localhost may be
    ::1 and 127.0.0.1), the whole exchange within ``timeout_s`` (a server that trickles its
    answer cannot hold the worker); returns the status, the body unread."""
    import httpx

    # trust_env=False: no proxy from the environment (it would resolve the name itself).
    async with (
        asyncio.timeout(timeout_s),
        httpx.AsyncClient(
            verify=_tls_context(), trust_env=False, follow_redirects=False, timeout=timeout_s
        ) as client,
    ):
        unreachable: list[httpx.ConnectError] = []
        for url in target.pinned_urls():
            try:
                async with client.stream(
                    "POST",
                    url,
                    content=body,
                    headers={**headers, "Host": target.netloc},
                    # TLS names the host, and its certificate is verified against that name.
                    extensions={} if target.literal else {"sni_hostname": target.host},
                ) as response:
                    return response.status_code
            except httpx.ConnectError as exc:
                unreachable.append(exc)
        raise unreachable[-1]


def _tls_context() -> ssl.SSLContext:
    """The system's trusted CAs (OpenSSL honours SSL_CERT_FILE and SSL_CERT_DIR), certifi's
    where the system has none."""
    context = ssl.create_default_context()
    if not context.cert_store_stats()["x509_ca"]:
        import certifi

        context.load_verify_locations(cafile=certifi.where())
    return context
