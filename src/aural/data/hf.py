"""Hugging Face ``datasets`` as manifests: ``save_to_disk`` folders and hub names.

Audio is never decoded here and nothing is written to disk: an ``Audio`` column is read
with ``decode=False`` and each utterance keeps either the file path or the encoded bytes
(``extra["bytes"]``); a column of ``{"array", "sampling_rate"}`` records keeps the
samples (``extra["array"]`` + ``extra["sample_rate"]``).
:func:`aural.data.load_utterance_audio` turns any of these into a
:class:`~aural.audio.Waveform`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from aural.data.manifest import Manifest, Utterance
from aural.errors import DatasetError, missing_dependency

__all__ = ["is_hf_saved_dataset", "read_hf_dataset"]

_TEXT_COLUMNS = (
    "text",
    "sentence",
    "transcript",
    "transcription",
    "normalized_text",
    "raw_text",
)
_AUDIO_COLUMNS = ("audio", "path", "file", "speech")
_SPEAKER_COLUMNS = ("speaker_id", "speaker", "client_id")
_ID_COLUMNS = ("id", "utt_id", "utterance_id", "key", "segment_id")


def is_hf_saved_dataset(path: Path) -> bool:
    """Whether ``path`` is a folder written by ``Dataset(Dict).save_to_disk``."""
    return path.is_dir() and (
        (path / "dataset_dict.json").is_file()
        or ((path / "state.json").is_file() and (path / "dataset_info.json").is_file())
    )


def _import_datasets() -> Any:
    try:
        import datasets
    except ImportError as err:
        raise missing_dependency(
            "datasets", "datasets", "Reading Hugging Face datasets"
        ) from err
    return datasets


def _pick_split(
    obj: Any, source: str, split: str | None, datasets: Any
) -> tuple[Any, str]:
    if isinstance(obj, datasets.DatasetDict):
        names = list(obj.keys())
        if split is None:
            split = "test" if "test" in names else names[0] if len(names) == 1 else None
            if split is None:
                raise DatasetError(
                    f"Hugging Face dataset {source!r} has splits {names}; choose one "
                    "with split="
                )
        if split not in obj:
            raise DatasetError(
                f"Hugging Face dataset {source!r} has no split {split!r}; "
                f"splits: {names}"
            )
        return obj[split], split
    return obj, split or "train"


def _find_column(
    columns: Sequence[str],
    wanted: Sequence[str],
    given: str | None,
    what: str,
    source: str,
) -> str | None:
    if given is not None:
        if given not in columns:
            raise DatasetError(
                f"Hugging Face dataset {source!r} has no {what} column "
                f"{given!r}; columns: {list(columns)}"
            )
        return given
    return next((c for c in wanted if c in columns), None)


def read_hf_dataset(
    source: str | Path,
    split: str | None = None,
    audio_column: str | None = None,
    text_column: str | None = None,
) -> Manifest:
    """Read a Hugging Face dataset folder (``save_to_disk``) or a hub dataset name.

    Args:
        source: a local ``save_to_disk`` folder, or a hub name such as
            ``"openslr/librispeech_asr"`` (needs internet; not used in tests).
        split: the split of a ``DatasetDict`` or hub dataset; default ``"test"`` when
            present (or the only split).
        audio_column: default: the first ``Audio``-typed column, else
            ``audio``/``path``.
        text_column: default: ``text``, ``sentence``, ``transcript``,
            ``transcription``...

    Raises:
        DatasetError: no audio or text column, an unknown split, or an unreadable
            source.
        MissingDependencyError: the ``datasets`` package is not installed.
    """
    datasets = _import_datasets()
    path = Path(source)
    if is_hf_saved_dataset(path):
        obj = datasets.load_from_disk(str(path))
        name = path.name
    else:
        try:
            obj = datasets.load_dataset(str(source), split=split)
        except (FileNotFoundError, ValueError, ConnectionError, OSError) as err:
            raise DatasetError(
                f"could not load Hugging Face dataset {str(source)!r}: {err}"
            ) from err
        name = str(source).rstrip("/").split("/")[-1]
    ds, split = _pick_split(obj, str(source), split, datasets)
    columns = list(ds.column_names)
    audio_features = [c for c in columns if isinstance(ds.features[c], datasets.Audio)]
    audio_col = _find_column(
        columns,
        audio_features + list(_AUDIO_COLUMNS),
        audio_column,
        "audio",
        str(source),
    )
    text_col = _find_column(columns, _TEXT_COLUMNS, text_column, "text", str(source))
    if audio_col is None or text_col is None:
        raise DatasetError(
            f"Hugging Face dataset {str(source)!r} needs an audio and a text column; "
            f"columns: {columns} (pass audio_column= / text_column=)"
        )
    if isinstance(ds.features[audio_col], datasets.Audio):
        ds = ds.cast_column(audio_col, datasets.Audio(decode=False))
    speaker_col = next((c for c in _SPEAKER_COLUMNS if c in columns), None)
    id_col = next((c for c in _ID_COLUMNS if c in columns), None)
    base = path if path.is_dir() else None
    utts = [
        _hf_utterance(
            row,
            index,
            f"{name}-{split}",
            audio_col,
            text_col,
            speaker_col,
            id_col,
            base,
        )
        for index, row in enumerate(ds)
    ]
    return Manifest(f"{name}-{split}", tuple(utts))


def _hf_utterance(
    row: Mapping[str, Any],
    index: int,
    name: str,
    audio_col: str,
    text_col: str,
    speaker_col: str | None,
    id_col: str | None,
    base: Path | None,
) -> Utterance:
    value = row[audio_col]
    utt_id = (
        str(row[id_col])
        if id_col and row.get(id_col) is not None
        else f"{name}-{index:06d}"
    )
    extra: dict[str, Any] = {"index": index}
    audio: Path
    if isinstance(value, str):
        audio = Path(value)
    elif isinstance(value, Mapping) and value.get("array") is not None:
        rate = value.get("sampling_rate") or value.get("sample_rate")
        if not rate:
            raise DatasetError(
                f"{name} row {index}: audio array without a sampling_rate"
            )
        extra["array"] = np.asarray(value["array"], dtype=np.float32)
        extra["sample_rate"] = int(rate)
        audio = Path(value.get("path") or f"{name}#{index}")
    elif isinstance(value, Mapping) and value.get("bytes") is not None:
        extra["bytes"] = bytes(value["bytes"])
        audio = Path(value.get("path") or f"{name}#{index}")
    elif isinstance(value, Mapping) and value.get("path"):
        audio = Path(value["path"])
    else:
        raise DatasetError(
            f"{name} row {index}: cannot find audio in column {audio_col!r} "
            f"(expected a path, bytes, or array + sampling_rate)"
        )
    if not extra.keys() & {"array", "bytes"}:
        if base is not None and not audio.is_absolute() and (base / audio).exists():
            audio = base / audio
        if not audio.exists():
            raise DatasetError(
                f"{name} row {index}: audio file {str(audio)!r} does not exist"
            )
    speaker = row.get(speaker_col) if speaker_col else None
    duration = len(extra["array"]) / extra["sample_rate"] if "array" in extra else None
    return Utterance(
        utt_id,
        audio,
        str(row[text_col] or "").strip(),
        None if speaker is None else str(speaker),
        duration,
        extra=extra,
    )
