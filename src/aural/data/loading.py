"""One entry point for every dataset layout: :func:`load_dataset`."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from aural.data import readers
from aural.data.hf import is_hf_saved_dataset, read_hf_dataset
from aural.data.manifest import Manifest
from aural.data.readers import _FSDD_NAME, _LAYOUTS_HELP, DATASET_KINDS, DatasetKind
from aural.errors import ConfigError, DatasetError

__all__ = ["detect_layout", "load_dataset"]

_MANIFEST_SUFFIXES = (".jsonl", ".json", ".csv", ".tsv")
_MANIFEST_NAMES = ("manifest.jsonl", "manifest.json", "manifest.csv", "manifest.tsv")


def _read_manifest(path: Path, split: str | None) -> Manifest:
    if path.is_dir():
        found = [path / n for n in _MANIFEST_NAMES if (path / n).is_file()]
        if not found:
            raise DatasetError(f"no manifest.jsonl/.csv/.tsv in {str(path)!r}")
        path = found[0]
    return readers.read_manifest_file(path)


# kind -> reader of a local path with an optional split ("hf" is read by name or path)
_READERS: dict[str, Callable[[Path, str | None], Manifest]] = {
    "librispeech": lambda path, split: readers.read_librispeech(path, split=split),
    "ljspeech": lambda path, _: readers.read_ljspeech(path),
    "common_voice": lambda path, split: readers.read_common_voice(
        path, split=split or "test"
    ),
    "fleurs": lambda path, split: readers.read_fleurs(path, split=split or "test"),
    "mls": lambda path, split: readers.read_mls(path, split=split),
    "vctk": lambda path, _: readers.read_vctk(path),
    "tedlium": lambda path, split: readers.read_tedlium(path, split=split),
    "fsdd": lambda path, _: readers.read_fsdd(path),
    "manifest": _read_manifest,
}


def detect_layout(path: str | Path) -> str:
    """The dataset kind stored at ``path`` (one of :data:`DATASET_KINDS`).

    Raises:
        DatasetError: the path does not exist or matches no known layout; the message
            lists the layouts expected.
    """
    p = Path(path)
    if p.is_file():
        if p.suffix.lower() in _MANIFEST_SUFFIXES:
            return "manifest"
        raise DatasetError(
            f"{str(p)!r} is a file but not a .jsonl/.json/.csv/.tsv manifest"
        )
    if not p.is_dir():
        raise DatasetError(
            f"dataset {str(p)!r} does not exist; expected a folder in one of "
            f"these layouts: {_LAYOUTS_HELP}"
        )
    checks: tuple[tuple[str, Callable[[], bool]], ...] = (
        ("hf", lambda: is_hf_saved_dataset(p)),
        ("ljspeech", lambda: (p / "metadata.csv").is_file() and (p / "wavs").is_dir()),
        ("common_voice", lambda: (p / "clips").is_dir() and any(p.glob("*.tsv"))),
        (
            "fleurs",
            lambda: any((p / "audio" / t.stem).is_dir() for t in p.glob("*.tsv")),
        ),
        (
            "mls",
            lambda: (
                (p / "transcripts.txt").is_file() or any(p.glob("*/transcripts.txt"))
            ),
        ),
        ("vctk", lambda: (p / "txt").is_dir() and any(p.glob("wav48*"))),
        ("tedlium", lambda: (p / "stm").is_dir() or any(p.glob("*/stm"))),
        (
            "librispeech",
            lambda: any(
                any(p.glob(pattern))
                for pattern in (
                    "*.trans.txt",
                    "*/*.trans.txt",
                    "*/*/*.trans.txt",
                    "*/*/*/*.trans.txt",
                )
            ),
        ),
        ("manifest", lambda: any((p / n).is_file() for n in _MANIFEST_NAMES)),
        ("fsdd", lambda: any(_FSDD_NAME.match(f.name) for f in _first_wavs(p))),
    )
    for kind, check in checks:
        if check():
            return kind
    raise DatasetError(
        f"{str(p)!r} matches no known dataset layout; expected one of: {_LAYOUTS_HELP}"
    )


def _first_wavs(p: Path, limit: int = 20) -> list[Path]:
    folder = p / "recordings" if (p / "recordings").is_dir() else p
    wavs = []
    for f in folder.glob("*.wav"):
        wavs.append(f)
        if len(wavs) >= limit:
            break
    return wavs


def _looks_like_hub_name(source: str) -> bool:
    """``owner/name`` with no local folder ``owner`` (a mistyped local path stays
    local)."""
    parts = source.split("/")
    return (
        len(parts) == 2
        and all(parts)
        and not source.startswith((".", "/", "~"))
        and not Path(parts[0]).exists()
    )


def load_dataset(
    path_or_name: str | Path,
    kind: DatasetKind | str = "auto",
    *,
    split: str | None = None,
) -> Manifest:
    """Read a dataset in any supported layout into a :class:`Manifest`.

    Args:
        path_or_name: a corpus folder, a manifest file, a ``save_to_disk`` folder, or a
            Hugging Face hub name (``"owner/name"``) when no such local path exists.
        kind: ``"auto"`` (detect from the files) or one of :data:`DATASET_KINDS`.
        split: Common Voice or FLEURS TSV (default ``test``), a LibriSpeech,
            Multilingual LibriSpeech or TED-LIUM split under a root folder, or a
            Hugging Face split.

    Raises:
        DatasetError: missing path, unknown layout (naming the layouts expected) or
            unreadable files.
        ConfigError: an unknown ``kind``.

    Example:
        >>> m = load_dataset("../shared/data/LibriSpeech/dev-clean")  # doctest: +SKIP
        >>> len(m), m.speakers[:2]  # doctest: +SKIP
        (12, ('1272', '1988'))
    """
    if kind != "auto" and kind not in DATASET_KINDS:
        raise ConfigError(
            f"unknown dataset kind {kind!r}; choose auto or one of "
            f"{', '.join(DATASET_KINDS)}"
        )
    path = Path(path_or_name)
    if kind == "auto":
        if not path.exists() and _looks_like_hub_name(str(path_or_name)):
            kind = "hf"
        else:
            kind = detect_layout(path)
    if kind == "hf":
        return read_hf_dataset(path_or_name, split=split)
    return _READERS[kind](path, split)
