"""Batch transcription on Ray Data: decoding in CPU tasks, recognition in an actor pool.

The pipeline (:func:`transcribe_on_ray`)::

    inputs (paths, URLs) -> Ray Dataset, one block per input
      -> map: decode each input to 16 kHz mono (CPU tasks, DECODE_CPUS each)
      -> map_batches: recognise in a pool of actors, one engine (model) loaded per
         actor, one GPU each when the cluster has GPUs; the actor renders the formats
      -> the driver writes each input's files atomically, then records it in the ledger

Only the driver writes, and it writes an input's files before its ``done`` line in the
ledger (:mod:`aural.distributed.ledger`), so files and ledger agree whatever dies:

* a worker (actor) that dies is restarted by Ray and its unfinished inputs are given to
  a worker again; results reach the driver once, so nothing is written twice;
* an input whose worker dies each time it recognises it (a crash in native code) fails
  after :data:`TASK_RETRIES` retries and is recorded as failed; the job goes on;
* a driver that dies leaves complete files and a ledger of what is done; the same
  command run again does only the inputs whose outputs are missing.

Outputs are the local batch's (:mod:`aural.batch`) byte for byte: the same engine
settings (one thread per decode), the same batched call per input group and the same
writers.
"""

from __future__ import annotations

import glob
import importlib
import logging
import math
import os
import socket
import warnings
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from aural.audio.load import AUDIO_SUFFIXES, load
from aural.audio.waveform import Waveform
from aural.batch import expand_inputs, transcribe_decoded
from aural.decoding.options import DecodeOptions
from aural.distributed.ledger import Ledger
from aural.errors import AuralError, ConfigError, MissingDependencyError

__all__ = [
    "DECODE_CPUS",
    "TASK_RETRIES",
    "EngineSpec",
    "RayItem",
    "RaySettings",
    "TooManyFailuresError",
    "is_url",
    "list_sources",
    "require_ray",
    "transcribe_on_ray",
]

logger = logging.getLogger(__name__)

RAY_INSTALL_HINT = "pip install 'aural[ray]'"
DECODE_CPUS = 0.25  # CPUs a decode task asks for: decoding is ~1 % of recognition
TASK_RETRIES = 3  # retries of an input whose worker died while recognising it
LOCAL_OBJECT_STORE_BYTES = 1 << 30  # the embedded Ray's shared memory (spills beyond)
MANIFEST_SUFFIXES = (".jsonl",)  # an input with this suffix lists audio files


class TooManyFailuresError(AuralError):
    """More inputs failed than the job allows (``max_failures``); the job stopped."""


@dataclass(frozen=True, slots=True)
class EngineSpec:
    """How every worker builds its engine: ``create_engine(name, model, **settings)``.

    Attributes:
        name: a registered engine (``whisper``, ``sphinx``, ...).
        model: the model name or path (None = the engine's default); a path must exist
            on every node.
        settings: the engine's settings by name (its ``settings_type`` fields). A worker
            given a GPU runs an engine with a ``device`` setting on ``cuda``.
    """

    name: str
    model: str | None = None
    settings: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class RaySettings:
    """Where and how wide a job runs.

    Attributes:
        address: None = start a Ray on this machine for the job (stopped after it);
            ``auto`` = join the cluster this machine belongs to; ``ray://HOST:PORT``
            = a remote cluster through Ray Client.
        workers: actors recognising side by side, each with its own model (None = one
            per GPU of the cluster, or one per CPU where it has none).
        max_failures: stop the job once more inputs than this have failed (None = never
            stop: every failure is recorded and the job goes on).
        num_cpus: CPUs of the Ray this job starts (None = this process's cores);
            unused with ``address``.
    """

    address: str | None = None
    workers: int | None = None
    max_failures: int | None = None
    num_cpus: int | None = None

    def __post_init__(self) -> None:
        for name in ("workers", "max_failures", "num_cpus"):
            value = getattr(self, name)
            low = 0 if name == "max_failures" else 1
            if value is not None and (
                isinstance(value, bool) or not isinstance(value, int) or value < low
            ):
                raise ConfigError(
                    f"{name} must be a whole number >= {low}, got {value!r}",
                    options=(name,),
                )
        if self.address is not None and not (
            self.address == "auto" or self.address.startswith("ray://")
        ):
            raise ConfigError(
                f"address must be 'auto' or ray://HOST:PORT, got {self.address!r}",
                options=("address",),
            )


@dataclass(frozen=True, slots=True)
class RayItem:
    """One input's outcome, yielded once its files and ledger line are on disk.

    Attributes:
        source: the input (a path as listed, or a URL).
        outputs: the files written (none when it failed).
        duration: seconds of audio (0.0 when it could not be decoded).
        error: why it failed (None when it was transcribed).
        worker: ``host:pid`` of the actor that recognised it.
    """

    source: str
    outputs: tuple[Path, ...] = ()
    duration: float = 0.0
    error: str | None = None
    worker: str | None = None


# -- inputs ------------------------------------------------------------------------


def is_url(source: str) -> bool:
    """Whether ``source`` names a file by URL (``s3://``, ``gs://``, ``file://``...),
    read through fsspec, rather than a local path."""
    scheme, sep, _ = source.partition("://")
    return bool(sep) and scheme.isidentifier() and len(scheme) > 1


def list_sources(inputs: Sequence[str]) -> list[str]:
    """Inputs -> the audio files to transcribe, each once, in order.

    Each input is a local file, folder (searched recursively for audio) or glob, as the
    local batch takes them (:func:`aural.batch.expand_inputs`); a JSONL manifest
    (``*.jsonl``, the ``aural.data`` manifest format: one object per line with an
    ``audio`` path) whose audio files are listed; or a URL that fsspec reads
    (``s3://bucket/calls/*.flac``, ``gs://...``, ``https://...``), a folder or a glob
    of them. A local name that matches nothing is kept, so that it is reported as
    missing.

    Raises:
        MissingDependencyError: a URL whose filesystem needs a package not installed
            (e.g. ``s3fs`` for ``s3://``).
        ConfigError: an unknown URL scheme, or a manifest that lists parts of files.
        DatasetError: a manifest that cannot be read.
    """
    out: list[str] = []
    seen: set[str] = set()
    for item in inputs:
        if is_url(item):
            found = _list_url(item)
        elif item.lower().endswith(MANIFEST_SUFFIXES) and Path(item).is_file():
            found = _list_manifest(Path(item))
        else:
            found = [str(p) for p in expand_inputs([item])]
        for source in found:
            key = source if is_url(source) else str(Path(source).resolve())
            if key not in seen:
                seen.add(key)
                out.append(source)
    return out


def _list_manifest(path: Path) -> list[str]:
    from aural.data.readers import read_manifest_file

    manifest = read_manifest_file(path)
    for utt in manifest:
        if utt.is_segment:
            raise ConfigError(
                f"{path}: utterance {utt.id!r} is a part ({utt.start}-{utt.end} s) of "
                f"{utt.audio}; a batch transcribes whole files, so list files only"
            )
    return [str(utt.audio) for utt in manifest]


def _import_fsspec() -> Any:
    try:
        return importlib.import_module("fsspec")
    except ImportError as err:
        raise MissingDependencyError(
            f"reading URLs needs fsspec: {RAY_INSTALL_HINT}"
        ) from err


def _filesystem(url: str) -> tuple[Any, str]:
    fsspec = _import_fsspec()
    try:
        return fsspec.core.url_to_fs(url)  # type: ignore[no-any-return]
    except ImportError as err:  # fsspec names the package: "Install s3fs to access S3"
        raise MissingDependencyError(f"{url}: {err}") from err
    except ValueError as err:  # "Protocol not known: xyz"
        raise ConfigError(f"{url}: {err}") from err


def _list_url(url: str) -> list[str]:
    fs, path = _filesystem(url)
    if glob.has_magic(path):
        found = [p for p in sorted(fs.glob(path)) if fs.isfile(p)]
    elif fs.isdir(path):
        found = [
            p for p in sorted(fs.find(path)) if Path(p).suffix.lower() in AUDIO_SUFFIXES
        ]
    else:
        return [url]  # a file, or a missing one (reported when it is read)
    return [fs.unstrip_protocol(p) for p in found]


# -- the work done on the cluster ------------------------------------------------------


def _message(err: AuralError) -> str:
    """The error as one line: its message and its notes."""
    return " ".join(
        p for p in (str(err), *(str(n) for n in getattr(err, "__notes__", ()))) if p
    )


def _read_url(url: str) -> bytes:
    fs, path = _filesystem(url)
    try:
        with fs.open(path, "rb") as f:
            return f.read()  # type: ignore[no-any-return]
    except FileNotFoundError as err:
        raise AuralError(f"{url}: no such file") from err
    except OSError as err:
        raise AuralError(f"{url}: cannot read it ({err})") from err


def _decode(
    row: dict[str, Any],
    *,
    sample_rate: int,
    raw_sample_rate: int | None,
    raw_encoding: str,
) -> dict[str, Any]:
    """Ray map task: one input's audio -> 16 kHz mono samples (or its error)."""
    source = str(row["source"])
    try:
        audio: Path | bytes = _read_url(source) if is_url(source) else Path(source)
        wave = load(
            audio,
            sample_rate,
            raw_sample_rate=raw_sample_rate,
            raw_encoding=raw_encoding,
            name=source if is_url(source) else None,
        )
    except AuralError as err:
        return {**row, "samples": np.zeros(0, np.float32), "error": _message(err)}
    return {**row, "samples": wave.samples, "error": ""}


def _worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


class _Recognizer:
    """Ray actor: one engine loaded once, recognising batches of decoded inputs.

    An engine that cannot be built (a model that is not there, options it refuses)
    makes every row carry ``fatal``: the driver stops the job with that error rather
    than Ray restarting the actor for ever.
    """

    def __init__(
        self, spec: EngineSpec, options: DecodeOptions, sample_rate: int
    ) -> None:
        from aural.engines.base import create_engine, engine_class

        self.options, self.sample_rate = options, sample_rate
        self.worker = _worker_name()
        self.fatal = ""
        self.engine: Any = None
        try:
            settings = dict(spec.settings)
            fields = {f.name for f in _fields(engine_class(spec.name).settings_type)}
            if "device" in fields and "device" not in settings and _has_gpu():
                settings["device"] = "cuda"
            self.engine = create_engine(spec.name, spec.model, **settings)
            self.engine.check_options(options)
        except AuralError as err:
            self.fatal = f"{type(err).__name__}\t{_message(err)}"

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, list[Any]]:
        from aural.writers import render

        sources = [str(s) for s in batch["source"]]
        n = len(sources)
        out: dict[str, list[Any]] = {
            "source": sources,
            "rendered": [{} for _ in range(n)],
            "duration": [0.0] * n,
            "error": [str(e) for e in batch["error"]],
            "worker": [self.worker] * n,
            "fatal": [self.fatal] * n,
        }
        if self.fatal:
            return _columns(out)
        todo: list[int] = []
        waves: list[tuple[Path, Waveform]] = []
        for i in range(n):
            if out["error"][i]:
                continue
            samples = np.asarray(batch["samples"][i], dtype=np.float32)
            wave = Waveform(samples, self.sample_rate)
            out["duration"][i] = wave.duration
            todo.append(i)
            waves.append((Path(sources[i]), wave))
        if waves:
            items = transcribe_decoded(self.engine, waves, self.options)
            for i, item in zip(todo, items, strict=True):
                if item.transcript is None:
                    out["error"][i] = (
                        _message(item.error) if item.error else "no transcript"
                    )
                    continue
                formats = str(batch["formats"][i]).split(",")
                out["rendered"][i] = {f: render(item.transcript, f) for f in formats}
        return _columns(out)


def _columns(out: dict[str, list[Any]]) -> dict[str, list[Any]]:
    # Arrow needs one type per column: the rendered texts travel as JSON text.
    import json

    return {**out, "rendered": [json.dumps(r) for r in out["rendered"]]}


def _fields(settings_type: Any) -> tuple[Any, ...]:
    import dataclasses

    return dataclasses.fields(settings_type)


def _has_gpu() -> bool:
    import ray

    return bool(ray.get_gpu_ids())


# -- the driver ----------------------------------------------------------------------


def require_ray() -> None:
    """Check that Ray Data can be imported.

    Raises:
        MissingDependencyError: it cannot, with the command that installs it.
    """
    _import_ray()


def _import_ray() -> Any:
    try:
        ray = importlib.import_module("ray")
        importlib.import_module("ray.data")
    except ImportError as err:
        raise MissingDependencyError(
            f"the Ray backend needs Ray Data ({err.name} is not installed): "
            f"{RAY_INSTALL_HINT}"
        ) from err
    return ray


def _connect(ray: Any, settings: RaySettings) -> bool:
    """Join or start Ray; True when this call started it (and must stop it)."""
    if ray.is_initialized():  # the caller's Ray (a notebook, a test): used as it is
        return False
    # Ray's console logs: errors only (its files under the session's logs/ folder
    # keep the rest); workers' output is not relayed (their errors come back as ours)
    quiet: dict[str, Any] = {"log_to_driver": False, "logging_level": logging.ERROR}
    if settings.address is None:
        from aural.engines.layout import usable_cores

        # address="local": always a Ray of our own, never one that happens to run
        # here already (another job's, or RAY_ADDRESS), which would refuse num_cpus
        ray.init(
            address="local",
            num_cpus=settings.num_cpus or usable_cores(),
            include_dashboard=False,
            object_store_memory=LOCAL_OBJECT_STORE_BYTES,
            **quiet,
        )
        return True
    try:
        ray.init(address=settings.address, **quiet)
    except (ConnectionError, RuntimeError, ValueError) as err:
        raise ConfigError(
            f"cannot join the Ray cluster at {settings.address}: {err}",
            options=("address",),
        ) from err
    return True


def _pool(
    resources: Mapping[str, float], workers: int | None, inputs: int | None = None
) -> dict[str, Any]:
    """Actors and what each asks for, from the cluster's resources (never more actors
    than ``inputs``: each loads a model)."""
    cpus = float(resources.get("CPU", 1.0))
    gpus = float(resources.get("GPU", 0.0))
    if gpus >= 1:
        size = workers or int(gpus)
        num_gpus = min(1.0, gpus / size)
    else:
        size = workers or max(1, int(cpus))
        num_gpus = 0.0
    size = max(1, min(size, inputs or size))
    # Leave room for one decode task, so that recognition never starves decoding;
    # rounded down, or 4 actors' 0.4375 CPU rounded to 0.438 would leave decoding
    # 0.248 of the 0.25 it asks for, and the job would wait for ever.
    num_cpus = max(0.001, min(1.0, (cpus - DECODE_CPUS) / size))
    return {
        "size": size,
        "num_cpus": math.floor(num_cpus * 1000) / 1000,
        "num_gpus": math.floor(num_gpus * 1000) / 1000,
    }


def transcribe_on_ray(
    plan: Mapping[str, Sequence[Path]],
    engine: EngineSpec,
    options: DecodeOptions,
    ledger: Ledger,
    *,
    settings: RaySettings | None = None,
    sample_rate: int = 16000,
    raw_sample_rate: int | None = None,
    raw_encoding: str = "pcm_s16le",
) -> Iterator[RayItem]:
    """Transcribe every input of ``plan`` on Ray, writing its files and ledger line.

    Yields one :class:`RayItem` per input as it finishes (in no set order), after its
    files are written (atomically) and its ledger line is on disk. A failed input is
    recorded with its error and the job goes on, up to ``settings.max_failures``.

    Args:
        plan: input (a path or URL) -> the files to write for it; each file's suffix is
            its format (``.txt``, ``.json``, ``.srt``, ``.vtt``, ``.tsv``).
        engine: how each worker builds its engine.
        options: decoding options for every input.
        ledger: the open ledger of this run (its folder's lock is held).
        settings: where and how wide to run (default: a Ray started on this machine).
        sample_rate: the engine's input rate (16 kHz for every built-in engine).
        raw_sample_rate: the rate of headerless PCM inputs.
        raw_encoding: the sample format of headerless PCM inputs.

    Raises:
        MissingDependencyError: Ray Data is not installed.
        ConfigError: the cluster cannot be reached.
        AuralError: (its subclass) the engine cannot be built on a worker, e.g.
            ``ModelNotFoundError``; nothing more is done.
        TooManyFailuresError: more than ``settings.max_failures`` inputs failed.

    Example:
        >>> with Ledger("out/aural-ledger.jsonl") as ledger:
        ...     plan = {"a.flac": [Path("out/a.txt")]}
        ...     for item in transcribe_on_ray(plan, EngineSpec("whisper"),
        ...                                   DecodeOptions(), ledger):
        ...         print(item.source, item.error)
    """
    settings = settings or RaySettings()
    ray = _import_ray()
    if not plan:
        return
    started = _connect(ray, settings)
    try:
        yield from _run(
            ray, plan, engine, options, ledger, settings, sample_rate,
            raw_sample_rate, raw_encoding,
        )  # fmt: skip
    finally:
        if started:
            ray.shutdown()


def _run(
    ray: Any,
    plan: Mapping[str, Sequence[Path]],
    engine: EngineSpec,
    options: DecodeOptions,
    ledger: Ledger,
    settings: RaySettings,
    sample_rate: int,
    raw_sample_rate: int | None,
    raw_encoding: str,
) -> Iterator[RayItem]:
    import ray.data

    pool = _pool(ray.cluster_resources(), settings.workers, len(plan))
    per_call = options.batch_size or (8 if pool["num_gpus"] else 1)
    rows = [
        {"source": s, "formats": ",".join(o.suffix[1:] for o in outs)}
        for s, outs in plan.items()
    ]
    ds = ray.data.from_items(rows, override_num_blocks=len(rows))
    ds = ds.map(
        _decode,
        fn_kwargs={
            "sample_rate": sample_rate,
            "raw_sample_rate": raw_sample_rate,
            "raw_encoding": raw_encoding,
        },
        num_cpus=DECODE_CPUS,
    )
    with warnings.catch_warnings():
        # Ray 2.60 has no named parameter for an actor task's retries yet and warns
        # about the generic one; without it an input that kills its worker each time
        # would be retried for ever.
        warnings.filterwarnings("ignore", "`ray_remote_args` is deprecated")
        ds = ds.map_batches(
            _Recognizer,
            fn_constructor_kwargs={
                "spec": engine,
                "options": options,
                "sample_rate": sample_rate,
            },
            batch_size=per_call,
            batch_format="numpy",
            compute=ray.data.ActorPoolStrategy(size=pool["size"]),
            num_cpus=pool["num_cpus"],
            num_gpus=pool["num_gpus"] or None,
            max_task_retries=TASK_RETRIES,
        )
    ds.context.max_errored_blocks = -1  # a lost input is recorded below, not fatal
    ds.context.enable_progress_bars = False
    ds.context.print_on_execution_start = False
    pending = dict(plan)
    failures = 0
    rows = iter(ds.iter_rows())
    try:
        for row in rows:
            if row["fatal"]:
                raise _rebuild(str(row["fatal"]))
            source = str(row["source"])
            outputs = pending.pop(source, None)
            if outputs is None:  # delivered twice (never expected): written once only
                logger.warning("%s: a second result was ignored", source)
                continue
            item = _deliver(row, outputs, ledger)
            yield item
            if item.error is not None:
                failures += 1
                _check_failures(failures, settings, ledger, len(pending))
    finally:  # a job stopped early stops its tasks and actors now (a shared Ray)
        close = getattr(rows, "close", None)
        if close is not None:
            close()
    for source in pending:  # its recognition failed, retries included
        error = (
            f"{source}: lost: its recognition failed {TASK_RETRIES + 1} times (its "
            "worker died, or an unexpected error; Ray's logs name it)"
        )
        ledger.failed(source, error)
        yield RayItem(source, error=error)
        failures += 1
        _check_failures(failures, settings, ledger, 0)


def _check_failures(
    failures: int, settings: RaySettings, ledger: Ledger, left: int
) -> None:
    if settings.max_failures is not None and failures > settings.max_failures:
        raise TooManyFailuresError(
            f"{failures} inputs failed, more than max_failures={settings.max_failures}:"
            f" the job stopped with {left} inputs not done. {ledger.path} lists the "
            "failures; run the same command again to do the rest",
            options=("max_failures",),
        )


def _rebuild(fatal: str) -> AuralError:
    """The engine's error from a worker (``Type\\tmessage``), as its own type."""
    import aural.errors

    name, _, message = fatal.partition("\t")
    cls = getattr(aural.errors, name, AuralError)
    if not (isinstance(cls, type) and issubclass(cls, AuralError)):
        cls = AuralError
    return cls(f"on a Ray worker: {message}")


def _deliver(
    row: Mapping[str, Any], outputs: Sequence[Path], ledger: Ledger
) -> RayItem:
    """Write one input's files (atomically), then its ledger line."""
    import json

    from aural.writers import write_atomic

    source, worker = str(row["source"]), str(row["worker"])
    duration = float(row["duration"])
    error = str(row["error"]) or None
    if error is None:
        rendered = json.loads(str(row["rendered"]))
        try:
            for out in outputs:
                write_atomic(out, rendered[out.suffix[1:]])
        except OSError as err:
            error = f"{source}: cannot write {out} ({err.strerror or err})"
    if error is not None:
        ledger.failed(source, error, duration=duration or None, worker=worker)
        return RayItem(source, duration=duration, error=error, worker=worker)
    ledger.done(source, outputs, duration=duration, worker=worker)
    return RayItem(source, tuple(outputs), duration, worker=worker)
