"""Where the app runs: Lambda (aws_lambda, its streaming runtime lambda_stream, the upload
worker's queue edge upload_batches), `speech-api serve` (serve) with the AWS stand-ins it runs
in-process when nothing is configured (embedded), the `speech-api` command (cli), and the image
build step that fetches models (prefetch)."""
