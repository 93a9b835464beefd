"""The stack's capabilities, one construct each, composed by `infra.stack.SpeechApiStack`."""
