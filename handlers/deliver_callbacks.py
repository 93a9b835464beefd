"""SQS (the callbacks queue the upload worker hands its callbacks to) -> each callback POSTed to
its URL, one attempt per receive; SQS retries the failed ones after its visibility timeout and
dead-letters them after CALLBACK_ATTEMPTS (speech_api.runtime.callback_batches)."""

from speech_api.runtime.aws_lambda import handle_callback_batch, logger, metrics, tracer


@logger.inject_lambda_context
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def handler(event, context):
    return handle_callback_batch(event, context)
