"""Build a Lambda layer from `layers/<name>/requirements.txt` for Lambda's platform, without
Docker: `pip install --target <out>/python` with pip's cross-platform options (binary wheels
only, tagged for the function's Python and for glibc no newer than its runtime's), the versions
pinned by requirements.lock, then byte-compiled.

Why each step:
- `python/` at the layer's root: Lambda mounts layers at /opt and the Python runtimes put
  /opt/python on sys.path (https://docs.aws.amazon.com/lambda/latest/dg/packaging-layers.html).
- Wheels tagged manylinux_2_26 or older: the python3.11 runtime runs on Amazon Linux 2, glibc
  2.26 (https://docs.aws.amazon.com/lambda/latest/dg/lambda-python.html); pip does not widen a
  `--platform` to older manylinux tags by itself, so every one is named.
- Byte-compiled with unchecked hashes: /opt is read-only, so Python could not cache what it
  compiles, and CDK zips assets with a fixed timestamp (1980), which would make timestamp-based
  .pyc files stale on every cold start. Only a Python 3.11 interpreter can write 3.11's
  bytecode: built with another, the layer has none (a warning says so).
- Every file readable by anyone: Lambda runs the function as its own user.
- Every installed distribution must be one requirements.lock pins, at its version: the layer
  runs what the tests run.

The result is cached by a key over everything that decides it (requirements, lock, this file,
platform), so `cdk synth` and the tests build each layer once per machine.

    python -m layers.build light --out DIR
"""

from __future__ import annotations

import argparse
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from importlib import metadata
from pathlib import Path

LAYERS = Path(__file__).resolve().parent
REPO = LAYERS.parent
LOCK = REPO / "requirements.lock"
# The zip functions' runtime (infra: lambda_.Runtime.PYTHON_3_11), and its glibc.
PYTHON_VERSION = "3.11"
RUNTIME_GLIBC_MINOR = 26  # Amazon Linux 2
ARCHES = {"x86_64": "x86_64", "arm64": "aarch64"}
CACHE = Path(
    os.environ.get("LAYER_CACHE")
    or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "speech-api-layers"
)


def requirements_file(name: str) -> Path:
    path = LAYERS / name / "requirements.txt"
    if not path.is_file():
        raise FileNotFoundError(f"no layer named '{name}' ({path} is missing)")
    return path


def platform_tags(architecture: str) -> list[str]:
    """Every manylinux tag a wheel may carry to load on the runtime's glibc, newest first."""
    arch = ARCHES[architecture]
    tags = [f"manylinux_2_{minor}_{arch}" for minor in range(RUNTIME_GLIBC_MINOR, 16, -1)]
    if arch == "x86_64":
        tags += ["manylinux2014_x86_64", "manylinux2010_x86_64", "manylinux1_x86_64"]
    else:
        tags += ["manylinux2014_aarch64"]
    return tags


def layer_key(name: str, architecture: str = "x86_64") -> str:
    """What decides the layer's content: also the asset hash CDK deploys it under."""
    digest = hashlib.sha256()
    for part in (
        requirements_file(name).read_bytes(),
        LOCK.read_bytes(),
        Path(__file__).read_bytes(),
        f"{PYTHON_VERSION} {architecture} compiled={can_byte_compile()}".encode(),
    ):
        digest.update(hashlib.sha256(part).digest())
    return digest.hexdigest()[:32]


def pinned_versions() -> dict[str, str]:
    """requirements.lock as {canonical name: version}; every line that is not a comment must
    be `name==version` (what `make lock` writes)."""
    pins = {}
    for line in LOCK.read_text().splitlines():
        if line and not line.startswith("#"):
            name, version = line.split("==")
            pins[canonical(name)] = version
    return pins


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def installed_distributions(site: Path) -> dict[str, str]:
    return {
        canonical(d.metadata["Name"]): d.version for d in metadata.distributions(path=[str(site)])
    }


def pip_install_for_lambda(requirements: list[str], site: Path, architecture: str) -> None:
    """`pip install REQUIREMENTS --target SITE` as Lambda's Python runtime needs it, with the
    lock's versions (`requirements`: pip arguments, e.g. ["-r", file] or package names)."""
    platforms = [arg for tag in platform_tags(architecture) for arg in ("--platform", tag)]
    command = [
        sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
        "--no-compile", "--target", str(site), "--implementation", "cp",
        "--python-version", PYTHON_VERSION, "--only-binary=:all:", *platforms,
        "-c", str(LOCK), *requirements,
    ]  # fmt: skip
    subprocess.run(command, check=True)


def check_pins(site: Path) -> None:
    pins = pinned_versions()
    wrong = {
        dist: version
        for dist, version in installed_distributions(site).items()
        if pins.get(dist) != version
    }
    if wrong:
        listed = ", ".join(f"{d}=={v} (lock: {pins.get(d)})" for d, v in sorted(wrong.items()))
        raise RuntimeError(f"the layer holds what requirements.lock does not pin: {listed}")


def can_byte_compile() -> bool:
    """Bytecode is per Python version: only an interpreter of the runtime's version writes
    what the runtime will use."""
    return sys.version_info[:2] == tuple(map(int, PYTHON_VERSION.split(".")))


def byte_compile(root: Path, inside: str) -> None:
    """Compile every module under `root` as the runtime will see it at `inside` (the paths in
    tracebacks; and the same bytes wherever this was built, so asset hashes do not depend on
    the build folder). Without Python 3.11 here, nothing is compiled (the function then
    compiles what it imports on every cold start): said on stderr, not silently."""
    if not can_byte_compile():
        print(
            f"warning: Python {sys.version.split()[0]} cannot write Python {PYTHON_VERSION}'s "
            f"bytecode; {root.name} ships without it (slower cold starts). Run `cdk synth` "
            f"from a Python {PYTHON_VERSION} virtualenv to include it.",
            file=sys.stderr,
        )
        return
    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", "-j", "0", "--invalidation-mode",
         "unchecked-hash", "-s", str(root), "-p", inside, str(root)],
        check=True,
    )  # fmt: skip


def make_readable(root: Path) -> None:
    """Lambda runs the function as its own user: every file readable, every folder
    searchable, whatever the builder's umask."""
    for path in [root, *root.rglob("*")]:
        if not path.is_symlink():
            path.chmod(path.stat().st_mode | (0o555 if path.is_dir() else 0o444))


def cached_build(target: Path, fill: Callable[[Path], None]) -> Path:
    """`target` in the cache, filled by `fill(folder)` if it is not there yet: in a private
    staging folder renamed into place when complete, so a crash or a concurrent build never
    leaves a half-filled one (whichever build finishes first is kept)."""
    if target.is_dir():
        return target
    CACHE.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=CACHE))
    try:
        fill(staging)
        make_readable(staging)
        try:
            staging.rename(target)
        except OSError:
            if not target.is_dir():  # not another build finishing first
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def build_layer(name: str, architecture: str = "x86_64") -> Path:
    """The built layer's folder (with `python/` in it), from the cache or built now."""

    def fill(folder: Path) -> None:
        site = folder / "python"
        pip_install_for_lambda(["-r", str(requirements_file(name))], site, architecture)
        shutil.rmtree(site / "bin", ignore_errors=True)  # console scripts: no use in a layer
        check_pins(site)
        byte_compile(site, "/opt/python")

    return cached_build(CACHE / f"{name}-{architecture}-{layer_key(name, architecture)}", fill)


def copy_tree(source: Path, dest: Path) -> None:
    """`source`'s content into `dest` (hard links where the filesystem allows: CDK's bundling
    output only gets zipped)."""
    for root, _dirs, files in os.walk(source):
        rel = Path(root).relative_to(source)
        (dest / rel).mkdir(parents=True, exist_ok=True)
        for name in files:
            src, dst = Path(root, name), dest / rel / name
            try:
                os.link(src, dst)
            except OSError:
                shutil.copy2(src, dst)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("name", help="a folder of layers/ (light)")
    parser.add_argument("--out", type=Path, help="copy the built layer here")
    parser.add_argument("--architecture", choices=sorted(ARCHES), default="x86_64")
    args = parser.parse_args()
    built = build_layer(args.name, args.architecture)
    if args.out:
        copy_tree(built, args.out)
    print(args.out or built)


if __name__ == "__main__":
    main()
