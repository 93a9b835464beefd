"""SQS (speech job steps: plan, part, assemble; and S3 ObjectCreated under texts/) -> the job's
audio under public/tts/ (speech_api.service.speech_jobs)."""

from speech_api.runtime.aws_lambda import logger, metrics, tracer
from speech_api.runtime.speech_job_worker import handle_speech_job_batch


@logger.inject_lambda_context
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics(capture_cold_start_metric=True)
def handler(event, context):
    return handle_speech_job_batch(event, context)
