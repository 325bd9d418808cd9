"""What every benchmark script shares: where the recordings are, which commit ran on
which processor, a real ``aural serve`` on loopback, and keeping the fastest of rounds.

Scripts run as ``python benchmarks/<name>.py``, so this folder is on ``sys.path`` and they
import it as ``from _common import git_commit, shared_data``.
"""

from __future__ import annotations

import os
import platform
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

__all__ = [
    "REPO",
    "aural_serve",
    "cpu_name",
    "free_port",
    "git_commit",
    "keep_fastest",
    "shared_data",
]

REPO = Path(__file__).resolve().parents[1]


def shared_data() -> Path:
    """../shared/data beside the repository, or the folder named by ``AURAL_TEST_DATA``
    (the same rule as the tests' helper in tests/conftest.py)."""
    env = os.environ.get("AURAL_TEST_DATA")
    return Path(env) if env else REPO.parent / "shared" / "data"


def git_commit() -> str:
    """The short hash of the checked-out commit ("unknown" outside a git checkout)."""
    try:
        return subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=REPO,
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def cpu_name() -> str:
    """The processor's model name (/proc/cpuinfo), else what :mod:`platform` says."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def keep_fastest(
    best: dict[str, dict[str, Any]], system: str, run: dict[str, Any], field: str
) -> None:
    """Systems alternate in rounds and the fastest round of each is kept: ``run``
    becomes ``best[system]`` when it is the first or its ``field`` (seconds) is lower."""
    if system not in best or run[field] < best[system][field]:
        best[system] = run


def free_port() -> int:
    """A TCP port free on 127.0.0.1 now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def aural_serve(**settings: Any) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """Start ``aural serve`` on a free loopback port with ``AURAL_SERVE_<NAME>``
    settings (``workers=2`` -> ``AURAL_SERVE_WORKERS=2``); yield (url, process) once
    ``/ready`` answers 200 (at most 120 s); stop it with SIGTERM afterwards."""
    import httpx

    port = free_port()
    env = {
        **os.environ,
        "AURAL_SERVE_PORT": str(port),
        "AURAL_SERVE_LOG_LEVEL": "warning",
    }
    env.update({f"AURAL_SERVE_{k.upper()}": str(v) for k, v in settings.items()})
    proc = subprocess.Popen(
        [sys.executable, "-c", "from aural.cli import main; main()", "serve"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            if proc.poll() is not None:
                raise RuntimeError(
                    proc.stderr.read().decode() if proc.stderr else "exited"
                )
            try:
                if httpx.get(f"{url}/ready", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("server did not become ready")
            time.sleep(0.2)
        yield url, proc
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
