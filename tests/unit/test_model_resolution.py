"""Whisper model names resolve to bundled weights; the split `base` model is joined once,
atomically, into the cache."""

import os
import threading
import time
from pathlib import Path

import pytest

from speech_api.engines.stt import whisper_models as whisper
from speech_api.engines.stt.whisper_models import resolve_model


def make_split_packages(root: Path, parts: list[bytes]) -> dict[str, Path]:
    dirs = {}
    for i, content in enumerate(parts, start=1):
        pkg = root / f"pkg{i}"
        (pkg / "data").mkdir(parents=True)
        (pkg / "data" / f"model.bin.part{i}").write_bytes(content)
        dirs[f"pkg{i}"] = pkg
    (dirs[f"pkg{len(parts)}"] / "data" / "config.json").write_text("{}")
    (dirs[f"pkg{len(parts)}"] / "data" / "tokenizer.json").write_text("{}")
    return dirs


@pytest.fixture
def fake_split_model(tmp_path, monkeypatch):
    parts = [b"A" * 1000, b"B" * 500]
    dirs = make_split_packages(tmp_path / "site", parts)
    monkeypatch.setattr(whisper, "_package_dir", lambda name: dirs.get(name))
    monkeypatch.setitem(whisper._BUNDLED_SPLIT, "fake", ("pkg1", "pkg2"))
    return b"".join(parts)


def test_split_parts_are_joined_in_order_with_the_other_files(tmp_path, fake_split_model):
    path = Path(resolve_model("fake", tmp_path / "cache"))
    assert (path / "model.bin").read_bytes() == fake_split_model
    assert (path / "config.json").is_file() and (path / "tokenizer.json").is_file()
    # No staging directories left behind.
    assert [p.name for p in (tmp_path / "cache").iterdir()] == [path.name]


def test_a_join_killed_halfway_leaves_nothing_the_next_join_keeps(tmp_path, fake_split_model):
    """A process killed while joining leaves its staging directory (a model's size); the
    next join removes it once it is an hour old, and leaves a fresh one (a join under way)."""
    cache = tmp_path / "cache"
    abandoned = cache / ".faster-whisper-fake-k1ll3d"
    abandoned.mkdir(parents=True)
    (abandoned / "model.bin").write_bytes(b"A" * 700)
    os.utime(abandoned, (time.time() - 7200,) * 2)
    under_way = cache / ".faster-whisper-fake-j01n1n"
    under_way.mkdir()

    path = Path(resolve_model("fake", cache))
    assert (path / "model.bin").read_bytes() == fake_split_model
    assert sorted(p.name for p in cache.iterdir()) == sorted([path.name, under_way.name])


def test_join_happens_once_and_is_reused(tmp_path, fake_split_model):
    first = resolve_model("fake", tmp_path / "cache")
    mtime = (Path(first) / "model.bin").stat().st_mtime_ns
    assert resolve_model("fake", tmp_path / "cache") == first
    assert (Path(first) / "model.bin").stat().st_mtime_ns == mtime


def test_concurrent_joins_never_expose_a_partial_model(tmp_path, fake_split_model):
    results, errors = [], []

    def join():
        try:
            results.append(Path(resolve_model("fake", tmp_path / "cache")))
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=join) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert all((p / "model.bin").read_bytes() == fake_split_model for p in results)
    assert len({p.name for p in (tmp_path / "cache").iterdir()}) == 1


def test_bundled_and_local_names(tmp_path):
    tiny = Path(resolve_model("tiny.en", tmp_path))
    assert (tiny / "model.bin").is_file()
    base = Path(resolve_model("base", tmp_path))
    assert (base / "model.bin").stat().st_size > 100_000_000
    assert resolve_model(str(base), tmp_path) == str(base)


def test_other_names_go_to_faster_whisper_download(tmp_path):
    assert resolve_model("large-v3", tmp_path) == "large-v3"
    assert resolve_model("Systran/faster-whisper-small", tmp_path) == (
        "Systran/faster-whisper-small"
    )
