"""The Callbacks function's queue edge: an SQS batch of callbacks (what `QueuedDelivery` put on
the callbacks queue) in, one delivery attempt each, the attempts worth another try out as
partial batch failures. SQS delivers those again after the queue's visibility timeout (the
backoff), and after CALLBACK_ATTEMPTS receives moves them to the queue's dead-letter queue; an
answer another try would not change (a 4xx, a refused URL) is not tried again.

Apart from the upload worker on purpose: a receiver that accepts the connection and never
answers costs this function CALLBACK_TIMEOUT_S, and no upload anything."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping

from speech_api.service.callback_delivery import queued_callback
from speech_api.service.notify import CALLBACK_ATTEMPTS, RETRY, Notifier

logger = logging.getLogger("speech_api.notify")


def deliver_callback_batch(event: dict, context, notifier: Notifier) -> dict:
    """{"batchItemFailures": [...]} for the callbacks worth another try."""
    records = event.get("Records") or []

    async def deliver_all() -> list[str]:
        async def one(record: Mapping) -> str | None:
            callback = queued_callback(record.get("body") or "")
            if callback is None:
                return None
            url, message = callback
            outcome = await notifier.deliver(url, message, attempts=1)
            received = int((record.get("attributes") or {}).get("ApproximateReceiveCount", 1))
            if outcome == RETRY and received < CALLBACK_ATTEMPTS:
                return record["messageId"]
            return None

        failed = await asyncio.gather(*(one(r) for r in records))
        return [m for m in failed if m is not None]

    failed = asyncio.run(deliver_all())
    return {"batchItemFailures": [{"itemIdentifier": m} for m in failed]}
