"""What a person at a terminal sees: progress bars and "wrote ..." lines on stderr. Piped, the
CLI is quiet except for its output and errors."""

from __future__ import annotations

import sys

# Files at least this long also get a progress bar over their audio seconds.
LONG_AUDIO_S = 20.0
_SECONDS_BAR = "{desc}: {percentage:3.0f}%|{bar}| {n:.0f}/{total:.0f} s audio"


def interactive() -> bool:
    """Progress and "wrote ..." lines only for a person at a terminal."""
    return sys.stderr.isatty()


def say(message: str) -> None:
    if interactive():
        from tqdm import tqdm

        tqdm.write(message, file=sys.stderr)


def seconds_bar(name: str, total_s: float, shown: bool):
    """A file's bar over its seconds of audio (shown for files of LONG_AUDIO_S or more)."""
    from tqdm import tqdm

    return tqdm(
        total=round(total_s, 1),
        desc=name,
        unit="s",
        leave=False,
        file=sys.stderr,
        disable=not shown or total_s < LONG_AUDIO_S,
        bar_format=_SECONDS_BAR,
    )


def size_text(n: int) -> str:
    """A byte count as people read it: 812 KB, 3.4 MB, 120 MB."""
    if n >= 10 * 1024**2:
        return f"{n / 1024**2:.0f} MB"
    return f"{n / 1024**2:.1f} MB" if n >= 1024**2 else f"{max(1, n // 1024)} KB"
