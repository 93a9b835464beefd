"""A stand-in for Lambda's python3.11 managed runtime, to run the zip functions' packages here
as Lambda runs them: the function's code in /var/task, its layers' content in /opt, and the
runtime's own interface client in /var/runtime (Lambda's Python runtimes ship awslambdaric
there; PYTHONPATH is $LAMBDA_RUNTIME_DIR), on this sys.path order, the one the Python runtimes
use: /var/task, /opt/python/lib/python3.11/site-packages, /opt/python, /var/runtime, then the
standard library (https://docs.aws.amazon.com/lambda/latest/dg/packaging-layers.html).

Nothing else is importable: the host's virtualenv is not on the path (`python -S`), so a
module the package lacks fails here as it would on Lambda.
"""

from __future__ import annotations

import os
from pathlib import Path

from layers import build as layer_build

RUNTIME_PACKAGES = ["awslambdaric"]  # the version requirements.lock pins


def runtime_dir(architecture: str = "x86_64") -> Path:
    """The runtime client as Lambda's runtime carries it (built for Lambda's platform, once)."""
    key = layer_build.layer_key("light", architecture)[:12]
    packages = "-".join(RUNTIME_PACKAGES)
    target = layer_build.CACHE / (
        f"runtime-python{layer_build.PYTHON_VERSION}-{architecture}-{packages}-{key}"
    )

    def fill(folder: Path) -> None:
        layer_build.pip_install_for_lambda(RUNTIME_PACKAGES, folder, architecture)
        layer_build.byte_compile(folder, "/var/runtime")

    return layer_build.cached_build(target, fill)


def python_path(task: str, opt: str, runtime: str) -> str:
    """PYTHONPATH giving the python3.11 runtime's sys.path order for these three folders."""
    version = layer_build.PYTHON_VERSION
    return os.pathsep.join(
        [task, f"{opt}/python/lib/python{version}/site-packages", f"{opt}/python", runtime]
    )
