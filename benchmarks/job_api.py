"""The job API against the synchronous endpoint: throughput and time to webhook.

Starts a real ``aural serve`` process on loopback (Whisper tiny.en, beam 1, --workers 2)
for each store (the default SQLite file, and PostgreSQL when a throwaway cluster can be
started with initdb/pg_ctl) and, on the same server, measures:

1. synchronous: ``POST /v1/transcribe`` for N short clips with 4 clients (the pool's 2
   workers + 2 waiting, the best the synchronous API can do): clips per minute and
   request latency.
2. jobs (batch): the same N clips submitted at once as jobs (``POST /v1/jobs`` with a
   ``webhook_url``); a local receiver records each signed webhook: jobs per minute from
   the first submission to the last webhook, the 202 time, and submission -> webhook.
3. jobs (one at a time, idle server): submission -> webhook for a lone job, against the
   synchronous latency of the same clip on the same idle server; the difference is what
   the queue, the store and the webhook add.

Phases 1 and 2 alternate for ``--rounds`` rounds (the load from other work on a shared
machine changes; the median ratio is the figure to read).

The machine is shared with other work, so compare the ratios within one run, not the
absolute numbers between runs.

    python benchmarks/job_api.py [--clips 32] [--rounds 3] [--single 10] [--no-postgres]
        -> benchmarks/results/job_api.{json,md}
"""

from __future__ import annotations

import argparse
import http.server
import json
import os
import platform
import pwd
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import soundfile as sf
from _common import aural_serve, free_port, git_commit, shared_data

from aural.serving.webhooks import verify_signature

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
SECRET = "benchmark-webhook-secret-0123456789"


def pick_clips(count: int) -> list[tuple[str, bytes, float]]:
    """The ``count`` shortest LibriSpeech train-clean-100 utterances of 4-10 s (one per
    speaker): (name, bytes, duration)."""
    root = shared_data() / "LibriSpeech" / "train-clean-100"
    found = []
    for path in sorted(root.glob("*/*/*.flac")):
        duration = sf.info(str(path)).duration
        if 4.0 <= duration <= 10.0:
            found.append((path.name, path.read_bytes(), duration))
    found.sort(key=lambda c: c[2])
    if len(found) < count:
        raise SystemExit(f"only {len(found)} clips of 4-10 s under {root}")
    return found[:count]


class Receiver:
    """A local webhook receiver recording when each job's signed webhook arrived."""

    def __init__(self) -> None:
        self.arrivals: dict[str, float] = {}
        self.bad_signatures = 0
        self.event = threading.Condition()
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                now = time.perf_counter()
                ok = verify_signature(
                    SECRET, body, self.headers.get("X-Aural-Signature", "")
                )
                with receiver.event:
                    if ok:
                        receiver.arrivals.setdefault(
                            self.headers["X-Aural-Job-Id"], now
                        )
                    else:
                        receiver.bad_signatures += 1
                    receiver.event.notify_all()
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/hook"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def wait_for(self, ids: set[str], limit_s: float) -> None:
        deadline = time.monotonic() + limit_s
        with self.event:
            while not ids <= self.arrivals.keys():
                left = deadline - time.monotonic()
                if left <= 0:
                    missing = len(ids - self.arrivals.keys())
                    raise RuntimeError(f"{missing} webhooks did not arrive")
                self.event.wait(left)

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@contextmanager
def job_server(jobs_dir: Path, database_url: str | None) -> Iterator[str]:
    """``aural serve`` with durable jobs in ``jobs_dir`` (and ``database_url``, when
    given) and this benchmark's webhook secret; yields its URL."""
    settings: dict[str, Any] = {
        "beam_size": 1,
        "workers": 2,
        "queue": 64,
        "jobs_dir": jobs_dir,
        "webhook_secret": SECRET,
    }
    if database_url is not None:
        settings["database_url"] = database_url
    with aural_serve(**settings) as (url, _):
        yield url


@contextmanager
def throwaway_postgres() -> Iterator[str | None]:
    """A PostgreSQL cluster on a free port (None when it cannot be started)."""
    initdb = shutil.which("initdb") or next(
        iter(sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))), None
    )
    try:
        import psycopg  # noqa: F401
    except ImportError:
        initdb = None
    if initdb is None:
        yield None
        return
    bindir = Path(initdb).resolve().parent
    as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    root = Path(tempfile.mkdtemp(prefix="aural-pg-bench-"))
    if as_user:
        owner = pwd.getpwnam("postgres")
        os.chown(root, owner.pw_uid, owner.pw_gid)
    port = free_port()
    data = root / "data"
    try:
        subprocess.run(
            [*as_user, str(bindir / "initdb"), "-D", str(data), "-A", "trust",
             "-U", "aural"],
            check=True, capture_output=True,
        )  # fmt: skip
        subprocess.run(
            [*as_user, str(bindir / "pg_ctl"), "-D", str(data), "-o",
             f"-p {port} -k {root} -c listen_addresses=127.0.0.1", "-l",
             str(root / "log"), "-w", "start"],
            check=True, capture_output=True,
        )  # fmt: skip
    except (OSError, subprocess.CalledProcessError):
        shutil.rmtree(root, ignore_errors=True)
        yield None
        return
    try:
        yield f"postgresql://aural@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(
            [*as_user, str(bindir / "pg_ctl"), "-D", str(data), "-m", "fast", "stop"],
            capture_output=True,
        )
        shutil.rmtree(root, ignore_errors=True)


def q(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, round(p / 100 * (len(values) - 1)))]


def run_sync(url: str, clips: list[tuple[str, bytes, float]]) -> dict[str, Any]:
    latencies: list[float] = []
    with httpx.Client(base_url=url, timeout=300) as client:

        def one(clip: tuple[str, bytes, float]) -> None:
            t0 = time.perf_counter()
            r = client.post("/v1/transcribe", files={"file": (clip[0], clip[1])})
            r.raise_for_status()
            latencies.append(time.perf_counter() - t0)

        started = time.perf_counter()
        with ThreadPoolExecutor(4) as pool:
            list(pool.map(one, clips))
        wall = time.perf_counter() - started
    return {
        "clips": len(clips),
        "wall_s": wall,
        "per_minute": len(clips) / wall * 60,
        "latency_p50_s": q(latencies, 50),
        "latency_p95_s": q(latencies, 95),
    }


def run_jobs(
    url: str, clips: list[tuple[str, bytes, float]], receiver: Receiver
) -> dict[str, Any]:
    submitted: dict[str, float] = {}
    accept: list[float] = []
    with httpx.Client(base_url=url, timeout=300) as client:
        started = time.perf_counter()
        for name, data, _ in clips:
            t0 = time.perf_counter()
            r = client.post(
                "/v1/jobs",
                files={"file": (name, data)},
                data={"webhook_url": receiver.url},
            )
            assert r.status_code == 202, r.text
            accept.append(time.perf_counter() - t0)
            submitted[r.json()["id"]] = t0
        receiver.wait_for(set(submitted), 900)
        wall = max(receiver.arrivals[i] for i in submitted) - started
        failed = [
            i
            for i in submitted
            if client.get(f"/v1/jobs/{i}").json()["status"] != "succeeded"
        ]
    to_hook = [receiver.arrivals[i] - t for i, t in submitted.items()]
    return {
        "clips": len(clips),
        "failed": len(failed),
        "wall_s": wall,
        "per_minute": len(clips) / wall * 60,
        "accept_p50_s": q(accept, 50),
        "accept_p95_s": q(accept, 95),
        "to_webhook_p50_s": q(to_hook, 50),
        "to_webhook_p95_s": q(to_hook, 95),
    }


def run_single(
    url: str, clips: list[tuple[str, bytes, float]], receiver: Receiver
) -> dict[str, Any]:
    """Alternate a lone synchronous request and a lone job on the same clip."""
    sync: list[float] = []
    hook: list[float] = []
    with httpx.Client(base_url=url, timeout=300) as client:

        def sync_one(name: str, data: bytes) -> None:
            t0 = time.perf_counter()
            client.post(
                "/v1/transcribe", files={"file": (name, data)}
            ).raise_for_status()
            sync.append(time.perf_counter() - t0)

        def job_one(name: str, data: bytes) -> None:
            t0 = time.perf_counter()
            r = client.post(
                "/v1/jobs",
                files={"file": (name, data)},
                data={"webhook_url": receiver.url},
            )
            job_id = r.json()["id"]
            receiver.wait_for({job_id}, 300)
            hook.append(receiver.arrivals[job_id] - t0)

        for i, (name, data, _) in enumerate(clips):
            # alternate which goes first, so neither always meets warmer caches
            first, second = (sync_one, job_one) if i % 2 == 0 else (job_one, sync_one)
            first(name, data)
            second(name, data)
    extra = [h - s for h, s in zip(hook, sync)]
    return {
        "jobs": len(clips),
        "sync_p50_s": statistics.median(sync),
        "to_webhook_p50_s": statistics.median(hook),
        "added_p50_s": statistics.median(extra),
        "added_max_s": max(extra),
    }


def measure(
    store: str, database_url: str | None, clips: list, single: list, rounds: int
) -> dict[str, Any]:
    """``rounds`` rounds of (synchronous, jobs) on one server, then the lone jobs."""
    receiver = Receiver()
    sync, jobs = [], []
    try:
        with (
            tempfile.TemporaryDirectory(prefix="aural-job-bench-") as tmp,
            job_server(Path(tmp) / "jobs", database_url) as url,
        ):
            run_sync(url, clips[:4])  # warm-up
            for _ in range(rounds):
                sync.append(run_sync(url, clips))
                jobs.append(run_jobs(url, clips, receiver))
            lone = run_single(url, single, receiver)
    finally:
        receiver.close()
    return {
        "store": store,
        "sync": sync,
        "jobs": jobs,
        "single": lone,
        "bad_signatures": receiver.bad_signatures,
    }


def median_ratio(run: dict[str, Any]) -> float:
    return statistics.median(
        j["per_minute"] / s["per_minute"] for s, j in zip(run["sync"], run["jobs"])
    )


def write_markdown(report: dict[str, Any], path: Path) -> None:
    lines = [
        "# Job API vs the synchronous endpoint",
        "",
        f"Commit `{report['commit']}`, {report['machine']}. Whisper tiny.en, beam 1, "
        f"`--workers 2`; {report['clips']} LibriSpeech train-clean-100 utterances of "
        f"4-10 s ({report['audio_s']:.0f} s of audio), the same on every row.",
        "The machine is shared with other work: compare the ratios within this run.",
        "",
        "```bash",
        report["command"],
        "```",
        "",
        "## Throughput (all clips at once)",
        "",
        "| store | synchronous (4 clients) clips/min | jobs/min (submit all -> last "
        "webhook) | ratio | 202 p50 / p95 | submit -> webhook p50 / p95 | "
        "failed | bad signatures |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for run in report["runs"]:
        for k, (s, j) in enumerate(zip(run["sync"], run["jobs"]), 1):
            lines.append(
                f"| {run['store']}, round {k} | {s['per_minute']:.1f} | "
                f"{j['per_minute']:.1f} | {j['per_minute'] / s['per_minute']:.2f} | "
                f"{j['accept_p50_s'] * 1000:.0f} / {j['accept_p95_s'] * 1000:.0f} ms "
                f"| {j['to_webhook_p50_s']:.1f} / {j['to_webhook_p95_s']:.1f} s | "
                f"{j['failed']} | {run['bad_signatures']} |"
            )
    lines += ["", "Median ratio (jobs/min over synchronous clips/min) per store: "]
    lines[-1] += ", ".join(
        f"{run['store']} {median_ratio(run):.2f}" for run in report["runs"]
    )
    lines += [
        "",
        "## One job on an idle server (time to webhook)",
        "",
        "| store | jobs | synchronous latency p50 | submit -> webhook p50 | "
        "added by queue + store + webhook p50 (max) |",
        "|---|---|---|---|---|",
    ]
    for run in report["runs"]:
        one = run["single"]
        lines.append(
            f"| {run['store']} | {one['jobs']} | {one['sync_p50_s'] * 1000:.0f} ms | "
            f"{one['to_webhook_p50_s'] * 1000:.0f} ms | "
            f"{one['added_p50_s'] * 1000:.0f} ms ({one['added_max_s'] * 1000:.0f} ms) |"
        )
    if report.get("postgres_note"):
        lines += ["", report["postgres_note"]]
    path.write_text("\n".join(lines) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clips", type=int, default=32)
    parser.add_argument("--single", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args()
    clips = pick_clips(args.clips)
    single = clips[: args.single]
    runs = [measure("SQLite (default)", None, clips, single, args.rounds)]
    note = None
    if not args.no_postgres:
        with throwaway_postgres() as pg_url:
            if pg_url is None:
                note = "PostgreSQL: not measured (no initdb/pg_ctl or psycopg here)."
            else:
                runs.append(
                    measure("PostgreSQL 15", pg_url, clips, single, args.rounds)
                )
    report = {
        "commit": git_commit(),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs (shared)",
        "command": "python benchmarks/job_api.py " + " ".join(sys.argv[1:]),
        "clips": len(clips),
        "audio_s": sum(c[2] for c in clips),
        "runs": runs,
        "postgres_note": note,
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "job_api.json").write_text(json.dumps(report, indent=2) + "\n")
    write_markdown(report, RESULTS / "job_api.md")
    print((RESULTS / "job_api.md").read_text())  # noqa: T201


if __name__ == "__main__":
    main()
