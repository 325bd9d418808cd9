"""Export a trained Conformer-CTC or Conformer-transducer to ONNX, and int8 copies.

The exported graph maps ``features (batch, frames, num_features)`` and ``lengths
(batch,)`` to ``log_probs (batch, frames', vocab)`` and ``out_lengths (batch,)``; global
CMVN is inside it. Feature extraction stays outside (``features.json`` beside the model
says how), so the folder loads with ``create_engine("aural", model=folder)``.

A transducer exports three graphs: ``model.onnx`` (the encoder: ``features``,
``lengths`` to projected ``encoded (batch, frames', joiner_dim)`` and ``out_lengths``),
``predictor.onnx`` (``contexts (n, context_size)`` token ids to ``(n, joiner_dim)``)
and ``joiner.onnx`` (``encoder``, ``predictor`` ``(n, joiner_dim)`` each to
``log_probs (n, vocab)``); :func:`quantize_int8` writes an ``.int8.onnx`` copy of each.
"""

from __future__ import annotations

import json
import logging
import warnings
from pathlib import Path

import torch
from torch import nn

from aural.errors import MissingDependencyError
from aural.models.checkpoint import load_model
from aural.models.transducer import ConformerTransducer
from aural.text.tokenizers import load_tokenizer
from aural.writers import write_atomic

__all__ = ["export_onnx", "quantize_int8"]

logger = logging.getLogger(__name__)

ONNX_FILE = "model.onnx"
INT8_FILE = "model.int8.onnx"
PREDICTOR_FILE = "predictor.onnx"
JOINER_FILE = "joiner.onnx"


def export_onnx(
    model_path: str | Path, output_dir: str | Path, opset: int = 17
) -> Path:
    """Write ``output_dir/model.onnx`` plus ``features.json`` and the tokenizer files.

    Args:
        model_path: a checkpoint folder, ``model.pt`` or run folder.
        output_dir: destination folder (created).
        opset: ONNX opset version.

    Returns:
        The path of ``model.onnx``.

    Raises:
        ModelNotFoundError: nothing loadable at ``model_path``.
        MissingDependencyError: the ``onnx`` package is missing.
    """
    try:
        import onnx  # noqa: F401  (the exporter needs it)
    except ImportError as err:
        raise MissingDependencyError(
            "ONNX export needs the 'onnx' package; install it with `pip install "
            "'aural[train]'`"
        ) from err
    from aural.engines.aural_model import FEATURES_FILE, MODEL_OPTIONS_FILE

    loaded = load_model(model_path)
    out = Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    model = loaded.model.eval()
    path = out / ONNX_FILE
    if isinstance(model, ConformerTransducer):
        _export_transducer(model, out, opset)
    else:
        dim = model.options.num_features
        example = (torch.randn(2, 200, dim), torch.tensor([200, 150]))
        _export(
            model,
            example,
            path,
            ["features", "lengths"],
            ["log_probs", "out_lengths"],
            {
                "features": {0: "batch", 1: "frames"},
                "lengths": {0: "batch"},
                "log_probs": {0: "batch", 1: "out_frames"},
                "out_lengths": {0: "batch"},
            },
            opset,
        )
    write_atomic(
        out / FEATURES_FILE, json.dumps(loaded.feature_options.to_dict(), indent=1)
    )
    write_atomic(
        out / MODEL_OPTIONS_FILE, json.dumps(model.options.to_dict(), indent=1)
    )
    load_tokenizer(loaded.folder).save(out)
    logger.info("exported %s", path)
    return path


def _export(
    module: nn.Module,
    example: tuple[torch.Tensor, ...],
    path: Path,
    inputs: list[str],
    outputs: list[str],
    axes: dict[str, dict[int, str]],
    opset: int,
) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tracer notes about shape arithmetic
        torch.onnx.export(
            module,
            example,
            str(path),
            input_names=inputs,
            output_names=outputs,
            opset_version=opset,
            dynamo=False,
            dynamic_axes=axes,
        )


class _Encoder(nn.Module):
    def __init__(self, model: ConformerTransducer) -> None:
        super().__init__()
        self.model = model

    def forward(
        self, features: torch.Tensor, lengths: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        return self.model.encode(features, lengths)


class _Predictor(nn.Module):
    def __init__(self, model: ConformerTransducer) -> None:
        super().__init__()
        self.model = model

    def forward(self, contexts: torch.Tensor) -> torch.Tensor:
        return self.model.predict(contexts)


class _Joiner(nn.Module):
    def __init__(self, model: ConformerTransducer) -> None:
        super().__init__()
        self.model = model

    def forward(self, encoder: torch.Tensor, predictor: torch.Tensor) -> torch.Tensor:
        return torch.log_softmax(self.model.join(encoder, predictor), dim=-1)


def _export_transducer(model: ConformerTransducer, out: Path, opset: int) -> None:
    opts = model.options
    dim = opts.encoder.num_features
    jdim = model.enc_proj.out_features
    _export(
        _Encoder(model),
        (torch.randn(2, 200, dim), torch.tensor([200, 150])),
        out / ONNX_FILE,
        ["features", "lengths"],
        ["encoded", "out_lengths"],
        {
            "features": {0: "batch", 1: "frames"},
            "lengths": {0: "batch"},
            "encoded": {0: "batch", 1: "out_frames"},
            "out_lengths": {0: "batch"},
        },
        opset,
    )
    _export(
        _Predictor(model),
        (torch.zeros(3, opts.context_size, dtype=torch.long),),
        out / PREDICTOR_FILE,
        ["contexts"],
        ["predictor"],
        {"contexts": {0: "n"}, "predictor": {0: "n"}},
        opset,
    )
    _export(
        _Joiner(model),
        (torch.randn(3, jdim), torch.randn(3, jdim)),
        out / JOINER_FILE,
        ["encoder", "predictor"],
        ["log_probs"],
        {"encoder": {0: "n"}, "predictor": {0: "n"}, "log_probs": {0: "n"}},
        opset,
    )


def quantize_int8(onnx_path: str | Path, output_path: str | Path | None = None) -> Path:
    """Dynamic int8 quantisation of the weights (MatMul / Gemm) with onnxruntime.

    A transducer's ``predictor.onnx`` and ``joiner.onnx`` beside ``onnx_path`` are
    quantised too (``predictor.int8.onnx``, ``joiner.int8.onnx``).

    Returns:
        The path of the quantised model (default: ``model.int8.onnx`` beside the input).
    """
    try:
        from onnxruntime.quantization import QuantType, quantize_dynamic
    except ImportError as err:
        raise MissingDependencyError(
            "int8 quantisation needs 'onnxruntime'; install it with `pip install "
            "'aural[train]'`"
        ) from err
    src = Path(onnx_path)
    dst = Path(output_path) if output_path is not None else src.with_name(INT8_FILE)
    pairs = [(src, dst)]
    if (src.parent / JOINER_FILE).is_file():
        for name in (PREDICTOR_FILE, JOINER_FILE):
            part = src.parent / name
            pairs.append((part, part.with_name(part.stem + ".int8.onnx")))
    for a, b in pairs:
        quantize_dynamic(
            str(a),
            str(b),
            weight_type=QuantType.QInt8,
            op_types_to_quantize=["MatMul", "Gemm"],
        )
    return dst
