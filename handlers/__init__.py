"""Lambda entry points: a decorator stack and one call into speech_api.runtime.aws_lambda."""
