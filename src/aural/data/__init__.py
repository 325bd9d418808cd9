"""Datasets as manifests: corpus readers, the :class:`Manifest` type and audio
access."""

from aural.data.hf import read_hf_dataset
from aural.data.loading import detect_layout, load_dataset
from aural.data.manifest import (
    Manifest,
    Utterance,
    load_utterance_audio,
    utterance_audio,
    utterance_duration,
)
from aural.data.readers import (
    DATASET_KINDS,
    DatasetKind,
    read_common_voice,
    read_fleurs,
    read_fsdd,
    read_librispeech,
    read_ljspeech,
    read_manifest_file,
    read_mls,
    read_tedlium,
    read_vctk,
    utterance_language,
)

__all__ = [
    "DATASET_KINDS",
    "DatasetKind",
    "Manifest",
    "Utterance",
    "detect_layout",
    "load_dataset",
    "load_utterance_audio",
    "read_common_voice",
    "read_fleurs",
    "read_fsdd",
    "read_hf_dataset",
    "read_librispeech",
    "read_ljspeech",
    "read_manifest_file",
    "read_mls",
    "read_tedlium",
    "read_vctk",
    "utterance_audio",
    "utterance_duration",
    "utterance_language",
]
