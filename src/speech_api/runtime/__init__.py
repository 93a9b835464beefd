"""Where the app runs: Lambda (aws_lambda), the embedded local default (local), the `speech-api`
command (cli), and the image build step that fetches models (prefetch)."""
