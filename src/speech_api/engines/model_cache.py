"""Housekeeping of the model cache (MODEL_CACHE_DIR) shared by the engines that write into it.

Every writer there (the Whisper join, engines/stt/whisper_models.py; the Piper voice copies,
engines/tts/piper_model_cache.py) builds a file or folder beside its final name, under a
name starting with a dot, and renames it into place. A process killed in between leaves that
staging entry behind, the size of a model (63 MB for a Piper voice, 145 MB for Whisper
`base`); writing takes seconds, so one an hour old is abandoned."""

from __future__ import annotations

import contextlib
import shutil
import time
from collections.abc import Iterable
from pathlib import Path

ABANDONED_AFTER_S = 3600


def remove_abandoned(staging: Iterable[Path]) -> None:
    """Remove those of the ``staging`` entries (files or folders) that are abandoned; a fresh
    one is a write under way elsewhere. What cannot be removed stays."""
    now = time.time()
    for path in staging:
        with contextlib.suppress(OSError):
            if now - path.stat().st_mtime > ABANDONED_AFTER_S:
                if path.is_dir():
                    shutil.rmtree(path, ignore_errors=True)
                else:
                    path.unlink()
