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
  3. memory: 1,000 requests after 250 warm-up requests, a repeating mix of five: two
     short real clips and one noise WAV transcribed (whisper tiny.en), one upload that is
     not audio (415) and one invalid option (422); resident memory (VmRSS of the server
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
import statistics
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import numpy as np
from _common import aural_serve, git_commit, shared_data

ALL_PHASES = ("scaling", "overload", "memory", "streams")
WARMUP_REQUESTS = 250  # before the memory phase's first RSS reading
HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
REPO = HERE.parent


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024.0
    raise RuntimeError("no VmRSS")


def percentile(values: list[float], q: float) -> float | None:
    return float(np.percentile(values, q)) if values else None


Plan = Callable[[int], tuple[dict[str, Any], float]]


def clip_plan(
    clips: list[tuple[bytes, float]], params: dict[str, str] | None = None
) -> Plan:
    """Request ``i`` posts clip ``i mod len(clips)`` as multipart ``file``."""

    def plan(i: int) -> tuple[dict[str, Any], float]:
        data, duration = clips[i % len(clips)]
        return {
            "params": params,
            "files": {"file": ("clip.wav", data, "audio/wav")},
        }, duration

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
    cpu_started = time.process_time()
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
    client_cpu = (
        time.process_time() - cpu_started
    )  # the load generator shares the cores
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
        "client_cpu_s_per_request": round(client_cpu / max(1, ok), 4),
        "latency_s": {
            "p50": percentile(latencies, 50),
            "p95": percentile(latencies, 95),
            "p99": percentile(latencies, 99),
            "mean": statistics.fmean(latencies) if latencies else None,
        },
        "_latencies": latencies,
    }


MIX = (
    "of every 5 requests: 2 transcribe a short real clip, 1 transcribes a WAV header "
    "followed by 1.5 s of random bytes (decodes as white noise), 1 is refused as not audio "
    "(415) and 1 carries an invalid option (422); every upload is spooled to disk first"
)


def mixed_plan(clips: list[tuple[bytes, float]]) -> Plan:
    """Requests in a repeating pattern of five (see :data:`MIX`)."""
    junk = os.urandom(48_000)

    def plan(i: int) -> tuple[dict[str, Any], float]:
        data, duration = clips[i % len(clips)]
        kind = i % 5
        if kind in (0, 3):
            return {"files": {"file": ("clip.wav", data, "audio/wav")}}, duration
        if kind == 1:  # a 16-bit WAV header (from the clip) over random bytes: noise
            return {
                "files": {"file": ("noise.wav", data[:44] + junk, "audio/wav")}
            }, 1.5
        if kind == 2:
            return {
                "files": {"file": ("clip.wav", data)},
                "data": {"beam_size": "0"},
            }, 0.0
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
        f"{url.replace('http', 'ws', 1)}/v1/listen?sample_rate=16000",
        proxy=None,
        max_size=None,
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


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (seconds)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def merge_runs(
    runs: list[dict[str, Any]], latencies: list[float], cpu_s: float
) -> dict[str, Any]:
    statuses: Counter[str] = Counter()
    for r in runs:
        statuses.update(r["statuses"])
    wall = sum(r["wall_s"] for r in runs)
    ok = sum(r["ok"] for r in runs)
    audio = sum(r["audio_s_per_s"] * r["wall_s"] for r in runs)
    return {
        "concurrency": runs[0]["concurrency"],
        "requests": sum(r["requests"] for r in runs),
        "ok": ok,
        "statuses": dict(statuses),
        "server_errors_5xx": sum(r["server_errors_5xx"] for r in runs),
        "wall_s": round(wall, 2),
        "throughput_rps": round(ok / wall, 3),
        "audio_s_per_s": round(audio / wall, 3),
        "server_cpu_s_per_request": round(cpu_s / max(ok, 1), 3),
        "server_cores_busy": round(cpu_s / wall, 2),
        "client_cpu_s_per_request": round(
            sum(r["client_cpu_s_per_request"] * r["ok"] for r in runs) / max(ok, 1), 4
        ),
        "latency_s": {
            "p50": percentile(latencies, 50),
            "p95": percentile(latencies, 95),
            "p99": percentile(latencies, 99),
            "mean": statistics.fmean(latencies) if latencies else None,
        },
    }


def phase_scaling(
    clips, concurrency: int, rounds: int, per_round: int
) -> dict[str, Any]:
    """The pool (--workers 2, one engine thread each) against a one-request-at-a-time
    server (--workers 1, the engine's default intra-op threads), both up at once and
    measured in alternating rounds so that load from other jobs hits both alike."""
    servers = {
        "workers_2": {"workers": 2, "engine_threads": 1},
        "workers_1": {"workers": 1},
    }
    plan = clip_plan(clips)
    with (
        aural_serve(
            engine="whisper", beam_size=1, queue=32, **servers["workers_2"]
        ) as a,
        aural_serve(
            engine="whisper", beam_size=1, queue=32, **servers["workers_1"]
        ) as b,
    ):
        procs = {"workers_2": a, "workers_1": b}
        runs: dict[str, list[dict[str, Any]]] = {k: [] for k in servers}
        lats: dict[str, list[float]] = {k: [] for k in servers}
        cpu: dict[str, float] = dict.fromkeys(servers, 0.0)
        for url, _ in procs.values():
            asyncio.run(http_load(url, plan, 2, 4, 120))  # warm-up
        for _ in range(rounds):
            for label, (url, proc) in procs.items():
                c0 = cpu_seconds(proc.pid)
                r = asyncio.run(http_load(url, plan, concurrency, per_round, 300))
                cpu[label] += cpu_seconds(proc.pid) - c0
                runs[label].append(r)
                lats[label].extend(r.pop("_latencies"))
    out: dict[str, Any] = {k: merge_runs(runs[k], lats[k], cpu[k]) for k in servers}
    out["settings"] = servers
    one = out["workers_1"]["throughput_rps"] or 0
    out["speedup_vs_one_at_a_time"] = (
        round(out["workers_2"]["throughput_rps"] / one, 2) if one else None
    )
    print("scaling", out, flush=True)
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
        result = asyncio.run(
            http_load(url, clip_plan(clips), concurrency, count, limit_s)
        )
        result.pop("_latencies")
        result["server_alive_after"] = (
            proc.poll() is None and httpx.get(f"{url}/health").status_code == 200
        )
    result["sustainable_concurrency"] = workers + queue
    print("overload", result, flush=True)
    return result


def phase_memory(clips, count: int, limit_s: float) -> dict[str, Any]:
    with aural_serve(
        engine="whisper", beam_size=1, workers=2, queue=16, engine_threads=1
    ) as (
        url,
        proc,
    ):
        plan = mixed_plan(clips)
        # RSS rises over the first few hundred requests (allocator arenas of the worker
        # threads, buffers sized by the largest request so far) and then stays flat: a
        # trace every `step` requests shows a plateau apart from a leak, which keeps rising
        warm = asyncio.run(http_load(url, plan, 4, WARMUP_REQUESTS, 300))
        trace = [(0, rss_mb(proc.pid))]
        runs = []
        step = max(1, count // 4)
        deadline = time.monotonic() + limit_s
        while trace[-1][0] < count and time.monotonic() < deadline:
            n = min(step, count - trace[-1][0])
            runs.append(
                asyncio.run(http_load(url, plan, 4, n, deadline - time.monotonic()))
            )
            trace.append((trace[-1][0] + runs[-1]["requests"], rss_mb(proc.pid)))
    statuses: Counter[str] = Counter()
    for r in runs:
        statuses.update(r["statuses"])
    before, after = trace[0][1], trace[-1][1]
    result = {
        "engine": "whisper tiny.en",
        "mix": MIX,
        "warmup_requests": warm["requests"],
        "run": {
            "requests": trace[-1][0],
            "ok": sum(r["ok"] for r in runs),
            "statuses": dict(statuses),
            "server_errors_5xx": sum(r["server_errors_5xx"] for r in runs),
        },
        "rss_trace_mb": [[n, round(mb, 1)] for n, mb in trace],
        "rss_before_mb": round(before, 1),
        "rss_after_mb": round(after, 1),
        "rss_growth_pct": round(100.0 * (after - before) / before, 2),
    }
    print("memory", result, flush=True)
    return result


def phase_streams(pcm: bytes, counts: tuple[int, ...]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    with aural_serve(engine="whisper", beam_size=1, workers=2, max_streams=16) as (
        url,
        _,
    ):
        asyncio.run(ws_stream(url, pcm[:32000]))  # warm-up
        for n in counts:

            async def many(n: int = n) -> list[dict[str, Any]]:
                return await asyncio.gather(*(ws_stream(url, pcm) for _ in range(n)))

            runs = asyncio.run(many())
            firsts = [
                r["first_event_s"] for r in runs if r["first_event_s"] is not None
            ]
            ends = [r["end_latency_s"] for r in runs if r["end_latency_s"] is not None]
            out[f"streams_{n}"] = {
                "streams": n,
                "completed": sum(1 for r in runs if r["events"].get("end") == 1),
                "errors": sum(r["events"].get("error", 0) for r in runs),
                "first_event_s_mean": round(statistics.fmean(firsts), 2)
                if firsts
                else None,
                "end_latency_s_mean": round(statistics.fmean(ends), 2)
                if ends
                else None,
                "end_latency_s_max": round(max(ends), 2) if ends else None,
                "partials_per_stream": round(
                    statistics.fmean(r["events"].get("partial", 0) for r in runs), 1
                ),
                "sample_text": runs[0]["text"],
            }
            print("streams", n, out[f"streams_{n}"], flush=True)
    return out


def environment() -> dict[str, Any]:
    commit = git_commit()
    return {
        "commit": commit,
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "machine": platform.machine(),
        "load_average_start": os.getloadavg(),
        "note": "loopback only; CPU shared with other jobs (see load averages)",
    }


def _num(v: float | None) -> str:
    return f"{v:.2f}" if v is not None else "-"


def _load(phase: dict[str, Any]) -> str:
    m = phase.get("measured", {})
    return (
        f"_Commit {m.get('commit')}, finished {m.get('finished')}; load average of the shared "
        f"2-CPU machine {m.get('load_average_start', 0):.1f} at start, "
        f"{m.get('load_average_end', 0):.1f} at end._"
    )


def write_markdown(report: dict[str, Any], path: Path) -> None:
    s, o, m, w = (report[k] for k in ("scaling", "overload", "memory", "streams"))

    def row(name: str, r: dict[str, Any]) -> str:
        lat = r["latency_s"]
        return (
            f"| {name} | {r['concurrency']} | {r['ok']}/{r['requests']} | "
            f"{r['throughput_rps']} | {r['audio_s_per_s']} | {_num(lat['p50'])} | "
            f"{_num(lat['p95'])} | {_num(lat['p99'])} | {r.get('server_cpu_s_per_request', '-')} "
            f"| {r.get('server_cores_busy', '-')} | {r['statuses']} |"
        )

    env = report["environment"]
    lines = [
        "# aural serve: load test (loopback)",
        "",
        f"Command: `{report['command']}` (Python {env['python']}, {env['cpus']} CPUs).",
        "Every phase starts real `aural serve` processes on 127.0.0.1 and posts real",
        "recordings from ../shared/data. The machine's two cores are shared with other jobs,",
        "so wall-clock numbers are far below what an idle machine gives; the load average",
        "of each phase is printed under it.",
        "",
        "## Throughput and latency (whisper tiny.en, beam 1, Speech Commands + card-game clips)",
        "",
        "The pool (`--workers 2`, one engine thread each) against a one-request-at-a-time",
        "server (`--workers 1`, engine threads at the server default), both running, measured in",
        "alternating rounds so that outside load hits both alike.",
        "",
        (
            "| server | clients | ok/sent | req/s | audio s/s | p50 s | p95 s | p99 s | "
            "server CPU s/req | cores busy | statuses |"
        ),
        "|---|---|---|---|---|---|---|---|---|---|---|",
        row("--workers 2", s["workers_2"]),
        row("--workers 1 (one at a time)", s["workers_1"]),
        "",
        (
            f"Throughput of the pool over the one-at-a-time server: "
            f"**{s['speedup_vs_one_at_a_time']}x**."
        ),
        "",
        _load(s),
        "",
        (
            f"## Overload: {o['concurrency']} clients = 4x the sustainable "
            f"{o['sustainable_concurrency']} (`--workers 2 --queue 2`)"
        ),
        "",
        "| requests | statuses | 5xx other than 503 | server alive after |",
        "|---|---|---|---|",
        (
            f"| {o['requests']} | {o['statuses']} | {o['server_errors_5xx']} | "
            f"{o['server_alive_after']} |"
        ),
        "",
        _load(o),
        "",
        (
            f"## Memory over 1,000 requests after {m['warmup_requests']} warm-up requests "
            "(whisper tiny.en)"
        ),
        "",
        f"Requests: {m.get('mix', MIX)}.",
        "",
        "| requests | transcribed | statuses | RSS before MB | RSS after MB | growth % |",
        "|---|---|---|---|---|---|",
        (
            f"| {m['run']['requests']} | {m['run']['ok']} | {m['run']['statuses']} | "
            f"{m['rss_before_mb']} | {m['rss_after_mb']} | {m['rss_growth_pct']} |"
        ),
        "",
        (
            "RSS (MB) after each quarter of the run: "
            + ", ".join(f"{n}: {mb}" for n, mb in m.get("rss_trace_mb", []))
            + "."
        ),
        "",
        _load(m),
        "",
        "## WebSocket streams at real-time pace (whisper tiny.en, LDC93S1, 2.9 s each)",
        "",
        (
            "| streams | completed | errors | first event s | end latency mean s | max s | "
            "partials/stream |"
        ),
        "|---|---|---|---|---|---|---|",
    ]
    for r in (v for k, v in w.items() if k.startswith("streams_")):
        lines.append(
            f"| {r['streams']} | {r['completed']} | {r['errors']} | "
            f"{r['first_event_s_mean']} | {r['end_latency_s_mean']} | "
            f"{r['end_latency_s_max']} | {r['partials_per_stream']} |"
        )
    lines += [
        "",
        "First event: from connecting to the first partial/final. End latency: from the",
        "client's end frame to the server's end event (the final decode of the last utterance).",
        "",
        _load(w),
        "",
    ]
    path.write_text("\n".join(lines))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="small counts (smoke run)")
    parser.add_argument(
        "--phases",
        default=",".join(ALL_PHASES),
        help="comma-separated subset of: " + ", ".join(ALL_PHASES),
    )
    parser.add_argument(
        "--render-only",
        action="store_true",
        help="rewrite the .md from the existing .json",
    )
    args = parser.parse_args()
    if args.render_only:
        name = "serve_load_quick" if args.quick else "serve_load"
        write_markdown(
            json.loads((RESULTS / f"{name}.json").read_text()), RESULTS / f"{name}.md"
        )
        return
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
    phases = set(args.phases.split(","))
    previous = RESULTS / ("serve_load_quick.json" if q else "serve_load.json")
    if (
        phases != set(ALL_PHASES) and previous.exists()
    ):  # re-run some phases, keep the rest
        report = {**json.loads(previous.read_text()), **report}
    runners: dict[str, Callable[[], dict[str, Any]]] = {
        "scaling": lambda: phase_scaling(
            load_clips(short), 4, 2 if q else 4, 6 if q else 10
        ),
        "overload": lambda: phase_overload(
            load_clips(short), 300 if q else 1500, 20 if q else 60
        ),
        "memory": lambda: phase_memory(
            load_clips(short), 100 if q else 1000, 60 if q else 720
        ),
        "streams": lambda: phase_streams(pcm, (1, 2) if q else (1, 2, 4)),
    }
    for name in ALL_PHASES:
        if name in phases:
            load_start = os.getloadavg()[0]
            report[name] = runners[name]()
            report[name]["measured"] = {
                "commit": report["environment"]["commit"],
                "load_average_start": load_start,
                "load_average_end": os.getloadavg()[0],
                "finished": time.strftime("%Y-%m-%d %H:%M:%S"),
            }
    report["environment"]["load_average_end"] = os.getloadavg()
    report["command"] = "python benchmarks/serve_load.py" + (" --quick" if q else "")
    RESULTS.mkdir(exist_ok=True)
    name = "serve_load_quick" if q else "serve_load"
    (RESULTS / f"{name}.json").write_text(json.dumps(report, indent=2) + "\n")
    missing = [k for k in ALL_PHASES if k not in report]
    if missing:  # a first run of some phases: the tables need every phase
        print(f"wrote {name}.json; run the phases {', '.join(missing)} for {name}.md")
        return
    write_markdown(report, RESULTS / f"{name}.md")
    print((RESULTS / f"{name}.md").read_text())


if __name__ == "__main__":
    main()
