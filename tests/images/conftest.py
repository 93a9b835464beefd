"""`make image-test`: the built images, run as their platforms run them (devkit/images/run.py).

Collected only when IMAGE_TEST=1 (`make image-test` sets it): `make test` does not build
images. IMAGE_ENGINES (default: every engine whose image is built) picks the Lambda images.
Figures are printed at the end and written to build/image-figures.json.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from devkit.images import REPO

if os.environ.get("IMAGE_TEST") != "1":
    collect_ignore_glob = ["test_*.py"]

FIGURES_FILE = REPO / "build" / "image-figures.json"
FIGURES: dict[str, dict] = {}


@pytest.fixture(scope="session")
def figures() -> dict[str, dict]:
    return FIGURES


def _mb(n: float | None) -> str:
    return "-" if n is None else f"{n / 2**20:,.0f} MB"


def _s(n: float | None) -> str:
    return "-" if n is None else f"{n:.2f} s"


def pytest_terminal_summary(terminalreporter):
    if not FIGURES:
        return
    FIGURES_FILE.parent.mkdir(exist_ok=True)
    FIGURES_FILE.write_text(json.dumps(FIGURES, indent=2, sort_keys=True))
    write = terminalreporter.write_line
    write("")
    write("Images (uncompressed: what Lambda's 10 GB limit counts; compressed: gzip layers)")
    for name, f in sorted(FIGURES.items()):
        if name.startswith("image "):
            write(f"  {name[6:]:<36} {_mb(f['uncompressed']):>10} {_mb(f['compressed']):>10}")
    write("")
    write(
        f"  {'function (where)':<34} {'cold':>8} {'warm':>8} {'peak RSS':>10} "
        f"{'memory':>9} {'read from image':>16}"
    )
    for name, f in sorted(FIGURES.items()):
        if name.startswith("image "):
            continue
        write(
            f"  {name:<34} {_s(f.get('cold_s')):>8} {_s(f.get('warm_s')):>8} "
            f"{_mb(f.get('peak_rss')):>10} {f.get('memory_mb') or '-':>9} "
            f"{_mb(f.get('image_bytes_read')):>16}"
        )
    write(f"(written to {Path(FIGURES_FILE).relative_to(REPO)})")
