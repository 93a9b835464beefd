"""What this machine gives the process: how many cores it may run on (a container's or a
Lambda's share, not the host's), for sizing thread pools and concurrent work."""

from __future__ import annotations

import os


def usable_cores() -> int:
    """CPU cores this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)
