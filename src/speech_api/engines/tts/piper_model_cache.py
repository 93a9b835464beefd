"""Rewritten copies of a Piper voice, each made once into the model cache.

Two copies exist (piper_timing_model.py: one that reports phoneme durations, for captions;
piper_blocked_model.py: one whose convolutions run on onnxruntime's blocked kernels, for the
one-thread speech-job workers). Both are made the same way: onnx loads the voice, a function
rewrites the graph, and each file is written beside its final name and renamed into place, so a
concurrent loader never reads half a file.

A copy is keyed by what the voice file holds (a SHA-256 of its bytes, about 40 ms for a 63 MB
voice, once per process): a voice replaced in place is rewritten again, and the same voice
installed again (a new virtual environment, a clean clone, a reinstalled wheel: a new path or
modification time, the same bytes) finds the copy already made. Keyed by size and
modification time, as it was, every install of the same voice added another 63 MB copy (a
gigabyte in a day of clean clones, measured); those older copies are removed when a folder
gets its next copy. A change to a rewrite names a new folder.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import logging
import os
import re
import tempfile
from collections.abc import Callable
from pathlib import Path

logger = logging.getLogger("speech_api.engines.piper")


def cached_copy(
    model: Path, cache_dir: Path, folder: str, rewrite: Callable, *, optional: bool = False
) -> Path:
    """Path of ``model`` as ``rewrite`` makes it (with its ``.onnx.json`` beside it), under
    ``cache_dir/folder``; the model itself where ``rewrite`` raises ValueError (it does not
    apply to this voice: remembered, so the next load does not try again). ``rewrite(onnx_model,
    path)`` changes the loaded ModelProto in place (``path``: the voice file, for checks that
    run it). An ``optional`` copy (one that only makes synthesis faster) also falls back to the
    model on any other failure, a full or read-only cache included, rather than stop the
    engine from loading."""
    stat = model.stat()
    key = _content_key(str(model), stat.st_size, stat.st_mtime_ns)
    target = cache_dir / folder / f"{model.stem}-{key}.onnx"
    refused = target.with_suffix(".refused")
    if target.is_file() and target.with_suffix(".onnx.json").is_file():
        return target
    if refused.is_file():
        return model
    try:
        return _make(model, target, rewrite)
    except ValueError as exc:
        logger.info("%s: no %s copy (%s); the voice itself is used", model.name, folder, exc)
        # Remembered where the cache can be written; where it cannot, tried again next load.
        with contextlib.suppress(OSError):
            _write(refused, str(exc).encode())
        return model
    except Exception:
        if not optional:
            raise
        logger.warning("%s: no %s copy; the voice used as it is", model.name, folder, exc_info=True)
        return model


def _make(model: Path, target: Path, rewrite: Callable) -> Path:
    # Only here: onnx is a 30 MB import that a warm cache never needs.
    import onnx

    rewritten = onnx.load(str(model))
    rewrite(rewritten, model)
    _write(target.with_suffix(".onnx.json"), model.with_suffix(".onnx.json").read_bytes())
    _write(target, rewritten.SerializeToString())
    _remove_stat_keyed(target.parent)
    return target


# A content key: "h" and hex digits, never mistaken for the size-and-time key it replaced.
_KEY_CHARS = 20
# What the size-and-modification-time keys named: VOICE-SIZE-MTIME_NS.onnx, .onnx.json or
# .refused (a nanosecond time has 19 digits).
_STAT_KEYED = re.compile(r".+-[0-9]+-[0-9]{16,}\.(onnx|onnx\.json|refused)")


@functools.lru_cache(maxsize=64)
def _content_key(path: str, size: int, mtime_ns: int) -> str:
    """The key of the file at ``path`` as it is now (``size`` and ``mtime_ns`` only tell a
    file changed in place from the one hashed before, within this process)."""
    with open(path, "rb") as f:
        return "h" + hashlib.file_digest(f, "sha256").hexdigest()[:_KEY_CHARS]


def _remove_stat_keyed(folder: Path) -> None:
    """Copies named by the older key (see the module's docstring). A process that loaded one
    holds it in memory (onnxruntime reads the whole file at load), so removing it is safe;
    what cannot be removed stays."""
    for path in folder.iterdir():
        if _STAT_KEYED.fullmatch(path.name):
            with contextlib.suppress(OSError):
                path.unlink()


def _write(path: Path, data: bytes) -> None:
    """``data`` at ``path``, written beside it and renamed into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, staging = tempfile.mkstemp(prefix=f".{path.name}-", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(staging, 0o644)  # mkstemp makes it private; the cache is shared
        os.replace(staging, path)
    finally:
        Path(staging).unlink(missing_ok=True)
