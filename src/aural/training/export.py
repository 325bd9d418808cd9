"""Export a trained Conformer-CTC to ONNX, and an int8 dynamically quantised copy.

The exported graph maps ``features (batch, frames, num_features)`` and ``lengths
(batch,)`` to ``log_probs (batch, frames', vocab)`` and ``out_lengths (batch,)``; global
CMVN is inside it. Feature extraction stays outside (``features.json`` beside the model
says how), so the folder loads with ``create_engine("aural", model=folder)``.
"""

from __future__ import annotations

import json
import logging
import warnings
from pathlib import Path

import torch

from aural.errors import MissingDependencyError
from aural.models.checkpoint import load_model
from aural.text.tokenizers import load_tokenizer
from aural.writers import write_atomic

__all__ = ["export_onnx", "quantize_int8"]

logger = logging.getLogger(__name__)

ONNX_FILE = "model.onnx"
INT8_FILE = "model.int8.onnx"


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
    dim = model.options.num_features
    example = (torch.randn(2, 200, dim), torch.tensor([200, 150]))
    path = out / ONNX_FILE
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tracer notes about shape arithmetic
        torch.onnx.export(
            model,
            example,
            str(path),
            input_names=["features", "lengths"],
            output_names=["log_probs", "out_lengths"],
            opset_version=opset,
            dynamo=False,
            dynamic_axes={
                "features": {0: "batch", 1: "frames"},
                "lengths": {0: "batch"},
                "log_probs": {0: "batch", 1: "out_frames"},
                "out_lengths": {0: "batch"},
            },
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


def quantize_int8(onnx_path: str | Path, output_path: str | Path | None = None) -> Path:
    """Dynamic int8 quantisation of the weights (MatMul / Gemm) with onnxruntime.

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
    quantize_dynamic(
        str(src),
        str(dst),
        weight_type=QuantType.QInt8,
        op_types_to_quantize=["MatMul", "Gemm"],
    )
    return dst
