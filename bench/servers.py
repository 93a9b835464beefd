"""Our server as the benchmarks start it, in a module of its own so that bench/run.py and the
benchmarks it runs (realtime, tail) each import it without importing one another."""

from __future__ import annotations

import tempfile
from pathlib import Path

from devkit.server import ServerProcess, speech_api_serve

REPO = Path(__file__).resolve().parents[1]


def ours(model: str, **env) -> ServerProcess:
    """`speech-api serve` with ``model``, started and serving."""
    # A fresh data directory and any free S3 port: figures must not depend on what earlier
    # runs left in the embedded S3 (`serve` keeps its objects in DATA_DIR).
    data_dir = tempfile.mkdtemp(prefix="speech-api-bench-")
    server = speech_api_serve(
        REPO,
        STT_MODEL=model,
        LOG_LEVEL="warning",
        DATA_DIR=data_dir,
        EMBEDDED_S3_PORT="0",
        **env,
    )
    server.start()
    return server
