"""Rewritten copies of a Piper voice, each made once into the model cache.

Two copies exist (piper_timing_model.py: one that reports phoneme durations, for captions;
piper_blocked_model.py: one whose convolutions run on onnxruntime's blocked kernels, for the
one-thread speech-job workers). Both are made the same way: onnx loads the voice, a function
rewrites the graph, and each file is written beside its final name and renamed into place, so a
concurrent loader never reads half a file.

A copy is keyed by what the voice holds (a SHA-256 of the model's bytes and of its
``.onnx.json``, about 40 ms for a 63 MB voice, once per process): a voice or a config replaced
in place is rewritten again, and the same voice installed again (a new virtual environment, a
clean clone, a reinstalled wheel: a new path or modification time, the same bytes) finds the
copy already made. The key is taken from the very bytes the copy is made from, so a voice
replaced while its copy is being made cannot name a copy of the other. Keyed by size and
modification time, as it was, every install of the same voice added another 63 MB copy (a
gigabyte in a day of clean clones, measured); a folder's copies named that way, and files
left half-written by a process killed while writing (an hour old), are removed when the
folder gets its next copy.
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

from speech_api.engines.model_cache import remove_abandoned

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
    config = model.with_suffix(".onnx.json")
    key = _content_key(_stamp(model), _stamp(config))
    target = cache_dir / folder / f"{model.stem}-{key}.onnx"
    refused = target.with_suffix(".refused")
    if target.is_file() and target.with_suffix(".onnx.json").is_file():
        return target
    if refused.is_file():
        return model
    try:
        return _make(model, target.parent, rewrite)
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


def _make(model: Path, folder: Path, rewrite: Callable) -> Path:
    # Only here: onnx is a 30 MB import that a warm cache never needs.
    import onnx

    data = model.read_bytes()
    config = model.with_suffix(".onnx.json").read_bytes()
    target = folder / f"{model.stem}-{_key(hashlib.sha256(data).digest(), config)}.onnx"
    rewritten = onnx.load_from_string(data)
    del data
    rewrite(rewritten, model)
    _write(target.with_suffix(".onnx.json"), config)
    _write(target, rewritten.SerializeToString())
    _remove_leftovers(folder)
    return target


# A content key: "h" and hex digits; a copy's name never ends in a digit.
_KEY_CHARS = 20
# What the size-and-modification-time keys named: VOICE-SIZE-MTIME_NS.onnx, .onnx.json or
# .refused.
_STAT_KEYED = re.compile(r".+-[0-9]+-[0-9]+\.(onnx|onnx\.json|refused)")


def _stamp(path: Path) -> tuple[str, int, int]:
    stat = path.stat()
    return str(path), stat.st_size, stat.st_mtime_ns


@functools.lru_cache(maxsize=64)
def _content_key(model: tuple[str, int, int], config: tuple[str, int, int]) -> str:
    """The key of a voice as its files are now (their sizes and modification times only tell
    a file changed in place from the one hashed before, within this process)."""
    with open(model[0], "rb") as f:
        digest = hashlib.file_digest(f, "sha256").digest()
    return _key(digest, Path(config[0]).read_bytes())


def _key(model_digest: bytes, config: bytes) -> str:
    return "h" + hashlib.sha256(model_digest + config).hexdigest()[:_KEY_CHARS]


def _remove_leftovers(folder: Path) -> None:
    """Copies named by the older key and what killed writers abandoned (see the module's
    docstring and engines/model_cache.py); what cannot be removed stays. A process that
    loaded an old copy holds it in memory (onnxruntime reads the whole file), but one of an
    older version that found it and has not opened it yet fails that load (a restart mends
    it): removed only when a folder gets a new copy, this happens once, on the upgrade."""
    for path in folder.iterdir():
        if _STAT_KEYED.fullmatch(path.name):
            with contextlib.suppress(OSError):
                path.unlink()
    remove_abandoned(p for p in folder.iterdir() if p.name.startswith("."))


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
