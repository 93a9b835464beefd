"""A work queue with its dead-letter queue, as every queue of the stack is built."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.nag import acknowledge


def queue_with_dead_letters(
    scope: Construct, name: str, *, visibility_timeout: Duration, max_receives: int
) -> tuple[sqs.Queue, sqs.Queue]:
    """(``name``, ``name``DeadLetter) in ``scope``: both encrypted with SQS's own key and
    refusing plain HTTP; a message moves to the dead letters after ``max_receives``
    receives, and stays there 14 days (the most SQS keeps one) for someone to look at.
    ``visibility_timeout``: at least 6x the consuming function's timeout, AWS's advice for
    SQS event sources, so a message is never handed to a second invocation while the first
    still runs."""
    dead_letters = sqs.Queue(
        scope,
        f"{name}DeadLetter",
        retention_period=Duration.days(14),
        encryption=sqs.QueueEncryption.SQS_MANAGED,
        enforce_ssl=True,
    )
    acknowledge(dead_letters, {"AwsSolutions-SQS3": "This is the dead-letter queue."})
    queue = sqs.Queue(
        scope,
        name,
        visibility_timeout=visibility_timeout,
        encryption=sqs.QueueEncryption.SQS_MANAGED,
        enforce_ssl=True,
        dead_letter_queue=sqs.DeadLetterQueue(max_receive_count=max_receives, queue=dead_letters),
    )
    return queue, dead_letters
