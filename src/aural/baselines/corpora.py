"""Finding the recordings the baselines use: Free Spoken Digit and LibriSpeech
folders."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from aural.errors import DatasetError

__all__ = [
    "DigitRecording",
    "LibriUtterance",
    "load_samples",
    "scan_fsdd",
    "scan_librispeech",
]

_FSDD_NAME = re.compile(r"^(\d)_([A-Za-z0-9-]+)_(\d+)\.wav$")


@dataclass(frozen=True, slots=True)
class DigitRecording:
    """One Free Spoken Digit recording, ``<digit>_<speaker>_<index>.wav``."""

    path: Path
    digit: str
    speaker: str
    index: int


@dataclass(frozen=True, slots=True)
class LibriUtterance:
    """One LibriSpeech utterance with its reference transcript (upper case, no
    punctuation)."""

    utterance_id: str
    path: Path
    speaker: str
    subset: str
    text: str


def _require_folder(folder: Path, what: str) -> Path:
    folder = Path(folder)
    if not folder.is_dir():
        raise DatasetError(
            f"{what} folder not found: {folder} (pass an existing folder)"
        )
    return folder


def scan_fsdd(folder: str | Path) -> list[DigitRecording]:
    """List the Free Spoken Digit recordings in ``folder``, sorted by file name.

    Raises:
        DatasetError: if the folder is missing or holds no
            ``<digit>_<speaker>_<index>.wav``.
    """
    root = _require_folder(Path(folder), "Free Spoken Digit recordings")
    found = []
    for path in sorted(root.iterdir()):
        match = _FSDD_NAME.match(path.name)
        if match:
            digit, speaker, index = match.groups()
            found.append(DigitRecording(path, digit, speaker, int(index)))
    if not found:
        raise DatasetError(
            f"no <digit>_<speaker>_<index>.wav recordings in {root}; pass the Free "
            "Spoken Digit 'recordings' folder"
        )
    return found


def scan_librispeech(
    folder: str | Path, subsets: tuple[str, ...] | None = None
) -> list[LibriUtterance]:
    """List LibriSpeech utterances under ``folder`` (a corpus root or one subset
    folder).

    Args:
        folder: the ``LibriSpeech`` root (with subset folders such as ``dev-clean``) or
            a single subset folder laid out as ``<spk>/<chapter>/<id>.flac``.
        subsets: subset folder names to keep; ``None`` keeps all found.

    Raises:
        DatasetError: if the folder is missing or no transcript file lists an audio
            file.
    """
    root = _require_folder(Path(folder), "LibriSpeech")
    found: list[LibriUtterance] = []
    for trans in sorted(root.rglob("*.trans.txt")):
        subset = trans.parent.parent.parent.name
        if subsets is not None and subset not in subsets:
            continue
        for line in trans.read_text(encoding="utf-8").splitlines():
            parts = line.strip().split(maxsplit=1)
            if len(parts) != 2:
                continue
            utt_id, text = parts
            audio = trans.parent / f"{utt_id}.flac"
            if audio.is_file():
                found.append(
                    LibriUtterance(utt_id, audio, utt_id.split("-")[0], subset, text)
                )
    if not found:
        raise DatasetError(
            f"no LibriSpeech utterances (<id>.flac listed in *.trans.txt) under {root}"
        )
    return found


def load_samples(path: Path, sample_rate: int) -> np.ndarray:
    """Mono float32 samples of ``path`` at ``sample_rate`` through
    :func:`aural.audio.load`."""
    from aural.audio import load

    samples: np.ndarray = np.asarray(
        load(path, sample_rate=sample_rate).samples, dtype=np.float32
    )
    return samples
