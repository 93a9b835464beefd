"""`speech-api serve` as its own process, pointed at the test S3, so tests of hostile input
measure the server's own memory (RSS, and its peak since a reset) and latency."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

import httpx


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ServerProcess:
    def __init__(self, env: dict[str, str], cwd):
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        clean = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("AWS_", "S3_", "STT_", "TTS_", "PUBLIC_", "MAX_"))
        }
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "speech_api", "serve"],
            cwd=cwd,
            env={**clean, "PORT": str(self.port), "LOG_LEVEL": "warning", **env},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )

    def __enter__(self) -> ServerProcess:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited: {self.proc.stderr.read()[-2000:]}")
            try:
                if httpx.get(f"{self.base_url}/ready", timeout=60).status_code == 200:
                    return self
            except httpx.HTTPError:
                time.sleep(0.2)
        raise RuntimeError("server did not become ready")

    def __exit__(self, *exc) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()

    def _status_mb(self, field: str) -> float:
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) / 1024
        raise KeyError(field)

    def rss_mb(self) -> float:
        return self._status_mb("VmRSS")

    def peak_rss_mb(self) -> float:
        return self._status_mb("VmHWM")

    def reset_peak(self) -> None:
        with open(f"/proc/{self.proc.pid}/clear_refs", "w") as f:
            f.write("5")  # resets VmHWM to the current RSS

    def family_memory_mb(self) -> float:
        """Memory of the server and every process it started (the decoding helper and its
        children), so memory that moved out of the server still counts. Proportional (PSS):
        a forked child shares its parent's pages, and summing RSS would count them once per
        child (16 decoding children read +390 MB of RSS, nearly all of it shared)."""
        import psutil

        total = 0
        try:
            server = psutil.Process(self.proc.pid)
            for proc in [server, *server.children(recursive=True)]:
                try:
                    total += proc.memory_full_info().pss
                except psutil.Error:  # a decoding child that has just ended
                    continue
        except psutil.Error:
            return 0.0
        return total / 1024 / 1024


class PeakSampler:
    """The highest `family_memory_mb` seen while the block runs, sampled every 10 ms."""

    def __init__(self, server: ServerProcess):
        import threading

        self.server = server
        self.peak = self.start = server.family_memory_mb()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.01):
            self.peak = max(self.peak, self.server.family_memory_mb())

    def __enter__(self) -> PeakSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
