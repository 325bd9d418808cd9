"""`aural serve` as users run it: config errors, and graceful shutdown of a real
process."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from aural.cli import app
from aural.serving.runner import free_port


def test_unknown_engine_exits_2_with_one_line():
    result = CliRunner().invoke(app, ["serve", "--engine", "nope"])
    assert result.exit_code == 2
    assert "unknown engine 'nope'" in result.output
    assert "Traceback" not in result.output


def test_upload_limit_flags_are_checked():
    result = CliRunner().invoke(app, ["serve", "--max-uploads", "0"])
    assert result.exit_code == 2 and "max_uploads" in result.output
    result = CliRunner().invoke(app, ["serve", "--upload-idle-timeout-s", "-1"])
    assert result.exit_code == 2 and "upload_idle_timeout_s" in result.output


def test_bad_config_file_exits_2(tmp_path: Path):
    cfg = tmp_path / "serve.yaml"
    cfg.write_text("max_upload_mb: lots\n")
    result = CliRunner().invoke(app, ["serve", "--config", str(cfg)])
    assert result.exit_code == 2
    assert "max_upload_mb" in result.output


def _wait_ready(url: str, proc: subprocess.Popen[bytes], limit_s: float = 90) -> None:
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
        try:
            if httpx.get(f"{url}/ready", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise AssertionError("aural serve did not become ready")


@pytest.mark.slow
def test_sigterm_finishes_in_flight_request_then_exits(ldc_wav: Path, tmp_path: Path):
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    cfg = tmp_path / "serve.yaml"
    cfg.write_text("engine: sphinx\nworkers: 1\nqueue: 1\nlog_level: warning\n")
    env = {**os.environ, "AURAL_SERVE_PORT": str(port), "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from aural.cli import main; main()",
            "serve",
            "--config",
            str(cfg),
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        _wait_ready(url, proc)
        result: dict[str, httpx.Response] = {}

        def post() -> None:
            result["r"] = httpx.post(
                f"{url}/v1/transcribe", content=ldc_wav.read_bytes(), timeout=120
            )

        worker = threading.Thread(target=post)
        worker.start()
        time.sleep(0.5)  # the request is in flight (sphinx needs more than that)
        proc.send_signal(signal.SIGTERM)
        worker.join(timeout=120)
        assert result["r"].status_code == 200
        assert "year" in result["r"].json()["text"]
        # uvicorn drains, runs the shutdown, then re-raises the signal it caught
        assert proc.wait(timeout=60) in (0, -signal.SIGTERM)
        assert proc.stderr is not None
        assert b"Traceback" not in proc.stderr.read()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
