"""What every benchmark script shares: where the recordings are and which commit ran.

Scripts run as ``python benchmarks/<name>.py``, so this folder is on ``sys.path`` and they
import it as ``from _common import git_commit, shared_data``.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

__all__ = ["REPO", "git_commit", "shared_data"]

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
