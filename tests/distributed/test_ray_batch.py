"""`aural transcribe --backend ray` on a real local Ray (2 CPUs) and real recordings.

One Ray is started for the module (tests that run in this process share it); the
driver-kill test runs the command as a user does, in subprocesses that start their
own. Ray starts are slow, so there are few of them.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from typer.testing import CliRunner

from aural.cli import app
from aural.decoding.options import DecodeOptions
from aural.distributed import (
    LEDGER_NAME,
    EngineSpec,
    Ledger,
    RaySettings,
    list_sources,
    read_ledger,
    transcribe_on_ray,
)

ray = pytest.importorskip("ray", reason="the ray extra is not installed")
# Ray Data's own deprecations (its context's old fields), not aural's
pytestmark = pytest.mark.filterwarnings("ignore:.*deprecated:DeprecationWarning")

AURAL = [sys.executable, "-m", "aural.cli"]


@pytest.fixture(scope="module")
def local_ray() -> object:
    """A Ray on this machine for the module: 2 CPUs, no dashboard, quiet."""
    import logging

    if ray.is_initialized():
        ray.shutdown()
    ray.init(
        address="local",  # our own, even if another Ray runs on this machine
        num_cpus=2,
        include_dashboard=False,
        log_to_driver=False,
        logging_level=logging.ERROR,
        object_store_memory=512 << 20,
    )
    yield ray
    ray.shutdown()


@pytest.fixture(scope="module")
def clips(shared_data: Path) -> list[Path]:
    """16 real utterances: LibriSpeech dev-clean (12) and 4 of train-clean-100."""
    libri = shared_data / "LibriSpeech"
    dev = sorted((libri / "dev-clean").rglob("*.flac"))
    train = sorted((libri / "train-clean-100").rglob("*.flac"))[:4]
    return dev + train


def _done_sources(records: list) -> Counter[str]:
    return Counter(r.source for r in records if r.event == "done")


def _outputs(folder: Path) -> dict[str, bytes]:
    return {
        p.name: p.read_bytes()
        for p in sorted(folder.iterdir())
        if p.is_file() and p.name != LEDGER_NAME
    }


@pytest.mark.slow
def test_ray_outputs_equal_the_local_batch(
    local_ray: object, tmp_path: Path, dev_clean: Path, jfk_flac: Path
) -> None:
    broken = tmp_path / "in" / "broken.flac"
    broken.parent.mkdir()
    broken.write_bytes(b"fLaC\x00\x00\x00\x22 not really a flac file")
    local, on_ray = tmp_path / "local", tmp_path / "ray"
    runner = CliRunner()
    common = ["--format", "all", "--beam-size", "5"]
    p_local = runner.invoke(
        app,
        ["transcribe", str(dev_clean), str(jfk_flac), str(broken), *common]
        + ["--output-dir", str(local)],
    )
    # jfk.flac (44.1 kHz stereo) by URL: read through fsspec, named by its path
    p_ray = runner.invoke(
        app,
        ["transcribe", str(dev_clean), jfk_flac.as_uri(), str(broken), *common]
        + ["--output-dir", str(on_ray), "--backend", "ray"],
    )
    assert p_local.exit_code == 1, p_local.output  # the broken file failed
    assert p_ray.exit_code == 1, p_ray.output
    assert "Traceback" not in p_ray.output
    assert "broken.flac" in p_ray.output and "done: 13 transcribed" in p_ray.output
    theirs, ours = _outputs(local), _outputs(on_ray)
    assert len(theirs) == 13 * 5 and "jfk.txt" in theirs
    assert ours == theirs  # every file, byte for byte
    records = read_ledger(on_ray / LEDGER_NAME)
    done = _done_sources(records)
    assert len(done) == 13 and set(done.values()) == {1}
    assert jfk_flac.as_uri() in done
    failed = [r for r in records if r.event == "failed"]
    assert [r.source for r in failed] == [str(broken)]
    assert "broken.flac" in (failed[0].error or "")
    for r in records:
        if r.event == "done":
            assert all(Path(o).is_file() for o in r.outputs) and len(r.outputs) == 5


@pytest.mark.slow
def test_ray_worker_killed_mid_job_loses_and_duplicates_nothing(
    local_ray: object, tmp_path: Path, clips: list[Path]
) -> None:
    out = tmp_path / "out"
    plan = {str(c): [out / f"{c.stem}.txt"] for c in clips}
    killed: list[int] = []
    seen: list[str] = []
    with Ledger(out / LEDGER_NAME) as ledger:
        items = transcribe_on_ray(
            plan,
            EngineSpec("whisper", None, {"cpu_threads": 1, "num_workers": 1}),
            DecodeOptions(beam_size=1),
            ledger,
            settings=RaySettings(workers=2),
        )
        for item in items:
            assert item.error is None, item.error
            seen.append(item.source)
            if not killed:  # the first result: kill the actor that made it
                pid = int(str(item.worker).rsplit(":", 1)[1])
                os.kill(pid, signal.SIGKILL)
                killed.append(pid)
    assert killed and len(seen) == len(clips)
    with pytest.raises(ProcessLookupError):
        os.kill(killed[0], 0)  # it really died
    records = read_ledger(out / LEDGER_NAME)
    done = _done_sources(records)
    assert set(done) == set(plan) and set(done.values()) == {1}  # once each
    assert not [r for r in records if r.event == "failed"]
    workers = {r.worker for r in records if r.event == "done"}
    assert len(workers) >= 2  # the work went on in another (or restarted) actor
    texts = sorted(out.glob("*.txt"))
    assert len(texts) == len(clips)
    assert all(t.read_text().strip() for t in texts)


def _wait_for_done(ledger: Path, count: int, proc: subprocess.Popen, limit_s: float):
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"the run ended before it was killed: {proc.stderr.read()}")
        if len(_done_sources(read_ledger(ledger))) >= count:
            return
        time.sleep(0.05)
    pytest.fail(f"no {count} inputs done within {limit_s} s")


@pytest.mark.slow
def test_ray_driver_killed_then_rerun_does_only_the_rest(
    tmp_path: Path, clips: list[Path]
) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    for c in clips:  # one folder of inputs, as a user would point at
        (folder / c.name).symlink_to(c)
    out = tmp_path / "out"
    args = [*AURAL, "transcribe", str(folder), "--backend", "ray"]
    args += ["--output-dir", str(out), "--workers", "2", "--beam-size", "1", "-q"]
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    first = subprocess.Popen(
        args, env=env, stderr=subprocess.PIPE, text=True, start_new_session=True
    )
    try:
        _wait_for_done(out / LEDGER_NAME, 3, first, limit_s=240)
        first.kill()  # SIGKILL: no cleanup of any kind
        first.wait(timeout=30)
    finally:
        if first.poll() is None:
            first.kill()
    before = read_ledger(out / LEDGER_NAME)
    run1 = {r.run for r in before if r.event == "run"}
    done1 = set(_done_sources(before))
    assert len(run1) == 1 and 3 <= len(done1) < len(clips)

    second = subprocess.run(args, env=env, capture_output=True, text=True, timeout=300)
    assert second.returncode == 0, second.stderr
    records = read_ledger(out / LEDGER_NAME)
    done = _done_sources(records)
    sources = {str(folder / c.name) for c in clips}
    assert set(done) == sources and set(done.values()) == {1}  # each once, in all
    rerun = [r for r in records[len(before) :] if r.event == "done"]
    transcribed = {r.source for r in rerun if not r.found}
    found = {r.source for r in rerun if r.found}  # written, not yet recorded: <= 2
    assert not transcribed & done1  # nothing done before was transcribed again
    assert transcribed | found | done1 == sources
    assert len(found) <= 2
    skipped = len(done1) + len(found)
    assert f"{skipped} skipped" in second.stderr
    assert f"done: {len(transcribed)} transcribed" in second.stderr
    assert len(list(out.glob("*.txt"))) == len(clips)
    run_lines = [json.loads(x) for x in (out / LEDGER_NAME).read_text().splitlines()]
    assert [x["todo"] for x in run_lines if x["event"] == "run"] == [
        len(clips),
        len(clips) - skipped,
    ]


def test_ray_needs_an_output_dir_and_refuses_local_flags(jfk_flac: Path) -> None:
    runner = CliRunner()
    p = runner.invoke(app, ["transcribe", str(jfk_flac), "--backend", "ray"])
    assert p.exit_code == 2 and "--output-dir" in p.output
    p = runner.invoke(app, ["transcribe", str(jfk_flac), "--max-failures", "3"])
    assert p.exit_code == 2 and "--backend ray" in p.output
    p = runner.invoke(app, ["transcribe", str(jfk_flac), "--backend", "spark"])
    assert p.exit_code == 2 and "spark" in p.output


def test_ray_missing_gives_the_install_hint(tmp_path: Path, jfk_flac: Path) -> None:
    # Ray made unimportable in a fresh interpreter, as on a machine without the extra
    code = (
        "import sys; sys.modules['ray'] = None\n"
        "from aural.cli import main\n"
        f"sys.argv = ['aural', 'transcribe', {str(jfk_flac)!r}, '--backend', 'ray',"
        f" '--output-dir', {str(tmp_path)!r}]\n"
        "main()\n"
    )
    p = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120
    )
    assert p.returncode == 2, p.stderr
    assert "pip install 'aural[ray]'" in p.stderr and "Traceback" not in p.stderr


def test_list_sources_reads_folders_manifests_and_urls(
    tmp_path: Path, dev_clean: Path, jfk_flac: Path
) -> None:
    manifest = tmp_path / "calls.jsonl"
    rows = [{"id": "jfk", "audio": str(jfk_flac), "text": ""}]
    manifest.write_text("".join(json.dumps(r) + "\n" for r in rows))
    glob_url = dev_clean.as_uri() + "/1272/*/*.flac"
    sources = list_sources([str(manifest), glob_url, str(jfk_flac), str(dev_clean)])
    assert sources[0] == str(jfk_flac)  # from the manifest; given again: listed once
    by_url = [p.as_uri() for p in sorted((dev_clean / "1272").glob("*/*.flac"))]
    assert by_url and sources[1 : 1 + len(by_url)] == by_url
    in_folder = [str(p) for p in sorted(dev_clean.rglob("*.flac"))]
    assert sources[1 + len(by_url) :] == in_folder  # a URL is another name: kept


def test_ledger_survives_a_torn_line_and_allows_one_writer(tmp_path: Path) -> None:
    path = tmp_path / LEDGER_NAME
    with Ledger(path) as ledger:
        ledger.start({"engine": "whisper"})
        ledger.done("a.flac", [tmp_path / "a.txt"], duration=1.5, worker="h:1")
        with pytest.raises(Exception, match="held by another run"):
            Ledger(path)
    with path.open("a") as f:  # a crash in the middle of a line
        f.write('{"event": "done", "run": "x", "time": "t", "sou')
    with Ledger(path) as ledger:
        ledger.failed("b.flac", "b.flac: cannot decode", worker="h:2")
    records = read_ledger(path)
    assert [r.event for r in records] == ["run", "done", "failed"]
    assert records[1].outputs == (str(tmp_path / "a.txt"),)
    assert records[2].error == "b.flac: cannot decode"


def test_ray_settings_refuse_bad_values() -> None:
    from aural.errors import ConfigError

    with pytest.raises(ConfigError, match="address"):
        RaySettings(address="10.0.0.1:6379")
    with pytest.raises(ConfigError, match="workers"):
        RaySettings(workers=0)


@pytest.mark.slow
def test_ray_max_failures_stops_and_an_engine_error_stops_at_once(
    local_ray: object, tmp_path: Path, jfk_flac: Path
) -> None:
    runner = CliRunner()
    bad = []
    for i in range(4):
        bad.append(tmp_path / "in" / f"bad{i}.wav")
        bad[-1].parent.mkdir(exist_ok=True)
        bad[-1].write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunk")
    out = tmp_path / "out"
    p = runner.invoke(
        app,
        ["transcribe", *map(str, bad), "--backend", "ray", "--output-dir", str(out)]
        + ["--max-failures", "1", "--workers", "1"],
    )
    assert p.exit_code == 1, p.output
    assert "--max-failures" in p.output and "Traceback" not in p.output
    failed = [r for r in read_ledger(out / LEDGER_NAME) if r.event == "failed"]
    assert len(failed) == 2  # stopped at the failure past the limit
    assert all(r.error and "bad" in r.error for r in failed)

    missing = tmp_path / "no-such-model"
    out2 = tmp_path / "out2"
    p = runner.invoke(
        app,
        ["transcribe", str(jfk_flac), "--backend", "ray", "--output-dir", str(out2)]
        + ["--model", str(missing)],
    )
    assert p.exit_code == 2, p.output  # the engine cannot load: a usage error
    assert "no-such-model" in p.output and "Traceback" not in p.output
    assert [r.event for r in read_ledger(out2 / LEDGER_NAME)] == ["run"]


@pytest.mark.parametrize("workers", [None, 1, 2, 3, 4, 6, 7])
def test_ray_pool_leaves_room_for_decoding(workers: int | None) -> None:
    # the actors' CPUs plus one decode task fit the cluster, or the job waits for ever
    from aural.distributed.ray_batch import DECODE_CPUS, _pool

    pool = _pool({"CPU": 2.0}, workers)
    assert pool["size"] == (workers or 2) and pool["num_gpus"] == 0
    assert _pool({"CPU": 2.0}, workers, inputs=1)["size"] == 1  # a model per actor
    assert 0 < pool["size"] * pool["num_cpus"] + DECODE_CPUS <= 2.0
    gpu = _pool({"CPU": 8.0, "GPU": 2.0}, workers)
    assert gpu["size"] * gpu["num_gpus"] <= 2.0 and gpu["num_gpus"] > 0
