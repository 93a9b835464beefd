"""API Gateway (REST v1 and HTTP API v2) -> the FastAPI app: `handler` answers whole
(awslambdaric), `stream_handler` streams (speech_api.runtime.lambda_stream)."""

from aws_lambda_powertools.logging import correlation_paths

from speech_api.runtime.aws_lambda import (
    handle_api_event,
    initialize,
    logger,
    metrics,
    stream_api_event,
    tracer,
)

initialize()  # loads models now only under provisioned concurrency


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics(capture_cold_start_metric=True)
def handler(event, context):
    return handle_api_event(event, context)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics(capture_cold_start_metric=True)
def stream_handler(event, context):
    """For the streaming runtime (speech_api.runtime.lambda_stream), behind STREAM
    integrations: the decorators see the call that starts the response, not its streaming."""
    return stream_api_event(event, context)
