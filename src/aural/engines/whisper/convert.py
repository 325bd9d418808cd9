"""CTranslate2 <-> Hugging Face (PyTorch) Whisper conversion, exact in float32.

The only Whisper weights aural ships are CTranslate2 folders (``model.bin``,
``config.json``, ``tokenizer.json``). This module reads them into a transformers
:class:`~transformers.WhisperForConditionalGeneration` and writes either format:

* :func:`read_model_bin`: CTranslate2's binary format (the layout written by
  ``ctranslate2.specs.model_spec``) into numpy arrays, aliases resolved;
  :func:`dequantize` turns int8 (per-row scales), int16, float16 and bfloat16 into
  float32.
* :func:`ct2_to_hf_state`: a ``WhisperConfig`` and a float32 state dict. CTranslate2
  fuses self-attention q/k/v and cross-attention k/v into one linear layer each and
  stores a bias for k, which Hugging Face's ``k_proj`` lacks: the k bias adds the
  same ``q . b_k`` to every score of a query, so softmax ignores it and dropping it is
  exact (CTranslate2's own converter writes zeros there).
* :func:`torch_whisper`: the float32 PyTorch model in eval mode, loaded once per
  (folder, attention implementation).
* :func:`convert_model`: a folder for the other toolkit; to ``hf`` with the tokenizer,
  generation config (alignment heads, suppress lists, language ids) and feature
  extractor; to ``ct2`` through CTranslate2's own ``TransformersConverter``.

Round trips (tests/engines/test_whisper_convert.py): HF -> CT2 (float32) -> HF is
bit-exact; CT2 -> HF -> CT2 gives the same transcripts; the PyTorch forward pass
matches CTranslate2's log-probabilities (benchmarks/results/whisper_convert.md).
"""

from __future__ import annotations

import json
import logging
import mmap
import os
import secrets
import shutil
import struct
import tempfile
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, get_args

import numpy as np

from aural.engines.whisper.models import ALIASES, PACKAGED, resolve_whisper_model
from aural.errors import ConfigError, ModelNotFoundError, missing_dependency

try:
    import torch
    import transformers
    from ctranslate2.converters import TransformersConverter
except ImportError as err:  # the whisper-torch extra is optional
    raise missing_dependency(
        err.name or "transformers", "whisper-torch", "Whisper conversion"
    ) from err

if TYPE_CHECKING:
    from transformers import WhisperConfig, WhisperForConditionalGeneration

__all__ = [
    "Ct2Model",
    "clear_torch_cache",
    "ModelFormat",
    "Quantization",
    "convert_model",
    "ct2_to_hf_state",
    "dequantize",
    "read_model_bin",
    "torch_whisper",
]

logger = logging.getLogger(__name__)

ModelFormat = Literal["hf", "ct2"]
Quantization = Literal["int8", "float16", "float32"]
AttnImplementation = Literal["sdpa", "eager"]

# ctranslate2's DataType enum (include/ctranslate2/types.h), by type id; bfloat16 is
# read as its raw 16 bits
_DTYPES = tuple(np.dtype(t) for t in ("<f4", "i1", "<i2", "<i4", "<f2", "<u2"))
_BFLOAT16 = 5
_BINARY_VERSIONS = range(4, 7)  # 4: type ids; 6: ctranslate2 >= 3 (Whisper's)
# attention heads by d_model for the published Whisper sizes (tiny ... large), used
# when model.bin does not record them
_HEADS_BY_WIDTH = {384: 6, 512: 8, 768: 12, 1024: 16, 1280: 20}
_HF_WEIGHTS = ("model.safetensors", "model.safetensors.index.json", "pytorch_model.bin")
# files beside an HF model's weights that a converted HF folder keeps
_HF_SIDE_FILES = (
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "added_tokens.json",
    "vocab.json",
    "merges.txt",
    "normalizer.json",
    "preprocessor_config.json",
    "processor_config.json",
)
_SAMPLE_RATE = 16_000  # Whisper's feature extractor rate


# --------------------------------------------------------------------------- model.bin


@dataclass(frozen=True, slots=True)
class Ct2Model:
    """The variables of a CTranslate2 ``model.bin``, as stored.

    Attributes:
        spec: the spec name (``WhisperSpec``).
        revision: the spec revision.
        binary_version: the file format version (6 for ctranslate2 >= 3).
        variables: name -> array as stored (int8 weights with their ``*_scale``
            variables; bfloat16 as uint16 bits); an alias name maps to its target's
            array.
        aliases: alias name -> the variable it stands for (the tied output projection
            ``decoder/projection/weight`` -> ``decoder/embeddings/weight``).
        dtypes: name -> the stored type's name (``float16``, ``int8``, ``bfloat16``...).
    """

    spec: str
    revision: int
    binary_version: int
    variables: Mapping[str, np.ndarray]
    aliases: Mapping[str, str]
    dtypes: Mapping[str, str]


class _Reader:
    """Little-endian reads from a buffer, in CTranslate2's framing."""

    def __init__(self, buffer: memoryview, path: Path) -> None:
        self.buffer, self.path, self.offset = buffer, path, 0

    def unpack(self, fmt: str) -> int:
        size = struct.calcsize("<" + fmt)
        self._need(size)
        (value,) = struct.unpack_from("<" + fmt, self.buffer, self.offset)
        self.offset += size
        return int(value)

    def string(self) -> str:
        length = self.unpack("H")  # bytes including the trailing NUL
        self._need(length)
        raw = bytes(self.buffer[self.offset : self.offset + length])
        self.offset += length
        return raw.rstrip(b"\0").decode("utf-8")

    def array(self, dtype: np.dtype, shape: tuple[int, ...], num_bytes: int) -> Any:
        if num_bytes != int(np.prod(shape, dtype=np.int64)) * dtype.itemsize:
            raise ModelNotFoundError(
                f"{self.path}: a variable's payload ({num_bytes} bytes) does not match "
                f"its shape {shape}; the file is corrupt, convert the model again"
            )
        self._need(num_bytes)
        out = np.frombuffer(
            self.buffer, dtype, num_bytes // dtype.itemsize, self.offset
        )
        self.offset += num_bytes
        return out.reshape(shape)

    def _need(self, size: int) -> None:
        if self.offset + size > len(self.buffer):
            raise ModelNotFoundError(
                f"{self.path}: truncated at byte {self.offset} of {len(self.buffer)}; "
                "copy or convert the model again"
            )


def read_model_bin(path: str | os.PathLike[str]) -> Ct2Model:
    """Read a CTranslate2 ``model.bin`` (binary versions 4 to 6) into numpy arrays.

    The arrays are copies in memory; nothing is converted (see :func:`dequantize`).

    Args:
        path: the ``model.bin`` file, or the model folder holding it.

    Returns:
        The stored variables, their types and the aliases.

    Raises:
        ModelNotFoundError: no such file, or not a model.bin this reader understands.

    Example:
        >>> m = read_model_bin(resolve_whisper_model("tiny.en"))
        >>> m.variables["encoder/conv1/weight"].shape
        (384, 80, 3)
    """
    path = Path(path)
    if path.is_dir():
        path = path / "model.bin"
    if not path.is_file():
        raise ModelNotFoundError(f"{path}: no such CTranslate2 model.bin")
    with open(path, "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as mm:
        view = memoryview(mm)
        try:
            return _parse_model_bin(_Reader(view, path))
        finally:
            view.release()


def _parse_model_bin(reader: _Reader) -> Ct2Model:
    version = reader.unpack("I")
    if version not in _BINARY_VERSIONS:
        raise ModelNotFoundError(
            f"{reader.path}: CTranslate2 binary version {version} is not supported "
            f"(only {_BINARY_VERSIONS.start} to {_BINARY_VERSIONS.stop - 1}); convert "
            "the model again with ctranslate2 >= 3"
        )
    spec, revision = reader.string(), reader.unpack("I")
    variables: dict[str, np.ndarray] = {}
    dtypes: dict[str, str] = {}
    for _ in range(reader.unpack("I")):
        name = reader.string()
        shape = tuple(reader.unpack("I") for _ in range(reader.unpack("B")))
        type_id = reader.unpack("B")
        if type_id >= len(_DTYPES):
            raise ModelNotFoundError(
                f"{reader.path}: variable {name!r} has unknown type id {type_id}"
            )
        # copy out of the mapped file, which closes on return
        variables[name] = reader.array(
            _DTYPES[type_id], shape, reader.unpack("I")
        ).copy()
        dtypes[name] = (
            "bfloat16" if type_id == _BFLOAT16 else variables[name].dtype.name
        )
    aliases: dict[str, str] = {}
    for _ in range(reader.unpack("I")):
        alias, target = reader.string(), reader.string()
        aliases[alias] = target
    for alias, target in aliases.items():
        if target not in variables:
            raise ModelNotFoundError(
                f"{reader.path}: alias {alias!r} names a missing variable {target!r}"
            )
        variables[alias], dtypes[alias] = variables[target], dtypes[target]
    return Ct2Model(spec, revision, version, variables, aliases, dtypes)


def dequantize(model: Ct2Model) -> dict[str, np.ndarray]:
    """Every weight of ``model`` as float32, scales folded in and dropped.

    int8 weights carry one scale per output row (``w = q / scale``, the inverse of
    CTranslate2's ``q = rint(w * 127 / max|w_row|)``; conv weights are scaled per
    output channel); int16 carries one scalar scale. Scalars (attributes such as
    ``num_heads``) keep their type.

    Raises:
        ConfigError: weights quantised with zero points (AWQ/GPTQ), which Whisper
            conversion does not support.
    """
    out: dict[str, np.ndarray] = {}
    for name, value in model.variables.items():
        if name in model.aliases:
            continue
        if name.endswith(("_scale", "_zero")) and _quantized_base(name, model):
            continue
        if name.endswith("weight") and f"{name}_zero" in model.variables:
            raise ConfigError(
                f"{name}: weights quantised with zero points are not supported; "
                "convert the source model without AWQ/GPTQ quantisation"
            )
        out[name] = _to_float32(name, value, model)
    for alias, target in model.aliases.items():
        out[alias] = out[target]  # still one array: ties stay tied
    return out


def _quantized_base(name: str, model: Ct2Model) -> bool:
    return name.rsplit("_", 1)[0] in model.variables


def _to_float32(name: str, value: np.ndarray, model: Ct2Model) -> np.ndarray:
    dtype = model.dtypes[name]
    if value.ndim == 0 or dtype == "int32":
        return value
    if dtype == "bfloat16":
        return (value.astype(np.uint32) << 16).view(np.float32)
    scale = model.variables.get(f"{name}_scale")
    if dtype in ("int8", "int16") and scale is not None:
        rows = value.reshape(value.shape[0], -1).astype(np.float32)
        if scale.ndim == 0 or scale.size == 1:  # int16: one scale for the tensor
            rows /= np.float32(scale.reshape(()))
        else:
            rows /= scale.astype(np.float32)[:, None]
        return rows.reshape(value.shape)
    if dtype in ("int8", "int16"):
        return value  # an integer attribute stored as a vector
    return value.astype(np.float32)


# ------------------------------------------------------------------- CT2 -> HF weights


@dataclass(frozen=True, slots=True)
class _Ct2Folder:
    """What a CTranslate2 Whisper folder says besides its weights."""

    # config.json: alignment_heads, lang_ids, suppress_ids, suppress_ids_begin
    config: Mapping[str, Any]
    vocabulary: tuple[str, ...]  # vocabulary.json / vocabulary.txt, by token id

    def token_id(self, token: str) -> int:
        try:
            return self.vocabulary.index(token)
        except ValueError:
            raise ModelNotFoundError(
                f"the model's vocabulary has no {token!r}; is this a Whisper model?"
            ) from None


def _read_ct2_folder(folder: Path) -> _Ct2Folder:
    config_path = folder / "config.json"
    config = json.loads(config_path.read_text()) if config_path.is_file() else {}
    vocab_json, vocab_txt = folder / "vocabulary.json", folder / "vocabulary.txt"
    if vocab_json.is_file():
        tokens = tuple(json.loads(vocab_json.read_text(encoding="utf-8")))
    elif vocab_txt.is_file():
        # one token a line; a token may itself be a newline-free string only
        tokens = tuple(vocab_txt.read_text(encoding="utf-8").split("\n"))
        tokens = tokens[:-1] if tokens and tokens[-1] == "" else tokens
    else:
        raise ModelNotFoundError(
            f"{folder}: no vocabulary.json or vocabulary.txt beside model.bin; copy "
            "the whole CTranslate2 model folder"
        )
    return _Ct2Folder(config, tokens)


def _heads(weights: Mapping[str, np.ndarray], side: str, d_model: int) -> int:
    stored = weights.get(f"{side}/num_heads")
    if stored is not None:
        return int(stored)
    if d_model not in _HEADS_BY_WIDTH:
        raise ModelNotFoundError(
            f"model.bin does not record the {side}'s attention heads and d_model "
            f"{d_model} is not a published Whisper size "
            f"({', '.join(map(str, _HEADS_BY_WIDTH))}); convert the model again with "
            "ctranslate2 >= 3"
        )
    return _HEADS_BY_WIDTH[d_model]


def _num_layers(weights: Mapping[str, np.ndarray], side: str) -> int:
    n = 0
    while f"{side}/layer_{n}/ffn/linear_0/weight" in weights:
        n += 1
    return n


def _layer_norm(
    state: dict[str, np.ndarray], hf: str, w: Mapping[str, Any], ct2: str
) -> None:
    state[f"{hf}.weight"] = w[f"{ct2}/gamma"]
    state[f"{hf}.bias"] = w[f"{ct2}/beta"]


def _linear(
    state: dict[str, np.ndarray], hf: str, w: Mapping[str, Any], ct2: str
) -> None:
    state[f"{hf}.weight"] = w[f"{ct2}/weight"]
    if f"{ct2}/bias" in w:
        state[f"{hf}.bias"] = w[f"{ct2}/bias"]


def _unfuse(
    state: dict[str, np.ndarray],
    hf: str,
    w: Mapping[str, Any],
    ct2: str,
    names: tuple[str, ...],
) -> None:
    """Split a fused projection into ``{hf}.{name}_proj``; k's bias is dropped."""
    weights = np.split(w[f"{ct2}/weight"], len(names))
    biases = np.split(w[f"{ct2}/bias"], len(names))
    for name, weight, bias in zip(names, weights, biases, strict=True):
        # copies: views of the fused array would share its memory (safetensors
        # refuses tensors that share memory)
        state[f"{hf}.{name}_proj.weight"] = weight.copy()
        if name != "k":  # constant per query: softmax cancels it (module docstring)
            state[f"{hf}.{name}_proj.bias"] = bias.copy()


def _layer(
    state: dict[str, np.ndarray], w: Mapping[str, Any], side: str, i: int
) -> None:
    hf, ct2 = f"model.{side}.layers.{i}", f"{side}/layer_{i}"
    _unfuse(
        state, f"{hf}.self_attn", w, f"{ct2}/self_attention/linear_0", ("q", "k", "v")
    )
    _linear(state, f"{hf}.self_attn.out_proj", w, f"{ct2}/self_attention/linear_1")
    _layer_norm(
        state, f"{hf}.self_attn_layer_norm", w, f"{ct2}/self_attention/layer_norm"
    )
    if side == "decoder":
        cross, src = f"{hf}.encoder_attn", f"{ct2}/attention"
        _unfuse(state, cross, w, f"{src}/linear_0", ("q",))
        _unfuse(state, cross, w, f"{src}/linear_1", ("k", "v"))
        _linear(state, f"{cross}.out_proj", w, f"{src}/linear_2")
        _layer_norm(state, f"{hf}.encoder_attn_layer_norm", w, f"{src}/layer_norm")
    _linear(state, f"{hf}.fc1", w, f"{ct2}/ffn/linear_0")
    _linear(state, f"{hf}.fc2", w, f"{ct2}/ffn/linear_1")
    _layer_norm(state, f"{hf}.final_layer_norm", w, f"{ct2}/ffn/layer_norm")


def _hf_arrays(w: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The Hugging Face state dict of float32 CTranslate2 Whisper weights."""
    state: dict[str, np.ndarray] = {}
    for side in ("encoder", "decoder"):
        state[f"model.{side}.embed_positions.weight"] = w[
            f"{side}/position_encodings/encodings"
        ]
        _layer_norm(state, f"model.{side}.layer_norm", w, f"{side}/layer_norm")
        for i in range(_num_layers(w, side)):
            _layer(state, w, side, i)
    for conv in ("conv1", "conv2"):
        _linear(state, f"model.encoder.{conv}", w, f"encoder/{conv}")
    state["model.decoder.embed_tokens.weight"] = w["decoder/embeddings/weight"]
    state["proj_out.weight"] = w.get(
        "decoder/projection/weight", w["decoder/embeddings/weight"]
    )
    return state


def _check_whisper(model: Ct2Model, folder: Path) -> None:
    if model.spec != "WhisperSpec":
        raise ModelNotFoundError(
            f"{folder}: a CTranslate2 {model.spec or 'model'}, not Whisper "
            "(WhisperSpec); only Whisper models convert"
        )
    activation = model.variables.get("decoder/activation")
    # common_spec.Activation.GELU = 3: Whisper's exact (erf) GELU
    if activation is not None and int(activation) != 3:
        raise ConfigError(
            f"{folder}: decoder activation {int(activation)} is not Whisper's GELU; "
            "this model cannot be converted exactly"
        )
    if "decoder/projection/bias" in model.variables:
        raise ConfigError(
            f"{folder}: transformers' Whisper has no output projection bias; this "
            "model cannot be converted exactly"
        )


@dataclass(frozen=True, slots=True)
class _SpecialTokens:
    """Whisper's special token ids, from the vocabulary (they differ between the
    English-only and the multilingual vocabularies)."""

    eot: int
    sot: int
    transcribe: int
    translate: int
    prev: int
    no_timestamps: int

    @classmethod
    def of(cls, folder: _Ct2Folder) -> _SpecialTokens:
        names = "endoftext startoftranscript transcribe translate startofprev"
        names += " notimestamps"
        return cls(*(folder.token_id(f"<|{name}|>") for name in names.split()))


def _whisper_config(
    w: Mapping[str, np.ndarray], folder: _Ct2Folder, tokens: _SpecialTokens
) -> WhisperConfig:
    embeddings = w["decoder/embeddings/weight"]
    vocab_size, d_model = embeddings.shape
    conv1 = w["encoder/conv1/weight"]  # (d_model, num_mels, 3)
    suppress = list(folder.config.get("suppress_ids") or [])
    begin_suppress = list(folder.config.get("suppress_ids_begin") or [])
    tied = "decoder/projection/weight" not in w or np.array_equal(
        w["decoder/projection/weight"], embeddings
    )
    return transformers.WhisperConfig(
        vocab_size=int(vocab_size),
        num_mel_bins=int(conv1.shape[1]),
        d_model=int(d_model),
        encoder_layers=_num_layers(w, "encoder"),
        decoder_layers=_num_layers(w, "decoder"),
        encoder_attention_heads=_heads(w, "encoder", int(d_model)),
        decoder_attention_heads=_heads(w, "decoder", int(d_model)),
        encoder_ffn_dim=int(w["encoder/layer_0/ffn/linear_0/weight"].shape[0]),
        decoder_ffn_dim=int(w["decoder/layer_0/ffn/linear_0/weight"].shape[0]),
        max_source_positions=int(w["encoder/position_encodings/encodings"].shape[0]),
        max_target_positions=int(w["decoder/position_encodings/encodings"].shape[0]),
        activation_function="gelu",
        scale_embedding=False,
        tie_word_embeddings=tied,
        pad_token_id=tokens.eot,
        bos_token_id=tokens.eot,
        eos_token_id=tokens.eot,
        decoder_start_token_id=tokens.sot,
        suppress_tokens=suppress,
        begin_suppress_tokens=begin_suppress,
    )


def ct2_to_hf_state(
    folder: str | os.PathLike[str],
) -> tuple[WhisperConfig, dict[str, torch.Tensor]]:
    """The transformers config and float32 state dict of a CTranslate2 Whisper folder.

    Args:
        folder: a CTranslate2 Whisper folder (``model.bin``, ``config.json``,
            ``vocabulary.*``) or a model name :func:`resolve_whisper_model` knows.

    Returns:
        ``(config, state)`` for :class:`transformers.WhisperForConditionalGeneration`:
        ``model.load_state_dict(state)`` fills every parameter. ``proj_out.weight`` is
        the same tensor as ``model.decoder.embed_tokens.weight`` when they are tied.

    Raises:
        ModelNotFoundError: not a CTranslate2 Whisper folder.
        ConfigError: a layout transformers' Whisper cannot represent.

    Example:
        >>> config, state = ct2_to_hf_state("tiny.en")
        >>> config.d_model, state["model.encoder.conv1.weight"].dtype
        (384, torch.float32)
    """
    path = _ct2_folder(folder)
    stored = read_model_bin(path)
    _check_whisper(stored, path)
    weights = dequantize(stored)
    info = _read_ct2_folder(path)
    config = _whisper_config(weights, info, _SpecialTokens.of(info))
    arrays = _hf_arrays(weights)
    state: dict[str, torch.Tensor] = {}
    by_id: dict[int, torch.Tensor] = {}  # one tensor per array (ties stay tied)
    for name, array in arrays.items():
        key = id(array)
        if key not in by_id:
            by_id[key] = torch.from_numpy(np.ascontiguousarray(array, np.float32))
        state[name] = by_id[key]
    if config.tie_word_embeddings:
        state["proj_out.weight"] = state["model.decoder.embed_tokens.weight"]
    return config, state


def _ct2_folder(folder: str | os.PathLike[str]) -> Path:
    path, kind = _resolve_source(folder)
    if kind != "ct2":
        raise ModelNotFoundError(
            f"{path}: a Hugging Face folder, not a CTranslate2 one (no model.bin)"
        )
    return path


# -------------------------------------------------------------------- sources, PyTorch


def _looks_like_path(text: str, given_as_path: bool) -> bool:
    """A missing path, as opposed to a model name or hub id (``owner/name``)."""
    if given_as_path or text.startswith(("/", ".", "~")) or "\\" in text:
        return True
    if text.count("/") != 1 or text.endswith("/"):
        return "/" in text
    return Path(text.split("/", 1)[0]).is_dir()  # a sub-folder of a local folder


def _resolve_source(src: str | os.PathLike[str]) -> tuple[Path, ModelFormat]:
    """The local folder of ``src`` and its format."""
    text = os.fspath(src).strip()
    if isinstance(src, str) and ALIASES.get(text, text) in PACKAGED:
        return resolve_whisper_model(text), "ct2"  # its order: aliases first
    path = Path(text).expanduser()
    if path.exists():
        if path.is_dir() and (path / "model.bin").is_file():
            return path, "ct2"
        if (path / "config.json").is_file() and any(
            (path / name).is_file() for name in _HF_WEIGHTS
        ):
            return path, "hf"
        raise ModelNotFoundError(
            f"{text}: not a Whisper model folder: neither CTranslate2 (model.bin) nor "
            "Hugging Face (config.json and model.safetensors)"
        )
    if not text:
        raise ModelNotFoundError("src is empty: pass a model folder or name")
    if _looks_like_path(text, not isinstance(src, str)):
        raise ModelNotFoundError(
            f"{text}: no such model folder; pass a CTranslate2 or Hugging "
            "Face Whisper folder, or a model name such as tiny.en or base"
        )
    return resolve_whisper_model(text, local_files_only=None), "ct2"


def _check_hf_whisper(folder: Path) -> dict[str, Any]:
    """The folder's config.json, which must describe a Whisper model."""
    config: dict[str, Any] = json.loads((folder / "config.json").read_text())
    if config.get("model_type") != "whisper":
        raise ModelNotFoundError(
            f"{folder}: a Hugging Face {config.get('model_type') or 'model'} model, "
            "not Whisper; only Whisper models convert"
        )
    return config


def _generation_config(
    config: WhisperConfig, info: _Ct2Folder, tokens: _SpecialTokens
) -> transformers.GenerationConfig:
    """What transformers' Whisper ``generate`` reads, from the CTranslate2 config."""
    extra: dict[str, Any] = {}
    heads = info.config.get("alignment_heads")
    if heads:  # absent: leave it absent rather than invent heads
        extra["alignment_heads"] = [[int(layer), int(head)] for layer, head in heads]
    lang_ids = info.config.get("lang_ids") or []
    return transformers.GenerationConfig(
        bos_token_id=tokens.eot,
        eos_token_id=tokens.eot,
        pad_token_id=tokens.eot,
        decoder_start_token_id=tokens.sot,
        no_timestamps_token_id=tokens.no_timestamps,
        prev_sot_token_id=tokens.prev,
        suppress_tokens=list(config.suppress_tokens or []),
        begin_suppress_tokens=list(config.begin_suppress_tokens or []),
        # whisper's rule (model.py: is_multilingual = n_vocab >= 51865)
        is_multilingual=config.vocab_size >= 51865,
        lang_to_id={info.vocabulary[i]: int(i) for i in lang_ids},
        task_to_id={"transcribe": tokens.transcribe, "translate": tokens.translate},
        max_initial_timestamp_index=50,
        max_length=config.max_target_positions,
        **extra,
    )


def _model_from_ct2(
    folder: Path, attn_implementation: str
) -> WhisperForConditionalGeneration:
    config, state = ct2_to_hf_state(folder)
    with torch.device("meta"):  # no random initialisation: every weight is assigned
        model = transformers.WhisperForConditionalGeneration._from_config(
            config, attn_implementation=attn_implementation, dtype=torch.float32
        )
    model.load_state_dict(state, strict=True, assign=True)
    if config.tie_word_embeddings:
        model.tie_weights()
    info = _read_ct2_folder(folder)
    model.generation_config = _generation_config(config, info, _SpecialTokens.of(info))
    return model.eval()


_TORCH_LOCK = threading.Lock()


@lru_cache(maxsize=4)
def _cached_torch_whisper(
    folder: str, kind: ModelFormat, attn_implementation: str
) -> WhisperForConditionalGeneration:
    logger.info("loading Whisper %s into PyTorch (%s)", folder, attn_implementation)
    if kind == "ct2":
        return _model_from_ct2(Path(folder), attn_implementation)
    _check_hf_whisper(Path(folder))
    model = transformers.WhisperForConditionalGeneration.from_pretrained(
        folder, dtype=torch.float32, attn_implementation=attn_implementation
    )
    return model.eval()


def torch_whisper(
    model: str | Path, attn_implementation: str = "sdpa"
) -> WhisperForConditionalGeneration:
    """A float32 PyTorch Whisper in eval mode, on the CPU, built in memory.

    Loaded once per (resolved folder, attention implementation) and shared, behind a
    lock: callers must not modify it (``copy.deepcopy`` it to fine-tune or move it).

    Args:
        model: a model name (``tiny.en``, ``base``; see :func:`resolve_whisper_model`),
            a CTranslate2 folder, or a Hugging Face folder (``config.json`` and
            safetensors).
        attn_implementation: ``sdpa`` (fast) or ``eager`` (returns attention
            weights: cross-attention maps need it).

    Returns:
        The model, with its ``generation_config`` (alignment heads, suppress lists,
        language and task ids).

    Raises:
        ModelNotFoundError: the model cannot be found or is not Whisper.
        ConfigError: an unknown ``attn_implementation``.

    Example:
        >>> model = torch_whisper("tiny.en")
        >>> model.config.num_mel_bins
        80
    """
    if attn_implementation not in get_args(AttnImplementation):
        raise ConfigError(
            f"attn_implementation={attn_implementation!r}: use one of "
            f"{', '.join(get_args(AttnImplementation))}",
            options=["attn_implementation"],
        )
    folder, kind = _resolve_source(model)
    with _TORCH_LOCK:
        return _cached_torch_whisper(str(folder.resolve()), kind, attn_implementation)


def clear_torch_cache() -> None:
    """Forget the models :func:`torch_whisper` loaded (they are freed once unused)."""
    with _TORCH_LOCK:
        _cached_torch_whisper.cache_clear()


# ------------------------------------------------------------------------- conversion

_TORCH_DTYPES = {"float32": torch.float32, "float16": torch.float16}
Progress = Callable[[str], None]


def _write_hf_processor(ct2: Path, out: Path, num_mels: int) -> None:
    """The tokenizer and feature extractor files ``WhisperProcessor`` loads."""
    tokenizer_json = ct2 / "tokenizer.json"
    if not tokenizer_json.is_file():
        raise ModelNotFoundError(
            f"{ct2}: no tokenizer.json beside model.bin, so the Hugging Face folder "
            "would have no tokenizer; copy it from the model's faster-whisper release "
            "into that folder"
        )
    tokenizer = transformers.WhisperTokenizer(tokenizer_file=str(tokenizer_json))
    tokenizer.save_pretrained(out)
    # the original bytes: the same tokenizer, and round trips keep the file identical
    shutil.copyfile(tokenizer_json, out / "tokenizer.json")
    preprocessor = ct2 / "preprocessor_config.json"
    if preprocessor.is_file():
        shutil.copyfile(preprocessor, out / "preprocessor_config.json")
    else:
        extractor = transformers.WhisperFeatureExtractor(
            feature_size=num_mels, sampling_rate=_SAMPLE_RATE
        )
        extractor.save_pretrained(out)


def _write_hf(
    src: Path, kind: ModelFormat, out: Path, dtype: torch.dtype, say: Progress
) -> None:
    say(f"reading {src}")
    if kind == "ct2":
        model = _model_from_ct2(src, "sdpa")
    else:
        _check_hf_whisper(src)
        model = transformers.WhisperForConditionalGeneration.from_pretrained(
            src, dtype=torch.float32
        )
    say(f"writing {str(dtype).removeprefix('torch.')} safetensors")
    model.to(dtype).save_pretrained(out)
    if kind == "ct2":
        _write_hf_processor(src, out, model.config.num_mel_bins)
        return
    for name in _HF_SIDE_FILES:
        if (src / name).is_file():
            shutil.copyfile(src / name, out / name)


def _write_ct2(
    src: Path, kind: ModelFormat, out: Path, quantization: str, say: Progress
) -> None:
    with tempfile.TemporaryDirectory(prefix=".aural-hf-", dir=out.parent) as tmp:
        if kind == "ct2":  # CTranslate2 only converts from transformers: go through it
            hf = Path(tmp) / "hf"
            _write_hf(src, "ct2", hf, torch.float32, say)
            src = hf
        config = _check_hf_whisper(src)
        if not (src / "tokenizer.json").is_file():
            raise ModelNotFoundError(
                f"{src}: no tokenizer.json, which faster-whisper needs beside "
                "model.bin; save the model's WhisperTokenizer into that folder first"
            )
        copy = [
            n
            for n in ("tokenizer.json", "preprocessor_config.json")
            if (src / n).is_file()
        ]
        say(f"converting with CTranslate2 ({quantization})")
        converter = _FloatConvConverter(str(src), copy_files=copy)
        converter.convert(str(out), quantization=quantization, force=True)
        if not (out / "preprocessor_config.json").is_file():
            _write_preprocessor(src, out, int(config.get("num_mel_bins", 80)))


class _FloatConvConverter(TransformersConverter):  # type: ignore[misc]
    """CTranslate2's converter with the encoder's two convolutions kept in float.

    On a CPU, CTranslate2 runs convolutions in float and dequantises int8 conv weights
    at load (``Model::process_variables`` in ``src/models/model.cc``), while a float
    model loaded with ``compute_type="int8"`` keeps its conv weights exact. Quantising
    them on disk (``Conv1DSpec`` has a ``weight_scale``) would only add rounding error
    and make an int8 conversion decode differently from the float model it came from.
    """

    def _load(self) -> Any:
        spec = super()._load()
        for conv in (spec.encoder.conv1, spec.encoder.conv2):
            if hasattr(conv, "weight_scale"):
                del conv.weight_scale  # not quantizable: stored as float
        return spec


def _write_preprocessor(src: Path, out: Path, num_mels: int) -> None:
    """``preprocessor_config.json``, which faster-whisper reads (its mel count above
    all): transformers 5 folds it into ``processor_config.json``; else a default
    ``WhisperFeatureExtractor`` for the model's mel count."""
    processor = src / "processor_config.json"
    extractor = None
    if processor.is_file():
        extractor = json.loads(processor.read_text()).get("feature_extractor")
    if extractor:
        text = json.dumps(extractor, indent=2, sort_keys=True) + "\n"
        (out / "preprocessor_config.json").write_text(text)
    else:
        transformers.WhisperFeatureExtractor(
            feature_size=num_mels, sampling_rate=_SAMPLE_RATE
        ).save_pretrained(out)


def _check_quantization(to: ModelFormat, quantization: str | None) -> str:
    if quantization is None:
        return "int8" if to == "ct2" else "float32"
    allowed = get_args(Quantization) if to == "ct2" else tuple(_TORCH_DTYPES)
    if quantization not in allowed:
        hint = "; int8 is for CTranslate2 (to='ct2')" if quantization == "int8" else ""
        raise ConfigError(
            f"quantization={quantization!r} is not available for to={to!r}: use one "
            f"of {', '.join(allowed)}{hint}",
            options=["quantization"],
        )
    return quantization


def _check_output(output: Path, source: Path, overwrite: bool) -> None:
    source = source.resolve()
    target = output.resolve()
    if target == source or target in source.parents:
        raise ConfigError(
            f"output={output}: that folder holds the source model {source}; choose "
            "another output folder",
            options=["output"],
        )
    if output.exists() and not output.is_dir():
        raise ConfigError(
            f"output={output}: a file is in the way; choose a folder path",
            options=["output"],
        )
    if output.is_dir() and any(output.iterdir()) and not overwrite:
        raise ConfigError(
            f"output={output}: the folder exists and is not empty; pass "
            "overwrite=True to replace it, or choose another folder",
            options=["overwrite"],
        )


def _sibling(output: Path, tag: str) -> Path:
    """A new, empty, hidden folder beside ``output`` (mode from the umask, unlike
    ``tempfile.mkdtemp``'s 0700)."""
    while True:
        path = output.with_name(f".{output.name}.{tag}-{secrets.token_hex(4)}")
        try:
            path.mkdir()
            return path
        except FileExistsError:
            continue


def _stage(output: Path) -> Path:
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
        return _sibling(output, "partial")
    except OSError as err:
        raise ConfigError(
            f"output={output}: cannot write there ({err.strerror}); choose another "
            "folder",
            options=["output"],
        ) from err


def _publish(staging: Path, output: Path) -> None:
    """Move the finished folder into place; what was there goes only after."""
    old = None
    if output.exists():
        old = _sibling(output, "old")
        os.replace(output, old)
    try:
        os.replace(staging, output)
    except OSError:
        if old is not None:
            os.replace(old, output)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def convert_model(
    src: str | os.PathLike[str],
    to: ModelFormat,
    output: str | os.PathLike[str],
    quantization: str | None = None,
    overwrite: bool = False,
    *,
    progress: Progress | None = None,
) -> Path:
    """Convert a Whisper model between CTranslate2 and Hugging Face transformers.

    The folder is written beside ``output`` under a temporary name and renamed into
    place when complete, so a failed conversion leaves nothing behind.

    Args:
        src: a model name (``tiny.en``, ``base``), a CTranslate2 folder or a Hugging
            Face Whisper folder.
        to: ``hf`` (config, safetensors, generation config, tokenizer and feature
            extractor: ``WhisperForConditionalGeneration.from_pretrained`` and
            ``WhisperProcessor.from_pretrained`` load it offline) or ``ct2`` (through
            CTranslate2's ``TransformersConverter``, with ``tokenizer.json`` and
            ``preprocessor_config.json``: faster-whisper and aural load it).
        output: the folder to write.
        quantization: the stored type: for ``ct2`` ``int8`` (default), ``float16`` or
            ``float32``; for ``hf`` ``float32`` (default) or ``float16``.
        overwrite: replace ``output`` when it exists and is not empty.
        progress: called with a short line before each step (default: logging).

    Returns:
        ``output``.

    Raises:
        ModelNotFoundError: ``src`` is not found or not a Whisper model.
        ConfigError: a bad ``to`` or ``quantization``, or ``output`` exists (without
            ``overwrite``), holds the source, or cannot be written.

    Example:
        >>> convert_model("tiny.en", "hf", "whisper-tiny.en-hf")
        >>> convert_model("whisper-tiny.en-hf", "ct2", "tiny.en-int8")
    """
    if to not in get_args(ModelFormat):
        raise ConfigError(f"to={to!r}: use 'hf' or 'ct2'", options=["to"])
    stored = _check_quantization(to, quantization)
    source, kind = _resolve_source(src)
    output = Path(output).expanduser().absolute()
    _check_output(output, source, overwrite)
    say = progress or (lambda line: logger.info("%s", line))
    staging = _stage(output)
    try:
        if to == "hf":
            _write_hf(source, kind, staging, _TORCH_DTYPES[stored], say)
        else:
            _write_ct2(source, kind, staging, stored, say)
        _publish(staging, output)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return output
