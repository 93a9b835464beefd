"""The app on a real Uvicorn server in this process (a thread): real sockets, chunked bodies,
streamed responses, without a process of its own (devkit/server.py runs one where a test
needs that: its memory, a crash, its console output)."""

from __future__ import annotations

import threading
import time

# The key of the keyed servers the tests start (conftest's `keyed_url`, the OpenAI SDK's).
API_KEY = "sk-test-speech-api"


class LiveServer:
    def __init__(self, app, port: int = 0):
        import uvicorn

        self.server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
        )
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 15
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.02)
        sock = self.server.servers[0].sockets[0]
        self.base_url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        return self

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
