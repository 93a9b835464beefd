"""Rewritten copies of a Piper voice, each made once into the model cache.

Two copies exist (piper_timing_model.py: one that reports phoneme durations, for captions;
piper_blocked_model.py: one whose convolutions run on onnxruntime's blocked kernels, for the
one-thread speech-job workers). Both are made the same way: onnx loads the voice, a function
rewrites the graph, and the result is written beside its final name and renamed into place, so a
concurrent loader never reads half a file. The copy is keyed by the voice file's size and
modification time, so a voice replaced in place is rewritten again.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

logger = logging.getLogger("speech_api.engines.piper")


def cached_copy(model: Path, cache_dir: Path, folder: str, rewrite: Callable) -> Path:
    """Path of ``model`` as ``rewrite`` makes it (with its ``.onnx.json`` beside it), under
    ``cache_dir/folder``; the model itself where ``rewrite`` raises ValueError (it does not
    apply to this voice). ``rewrite(onnx_model, path)`` changes the loaded ModelProto in place
    (``path``: the voice file, for checks that run it)."""
    stat = model.stat()
    target = cache_dir / folder / f"{model.stem}-{stat.st_size}-{stat.st_mtime_ns}.onnx"
    if target.is_file() and target.with_suffix(".onnx.json").is_file():
        return target

    # Only here: onnx is a 30 MB import that a warm cache never needs.
    import onnx

    rewritten = onnx.load(str(model))
    try:
        rewrite(rewritten, model)
    except ValueError as exc:
        logger.info("%s: no %s copy (%s); the voice itself is used", model.name, folder, exc)
        return model
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, staging = tempfile.mkstemp(prefix=f".{target.stem}-", dir=target.parent)
    os.close(fd)
    try:
        onnx.save(rewritten, staging)
        os.chmod(staging, 0o644)  # mkstemp makes it private; the cache is shared
        shutil.copyfile(model.with_suffix(".onnx.json"), target.with_suffix(".onnx.json"))
        os.replace(staging, target)
    finally:
        Path(staging).unlink(missing_ok=True)
    return target
