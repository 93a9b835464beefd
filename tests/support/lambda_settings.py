"""The Lambda handlers' composition root started over with a test's settings (as a new
container reads its environment), and with the environment's again afterwards."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from speech_api.config import Settings


@contextmanager
def lambda_configured(settings: Settings) -> Iterator[Settings]:
    from speech_api.runtime import aws_lambda

    aws_lambda.configure(settings)
    try:
        yield settings
    finally:
        aws_lambda.configure()
