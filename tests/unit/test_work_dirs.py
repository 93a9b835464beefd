"""The upload worker's scratch folders: what a killed attempt left is cleared, what another
live process (a second server, the CLI) is using on the same /tmp is not."""

import os
import subprocess
import sys

from speech_api.service import upload_jobs as uploads


def _folder(root, pid):
    path = root / f"{uploads._WORK_PREFIX}{pid}-abc123"
    path.mkdir()
    (path / "audio.pcm").write_bytes(b"\0" * 16)
    return path


def test_stale_work_of_dead_processes_is_cleared_but_a_live_process_keeps_its_own(tmp_path):
    finished = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    dead = _folder(tmp_path, int(finished.stdout))
    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        in_use = _folder(tmp_path, live.pid)
        # Our own number on a folder left before this process's first use: an earlier
        # sandbox's process (Lambda restarts its runtime with the same pid after a timeout).
        reused = _folder(tmp_path, os.getpid())
        uploads._clear_stale_work.__wrapped__(tmp_path)
        assert not dead.exists() and not reused.exists()
        assert (in_use / "audio.pcm").exists()
    finally:
        live.kill()
        live.wait()
