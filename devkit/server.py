"""Servers on loopback for tests and benchmarks: a free port, an environment without the
service's own settings, and one way to run a server as its own process.

`speech_api_serve` is `speech-api serve` (what `make serve` runs); `ServerProcess` runs any
command that serves HTTP (the benchmark's peers too). A server in its own process is what a
test needs when it measures that process (memory, a crash, its console output); tests that only
need real sockets run the app in this process (tests/support/live_server.py)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx

# The variables that configure the service (config.py's groups, the embedded S3, the data
# directory): a server started for a test or a benchmark gets only those it is given.
SERVICE_SETTINGS = ("AWS_", "S3_", "STT_", "TTS_", "PUBLIC_", "MAX_", "DATA_", "EMBEDDED_")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def clean_env(**env: str) -> dict[str, str]:
    """This process's environment without the service's settings, plus ``env``."""
    kept = {k: v for k, v in os.environ.items() if not k.startswith(SERVICE_SETTINGS)}
    return {**kept, **env}


def wait_until_up(url: str, *, exited: Callable[[], str | None], timeout_s: float) -> float:
    """Poll ``url`` until it answers 200; seconds it took. ``exited`` says why the server is
    gone (its output) or None while it runs. One request may take long (a readiness route
    loads the models); until the server listens, each is refused at once."""
    started = time.monotonic()
    while (left := timeout_s - (time.monotonic() - started)) > 0:
        gone = exited()
        if gone is not None:
            raise RuntimeError(f"the server exited before {url} answered:\n{gone[-3000:]}")
        try:
            if httpx.get(url, timeout=max(left, 1)).status_code == 200:
                return time.monotonic() - started
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer within {timeout_s:.0f} s")


class ServerProcess:
    """A command serving HTTP on a port of its own, started and waited for on ``health``.

    ``{port}`` in the arguments and in the environment's values is the chosen port. The
    command's output (stdout and stderr) is read as it comes and kept: ``output()``. The port
    stays the same across `start`, `crash` and `start` again.
    """

    def __init__(
        self,
        args: list[str],
        env: dict[str, str],
        *,
        cwd: Path | str,
        health: str = "/health",
        timeout_s: float = 120,
        port: int | None = None,
    ):
        self.port = port or free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.args = [a.replace("{port}", str(self.port)) for a in args]
        self.env = {k: v.replace("{port}", str(self.port)) for k, v in env.items()}
        self.cwd, self.health, self.timeout_s = cwd, health, timeout_s
        self.proc: subprocess.Popen | None = None
        self.runs = 0
        self._output = bytearray()

    def start(self) -> str:
        """Start the command and wait until it serves; the output it printed until then."""
        self.runs += 1
        self._output = bytearray()
        self.proc = subprocess.Popen(
            self.args, cwd=self.cwd, env=self.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
        )
        # Read as it comes: a pipe nobody reads fills up and stops the server mid-write.
        self._reader = threading.Thread(
            target=self._read, args=(self.proc.stdout, self._output), daemon=True
        )
        self._reader.start()
        wait_until_up(
            self.base_url + self.health,
            exited=lambda: self.output() if self.proc.poll() is not None else None,
            timeout_s=self.timeout_s,
        )
        return self.output()

    @staticmethod
    def _read(pipe, into: bytearray) -> None:
        for line in iter(pipe.readline, b""):
            into.extend(line)
        pipe.close()

    def output(self) -> str:
        """Everything the current run has printed so far (stdout and stderr)."""
        return self._output.decode(errors="replace")

    def stop(self) -> str:
        """Ask the server to stop (SIGTERM), kill it if it does not; its whole output."""
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        if self.proc:
            # The last lines, printed on the way out (a child that outlives the server may
            # hold the pipe open: not waited for long).
            self._reader.join(timeout=2)
        return self.output()

    def crash(self) -> None:
        """SIGKILL: no shutdown code runs."""
        self.proc.kill()
        self.proc.wait(timeout=10)

    def __enter__(self) -> ServerProcess:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    # --- memory, for tests and benchmarks that measure the server ---------------------------

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

    def family_rss_mb(self) -> float:
        return family_rss_mb(self.proc.pid)

    def family_memory_mb(self) -> float:
        """Memory of the server and every process it started (the decoding helper and its
        children), so memory that moved out of the server still counts. Proportional (PSS):
        a forked child shares its parent's pages, and summing RSS would count them once per
        child (16 decoding children read +390 MB of RSS, nearly all of it shared)."""
        return family_memory(self.proc.pid)[1]


def family_memory(pid: int) -> tuple[float, float, float, int]:
    """(RSS summed, PSS summed, the process's own RSS, processes counted) in MB, over a process
    and every process it started.

    PSS is the honest total: the decoding helper forks a child per decode, each sharing its
    parent's pages, so the RSS sum counts those pages once per child alive at the instant (a
    figure that swings by hundreds of MB between two samples under load)."""
    import psutil

    rss = pss = own = 0.0
    count = 0
    try:
        server = psutil.Process(pid)
        own = server.memory_info().rss
        for proc in [server, *server.children(recursive=True)]:
            try:
                info = proc.memory_full_info()
            except psutil.Error:  # a decoding child that has just ended
                continue
            rss += info.rss
            pss += info.pss
            count += 1
    except psutil.Error:
        pass
    return round(rss / 2**20, 1), round(pss / 2**20, 1), round(own / 2**20, 1), count


def family_rss_mb(pid: int) -> float:
    """RSS of a process and every process it started, summed (what `make bench` reports for
    each server, ours and the peers alike)."""
    import psutil

    proc = psutil.Process(pid)
    procs = [proc, *proc.children(recursive=True)]
    return round(sum(p.memory_info().rss for p in procs if p.is_running()) / 2**20, 1)


def speech_api_serve(
    cwd: Path | str, *, health: str = "/health", port: int | None = None, **env: str
) -> ServerProcess:
    """`speech-api serve` (not started yet) with ``env`` over a clean environment; its
    banner is in `output()` as soon as it serves."""
    return ServerProcess(
        [sys.executable, "-m", "speech_api", "serve"],
        clean_env(PORT="{port}", PYTHONUNBUFFERED="1", **env),
        cwd=cwd,
        health=health,
        port=port,
    )
