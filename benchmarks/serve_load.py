"""Load test of ``aural serve`` on loopback: throughput, latency, memory, overload, streams.

Each phase starts a real ``aural serve`` process on 127.0.0.1 (a free port) and drives
it with concurrent httpx / websockets clients posting real recordings from
../shared/data. Every phase is bounded in requests and in time.

Phases:
  1. scaling: whisper tiny.en (beam 1), short real clips, C concurrent clients, against a
     server with --workers 2 and against a one-request-at-a-time server (--workers 1):
     throughput, p50/p95/p99 latency, errors.
  2. overload: 4x the sustainable concurrency (workers + queue) against --workers 2
     --queue 2: counts of 200 / 429 / 503 / other 5xx (5xx must be 0).
  3. memory: 1,000 requests after 50 warm-up requests: every 5th transcribes a short real
     clip (whisper tiny.en), the others take error paths that still spool the upload
     (corrupt audio, invalid option, not audio); resident memory (VmRSS of the server
     process) before and after. (Two shared CPU cores cannot transcribe 1,000 clips in a
     few minutes; the mix keeps every code path that allocates per request.)
  4. streams: 1, 2 and 4 concurrent WebSocket streams at real-time pace: first-result
     latency and the time from the end frame to the end event.

    python benchmarks/serve_load.py [--quick]  ->  benchmarks/results/serve_load.{json,md}
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import signal
import socket
import statistics
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import numpy as np

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
REPO = HERE.parent


def shared_data() -> Path:
    env = os.environ.get("AURAL_TEST_DATA")
    return Path(env) if env else REPO.parent / "shared" / "data"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024.0
    raise RuntimeError("no VmRSS")


@contextmanager
def aural_serve(**settings: Any) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """Start ``aural serve`` with AURAL_SERVE_* settings; yield (url, process)."""
    port = free_port()
    env = {**os.environ, "AURAL_SERVE_PORT": str(port), "AURAL_SERVE_LOG_LEVEL": "warning"}
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
                raise RuntimeError(proc.stderr.read().decode() if proc.stderr else "exited")
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


def percentile(values: list[float], q: float) -> float | None:
    return float(np.percentile(values, q)) if values else None


Plan = Callable[[int], tuple[dict[str, Any], float]]


def clip_plan(clips: list[tuple[bytes, float]], params: dict[str, str] | None = None) -> Plan:
    """Request ``i`` posts clip ``i mod len(clips)`` as multipart ``file``."""

    def plan(i: int) -> tuple[dict[str, Any], float]:
        data, duration = clips[i % len(clips)]
        return {"params": params, "files": {"file": ("clip.wav", data, "audio/wav")}}, duration

    return plan


async def http_load(
    url: str, plan: Plan, concurrency: int, count: int, time_limit_s: float
) -> dict[str, Any]:
    """``concurrency`` clients send ``plan(i)`` back to back until ``count`` or the limit."""
    statuses: Counter[str] = Counter()
    latencies: list[float] = []
    audio_s = 0.0
    next_index = 0
    started = time.perf_counter()
    deadline = started + time_limit_s

    async def client(c: httpx.AsyncClient) -> None:
        nonlocal next_index, audio_s
        while next_index < count and time.perf_counter() < deadline:
            request, duration = plan(next_index)
            next_index += 1
            t0 = time.perf_counter()
            try:
                r = await c.post("/v1/transcribe", **request)
                statuses[str(r.status_code)] += 1
                if r.status_code == 200:
                    latencies.append(time.perf_counter() - t0)
                    audio_s += duration
                elif r.status_code in (429, 503):
                    retry = float(r.headers.get("retry-after", "1"))
                    await asyncio.sleep(min(retry, 1.0) * 0.2)
            except httpx.HTTPError as err:
                statuses[f"transport:{type(err).__name__}"] += 1

    limits = httpx.Limits(max_connections=concurrency + 4)
    async with httpx.AsyncClient(base_url=url, timeout=300, limits=limits) as c:
        await asyncio.gather(*(client(c) for _ in range(concurrency)))
    wall = time.perf_counter() - started
    ok = len(latencies)
    return {
        "concurrency": concurrency,
        "requests": sum(statuses.values()),
        "ok": ok,
        "statuses": dict(statuses),
        "server_errors_5xx": sum(
            v for k, v in statuses.items() if k.startswith("5") and k != "503"
        ),
        "wall_s": round(wall, 2),
        "throughput_rps": round(ok / wall, 3) if wall else None,
        "audio_s_per_s": round(audio_s / wall, 3) if wall else None,
        "latency_s": {
            "p50": percentile(latencies, 50),
            "p95": percentile(latencies, 95),
            "p99": percentile(latencies, 99),
            "mean": statistics.fmean(latencies) if latencies else None,
        },
    }


def mixed_plan(clips: list[tuple[bytes, float]], every: int) -> Plan:
    """Every ``every``-th request transcribes a real clip; the others take the error paths
    a server meets in the wild (each spools its upload to a temp file first): corrupt
    audio (415), an invalid option (422) and a file that is not audio at all (415)."""
    junk = os.urandom(48_000)

    def plan(i: int) -> tuple[dict[str, Any], float]:
        data, duration = clips[i % len(clips)]
        kind = i % every
        if kind == 0:
            return {"files": {"file": ("clip.wav", data, "audio/wav")}}, duration
        if kind % 3 == 1:
            return {"files": {"file": ("bad.wav", data[:44] + junk, "audio/wav")}}, 0.0
        if kind % 3 == 2:
            return {"files": {"file": ("clip.wav", data)}, "data": {"beam_size": "0"}}, 0.0
        return {"files": {"file": ("notes.txt", junk[:4000], "text/plain")}}, 0.0

    return plan


async def ws_stream(url: str, pcm: bytes, chunk_s: float = 0.1) -> dict[str, Any]:
    from websockets.asyncio.client import connect

    step = int(16000 * chunk_s) * 2
    first_event: float | None = None
    end_sent: float | None = None
    end_at: float | None = None
    kinds: Counter[str] = Counter()
    text = []
    async with connect(
        f"{url.replace('http', 'ws', 1)}/v1/listen?sample_rate=16000", proxy=None, max_size=None
    ) as ws:
        started = time.perf_counter()

        async def send() -> None:
            nonlocal end_sent
            for i in range(0, len(pcm), step):
                await ws.send(pcm[i : i + step])
                # real-time pace, measured from the start (no drift)
                target = started + (i + step) / 32000
                await asyncio.sleep(max(0.0, target - time.perf_counter()))
            end_sent = time.perf_counter()
            await ws.send(json.dumps({"type": "end"}))

        sender = asyncio.create_task(send())
        async for message in ws:
            event = json.loads(message)
            kinds[event["type"]] += 1
            if first_event is None:
                first_event = time.perf_counter() - started
            if event["type"] == "final":
                text.append(event["text"])
            if event["type"] == "end":
                end_at = time.perf_counter()
        await sender
    return {
        "audio_s": len(pcm) / 32000,
        "first_event_s": first_event,
        "end_latency_s": (end_at - end_sent) if end_at and end_sent else None,
        "events": dict(kinds),
        "text": " ".join(text),
    }


def load_clips(paths: list[Path]) -> list[tuple[bytes, float]]:
    import soundfile as sf

    return [(p.read_bytes(), sf.info(str(p)).duration) for p in paths]


def phase_scaling(clips, concurrency: int, count: int, limit_s: float) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for label, workers in (("workers_2", 2), ("workers_1", 1)):
        with aural_serve(
            engine="whisper", beam_size=1, workers=workers, queue=32, engine_threads=1
        ) as (url, _):
            asyncio.run(http_load(url, clip_plan(clips), 2, 4, 120))  # warm-up
            out[label] = asyncio.run(http_load(url, clip_plan(clips), concurrency, count, limit_s))
        print(label, out[label], flush=True)
    one = out["workers_1"]["throughput_rps"] or 0
    out["speedup_vs_one_at_a_time"] = (
        round(out["workers_2"]["throughput_rps"] / one, 2) if one else None
    )
    return out


def phase_overload(clips, count: int, limit_s: float) -> dict[str, Any]:
    workers, queue = 2, 2
    concurrency = 4 * (workers + queue)
    with aural_serve(
        engine="whisper",
        beam_size=1,
        workers=workers,
        queue=queue,
        engine_threads=1,
        retry_after_s=1,
    ) as (url, proc):
        result = asyncio.run(http_load(url, clip_plan(clips), concurrency, count, limit_s))
        result["server_alive_after"] = (
            proc.poll() is None and httpx.get(f"{url}/health").status_code == 200
        )
    result["sustainable_concurrency"] = workers + queue
    print("overload", result, flush=True)
    return result


def phase_memory(clips, count: int, limit_s: float, every: int) -> dict[str, Any]:
    with aural_serve(engine="whisper", beam_size=1, workers=2, queue=16, engine_threads=1) as (
        url,
        proc,
    ):
        plan = mixed_plan(clips, every)
        warm = asyncio.run(http_load(url, plan, 4, 50, 300))
        before = rss_mb(proc.pid)
        run = asyncio.run(http_load(url, plan, 4, count, limit_s))
        after = rss_mb(proc.pid)
    result = {
        "engine": "whisper tiny.en",
        "transcription_every": every,
        "warmup_requests": warm["requests"],
        "run": run,
        "rss_before_mb": round(before, 1),
        "rss_after_mb": round(after, 1),
        "rss_growth_pct": round(100.0 * (after - before) / before, 2),
    }
    print("memory", result, flush=True)
    return result


def phase_streams(pcm: bytes, counts: tuple[int, ...]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    with aural_serve(engine="whisper", beam_size=1, workers=2, max_streams=16) as (url, _):
        asyncio.run(ws_stream(url, pcm[:32000]))  # warm-up
        for n in counts:

            async def many(n: int = n) -> list[dict[str, Any]]:
                return await asyncio.gather(*(ws_stream(url, pcm) for _ in range(n)))

            runs = asyncio.run(many())
            firsts = [r["first_event_s"] for r in runs if r["first_event_s"] is not None]
            ends = [r["end_latency_s"] for r in runs if r["end_latency_s"] is not None]
            out[f"streams_{n}"] = {
                "streams": n,
                "completed": sum(1 for r in runs if r["events"].get("end") == 1),
                "errors": sum(r["events"].get("error", 0) for r in runs),
                "first_event_s_mean": round(statistics.fmean(firsts), 2) if firsts else None,
                "end_latency_s_mean": round(statistics.fmean(ends), 2) if ends else None,
                "end_latency_s_max": round(max(ends), 2) if ends else None,
                "partials_per_stream": round(
                    statistics.fmean(r["events"].get("partial", 0) for r in runs), 1
                ),
                "sample_text": runs[0]["text"],
            }
            print("streams", n, out[f"streams_{n}"], flush=True)
    return out


def environment() -> dict[str, Any]:
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"],
        cwd=REPO,
        check=False,
        capture_output=True,
        text=True,
    ).stdout.strip()
    return {
        "commit": commit,
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "machine": platform.machine(),
        "load_average_start": os.getloadavg(),
        "note": "loopback only; CPU shared with other jobs (see load averages)",
    }


def write_markdown(report: dict[str, Any], path: Path) -> None:
    s, o, m, w = (report[k] for k in ("scaling", "overload", "memory", "streams"))

    def row(name: str, r: dict[str, Any]) -> str:
        lat = r["latency_s"]
        fmt = lambda v: f"{v:.2f}" if v is not None else "-"
        return (
            f"| {name} | {r['concurrency']} | {r['ok']}/{r['requests']} | "
            f"{r['throughput_rps']} | {r['audio_s_per_s']} | {fmt(lat['p50'])} | "
            f"{fmt(lat['p95'])} | {fmt(lat['p99'])} | {r['statuses']} |"
        )

    lines = [
        "# aural serve: load test (loopback)",
        "",
        f"Command: `{report['command']}`  ",
        (
            f"Commit {report['environment']['commit']}, "
            f"{report['environment']['cpus']} CPUs (shared with other jobs; load average at start "
            f"{report['environment']['load_average_start'][0]:.1f}, at end "
            f"{report['environment']['load_average_end'][0]:.1f})."
        ),
        "",
        "## Throughput and latency (whisper tiny.en, beam 1, short real clips)",
        "",
        "| server | clients | ok/sent | req/s | audio s/s | p50 s | p95 s | p99 s | statuses |",
        "|---|---|---|---|---|---|---|---|---|",
        row("--workers 2", s["workers_2"]),
        row("--workers 1 (one at a time)", s["workers_1"]),
        "",
        (
            f"Speed-up of the worker pool over a one-request-at-a-time server: "
            f"**{s['speedup_vs_one_at_a_time']}x**."
        ),
        "",
        (
            f"## Overload: {o['concurrency']} clients = 4x the sustainable "
            f"{o['sustainable_concurrency']} (--workers 2 --queue 2)"
        ),
        "",
        "| statuses | other 5xx | server alive after |",
        "|---|---|---|",
        f"| {o['statuses']} | {o['server_errors_5xx']} | {o['server_alive_after']} |",
        "",
        "## Memory over 1,000 requests after 50 warm-up requests (whisper tiny.en)",
        "",
        "Every 5th request transcribes a short real clip; the others are refused after their",
        "upload was spooled (corrupt audio 415, invalid option 422, not audio 415).",
        "",
        "| requests | transcribed | statuses | RSS before MB | RSS after MB | growth % |",
        "|---|---|---|---|---|---|",
        (
            f"| {m['run']['requests']} | {m['run']['ok']} | {m['run']['statuses']} | "
            f"{m['rss_before_mb']} | {m['rss_after_mb']} | {m['rss_growth_pct']} |"
        ),
        "",
        "## WebSocket streams at real-time pace (whisper tiny.en, LDC93S1, 2.9 s)",
        "",
        (
            "| streams | completed | errors | first event s | end latency mean s | max s | "
            "partials/stream |"
        ),
        "|---|---|---|---|---|---|---|",
    ]
    for r in w.values():
        lines.append(
            f"| {r['streams']} | {r['completed']} | {r['errors']} | "
            f"{r['first_event_s_mean']} | {r['end_latency_s_mean']} | "
            f"{r['end_latency_s_max']} | {r['partials_per_stream']} |"
        )
    lines += [
        "",
        (
            "End latency: from the client's end frame to the server's end event "
            "(the final decode of the last utterance)."
        ),
        "",
    ]
    path.write_text("\n".join(lines))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="small counts (smoke run)")
    args = parser.parse_args()
    data = shared_data()
    short = sorted((data / "misc").glob("speechcommands_*.wav")) + sorted(
        (data / "misc").glob("00[1-5].wav")
    )
    from aural import audio

    ldc = audio.load(data / "misc" / "LDC93S1.wav")
    pcm = (np.clip(ldc.samples, -1, 1) * 32767).astype("<i2").tobytes()
    q = args.quick
    report: dict[str, Any] = {
        "command": "python benchmarks/serve_load.py" + (" --quick" if q else ""),
        "environment": environment(),
    }
    report["scaling"] = phase_scaling(load_clips(short), 4, 12 if q else 40, 60 if q else 150)
    report["overload"] = phase_overload(load_clips(short), 30 if q else 100, 60 if q else 120)
    report["memory"] = phase_memory(load_clips(short), 100 if q else 1000, 60 if q else 720, 5)
    report["streams"] = phase_streams(pcm, (1, 2) if q else (1, 2, 4))
    report["environment"]["load_average_end"] = os.getloadavg()
    RESULTS.mkdir(exist_ok=True)
    name = "serve_load_quick" if q else "serve_load"
    (RESULTS / f"{name}.json").write_text(json.dumps(report, indent=2) + "\n")
    write_markdown(report, RESULTS / f"{name}.md")
    print((RESULTS / f"{name}.md").read_text())


if __name__ == "__main__":
    main()
