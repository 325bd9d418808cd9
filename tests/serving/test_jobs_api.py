"""The job API on real servers (uvicorn on loopback, Whisper tiny.en): submit, poll,
result formats, idempotency, cancellation, URL sources and signed webhooks that are
retried until a real local receiver accepts them."""

from __future__ import annotations

import hashlib
import hmac
import http.server
import json
import os
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
import soundfile as sf

from aural import audio
from aural.serving import ModelCache, ServeConfig, create_app
from aural.serving.runner import serve_in_thread
from aural.serving.webhooks import verify_signature

SECRET = "webhook-secret-for-tests-0123456789"
TERMINAL = ("succeeded", "failed", "cancelled")


@dataclass
class Receiver:
    """A tiny HTTP server: answers the first ``fail_first`` POSTs with 500, then
    200; records every request; serves ``files`` on GET (URL jobs)."""

    fail_first: int = 0
    requests: list[dict[str, Any]] = field(default_factory=list)
    files: dict[str, bytes] = field(default_factory=dict)
    url: str = ""

    def received(self) -> list[dict[str, Any]]:
        return list(self.requests)


@pytest.fixture()
def receiver() -> Iterator[Receiver]:
    state = Receiver()
    lock = threading.Lock()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            with lock:
                state.requests.append(
                    {"headers": dict(self.headers), "body": body, "at": time.time()}
                )
                failing = len(state.requests) <= state.fail_first
            self.send_response(500 if failing else 200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def do_GET(self) -> None:
            data = state.files.get(self.path)
            if data is None:
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield state
    httpd.shutdown()
    httpd.server_close()


@dataclass(frozen=True)
class JobsServer:
    url: str
    config: ServeConfig


@pytest.fixture()
def jobs_server(
    model_cache: ModelCache,
    server_config: Callable[..., ServeConfig],
    tmp_path: Path,
    shared_data: Path,
) -> Iterator[Callable[..., JobsServer]]:
    """``jobs_server(**changes)``: a real server with its own job store in tmp_path."""
    stack: list[Any] = []

    def start(**changes: Any) -> JobsServer:
        values: dict[str, Any] = {
            "jobs_dir": tmp_path / "jobs",
            "webhook_secret": SECRET,
            "webhook_backoff_s": 0.2,
            "job_poll_s": 0.2,
            "job_lease_s": 3.0,
        }
        values.update(changes)
        config = server_config(tmp_path / "uploads", **values)
        ctx = serve_in_thread(
            create_app(config, model_cache=model_cache), port=config.port
        )
        url = ctx.__enter__()
        stack.append(ctx)
        return JobsServer(url, config)

    yield start
    for ctx in reversed(stack):
        ctx.__exit__(None, None, None)


def _client(server: JobsServer, auth: dict[str, str]) -> httpx.Client:
    return httpx.Client(base_url=server.url, headers=auth, timeout=60)


def wait_terminal(client: httpx.Client, job_id: str, limit_s: float = 60) -> dict:
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        body = client.get(f"/v1/jobs/{job_id}").json()
        if body["status"] in TERMINAL:
            return body
        time.sleep(0.1)
    raise AssertionError(f"job {job_id} did not finish in {limit_s} s: {body}")


def test_job_upload_runs_to_its_transcript_and_renders(
    jobs_server, auth, ldc_wav: Path, check_transcript
):
    server = jobs_server()
    with _client(server, auth) as client:
        r = client.post(
            "/v1/jobs",
            files={"file": ("LDC93S1.wav", ldc_wav.read_bytes(), "audio/wav")},
            data={"word_timestamps": "true", "response_format": "srt"},
        )
        assert r.status_code == 202, r.text
        job = r.json()
        assert job["status"] in ("queued", "running")
        assert r.headers["location"] == f"/v1/jobs/{job['id']}"
        assert job["source"] == {"filename": "LDC93S1.wav"}
        assert job["options"]["word_timestamps"] is True
        done = wait_terminal(client, job["id"])
        assert done["status"] == "succeeded", done["error"]
        assert done["progress"] == 1.0 and done["attempts"] == 1
        check_transcript(done["result"])
        assert "greasy wash" in done["result"]["text"].lower()
        # the same transcript as the synchronous endpoint gives
        sync = client.post(
            "/v1/transcribe",
            files={"file": ("LDC93S1.wav", ldc_wav.read_bytes(), "audio/wav")},
            data={"word_timestamps": "true"},
        ).json()
        assert sync["text"] == done["result"]["text"]
        srt = client.get(f"/v1/jobs/{job['id']}/result")  # the job's own format
        assert srt.headers["content-type"].startswith("application/x-subrip")
        assert "00:00:0" in srt.text and "greasy wash" in srt.text.lower()
        txt = client.get(f"/v1/jobs/{job['id']}/result?response_format=txt")
        assert txt.text.strip() == done["result"]["text"].strip()
        runs = client.get(f"/v1/jobs/{job['id']}/attempts").json()["runs"]
        assert [r["outcome"] for r in runs] == ["succeeded"]
        listed = client.get("/v1/jobs", params={"status": "succeeded"}).json()
        assert job["id"] in [j["id"] for j in listed["data"]]
        assert all("result" not in j for j in listed["data"])
        assert client.get("/v1/jobs", params={"status": "queued"}).json()["data"] == []
        metrics = client.get("/metrics").text
        assert "aural_jobs_queued 0.0" in metrics
        assert 'aural_jobs_finished_total{status="succeeded"}' in metrics


def test_idempotency_key_returns_the_same_job(jobs_server, auth, ldc_wav: Path):
    server = jobs_server()
    audio = ldc_wav.read_bytes()
    with _client(server, auth) as client:
        headers = {"Idempotency-Key": "order-42-take-1"}
        first = client.post(
            "/v1/jobs", files={"file": ("a.wav", audio)}, headers=headers
        )
        again = client.post(
            "/v1/jobs", files={"file": ("a.wav", audio)}, headers=headers
        )
        assert first.status_code == 202 and again.status_code == 200
        assert again.headers["idempotent-replayed"] == "true"
        assert first.json()["id"] == again.json()["id"]
        other = client.post(
            "/v1/jobs",
            files={"file": ("a.wav", audio)},
            data={"beam_size": "2"},
            headers=headers,
        )
        assert other.status_code == 409
        assert other.json()["error"]["type"] == "idempotency_key_reused"
        fresh = client.post(
            "/v1/jobs",
            files={"file": ("a.wav", audio)},
            headers={"Idempotency-Key": "order-42-take-2"},
        )
        assert fresh.status_code == 202 and fresh.json()["id"] != first.json()["id"]
        for job_id in (first.json()["id"], fresh.json()["id"]):
            assert wait_terminal(client, job_id)["status"] == "succeeded"
        # only the two distinct requests ever became jobs
        assert len(client.get("/v1/jobs").json()["data"]) == 2


def test_cancel_a_queued_job_and_refuse_bad_requests(
    jobs_server, auth, ldc_wav: Path, tmp_path: Path
):
    spool = tmp_path / "jobs" / "spool"
    spool.mkdir(parents=True)
    orphan, fresh = spool / "job_crashed-before-its-row.wav", spool / "arriving.wav"
    orphan.write_bytes(b"x")
    fresh.write_bytes(b"x")
    os.utime(orphan, (time.time() - 86_400, time.time() - 86_400))
    server = jobs_server(job_workers=0, webhook_secret=None)  # accepts, runs nothing
    with _client(server, auth) as client:
        job = client.post("/v1/jobs", content=ldc_wav.read_bytes()).json()
        assert client.get(f"/v1/jobs/{job['id']}").json()["status"] == "queued"
        assert "aural_jobs_queued 1.0" in client.get("/metrics").text
        r = client.delete(f"/v1/jobs/{job['id']}")
        assert r.status_code == 200 and r.json()["status"] == "cancelled"
        again = client.delete(f"/v1/jobs/{job['id']}")
        assert again.status_code == 409
        assert again.json()["error"]["type"] == "job_finished"
        assert client.get(f"/v1/jobs/{job['id']}/result").status_code == 409
        assert not list((tmp_path / "jobs" / "spool").glob(f"{job['id']}*"))
        # errors are answered now, not as failed jobs later
        assert client.get("/v1/jobs/job_" + "0" * 26).status_code == 404
        assert client.get("/v1/jobs/../../etc").status_code == 404
        bad = client.post("/v1/jobs", content=b"not audio at all" * 100)
        assert bad.status_code in (400, 415), bad.text
        hook = client.post(
            "/v1/jobs",
            files={"file": ("a.wav", ldc_wav.read_bytes())},
            data={"webhook_url": "http://127.0.0.1:9/hook"},
        )
        assert hook.status_code == 422 and "webhook_secret" in hook.text
        typo = client.post(
            "/v1/jobs",
            files={"file": ("a.wav", ldc_wav.read_bytes())},
            data={"beam_sise": "2"},
        )
        assert typo.status_code == 422 and "beam_sise" in typo.text
        none = client.post("/v1/jobs", json={"language": "en"})
        assert none.status_code == 400 and none.json()["error"]["type"] == "no_audio"
        ftp = client.post("/v1/jobs", json={"url": "ftp://example.com/a.wav"})
        assert ftp.status_code == 422
        assert client.get("/v1/jobs?status=done").status_code == 422
        assert (
            client.get("/v1/jobs?status=cancelled").json()["data"][0]["id"]
            == (job["id"])
        )
    assert httpx.get(f"{server.url}/v1/jobs").status_code == 401
    # the sweep (at the first heartbeat) removed the old orphan, not the new file
    deadline = time.monotonic() + 10
    while orphan.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not orphan.exists() and fresh.exists()


def test_url_job_and_signed_webhooks_retried_until_delivered(
    jobs_server, auth, receiver: Receiver, ldc_wav: Path
):
    receiver.fail_first = 2  # the receiver is down for the first two deliveries
    receiver.files["/audio/LDC93S1.wav"] = ldc_wav.read_bytes()
    server = jobs_server()
    with _client(server, auth) as client:
        r = client.post(
            "/v1/jobs",
            json={
                "url": f"{receiver.url}/audio/LDC93S1.wav",
                "webhook_url": f"{receiver.url}/hooks/aural",
                "language": "en",
            },
        )
        assert r.status_code == 202, r.text
        job_id = r.json()["id"]
        assert r.json()["source"] == {"url": f"{receiver.url}/audio/LDC93S1.wav"}
        done = wait_terminal(client, job_id)
        assert done["status"] == "succeeded", done["error"]
        assert "greasy wash" in done["result"]["text"].lower()
        deadline = time.monotonic() + 30
        while len(receiver.received()) < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
        hits = receiver.received()
        assert len(hits) == 3
        for hit in hits:
            headers = {k.lower(): v for k, v in hit["headers"].items()}
            signature = headers["x-aural-signature"]
            assert verify_signature(SECRET, hit["body"], signature)
            # the documented scheme, recomputed independently
            t = signature.split(",")[0].removeprefix("t=")
            v1 = signature.split(",")[1].removeprefix("v1=")
            mac = hmac.new(SECRET.encode(), f"{t}.".encode() + hit["body"], "sha256")
            assert hmac.compare_digest(mac.hexdigest(), v1)
            assert not verify_signature(
                "another-secret-0123456", hit["body"], signature
            )
            assert not verify_signature(SECRET, hit["body"] + b" ", signature)
            assert headers["x-aural-event"] == "job.succeeded"
            assert headers["x-aural-job-id"] == job_id
            payload = json.loads(hit["body"])
            assert payload["event"] == "job.succeeded"
            assert payload["job"]["id"] == job_id
            assert payload["job"]["result"]["text"] == done["result"]["text"]
        assert [h["headers"]["X-Aural-Delivery"] for h in hits] == [
            f"{job_id}:1",
            f"{job_id}:2",
            f"{job_id}:3",
        ]
        # exponential backoff: the second wait is longer than the first
        gaps = [b["at"] - a["at"] for a, b in zip(hits, hits[1:])]
        assert gaps[1] > gaps[0] >= 0.15
        # every attempt is recorded
        time.sleep(0.2)
        attempts = client.get(f"/v1/jobs/{job_id}/attempts").json()["webhooks"]
        assert [a["status_code"] for a in attempts] == [500, 500, 200]
        assert attempts[0]["error"] and attempts[2]["error"] is None
        job = client.get(f"/v1/jobs/{job_id}").json()
        assert job["webhook"]["state"] == "delivered"
        assert job["webhook"]["attempts"] == 3
        # a failed job is announced too (the URL answers 404)
        bad = client.post(
            "/v1/jobs",
            json={
                "url": f"{receiver.url}/audio/missing.wav",
                "webhook_url": f"{receiver.url}/hooks/aural",
            },
        ).json()
        failed = wait_terminal(client, bad["id"])
        assert failed["status"] == "failed"
        assert failed["error"]["type"] == "url_fetch_failed"
        assert "404" in failed["error"]["message"]
        deadline = time.monotonic() + 30
        while len(receiver.received()) < 4 and time.monotonic() < deadline:
            time.sleep(0.05)
        last = receiver.received()[-1]
        assert last["headers"]["X-Aural-Event"] == "job.failed"
        assert hashlib.sha256(last["body"]).hexdigest()  # a body was signed and sent
        assert verify_signature(
            SECRET, last["body"], last["headers"]["X-Aural-Signature"]
        )


def test_finished_jobs_expire_after_the_retention_time(
    jobs_server, auth, ldc_wav: Path
):
    server = jobs_server(job_retention_s=1.0)
    with _client(server, auth) as client:
        key = {"Idempotency-Key": "expires-soon"}
        job = client.post(
            "/v1/jobs", files={"file": ("a.wav", ldc_wav.read_bytes())}, headers=key
        ).json()
        done = wait_terminal(client, job["id"])
        assert done["status"] == "succeeded" and done["expires_at"] is not None
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if client.get(f"/v1/jobs/{job['id']}").status_code == 404:
                break
            time.sleep(0.2)
        gone = client.get(f"/v1/jobs/{job['id']}")
        assert gone.status_code == 404 and "expired" in gone.json()["error"]["message"]
        # its idempotency key is free again: the same request makes a new job
        again = client.post(
            "/v1/jobs", files={"file": ("a.wav", ldc_wav.read_bytes())}, headers=key
        )
        assert again.status_code == 202 and again.json()["id"] != job["id"]


def test_cancel_a_running_job(
    jobs_server, auth, receiver: Receiver, jfk_flac: Path, tmp_path: Path
):
    waveform = audio.load(jfk_flac)
    long = tmp_path / "jfk-x3.wav"  # 33 s: long enough to cancel while it runs
    sf.write(long, np.tile(waveform.samples, 3), waveform.sample_rate)
    server = jobs_server(job_workers=1, max_duration_s=120.0, max_upload_mb=8.0)
    with _client(server, auth) as client:
        job = client.post(
            "/v1/jobs",
            files={"file": (long.name, long.read_bytes())},
            data={"webhook_url": f"{receiver.url}/hook"},
        ).json()
        deadline = time.monotonic() + 60
        while client.get(f"/v1/jobs/{job['id']}").json()["status"] == "queued":
            assert time.monotonic() < deadline
            time.sleep(0.05)
        r = client.delete(f"/v1/jobs/{job['id']}")
        assert r.status_code == 200, r.text
        assert r.json()["status"] == "cancelled"
        # the worker notices at its next heartbeat; whatever it decoded is refused
        deadline = time.monotonic() + 60
        while not receiver.received() and time.monotonic() < deadline:
            time.sleep(0.05)
        (hook,) = receiver.received()
        assert hook["headers"]["X-Aural-Event"] == "job.cancelled"
        # the worker is free again and runs the next job
        nxt = client.post(
            "/v1/jobs", files={"file": ("jfk.flac", jfk_flac.read_bytes())}
        ).json()
        assert wait_terminal(client, nxt["id"])["status"] == "succeeded"
        final = client.get(f"/v1/jobs/{job['id']}").json()
        assert final["status"] == "cancelled" and final["result"] is None
        runs = client.get(f"/v1/jobs/{job['id']}/attempts").json()["runs"]
        assert [r["outcome"] for r in runs] == ["cancelled"]
        metrics = client.get("/metrics").text
        assert 'aural_jobs_finished_total{status="succeeded"} 1.0' in metrics
