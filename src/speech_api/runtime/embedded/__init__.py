"""What `speech-api serve` runs in-process in place of AWS when nothing is configured: S3 (`s3`,
its objects kept on disk by `persistence`, signatures checked by `access`) and the upload
queue with its worker (`sqs`)."""
