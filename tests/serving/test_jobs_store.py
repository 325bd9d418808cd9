"""The job store on SQLite and on a real PostgreSQL that the tests start (a throwaway
cluster: initdb + pg_ctl on a free port; skipped with the reason where PostgreSQL or
psycopg is absent): claims are exclusive across connections, a lost lease fences the
old worker out, worn-out jobs fail, idempotency keys race safely, and two servers share
one PostgreSQL queue."""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from aural.errors import ConfigError
from aural.serving import ModelCache, ServeConfig, create_app
from aural.serving.jobstore import JobStore, NewJob, open_store
from aural.serving.runner import free_port, serve_in_thread

_PG_HINT = (
    "install the Debian package `postgresql` (make system-deps does, as root) and "
    "`pip install 'psycopg[binary]'`"
)


def _pg_bindir() -> Path | None:
    for candidate in (
        shutil.which("pg_config") and _pg_config_bindir(),
        *sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True),
        os.path.dirname(shutil.which("initdb") or ""),
    ):
        if candidate and (Path(candidate) / "initdb").exists():
            return Path(candidate)
    return None


def _pg_config_bindir() -> str | None:
    try:
        out = subprocess.run(
            ["pg_config", "--bindir"], capture_output=True, text=True, check=True
        )
    except (OSError, subprocess.CalledProcessError):
        return None
    return out.stdout.strip()


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    """A fresh PostgreSQL cluster on 127.0.0.1 for this module (trust auth)."""
    try:
        import psycopg  # noqa: F401
    except ImportError:
        pytest.skip(f"psycopg is not installed; {_PG_HINT}")
    bindir = _pg_bindir()
    if bindir is None:
        pytest.skip(f"PostgreSQL (initdb, pg_ctl) is not installed; {_PG_HINT}")
    # PostgreSQL refuses to run as root: as root, run it as the package's user
    as_user: list[str] = []
    owner = None
    if os.geteuid() == 0:
        try:
            owner = pwd.getpwnam("postgres")
        except KeyError:
            pytest.skip("running as root and there is no 'postgres' user to run as")
        as_user = ["runuser", "-u", "postgres", "--"]
    root = Path(tempfile.mkdtemp(prefix="aural-pg-"))
    if owner is not None:
        os.chown(root, owner.pw_uid, owner.pw_gid)
    data, port = root / "data", free_port()
    log = root / "server.log"

    def run(*args: str) -> None:
        subprocess.run([*as_user, *args], check=True, capture_output=True)

    try:
        run(
            str(bindir / "initdb"),
            "-D",
            str(data),
            "-A",
            "trust",
            "-U",
            "aural",
            "--no-sync",
        )
        options = (
            f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c full_page_writes=off"
        )
        run(str(bindir / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(log),
            "-w", "start")  # fmt: skip
    except subprocess.CalledProcessError as err:
        shutil.rmtree(root, ignore_errors=True)
        pytest.fail(f"could not start PostgreSQL: {err.stderr.decode()[-500:]}")
    try:
        yield f"postgresql://aural@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(
            [*as_user, str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate",
             "stop"],
            capture_output=True,
        )  # fmt: skip
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(params=["sqlite", "postgresql"])
def store_factory(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[Callable[[], JobStore]]:
    """``store_factory()``: a new connection to one empty store (SQLite or
    PostgreSQL)."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'jobs.sqlite3'}"
    else:
        base = request.getfixturevalue("postgres_url")
        import psycopg

        name = f"t{os.getpid()}_{time.monotonic_ns()}"
        with psycopg.connect(base, autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name}")
        url = base.rsplit("/", 1)[0] + f"/{name}"
    opened: list[JobStore] = []

    def make() -> JobStore:
        store = open_store(url)
        opened.append(store)
        return store

    yield make
    for store in opened:
        store.close()


def _submit(store: JobStore, n: int) -> list[str]:
    return [store.create(NewJob(params={"n": i}))[0].id for i in range(n)]


def test_claims_are_exclusive_across_connections(store_factory):
    stores = [store_factory(), store_factory()]
    ids = _submit(stores[0], 30)
    claimed: list[tuple[str, str]] = []
    lock = threading.Lock()

    def worker(k: int) -> None:
        store = stores[k % 2]
        while (job := store.claim(f"w{k}", 30.0, 3)) is not None:
            with lock:
                claimed.append((job.id, f"w{k}"))
            assert store.finish(job.id, f"w{k}", job.attempts, "succeeded",
                                {"text": str(job.params["n"])}, None, 60.0)  # fmt: skip

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(worker, range(4)))
    assert sorted(i for i, _ in claimed) == sorted(ids)  # each exactly once
    assert stores[1].counts()["succeeded"] == 30
    for job_id in ids[:5]:
        job = stores[1].get(job_id)
        assert job is not None and job.attempts == 1 and job.completions == 1
        assert [a.outcome for a in stores[1].attempts_of(job_id)] == ["succeeded"]


def test_a_lost_lease_fences_the_old_worker_out(store_factory):
    a, b = store_factory(), store_factory()
    (job_id,) = _submit(a, 1)
    first = a.claim("dead-worker", 0.3, 3)
    assert first is not None and first.id == job_id
    assert b.claim("w2", 30.0, 3) is None  # leased: not claimable yet
    time.sleep(0.4)
    assert b.has_claimable()
    second = b.claim("w2", 30.0, 3)
    assert second is not None and second.attempts == 2
    # the first worker wakes up: its heartbeat and its result are refused
    assert a.heartbeat("dead-worker", {job_id: (1, 0.5)}, 30.0) == {job_id}
    assert not a.finish(job_id, "dead-worker", 1, "succeeded", {"text": "x"}, None, 60)
    assert b.finish(job_id, "w2", 2, "succeeded", {"text": "y"}, None, 60)
    job = a.get(job_id)
    assert job is not None and job.result == {"text": "y"} and job.completions == 1
    assert [x.outcome for x in a.attempts_of(job_id)] == ["superseded", "succeeded"]


def test_a_job_that_keeps_killing_its_worker_fails(store_factory):
    store = store_factory()
    (job_id,) = _submit(store, 1)
    for _ in range(2):
        assert store.claim("crashing", 0.05, 2) is not None
        time.sleep(0.1)
    assert store.claim("next", 30.0, 2) is None
    job = store.get(job_id)
    assert job is not None and job.status == "failed"
    assert job.error is not None and job.error["type"] == "worker_lost"
    assert [x.outcome for x in store.attempts_of(job_id)] == ["lost", "lost"]


def test_idempotency_key_race_creates_one_job(store_factory):
    stores = [store_factory() for _ in range(4)]
    barrier = threading.Barrier(4)

    def create(k: int) -> tuple[str, bool]:
        barrier.wait()
        job, created = stores[k].create(
            NewJob(params={}, idempotency_key="same-key", request_hash="h")
        )
        return job.id, created

    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(create, range(4)))
    assert len({job_id for job_id, _ in results}) == 1
    assert sum(created for _, created in results) == 1


def test_cancel_release_and_expiry(store_factory):
    store = store_factory()
    queued, running = _submit(store, 2)
    job = store.claim("w", 30.0, 3)
    assert job is not None and job.id == queued  # oldest first
    cancelled = store.cancel(running, retention_s=0.05)
    assert cancelled is not None and cancelled.status == "cancelled"
    assert store.release(queued, "w", job.attempts)
    again = store.claim("w2", 30.0, 3)
    assert again is not None and again.id == queued and again.attempts == 2
    assert [x.outcome for x in store.attempts_of(queued)] == ["released", "running"]
    time.sleep(0.1)
    store.expire()
    assert store.get(running) is None and store.get(queued) is not None


def test_bad_database_urls_are_config_errors(tmp_path: Path):
    with pytest.raises(ConfigError, match="unknown scheme 'mysql'"):
        open_store("mysql://u:secret@host/db")
    with pytest.raises(ConfigError) as err:
        open_store("postgresql://u:hunter2@127.0.0.1:1/db")
    assert "hunter2" not in str(err.value) and "***" in str(err.value)
    with pytest.raises(ConfigError, match="sqlite:////absolute"):
        open_store("sqlite://relative.db")


@pytest.mark.slow
def test_two_servers_share_one_postgresql_queue(
    postgres_url: str,
    model_cache: ModelCache,
    server_config: Callable[..., ServeConfig],
    auth: dict[str, str],
    shared_data: Path,
    tmp_path: Path,
):
    clips = sorted(shared_data.glob("misc/cmu_arctic_*.wav"))
    changes: dict[str, Any] = {
        "database_url": postgres_url,
        "jobs_dir": tmp_path / "shared-spool",  # shared storage for uploads
        "job_workers": 1,
        "job_poll_s": 0.1,
    }
    a = server_config(tmp_path / "a", **changes)
    b = server_config(tmp_path / "b", **changes)
    with (
        serve_in_thread(create_app(a, model_cache=model_cache), port=a.port) as url_a,
        serve_in_thread(create_app(b, model_cache=model_cache), port=b.port) as url_b,
        httpx.Client(headers=auth, timeout=60) as client,
    ):
        ids = []
        for i, clip in enumerate(clips):
            url = (url_a, url_b)[i % 2]
            r = client.post(
                f"{url}/v1/jobs", files={"file": (clip.name, clip.read_bytes())}
            )
            assert r.status_code == 202, r.text
            ids.append(r.json()["id"])
        deadline = time.monotonic() + 90
        bodies: dict[str, Any] = {}
        while time.monotonic() < deadline and len(bodies) < len(ids):
            for job_id in ids:
                body = client.get(f"{url_b}/v1/jobs/{job_id}").json()  # any server
                if body["status"] in ("succeeded", "failed", "cancelled"):
                    bodies[job_id] = body
            time.sleep(0.1)
        workers = set()
        for job_id in ids:
            assert bodies[job_id]["status"] == "succeeded", bodies[job_id]["error"]
            assert bodies[job_id]["result"]["text"].strip()
            runs = client.get(f"{url_a}/v1/jobs/{job_id}/attempts").json()["runs"]
            assert [r["outcome"] for r in runs] == ["succeeded"]
            workers.add(runs[0]["worker"])
        assert len(workers) == 2  # both servers took jobs from the one queue
        queued = client.get(f"{url_a}/metrics").text
        assert "aural_jobs_queued 0.0" in queued


def test_serve_refuses_a_bad_database_url_with_one_line(tmp_path: Path):
    from typer.testing import CliRunner

    from aural.cli import app

    result = CliRunner().invoke(
        app,
        ["serve", "--engine", "sphinx", "--database-url", "mysql://u:hunter2@h/db"],
    )
    assert result.exit_code == 2
    assert "unknown scheme 'mysql'" in result.output
    assert "hunter2" not in result.output and "Traceback" not in result.output
    short = CliRunner().invoke(
        app,
        ["serve", "--engine", "sphinx", "--webhook-secret", "short",
         "--jobs-dir", str(tmp_path)],
    )  # fmt: skip
    assert short.exit_code == 2 and "webhook_secret" in short.output
