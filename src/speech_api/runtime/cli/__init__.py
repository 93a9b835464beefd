"""The `speech-api` command: commands.py parses and runs it; the engines it uses sit behind one
interface (backend.py) with a local implementation (local_engines.py: the engines in this
process) and a remote one (remote.py: a running server's synchronous routes, remote_uploads.py:
its upload flow for long files, both through server.py). `serve` lives in runtime/serve.py."""

from speech_api.runtime.cli.commands import main

__all__ = ["main"]
