"""Where callbacks are delivered: apart from the transcription that produced them, so that a
receiver that accepts the connection and never answers costs other uploads nothing.

Delivered in the worker's own thread, each callback held the single worker for up to three
attempts of CALLBACK_TIMEOUT_S and their backoff (about 20 s), and the uploads behind it
waited: a 4 s clip uploaded after four such callbacks got its transcript after 81 s instead of
2.4 s. Now the worker only hands the message over:

* `BackgroundDelivery` (`speech-api serve`, containers): an event loop on a thread of its own
  delivers every callback concurrently, each with its attempts and backoff (up to
  MAX_PENDING_CALLBACKS in flight; past that a callback is dropped and logged, never waited
  for).
* `QueuedDelivery` (Lambda, where a thread stops with its invocation): the message goes to the
  callbacks queue (CALLBACK_QUEUE_URL, the CDK stack's), whose own function delivers it, one
  attempt per receive; SQS redelivers a failed attempt after its visibility timeout, and after
  CALLBACK_ATTEMPTS receives it moves to the queue's dead-letter queue.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from collections.abc import Awaitable, Callable

logger = logging.getLogger("speech_api.notify")

# Callbacks waiting or being delivered at once in one process, beyond which one is dropped.
MAX_PENDING_CALLBACKS = 1000
# Deliveries in progress at once (each is a connection and a few KB).
MAX_CONCURRENT_CALLBACKS = 64


class BackgroundDelivery:
    """Runs delivery coroutines on a private event loop thread, never blocking the caller."""

    def __init__(
        self,
        max_pending: int = MAX_PENDING_CALLBACKS,
        max_concurrent: int = MAX_CONCURRENT_CALLBACKS,
    ):
        self.max_pending = max_pending
        self._loop = asyncio.new_event_loop()
        self._slots = asyncio.Semaphore(max_concurrent)
        self._pending = 0
        self._changed = threading.Condition()
        threading.Thread(target=self._loop.run_forever, name="callbacks", daemon=True).start()

    def submit(self, deliver: Callable[[], Awaitable[object]], what: str) -> bool:
        """Start ``deliver()`` in the background; False (logged) when too many are pending."""
        with self._changed:
            if self._pending >= self.max_pending:
                logger.warning("callback for %s dropped: %d pending", what, self._pending)
                return False
            self._pending += 1
        asyncio.run_coroutine_threadsafe(self._run(deliver, what), self._loop)
        return True

    async def _run(self, deliver: Callable[[], Awaitable[object]], what: str) -> None:
        try:
            async with self._slots:
                await deliver()
        except Exception:  # whatever happens to a callback, nothing else is affected
            logger.exception("callback for %s failed", what)
        finally:
            with self._changed:
                self._pending -= 1
                self._changed.notify_all()

    @property
    def pending(self) -> int:
        return self._pending

    def drain(self, timeout_s: float) -> bool:
        """Wait until no delivery is pending (tests, and a server shutting down)."""
        with self._changed:
            return self._changed.wait_for(lambda: self._pending == 0, timeout_s)


_background: BackgroundDelivery | None = None
_background_lock = threading.Lock()


def background_delivery() -> BackgroundDelivery:
    """This process's one background delivery."""
    global _background
    with _background_lock:
        if _background is None:
            _background = BackgroundDelivery()
        return _background


class QueuedDelivery:
    """Hands callbacks to the callbacks queue; the Callbacks function delivers them."""

    def __init__(self, queue_url: str, sqs):
        self.queue_url = queue_url
        self._sqs = sqs

    def submit(self, url: str, message: dict) -> None:
        body = json.dumps({"url": url, "message": message})
        self._sqs.send_message(QueueUrl=self.queue_url, MessageBody=body)


def queued_callback(body: str) -> tuple[str, dict] | None:
    """The URL and message a callbacks-queue message carries, or None (logged) if it is not
    one (retrying it would fail the same way)."""
    try:
        payload = json.loads(body)
        url, message = payload["url"], payload["message"]
        if isinstance(url, str) and isinstance(message, dict) and "type" in message:
            return url, message
    except (ValueError, TypeError, KeyError):
        pass
    logger.warning("ignoring a callbacks-queue message that is not a callback")
    return None
