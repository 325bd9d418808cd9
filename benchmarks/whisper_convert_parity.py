"""Parity of aural's CTranslate2 <-> Hugging Face Whisper converter (issue 18, item 1).

On the shared LibriSpeech utterances (dev-clean + train-clean-100), with tiny.en from
its registry package (stored float16):

* Round trip CT2 -> HF -> CT2, back-converted to int8 and to float32: the share of
  utterances that aural's whisper engine (its defaults: beam 5, int8 compute)
  transcribes with exactly the original's text; the float32 copy also at float32
  compute against the original at float32.
* Log-probabilities: CTranslate2 decodes each utterance greedily (prompt
  ``<|startoftranscript|><|notimestamps|>``, no token suppression) and returns each
  step's logits; the PyTorch model from :func:`torch_whisper` is teacher-forced on the
  same tokens. Reported: max |log p difference| over the whole vocabulary and over the
  chosen tokens, for CTranslate2 float32 (the exactness claim), CTranslate2 int8
  (what the engine runs), CTranslate2 float16 where the device has it (not on a
  CPU), and PyTorch float16 against CTranslate2 float32 (the size of float16
  rounding: the tolerance the float32 figure is measured against).
* HF -> CT2 (float32) -> HF: tensors bit-identical, for a seeded random tiny Whisper and
  for tiny.en's converted weights.

    python benchmarks/whisper_convert_parity.py [--limit N] [--model tiny.en]
        -> benchmarks/results/whisper_convert.{json,md}
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import ctranslate2
import numpy as np
import torch
import transformers
from _common import git_commit, shared_data
from faster_whisper.feature_extractor import FeatureExtractor
from safetensors.torch import load_file

from aural import Recognizer
from aural.audio import load
from aural.engines.whisper import WhisperSettings, resolve_whisper_model
from aural.engines.whisper.convert import (
    convert_model,
    dequantize,
    read_model_bin,
    torch_whisper,
)

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"


def say(line: str) -> None:
    """A progress line on stderr."""
    sys.stderr.write(line + "\n")
    sys.stderr.flush()


def utterances(limit: int | None) -> list[Path]:
    root = shared_data() / "LibriSpeech"
    clips = [
        clip
        for split in ("dev-clean", "train-clean-100")
        for clip in sorted((root / split).rglob("*.flac"))
    ]
    return clips[:limit] if limit else clips


# ----------------------------------------------------------------- identical text


def transcripts(folder: Path, clips: list[Path], compute_type: str) -> list[str]:
    settings = WhisperSettings(compute_type=compute_type, cpu_threads=1)
    recognizer = Recognizer("whisper", model=folder, settings=settings)
    return [recognizer.transcribe(clip).text for clip in clips]


def identical(
    name: str, reference: list[str], other: list[str], clips: list[Path]
) -> dict[str, Any]:
    differing = [
        {"utterance": clip.stem, "original": a, "converted": b}
        for clip, a, b in zip(clips, reference, other, strict=True)
        if a != b
    ]
    same = len(clips) - len(differing)
    say(f"{name}: {same}/{len(clips)} identical")
    return {
        "identical": same,
        "total": len(clips),
        "rate": same / len(clips),
        "differing": differing,
    }


# ---------------------------------------------------------------- log-probabilities


def log_mel(clip: Path, extractor: FeatureExtractor) -> np.ndarray:
    mel = extractor(load(clip).samples, padding=480_000)[:, :3000]
    return np.ascontiguousarray(mel, dtype=np.float32)


def ct2_greedy(
    model: ctranslate2.models.Whisper, mel: np.ndarray, prompt: list[int]
) -> tuple[list[int], np.ndarray]:
    result = model.generate(
        ctranslate2.StorageView.from_array(mel[None]),
        [prompt],
        beam_size=1,
        return_logits_vocab=True,
        suppress_blank=False,
        suppress_tokens=[],
    )[0]
    steps = [
        np.asarray(step, dtype=np.float64).reshape(-1) for step in result.logits[0]
    ]
    return result.sequences_ids[0], log_softmax(np.stack(steps))


def log_softmax(x: np.ndarray) -> np.ndarray:
    top = x.max(-1, keepdims=True)
    return x - top - np.log(np.exp(x - top).sum(-1, keepdims=True))


def torch_encode(model: Any, mel: np.ndarray) -> Any:
    dtype = next(model.parameters()).dtype
    with torch.inference_mode():
        return model.model.encoder(torch.from_numpy(mel[None]).to(dtype))


def torch_log_probs(
    model: Any, encoded: Any, prompt: list[int], ids: list[int]
) -> np.ndarray:
    """Teacher-forced on ``prompt + ids``: one row per predicted token."""
    with torch.inference_mode():
        logits = model(
            encoder_outputs=encoded, decoder_input_ids=torch.tensor([prompt + ids])
        ).logits[0]
    return torch.log_softmax(logits.double(), -1).numpy()[len(prompt) - 1 :]


class Gap:
    """Running max |difference| between two log-probability tables."""

    def __init__(self) -> None:
        self.vocab = self.chosen = 0.0
        self.steps = self.argmax_same = 0

    def add(self, ours: np.ndarray, theirs: np.ndarray, ids: list[int]) -> None:
        diff = np.abs(ours - theirs)
        chosen = ids + [int(theirs[-1].argmax())]  # the last step predicts the end
        self.vocab = max(self.vocab, float(diff.max()))
        self.chosen = max(
            self.chosen, float(diff[np.arange(len(chosen)), chosen].max())
        )
        self.steps += len(chosen)
        self.argmax_same += int((ours.argmax(-1) == theirs.argmax(-1)).sum())

    def to_dict(self) -> dict[str, Any]:
        return {
            "max_abs_log_prob_vocab": self.vocab,
            "max_abs_log_prob_chosen": self.chosen,
            "steps": self.steps,
            "argmax_agreement": self.argmax_same / max(self.steps, 1),
        }


def log_prob_parity(folder: Path, name: str, clips: list[Path]) -> dict[str, Any]:
    model = torch_whisper(name)
    half = copy.deepcopy(model).half()
    generation = model.generation_config
    prompt = [generation.decoder_start_token_id, generation.no_timestamps_token_id]
    extractor = FeatureExtractor(feature_size=model.config.num_mel_bins)
    runs = {"float32": "float32", "int8": "int8"}
    device = "cuda" if ctranslate2.get_cuda_device_count() else "cpu"
    supported = ctranslate2.get_supported_compute_types(device)
    if "float16" in supported:
        runs["float16"] = "float16"
    ct2 = {
        key: ctranslate2.models.Whisper(
            str(folder), device=device, compute_type=kind, intra_threads=1
        )
        for key, kind in runs.items()
    }
    gaps = {key: Gap() for key in [*runs, "pytorch_float16"]}
    for i, clip in enumerate(clips):
        mel = log_mel(clip, extractor)
        encoded, encoded_half = torch_encode(model, mel), torch_encode(half, mel)
        for key, ct2_model in ct2.items():
            ids, theirs = ct2_greedy(ct2_model, mel, prompt)
            gaps[key].add(torch_log_probs(model, encoded, prompt, ids), theirs, ids)
            if key == "float32":
                ours = torch_log_probs(half, encoded_half, prompt, ids)
                gaps["pytorch_float16"].add(ours, theirs, ids)
        if (i + 1) % 25 == 0:
            say(f"log-probs: {i + 1}/{len(clips)}")
    out = {
        "PyTorch float32 vs CTranslate2 float32": gaps["float32"].to_dict(),
        "PyTorch float16 vs CTranslate2 float32 (float16 rounding)": gaps[
            "pytorch_float16"
        ].to_dict(),
        "PyTorch float32 vs CTranslate2 int8": gaps["int8"].to_dict(),
    }
    key = "PyTorch float32 vs CTranslate2 float16"
    if "float16" in gaps:
        out[key] = gaps["float16"].to_dict()
    else:
        out[key] = (
            f"not measured: CTranslate2 has no float16 compute on this {device} "
            f"(supported: {', '.join(sorted(supported))})"
        )
    return out


# ------------------------------------------------------------------- bit-exactness


def random_hf(folder: Path, tokenizer_json: Path) -> Path:
    torch.manual_seed(0)
    config = transformers.WhisperConfig(
        vocab_size=51864,
        num_mel_bins=80,
        d_model=64,
        encoder_layers=2,
        decoder_layers=2,
        encoder_attention_heads=4,
        decoder_attention_heads=4,
        encoder_ffn_dim=128,
        decoder_ffn_dim=128,
        pad_token_id=50256,
        bos_token_id=50256,
        eos_token_id=50256,
        decoder_start_token_id=50257,
    )
    model = transformers.WhisperForConditionalGeneration(config)
    with torch.no_grad():
        for name, param in model.named_parameters():
            if name.endswith("bias") or "layer_norm" in name:
                param.add_(torch.randn_like(param) * 0.1)
    model.save_pretrained(folder)
    transformers.WhisperTokenizer(tokenizer_file=str(tokenizer_json)).save_pretrained(
        folder
    )
    transformers.WhisperFeatureExtractor(feature_size=80).save_pretrained(folder)
    return folder


def same_weights(original: Path, converted: Path) -> dict[str, Any]:
    """Stored weights of two CTranslate2 folders, compared after dequantising."""
    a = dequantize(read_model_bin(original))
    b = dequantize(read_model_bin(converted))
    names = [n for n, v in a.items() if v.ndim]
    equal = sum(1 for n in names if n in b and np.array_equal(a[n], b[n]))
    return {"variables": len(names), "equal": equal}


def bit_exact(hf: Path, work: Path) -> dict[str, Any]:
    ct2 = convert_model(hf, "ct2", work / "ct2", quantization="float32")
    back = convert_model(ct2, "hf", work / "back")
    before = load_file(str(hf / "model.safetensors"))
    after = load_file(str(back / "model.safetensors"))
    equal = sum(1 for k, v in before.items() if k in after and torch.equal(v, after[k]))
    return {
        "tensors": len(before),
        "equal": equal,
        "same_names": before.keys() == after.keys(),
    }


# ------------------------------------------------------------------------- report


def timed(label: str, timings: dict[str, float], fn: Any, *args: Any) -> Any:
    started = time.perf_counter()
    out = fn(*args)
    timings[label] = round(time.perf_counter() - started, 2)
    say(f"{label}: {timings[label]} s")
    return out


def run(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    clips = utterances(args.limit)
    original = resolve_whisper_model(args.model)
    t: dict[str, float] = {}
    hf = timed("ct2_to_hf_s", t, convert_model, original, "hf", work / "hf")
    back = {
        q: timed(f"hf_to_ct2_{q}_s", t, convert_model, hf, "ct2", work / q, q)
        for q in ("int8", "float32")
    }
    reference = timed(
        "transcribe_original_int8_s", t, transcripts, original, clips, "int8"
    )
    same = {}
    for q in ("int8", "float32"):
        label = f"{q} back-conversion, engine defaults (int8 compute)"
        other = timed(f"transcribe_{q}_s", t, transcripts, back[q], clips, "int8")
        same[label] = identical(label, reference, other, clips)
    weights = same_weights(original, back["float32"])
    parity = timed("log_prob_parity_s", t, log_prob_parity, original, args.model, clips)
    exact = {
        "random tiny Whisper (d_model 64, 2+2 layers)": bit_exact(
            random_hf(work / "random", original / "tokenizer.json"), work / "r"
        ),
        f"{args.model} (converted to HF float32)": bit_exact(hf, work / "m"),
    }
    return {
        "command": " ".join(
            ["python", "benchmarks/whisper_convert_parity.py", *sys.argv[1:]]
        ),
        "commit": git_commit(),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, "
        f"{platform.python_version()}",
        "versions": {
            "ctranslate2": ctranslate2.__version__,
            "transformers": transformers.__version__,
            "torch": torch.__version__,
        },
        "model": args.model,
        "audio": "LibriSpeech dev-clean + train-clean-100 (../shared/data)",
        "utterances": len(clips),
        "identical_text": same,
        "float32_back_conversion_weights_equal": weights,
        "log_prob": parity,
        "hf_ct2_hf_bit_exact": exact,
        "timings_s": t,
    }


def fmt(value: Any) -> str:
    return f"{value:.2e}" if isinstance(value, float) else str(value)


def markdown(r: dict[str, Any]) -> str:
    lines = [
        f"# Whisper converter parity ({r['model']}, {r['audio']}, "
        f"{r['utterances']} utterances)",
        "",
        f"Command: `{r['command']}` at {r['commit']}; {r['machine']}; "
        + ", ".join(f"{k} {v}" for k, v in r["versions"].items())
        + ".",
        "",
        "## CT2 -> HF -> CT2: same transcript as the original",
        "",
        "| back-conversion (engine compute type) | identical text |",
        "|---|---|",
    ]
    for label, row in r["identical_text"].items():
        lines.append(
            f"| {label} | {row['identical']}/{row['total']} ({row['rate']:.1%}) |"
        )
    w = r["float32_back_conversion_weights_equal"]
    lines += [
        "",
        f"The float32 back-conversion stores the original's float16 weights exactly "
        f"({w['equal']}/{w['variables']} variables equal after dequantising), so at "
        "float32 compute it decodes exactly as the original does.",
    ]
    lines += [
        "",
        "## Log-probabilities: PyTorch (teacher-forced) vs CTranslate2 (greedy)",
        "",
        "| pair | max abs diff, whole vocabulary | max abs diff, chosen tokens "
        "| argmax agreement | steps |",
        "|---|---|---|---|---|",
    ]
    for label, row in r["log_prob"].items():
        if isinstance(row, str):
            lines.append(f"| {label} | {row} | | | |")
            continue
        lines.append(
            f"| {label} | {fmt(row['max_abs_log_prob_vocab'])} | "
            f"{fmt(row['max_abs_log_prob_chosen'])} | "
            f"{row['argmax_agreement']:.4%} | {row['steps']} |"
        )
    lines += [
        "",
        "## HF -> CT2 (float32) -> HF",
        "",
        "| model | bit-identical tensors |",
    ]
    lines.append("|---|---|")
    for label, row in r["hf_ct2_hf_bit_exact"].items():
        lines.append(f"| {label} | {row['equal']}/{row['tensors']} |")
    lines += [
        "",
        "Timings (s): " + ", ".join(f"{k} {v}" for k, v in r["timings_s"].items()),
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--limit", type=int, default=None, help="first N utterances")
    parser.add_argument("--model", default="tiny.en", help="CTranslate2 Whisper model")
    parser.add_argument("--output", default="whisper_convert", help="results stem")
    args = parser.parse_args()
    torch.set_num_threads(1)  # shared machine; every row runs on one thread
    transformers.utils.logging.disable_progress_bar()
    with tempfile.TemporaryDirectory(prefix="whisper-convert-") as tmp:
        result = run(args, Path(tmp))
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{args.output}.json").write_text(json.dumps(result, indent=2) + "\n")
    (RESULTS / f"{args.output}.md").write_text(markdown(result))
    sys.stdout.write(markdown(result))


if __name__ == "__main__":
    main()
