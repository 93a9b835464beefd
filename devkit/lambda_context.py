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
