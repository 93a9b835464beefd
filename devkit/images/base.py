"""The stand-in base image: Debian 12 (bookworm) with Python 3.11, from Debian's packages.

The Dockerfiles' real bases (`python:3.11-slim-bookworm` for Lambda, `nvidia/cuda` for the GPU
image) come from registries this machine cannot reach. What the Lambda base gives the build
(Debian 12's glibc 2.36, Python 3.11 as `python`, pip) is rebuilt here with debootstrap, from
the Debian mirror the host's apt already uses, and kept in CACHE so a run builds it once.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

from devkit.images import BASE_IMAGE, CACHE

SUITE = "bookworm"
PACKAGES = ("python3", "python3-pip", "ca-certificates")


def host_debian_mirror() -> str:
    """The first Debian mirror in the host's apt sources (deb822 or one-line format)."""
    texts = [
        p.read_text()
        for p in [Path("/etc/apt/sources.list"), *sorted(Path("/etc/apt/sources.list.d").glob("*"))]
        if p.is_file() and p.suffix in ("", ".list", ".sources")
    ]
    for text in texts:
        for url in re.findall(r"^URIs:\s*(\S+)", text, re.M) + re.findall(
            r"^deb\s+(?:\[[^]]*\]\s+)?(\S+)\s+bookworm\b", text, re.M
        ):
            if url.rstrip("/").endswith("/debian"):
                return url
    raise SystemExit("no Debian mirror in the host's apt sources")


def image_exists(name: str) -> bool:
    return (
        subprocess.run(
            ["buildah", "inspect", "--type", "image", name], capture_output=True
        ).returncode
        == 0
    )


def rootfs_tarball() -> Path:
    """debootstrap once; the tarball stays in CACHE for later runs."""
    tarball = CACHE / f"{SUITE}-py3.11-rootfs.tar"
    if tarball.is_file():
        return tarball
    CACHE.mkdir(parents=True, exist_ok=True)
    root = CACHE / f"{SUITE}-rootfs.tmp"
    shutil.rmtree(root, ignore_errors=True)
    mirror = host_debian_mirror()
    subprocess.run(
        [
            "debootstrap",
            "--variant=minbase",
            f"--include={','.join(PACKAGES)}",
            SUITE,
            str(root),
            mirror,
        ],
        check=True,
    )
    # As the real python image has it: `python` and `pip` on PATH, pip allowed to install
    # into the system Python (Debian marks it externally managed), no apt lists left.
    (root / "usr/lib/python3.11/EXTERNALLY-MANAGED").unlink(missing_ok=True)
    for name, target in (("python", "/usr/bin/python3"), ("pip", "/usr/bin/pip3")):
        link = root / "usr/local/bin" / name
        link.unlink(missing_ok=True)
        link.symlink_to(target)
    (root / "etc/apt/sources.list").write_text(
        f"deb {mirror} {SUITE} main\ndeb {mirror} {SUITE}-updates main\n"
    )
    for leftover in ("var/lib/apt/lists", "var/cache/apt/archives"):
        for entry in (root / leftover).glob("*"):
            if entry.is_file():
                entry.unlink()
    partial = tarball.with_suffix(".partial")
    subprocess.run(["tar", "-C", str(root), "-cf", str(partial), "."], check=True)
    partial.rename(tarball)
    shutil.rmtree(root, ignore_errors=True)
    return tarball


def ensure_base() -> str:
    if image_exists(BASE_IMAGE):
        return BASE_IMAGE
    tarball = rootfs_tarball()
    ctr = subprocess.run(
        ["buildah", "from", "scratch"], check=True, capture_output=True, text=True
    ).stdout.strip()
    try:
        subprocess.run(["buildah", "add", "--quiet", ctr, str(tarball), "/"], check=True)
        subprocess.run(
            [
                "buildah",
                "config",
                "--env",
                "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                "--env",
                "LANG=C.UTF-8",
                "--cmd",
                "python3",
                ctr,
            ],
            check=True,
        )
        subprocess.run(["buildah", "commit", "--quiet", ctr, BASE_IMAGE], check=True)
    finally:
        subprocess.run(["buildah", "rm", ctr], capture_output=True)
    return BASE_IMAGE


if __name__ == "__main__":
    print(ensure_base(), file=sys.stdout)
