"""The context object Lambda passes, for invoking handlers outside Lambda."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field


@dataclass
class LocalLambdaContext:
    function_name: str = "speech-api-local"
    memory_limit_in_mb: int = 3008
    aws_request_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:speech-api-local"
    log_group_name: str = "/aws/lambda/speech-api-local"
    log_stream_name: str = "local"
    function_version: str = "$LATEST"
    timeout_ms: int = 900_000

    def get_remaining_time_in_millis(self) -> int:
        return self.timeout_ms


def with_context(handler):
    """A Lambda handler as ``(event, context)`` callers without a context (the local queue
    worker) can call: each invocation gets a fresh context, as Lambda gives it."""

    def invoke(event, _context=None):
        return handler(event, LocalLambdaContext())

    return invoke
