"""The `speech-api` command: commands.py parses and runs it; the engines it uses sit behind one
interface (backend.py) with a local (local.py) and a remote (remote.py, uploads.py)
implementation. `serve` lives in runtime/serve.py."""

from speech_api.runtime.cli.commands import main

__all__ = ["main"]
