"""SQS (S3 ObjectCreated under uploads/) -> the upload's transcript under transcripts/, with a
progress record while it runs (recordings of any length up to LONG_AUDIO_MAX_SECONDS; the
records: speech_api.service.transcript_store)."""

from speech_api.runtime.aws_lambda import handle_upload_batch, logger, metrics, tracer


@logger.inject_lambda_context
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics(capture_cold_start_metric=True)
def handler(event, context):
    return handle_upload_batch(event, context)
