"""Where the app runs: Lambda (aws_lambda), `speech-api serve` with the embedded local default
around it (serve, local), the `speech-api` command's client side (cli), and the image build
step that fetches models (prefetch)."""
