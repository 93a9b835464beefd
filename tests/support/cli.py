"""The `speech-api` command run as a user runs it: piped (`run_cli`) or on a terminal
(`run_on_a_terminal`, for what a person sees: progress bars, "wrote ..." lines)."""

from __future__ import annotations

import os
import subprocess
import sys


def run_cli(*args: str, env: dict | None = None, cwd=None) -> subprocess.CompletedProcess:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(("STT_", "TTS_"))}
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "speech_api", *args],
        capture_output=True,
        text=True,
        env=full_env,
        cwd=cwd,
        timeout=300,
    )


def run_on_a_terminal(*args: str, env: dict) -> tuple[int, str]:
    """Run the CLI with stderr on a pseudo-terminal (as a person sees it); return its exit
    code and what the terminal showed."""
    import fcntl
    import pty
    import struct
    import termios
    import threading

    master, slave = pty.openpty()
    # A terminal has a size (a fresh pty reports 0 x 0 columns).
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(("STT_", "TTS_"))}
    proc = subprocess.Popen(
        [sys.executable, "-m", "speech_api", *args],
        stdout=subprocess.DEVNULL,
        stderr=slave,
        env={**full_env, **env},
    )
    os.close(slave)
    shown = bytearray()

    def read() -> None:
        while True:
            try:
                chunk = os.read(master, 4096)
            except OSError:  # the terminal closed with the process
                return
            if not chunk:
                return
            shown.extend(chunk)

    reader = threading.Thread(target=read)
    reader.start()
    code = proc.wait(timeout=300)
    reader.join(timeout=10)
    os.close(master)
    return code, shown.decode(errors="replace")
