"""Property-based requests generated from the app's own OpenAPI schema (schemathesis): no
input it describes may cause a 500, and every response must match the documented schema."""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from speech_api.api import create_app

EXAMPLES_PER_OPERATION = 15


def test_no_server_errors_and_responses_match_the_schema(default_settings):
    import uuid

    from speech_api.runtime.speech_job_worker import prepare_queue

    # As `make serve` runs it: speech jobs have their queue (no worker takes them here).
    queue = prepare_queue(default_settings, name=f"fuzz-jobs-{uuid.uuid4().hex[:8]}")
    app_settings = default_settings.model_copy(
        update={
            "speech_jobs_queue_url": queue.url,
            "speech_jobs_prefix": f"speech-jobs/fuzz-{uuid.uuid4().hex[:6]}/",
        }
    )
    schema = schemathesis.openapi.from_asgi("/openapi.json", create_app(app_settings))
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 10
    tried, calls, statuses = [], [], set()
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def run(case):
            response = case.call_and_validate(
                checks=[not_a_server_error, response_schema_conformance]
            )
            calls.append(case.operation.label)
            statuses.add(response.status_code)

        run()
        tried.append(operation.label)
    assert len(calls) >= 5 * len(operations)  # it really exercised every operation
    assert 200 in statuses and any(400 <= s < 500 for s in statuses)
    print(
        f"\nschemathesis: {len(tried)} operations, {len(calls)} requests, statuses "
        f"{sorted(statuses)}"
    )
