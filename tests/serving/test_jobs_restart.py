"""Jobs survive a server killed with SIGKILL: 20 jobs submitted to a real ``aural
serve`` process, the process killed part-way, a new one started on the same job store;
every job ends exactly once with its result (the store's run attempts prove it)."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from aural.serving.runner import free_port

pytestmark = pytest.mark.slow


def _clips(shared_data: Path) -> list[Path]:
    """20 different short recordings (3-13 s): dev-clean, CMU ARCTIC, LDC, JFK."""
    misc = shared_data / "misc"
    clips = sorted((shared_data / "LibriSpeech" / "dev-clean").glob("*/*/*.flac"))
    clips += sorted(misc.glob("cmu_arctic_*.wav"))
    clips += [misc / "LDC93S1.wav", misc / "jfk.flac"]
    assert len(clips) == 20, clips
    return clips


def _start(jobs_dir: Path, log: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {
        **os.environ,
        "AURAL_SERVE_JOB_LEASE_S": "2",
        "AURAL_SERVE_JOB_POLL_S": "0.2",
        "AURAL_SERVE_LOG_LEVEL": "warning",
    }
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from aural.cli import main; main()",
            "serve",
            "--port",
            str(port),
            "--beam-size",
            "1",
            "--workers",
            "2",
            "--jobs-dir",
            str(jobs_dir),
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=log.open("ab"),
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        assert proc.poll() is None, log.read_text()
        try:
            if httpx.get(f"{url}/ready", timeout=2).status_code == 200:
                return proc, url
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    proc.kill()
    raise AssertionError("aural serve did not become ready")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def test_sigkill_mid_queue_every_job_ends_once_with_its_result(
    shared_data: Path, tmp_path: Path
):
    jobs_dir = tmp_path / "jobs"
    log = tmp_path / "server.log"
    clips = _clips(shared_data)
    first, url = _start(jobs_dir, log)
    try:
        ids: dict[str, Path] = {}
        with httpx.Client(base_url=url, timeout=60) as client:
            for i, clip in enumerate(clips):
                r = client.post(
                    "/v1/jobs",
                    files={"file": (clip.name, clip.read_bytes())},
                    headers={"Idempotency-Key": f"restart-test-{i}"},
                )
                assert r.status_code == 202, r.text
                ids[r.json()["id"]] = clip
            # kill once some jobs are done and some are running
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                done = client.get("/v1/jobs", params={"status": "succeeded"}).json()
                running = client.get("/v1/jobs", params={"status": "running"}).json()
                if len(done["data"]) >= 4 and running["data"]:
                    break
                time.sleep(0.05)
            first.send_signal(signal.SIGKILL)
            first.wait(timeout=30)
            done_before = {j["id"] for j in done["data"]}
    finally:
        if first.poll() is None:
            first.kill()
            first.wait()
    assert len(done_before) < 20, "the server finished everything before the kill"
    db = jobs_dir / "jobs.sqlite3"
    with sqlite3.connect(db) as conn:
        at_kill = dict(conn.execute("SELECT id, status FROM aural_jobs").fetchall())
        early = dict(
            conn.execute(
                "SELECT id, result FROM aural_jobs WHERE status = 'succeeded'"
            ).fetchall()
        )
    interrupted = {i for i, s in at_kill.items() if s == "running"}
    assert interrupted, f"no job was running when the server was killed: {at_kill}"

    second, url = _start(jobs_dir, log)  # same store, same spool
    try:
        with httpx.Client(base_url=url, timeout=60) as client:
            # resubmitting after a crash is safe: the keys return the stored jobs
            again = client.post(
                "/v1/jobs",
                files={"file": (clips[0].name, clips[0].read_bytes())},
                headers={"Idempotency-Key": "restart-test-0"},
            )
            assert again.status_code == 200 and again.json()["id"] in ids
            deadline = time.monotonic() + 180
            final: dict[str, dict] = {}
            while time.monotonic() < deadline and len(final) < len(ids):
                for job_id in ids:
                    if job_id not in final:
                        body = client.get(f"/v1/jobs/{job_id}").json()
                        if body["status"] in ("succeeded", "failed", "cancelled"):
                            final[job_id] = body
                time.sleep(0.2)
            assert len(final) == 20, "jobs were lost after the restart"

            def sync_text(clip: Path) -> str:
                r = client.post(
                    "/v1/transcribe", files={"file": (clip.name, clip.read_bytes())}
                )
                assert r.status_code == 200, r.text
                return str(r.json()["text"])

            interrupted_clips = sorted({ids[i] for i in interrupted})
            with ThreadPoolExecutor(2) as pool:
                expected = dict(
                    zip(interrupted_clips, pool.map(sync_text, interrupted_clips))
                )
            runs = {
                job_id: client.get(f"/v1/jobs/{job_id}/attempts").json()["runs"]
                for job_id in ids
            }
    finally:
        _stop(second)
    for job_id, body in final.items():
        assert body["status"] == "succeeded", (job_id, body["error"])
        outcomes = [r["outcome"] for r in runs[job_id]]
        assert outcomes.count("succeeded") == 1, (job_id, outcomes)  # once, not twice
        assert outcomes[-1] == "succeeded"
        assert body["attempts"] == len(outcomes)
        if job_id in early:  # finished before the kill: its result was kept as it was
            assert outcomes == ["succeeded"]
            assert body["result"]["text"] == json.loads(early[job_id])["text"]
    for job_id in interrupted:
        outcomes = [r["outcome"] for r in runs[job_id]]
        # the dead server's attempt was detected as lost and the job run again
        assert outcomes[0] == "lost" and len(outcomes) >= 2, outcomes
        assert len({r["worker"] for r in runs[job_id]}) >= 2
        assert final[job_id]["result"]["text"] == expected[ids[job_id]]
    with sqlite3.connect(db) as conn:
        completions = conn.execute("SELECT id, completions FROM aural_jobs").fetchall()
    assert sorted(c for _, c in completions) == [1] * 20
    assert not [p for p in (jobs_dir / "spool").iterdir() if p.is_file()]
    assert "Traceback" not in log.read_text()
