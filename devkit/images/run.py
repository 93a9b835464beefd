"""Run a built image the way its platform runs it, without a container engine (as root).

Lambda (https://docs.aws.amazon.com/lambda/latest/dg/images-create.html): the image's root
read-only, a writable /tmp of the function's ephemeral size, the function's own non-root user,
the image's ENV with the function's environment and Lambda's variables over it (Lambda sets no
HOME), the image's ENTRYPOINT with the function's Command, the Runtime API on a local address.
SageMaker (https://docs.aws.amazon.com/sagemaker/latest/dg/your-algorithms-inference-code.html):
`docker run IMAGE serve` as root, port 8080. ECS: the default command as the task's user.

Here: `buildah mount` the image, then in new mount and PID namespaces bind it read-only, mount
a tmpfs on /tmp, proc, a minimal /dev, and `chroot --userspec` into it. The network is the
host's (loopback: the Runtime API stand-in, the S3 emulator).
"""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

# Lambda runs functions as sbx_user1051 (uid and gid 993).
LAMBDA_UID = 993
ECS_UID = 10001
DEV_NODES = ("null", "zero", "random", "urandom", "full")


@dataclass(frozen=True)
class ImageConfig:
    entrypoint: list[str]
    cmd: list[str]
    env: dict[str, str]
    workdir: str


def image_config(image: str) -> ImageConfig:
    info = json.loads(
        subprocess.run(
            ["buildah", "inspect", "--type", "image", image],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    )
    config = info["OCIv1"]["config"]
    return ImageConfig(
        entrypoint=config.get("Entrypoint") or [],
        cmd=config.get("Cmd") or [],
        env=dict(item.split("=", 1) for item in config.get("Env") or []),
        workdir=config.get("WorkingDir") or "/",
    )


@contextlib.contextmanager
def mounted(image: str) -> Iterator[Path]:
    """A working container of `image`, its root mounted on the host; removed afterwards."""
    ctr = subprocess.run(
        ["buildah", "from", "--pull-never", image], check=True, capture_output=True, text=True
    ).stdout.strip()
    try:
        mnt = subprocess.run(
            ["buildah", "mount", ctr], check=True, capture_output=True, text=True
        ).stdout.strip()
        yield Path(mnt)
    finally:
        subprocess.run(["buildah", "umount", ctr], capture_output=True)
        subprocess.run(["buildah", "rm", ctr], capture_output=True)


@dataclass
class Contained:
    """A process started in the image. `pid` is the image's process (after the exec chain)."""

    popen: subprocess.Popen
    started: float
    _pid: int | None = field(default=None, repr=False)

    @property
    def pid(self) -> int:
        if self._pid is None:
            # unshare -> sh (PID 1 inside) execs chroot -> env -> the entry point.
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                children = Path(f"/proc/{self.popen.pid}/task/{self.popen.pid}/children")
                kids = children.read_text().split() if children.exists() else []
                if kids and Path(f"/proc/{kids[0]}/exe").resolve().name.startswith("python"):
                    self._pid = int(kids[0])
                    break
                time.sleep(0.01)
            else:
                raise RuntimeError("the image's process did not start")
        return self._pid

    def status(self, key: str) -> int:
        """A /proc/<pid>/status figure in kB (VmHWM: peak RSS)."""
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith(f"{key}:"):
                return int(line.split()[1])
        raise KeyError(key)

    def stop(self) -> str:
        """End the namespace (its PID 1 is the image's process: only SIGKILL reaches it from
        outside) and return what it printed."""
        if self.popen.poll() is None:
            with contextlib.suppress(RuntimeError, ProcessLookupError):
                os.kill(self.pid, 9)
            try:
                self.popen.wait(10)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait()
        return self.popen.stdout.read() if self.popen.stdout else ""


def start_in_image(
    root: Path,
    argv: list[str],
    env: dict[str, str],
    *,
    uid: int,
    workdir: str,
    read_only: bool,
    tmp_mb: int | None,
    binds: dict[str, str] | None = None,
) -> Contained:
    """Start `argv` inside the mounted image `root` with exactly `env`; `binds` lays host
    folders read-only over the image's (a zip function's code over /var/task)."""
    r = shlex.quote(str(root))
    steps = ["set -e", f"mount --bind {r} {r}"]
    if read_only:
        steps.append(f"mount -o remount,bind,ro {r}")
    for host, inside in (binds or {}).items():
        target = shlex.quote(f"{root}{inside}")
        steps += [
            f"mount --bind {shlex.quote(host)} {target}",
            f"mount -o remount,bind,ro {target}",
        ]
    size = f",size={tmp_mb}m" if tmp_mb else ""
    steps += [
        f"mount -t tmpfs -o mode=1777{size} tmpfs {r}/tmp",
        f"mount -t proc proc {r}/proc",
        f"mount -t tmpfs -o mode=755,size=1m tmpfs {r}/dev",
    ]
    for node in DEV_NODES:
        steps += [f"touch {r}/dev/{node}", f"mount --bind /dev/{node} {r}/dev/{node}"]
    inner = " ".join(
        [
            "cd",
            shlex.quote(workdir),
            "&&",
            "exec",
            "env",
            "-i",
            *(shlex.quote(f"{k}={v}") for k, v in env.items()),
            *(shlex.quote(a) for a in argv),
        ]
    )
    steps.append(f"exec chroot --userspec={uid}:{uid} {r} /bin/sh -c {shlex.quote(inner)}")
    started = time.monotonic()
    popen = subprocess.Popen(
        ["unshare", "--mount", "--pid", "--fork", "--propagation", "private", "sh", "-c",
         "\n".join(steps)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )  # fmt: skip
    return Contained(popen, started)


def lambda_variables(
    name: str, memory_mb: int, runtime_api: str, handler: str, region: str = "us-east-1"
) -> dict[str, str]:
    """What Lambda itself sets in a function's environment (its reserved variables), with
    the Runtime API and X-Ray daemon on loopback and stand-in credentials."""
    return {
        "AWS_LAMBDA_RUNTIME_API": runtime_api,
        "AWS_LAMBDA_FUNCTION_NAME": name,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(memory_mb),
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
        "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{name}",
        "AWS_LAMBDA_LOG_STREAM_NAME": "2026/12/05/[$LATEST]local",
        "AWS_REGION": region,
        "AWS_DEFAULT_REGION": region,
        "AWS_ACCESS_KEY_ID": "ASIAEXAMPLELOCAL",
        "AWS_SECRET_ACCESS_KEY": "local-secret",
        "AWS_SESSION_TOKEN": "local-session",
        "AWS_XRAY_DAEMON_ADDRESS": "127.0.0.1:2000",
        "AWS_XRAY_CONTEXT_MISSING": "LOG_ERROR",
        "_HANDLER": handler,
        "TZ": ":UTC",
        "LANG": "en_US.UTF-8",
    }


def image_files(root: Path) -> list[Path]:
    """Regular files of the image (not the mounts made inside it)."""
    found = []
    for dirpath, dirnames, filenames in os.walk(root):
        if dirpath == str(root):
            dirnames[:] = [d for d in dirnames if d not in ("proc", "sys", "dev", "tmp")]
        for name in filenames:
            path = Path(dirpath, name)
            if path.is_file() and not path.is_symlink():
                found.append(path)
    return found


def evict(files: list[Path]) -> None:
    """Drop the files' pages from the page cache, so what the process touches next is read
    from the image again (what Lambda's lazy loading fetches)."""
    for path in files:
        try:
            fd = os.open(path, os.O_RDONLY)
        except OSError:
            continue
        try:
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        finally:
            os.close(fd)


def resident_bytes(files: list[Path]) -> int:
    """Bytes of the files in the page cache (mincore, through util-linux's fincore)."""
    total = 0
    batch = 500
    for i in range(0, len(files), batch):
        out = subprocess.run(
            ["fincore", "--bytes", "--noheadings", "--raw", "--output", "RES",
             *map(str, files[i : i + batch])],
            capture_output=True,
            text=True,
        ).stdout  # fmt: skip
        total += sum(int(v) for v in out.split() if v.isdigit())
    return total


def image_size(root: Path) -> int:
    """Uncompressed size of the image's files: what Lambda's 10 GB limit counts."""
    out = subprocess.run(
        ["du", "-sxb", "--exclude=./proc", str(root)], check=True, capture_output=True, text=True
    ).stdout
    return int(out.split()[0])


def compressed_size(image: str, workdir: Path) -> int:
    """Sum of the image's gzip-compressed layers, as a registry (ECR) stores them."""
    target = workdir / "oci"
    subprocess.run(["rm", "-rf", str(target)], check=True)
    subprocess.run(
        ["buildah", "push", "--quiet", "--compression-format", "gzip", image, f"oci:{target}"],
        check=True,
        capture_output=True,
    )
    index = json.loads((target / "index.json").read_text())
    manifest_digest = index["manifests"][0]["digest"].split(":", 1)[1]
    manifest = json.loads((target / "blobs/sha256" / manifest_digest).read_text())
    size = sum(layer["size"] for layer in manifest["layers"])
    subprocess.run(["rm", "-rf", str(target)], check=True)
    return size
