"""CTC against transducer with the same encoder and data (issue 22).

Both models are the Whisper-encoder recipes (recipes/librispeech_ljspeech_whisper_ctc.yaml
and its transducer twin recipes/librispeech_ljspeech_whisper_transducer.yaml: the same
Conformer over Whisper tiny.en encoder frames, trained on the shared train-clean-100 +
LJSpeech with the same augmentation, schedule and wall-clock budget), trained side by
side on the same shared 2-core machine:

    OMP_NUM_THREADS=1 aural train --config recipes/librispeech_ljspeech_whisper_ctc.yaml \
        --output-dir runs/tvc_ctc --max-minutes 30 &
    OMP_NUM_THREADS=1 aural train --config recipes/librispeech_ljspeech_whisper_transducer.yaml \
        --output-dir runs/tvc_transducer --max-minutes 30 &
    (more rounds: the same commands with --resume and another --max-minutes)
    OMP_NUM_THREADS=1 python benchmarks/transducer_vs_ctc.py \
        -> benchmarks/results/transducer_vs_ctc.{json,md}

Measured here, for both models in the same process:

* training: steps done in the budget, audio seconds trained per second (the trainer's own
  log), parameters;
* WER / CER on LibriSpeech dev-clean (speakers never heard in training; the utterance whose
  audio does not match its text is left out) with greedy decoding, beam search and beam +
  word 3-gram LM (CMU Sphinx's general English LM, as in ctc_own_model.py), and the
  search's RTF; the whole pipeline's RTF (Whisper encoder + Conformer + greedy search);
* the loss alone: ``ctc_loss`` against ``rnnt_loss`` (torch and numba back-ends), forward
  + backward, on the same real batch (the models' own outputs for the same utterances),
  one thread, median of repeats;
* streaming latency as benchmarks/streaming_librispeech.py measures it (part A: simulated
  real time, 100 ms chunks, CPU-time clock): both Whisper-feature models stream by
  re-decoding (their encoder needs the whole window). Native frame-by-frame streaming
  needs a chunk-causal model on fbank features; its latency is measured on such a model
  trained in this script on FSDD digits (``--native-steps``), since no fbank model could be
  trained on LibriSpeech on this machine in the time.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import platform
import shlex
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
sys.path.insert(0, str(HERE))

from _common import git_commit, shared_data  # noqa: E402

MISMATCHED = {"1272-128104-0000"}  # its audio is another utterance's speech


def dev_utterances() -> list[tuple[str, Path, str]]:
    rows = []
    for trans in sorted(
        (shared_data() / "LibriSpeech" / "dev-clean").rglob("*.trans.txt")
    ):
        for line in trans.read_text().splitlines():
            uid, text = line.split(" ", 1)
            if uid not in MISMATCHED:
                rows.append((uid, trans.parent / f"{uid}.flac", text))
    return rows


def training_summary(run: Path, model: Path) -> dict[str, Any]:
    """The run's log up to the step of the evaluated ``model`` (its best/ or a
    checkpoint)."""
    from aural.models.checkpoint import load_model
    from aural.models.conformer import count_parameters

    loaded = load_model(model)
    at_step = int(loaded.info.get("step", 10**9))
    records = [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines()]
    records = [r for r in records if r["step"] <= at_step]
    steps = [r for r in records if "loss" in r]
    evals = [r for r in records if "dev_wer" in r]
    speed = [r["audio_seconds_per_second"] for r in steps]
    return {
        "model_step": at_step if at_step < 10**9 else None,
        "steps": steps[-1]["step"] if steps else 0,
        "epochs": steps[-1]["epoch"] if steps else 0,
        "audio_s_per_s": round(statistics.median(speed), 2) if speed else None,
        "first_loss": round(steps[0]["loss"], 2) if steps else None,
        "last_loss": round(steps[-1]["loss"], 2) if steps else None,
        "best_dev_wer_in_training": round(min(r["dev_wer"] for r in evals), 4)
        if evals
        else None,
        "parameters": count_parameters(loaded.model),
        "model_dir": str(loaded.folder),
    }


def accuracy(
    run: Path, utts: list[tuple[str, Path, str]], beam: int, lm_weight: float
) -> dict[str, Any]:
    from aural.audio import load
    from aural.decoding.lm import load_lm
    from aural.decoding.options import DecodeOptions
    from aural.engines import create_engine
    from aural.evaluation.metrics import corpus_cer, corpus_wer
    from aural.text.normalizers import get_normalizer

    normalize = get_normalizer("whisper")
    waves = [load(p) for _, p, _ in utts]
    refs = [normalize(t) for _, _, t in utts]
    audio_s = sum(w.duration for w in waves)
    engine = create_engine("aural", model=str(run))
    lm_engine = create_engine(
        "aural", model=str(run), lm=load_lm("sphinx-en-us"), lm_weight=lm_weight
    )
    engine._posteriors([waves[0].samples])  # warm-up
    t = time.perf_counter()
    outs = [engine._posteriors([w.samples])[0] for w in waves]
    acoustic_s = time.perf_counter() - t

    def run_decoder(eng: Any, b: int) -> tuple[list[str], float]:
        decoder = eng.decoder(DecodeOptions(beam_size=b))
        t = time.perf_counter()
        hyps = []
        for out in outs:
            hyp = (
                decoder.decode(eng._runner.scorer, out)[0]
                if eng.transducer
                else decoder.decode(out)[0]
            )
            hyps.append(normalize(hyp.text))
        return hyps, time.perf_counter() - t

    rows = []
    for name, eng, b in (
        ("greedy", engine, 1),
        (f"beam {beam}", engine, beam),
        (f"beam {beam} + LM (weight {lm_weight})", lm_engine, beam),
    ):
        hyps, seconds = run_decoder(eng, b)
        rows.append(
            {
                "decoding": name,
                "wer": round(corpus_wer(refs, hyps).wer, 4),
                "cer": round(corpus_cer(refs, hyps).wer, 4),
                "search_rtf": round(seconds / audio_s, 4),
                "example": hyps[1],
            }
        )
    t = time.perf_counter()
    for w in waves:
        engine.transcribe(w, DecodeOptions(beam_size=1))
    pipeline_rtf = (time.perf_counter() - t) / audio_s
    return {
        "rows": rows,
        "acoustic_rtf": round(acoustic_s / audio_s, 4),
        "pipeline_rtf_greedy": round(pipeline_rtf, 4),
        "audio_s": round(audio_s, 1),
        "reference_example": refs[1],
    }


def _median_time(fn: Any, repeats: int) -> float:
    fn()  # warm-up (and numba compilation)
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def _real_batch(ctc_run: Path, rnnt_run: Path, batch_size: int) -> tuple[Any, ...]:
    """Both models and one batch of real dev utterances: (ctc, rnnt, audio, lengths,
    padded targets, flat targets, target lengths) in the transducer's vocabulary."""
    from aural.audio import load
    from aural.models.checkpoint import load_model
    from aural.text.tokenizers import load_tokenizer, normalize_transcript
    from aural.training.data import collate_audio

    # Whisper features need the engine's front-end registered (the engines import it)
    importlib.import_module("aural.engines.whisper.encoder")
    utts = dev_utterances()[:batch_size]
    ctc, rnnt = load_model(ctc_run), load_model(rnnt_run)
    tok = load_tokenizer(rnnt.folder)
    audio, lengths = collate_audio([load(p).samples for _, p, _ in utts])
    ids = [tok.encode(normalize_transcript(t)) for _, _, t in utts]
    target_lengths = torch.tensor([len(i) for i in ids])
    padded = torch.zeros(len(ids), int(target_lengths.max()), dtype=torch.long)
    for row, i in enumerate(ids):
        padded[row, : len(i)] = torch.tensor(i)
    flat = torch.cat([torch.tensor(i) for i in ids])
    return ctc, rnnt, audio, lengths, padded, flat, target_lengths


def loss_timing(
    ctc_run: Path, rnnt_run: Path, batch_size: int, repeats: int
) -> dict[str, Any]:
    """ctc_loss vs rnnt_loss (forward + backward) on the same real batch, on one and
    on two threads (torch.set_num_threads; the numba back-end follows it)."""
    from aural.audio.features import extract
    from aural.training.losses import numba_available, rnnt_loss

    ctc, rnnt, audio, lengths, padded, flat, target_lengths = _real_batch(
        ctc_run, rnnt_run, batch_size
    )
    with torch.no_grad():
        feats, frame_lengths = extract(audio, lengths, ctc.feature_options)
    with torch.no_grad():
        log_probs, ctc_lengths = ctc.model(feats, frame_lengths)
        logits, rnnt_lengths = rnnt.model(feats, frame_lengths, padded)
    log_probs = log_probs.detach().transpose(0, 1).contiguous().requires_grad_()
    logits = logits.detach().float().contiguous().requires_grad_()

    def ctc_step() -> None:
        log_probs.grad = None
        torch.nn.functional.ctc_loss(
            log_probs, flat, ctc_lengths, target_lengths, reduction="sum"
        ).backward()

    def rnnt_step(backend: str) -> Any:
        def step() -> None:
            logits.grad = None
            rnnt_loss(
                logits,
                padded,
                rnnt_lengths,
                target_lengths,
                reduction="sum",
                backend=backend,  # type: ignore[arg-type]
            ).backward()

        return step

    out: dict[str, Any] = {
        "batch": len(lengths),
        "frames": int(rnnt_lengths.max()),
        "max_target": int(target_lengths.max()),
        "vocab": int(logits.shape[-1]),
        "lattice_points": int((rnnt_lengths * (target_lengths + 1)).sum()),
        "repeats": repeats,
    }
    threads = torch.get_num_threads()
    try:
        for n in (1, 2):  # one thread: the target's measurement; two: for the record
            torch.set_num_threads(n)
            key = "" if n == 1 else "threads2_"
            ctc_s = _median_time(ctc_step, repeats)
            out[f"{key}ctc_loss_s"] = round(ctc_s, 4)
            for backend in ("torch", "numba") if numba_available() else ("torch",):
                s = _median_time(rnnt_step(backend), repeats)
                out[f"{key}rnnt_{backend}_s"] = round(s, 4)
                out[f"{key}rnnt_{backend}_ratio"] = round(s / ctc_s, 2)
    finally:
        torch.set_num_threads(threads)
    return out


def step_timing(
    ctc_run: Path, rnnt_run: Path, batch_size: int, repeats: int
) -> dict[str, Any]:
    """One training step's compute (forward, loss, backward; train mode) of each model
    on the same batch of real utterances, one thread, median of ``repeats``; the
    Whisper encoder's features (shared by both recipes) timed apart."""
    from aural.audio.features import extract
    from aural.training.losses import rnnt_loss

    ctc, rnnt, audio, lengths, padded, flat, target_lengths = _real_batch(
        ctc_run, rnnt_run, batch_size
    )
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        feats: list[torch.Tensor] = []

        def features() -> None:
            with torch.no_grad():
                feats[:] = extract(audio, lengths, ctc.feature_options)

        features_s = _median_time(features, repeats)
        x, x_lengths = feats
        ctc.model.train()
        rnnt.model.train()

        def ctc_step() -> None:
            ctc.model.zero_grad()
            log_probs, out_lengths = ctc.model(x, x_lengths)
            torch.nn.functional.ctc_loss(
                log_probs.transpose(0, 1),
                flat,
                out_lengths,
                target_lengths,
                reduction="sum",
                zero_infinity=True,
            ).backward()

        aux = rnnt.model.ctc_head is not None

        def rnnt_step() -> None:
            rnnt.model.zero_grad()
            out = rnnt.model(x, x_lengths, padded, with_ctc=aux)
            loss = rnnt_loss(out[0], padded, out[1], target_lengths, reduction="sum")
            if aux:
                loss = loss + 0.3 * torch.nn.functional.ctc_loss(
                    out[2].transpose(0, 1),
                    flat,
                    out[1],
                    target_lengths,
                    reduction="sum",
                    zero_infinity=True,
                )
            loss.backward()

        ctc_s = _median_time(ctc_step, repeats)
        rnnt_s = _median_time(rnnt_step, repeats)
    finally:
        torch.set_num_threads(threads)
    return {
        "batch": len(lengths),
        "audio_s": round(float(lengths.sum()) / 16000, 1),
        "features_s": round(features_s, 3),
        "ctc_step_s": round(ctc_s, 3),
        "transducer_step_s": round(rnnt_s, 3),
        "with_aux_ctc": aux,
    }


def redecode_streaming(run: Path, limit: int | None) -> dict[str, Any]:
    from streaming_librispeech import librispeech, part_a

    from aural.decoding.options import DecodeOptions
    from aural.engines import create_engine
    from aural.streaming import StreamingOptions

    engine = create_engine("aural", model=str(run))
    utts = librispeech("dev-clean", limit)
    out = part_a(engine, utts, DecodeOptions(beam_size=1), StreamingOptions())
    out.pop("rows")
    out["streaming"] = engine.capabilities.streaming
    return out


def native_streaming(steps: int, workdir: Path) -> dict[str, Any]:
    """Train a chunk-causal fbank transducer on FSDD digits (takes 0-19 of all six
    speakers), then stream held-out recordings (take 49 of two speakers) with 1.5 s of
    trailing silence, like part A."""
    from streaming_librispeech import TRAILING_SILENCE_S, timed_stream

    from aural.audio import load
    from aural.decoding.options import DecodeOptions
    from aural.engines import create_engine
    from aural.streaming import StreamingOptions
    from aural.training.config import parse_config
    from aural.training.trainer import Trainer
    from aural.types import Final, Partial

    fsdd = shared_data() / "fsdd" / "recordings"
    train = {
        "path": str(fsdd),
        "kind": "fsdd",
        "id_pattern": "[0-9]_[a-z]+_(1?[0-9])",
    }
    cfg = parse_config(
        {
            "name": "native_digits",
            "output_dir": str(workdir / "native"),
            "data": {"train": [train], "dev_fraction": 0.1, "min_duration": 0.1},
            "features": {"kind": "fbank", "num_mels": 40, "cmvn": "global"},
            "model": {
                "type": "transducer",
                "size": "tiny",
                "d_model": 64,
                "num_layers": 2,
                "subsampling_channels": 16,
                "dropout": 0.1,
                "chunk_size": 4,
                "joiner_dim": 64,
                "predictor_dim": 64,
            },
            "optim": {"lr": 0.005, "warmup_steps": 30, "weight_decay": 0.0},
            "training": {
                "max_steps": steps,
                "batch_seconds": 30,
                "max_batch_size": 16,
                "eval_every": steps,
                "checkpoint_every": steps,
                "num_threads": 1,
            },
            "tracking": {"mlflow": False},
        }
    )
    t = time.perf_counter()
    result = Trainer(cfg).run()
    train_s = time.perf_counter() - t
    engine = create_engine("aural", model=str(result.model_dir))
    chunk_s = engine.frame_duration * 4
    final_lat, first_lat, correct, n, compute, audio_total = [], [], 0, 0, 0.0, 0.0
    extra = 0
    words = "zero one two three four five six seven eight nine".split()
    for digit in range(10):
        for who in ("lucas", "theo"):  # recordings not in training
            wave = load(fsdd / f"{digit}_{who}_49.wav", sample_rate=16000)
            samples = np.concatenate(
                [wave.samples, np.zeros(int(TRAILING_SILENCE_S * 16000), np.float32)]
            )
            session = engine.stream(
                DecodeOptions(beam_size=1),
                streaming=StreamingOptions(endpoint_silence_s=0.4),
                clock=time.process_time,
            )
            triples = timed_stream(session, samples)
            finals = [(t, e) for t, _, e in triples if isinstance(e, Final)]
            partial = next(
                (t for t, _, e in triples if isinstance(e, Partial) and e.text), None
            )
            if finals:  # the digit's final (later ones: tokens made up in silence)
                final_lat.append(finals[0][0] - wave.duration)
                extra += len(finals) - 1
            if partial is not None:
                first_lat.append(partial)
            correct += bool(finals) and finals[0][1].segment.text == words[digit]
            n += 1
            compute += session.stats.compute_s
            audio_total += wave.duration + TRAILING_SILENCE_S

    def summ(v: list[float]) -> dict[str, float]:
        return (
            {
                "p50": round(float(np.median(v)), 3),
                "p90": round(float(np.percentile(v, 90)), 3),
                "max": round(float(np.max(v)), 3),
                "n": len(v),
            }
            if v
            else {}
        )

    return {
        "train_steps": result.step,
        "train_s": round(train_s, 1),
        "chunk_s": round(chunk_s, 3),
        "digits_correct": f"{correct}/{n}",
        "extra_finals_in_silence": extra,
        "final_after_audio_end_s": summ(final_lat),
        "first_partial_after_audio_start_s": summ(first_lat),
        "stream_rtf": round(compute / audio_total, 4),
        "streaming": engine.capabilities.streaming,
    }


def markdown(r: dict[str, Any]) -> str:
    ctc, rnnt = r["models"]["ctc"], r["models"]["transducer"]
    lines = [
        "# CTC vs transducer (same encoder, same data)",
        "",
        f"Commands (commit {r['commit']}, {r['machine']}):",
        "",
        "```",
        *r["commands"],
        "```",
        "",
        "The machine's 2 cores were shared with other engineers' jobs throughout "
        f"(load average {r['load_before']} before, {r['load_after']} after the "
        "evaluation): compare the two models against each other, not with other "
        "machines. "
        + (
            r.get("setup")
            or "Both trained side by side, each on one thread, for the same "
            "wall-clock budget."
        ),
        "",
        "## Training",
        "",
        "| model | parameters | steps (model evaluated) | epochs | audio s trained per s | loss first -> last | best dev WER (greedy, in training) |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, m in (("CTC", ctc), ("transducer", rnnt)):
        t = m["training"]
        lines.append(
            f"| {name} | {t['parameters']:,} | {t['steps']} "
            f"({t.get('model_step') or 'best'}) | {t['epochs']} | "
            f"{t['audio_s_per_s']} | {t['first_loss']} -> {t['last_loss']} | "
            f"{_pct(t['best_dev_wer_in_training'])} |"
        )
    acc_c, acc_r = ctc["accuracy"], rnnt["accuracy"]
    lines += [
        "",
        f"## Accuracy on LibriSpeech dev-clean (held-out speakers, {len(r['utterances'])} "
        f"utterances, {acc_c['audio_s']} s), Whisper normaliser",
        "",
        "| decoding | CTC WER | CTC CER | transducer WER | transducer CER | CTC search RTF | transducer search RTF |",
        "|---|---|---|---|---|---|---|",
    ]
    for a, b in zip(acc_c["rows"], acc_r["rows"], strict=True):
        lines.append(
            f"| {a['decoding']} | {_pct(a['wer'])} | {_pct(a['cer'])} | "
            f"{_pct(b['wer'])} | {_pct(b['cer'])} | {a['search_rtf']} | "
            f"{b['search_rtf']} |"
        )
    lines += [
        "",
        f"Whole pipeline, greedy (Whisper tiny.en encoder + Conformer + search): RTF "
        f"CTC {acc_c['pipeline_rtf_greedy']}, transducer {acc_r['pipeline_rtf_greedy']} "
        f"(encoder part alone: {acc_c['acoustic_rtf']} / {acc_r['acoustic_rtf']}).",
        "",
        f"Reference: {acc_c['reference_example']}",
        "",
    ]
    for name, acc in (("CTC", acc_c), ("transducer", acc_r)):
        for row in acc["rows"]:
            lines.append(f"- {name}, {row['decoding']}: {row['example']}")
    if "step_timing" in r:
        st = r["step_timing"]
        f, c, t = st["features_s"], st["ctc_step_s"], st["transducer_step_s"]
        lines += [
            "",
            "## Training compute per step (same batch, one thread, median)",
            "",
            f"{st['batch']} dev-clean utterances ({st['audio_s']} s of audio), train mode, "
            "forward + loss + backward"
            + (
                " (the transducer's with its auxiliary CTC head and loss)"
                if st["with_aux_ctc"]
                else ""
            )
            + f": CTC {c} s, transducer {t} s ({t / c:.2f}x CTC). The joiner's "
            "(B, T, U+1, joiner_dim) activations are the extra; the loss is a small part "
            "(next section). The frozen Whisper tiny.en encoder is shared by both recipes "
            "and the trainer caches its output per utterance (no waveform augmentation "
            f"here), so after the first epoch a step is mostly this compute (features "
            f"of this batch, repeated: {f} s).",
        ]
    lt = r["loss_timing"]
    lines += [
        "",
        "## The loss alone (forward + backward, median)",
        "",
        f"Batch: {lt['batch']} dev-clean utterances, up to {lt['frames']} frames and "
        f"{lt['max_target']} characters, vocabulary {lt['vocab']} "
        f"({lt['lattice_points']:,} lattice points); median of "
        f"{lt.get('repeats', 5)} runs after a warm-up, in the same process, so the "
        "ratios hold under the shared machine's load better than the seconds do. "
        "ctc_loss gets log-probabilities (no softmax), rnnt_loss the joiner's raw "
        "logits (its softmax included). The target is on one thread.",
        "",
        "| loss | threads | seconds | x ctc_loss | target <= 3x |",
        "|---|---|---|---|---|",
    ]
    if "command" in lt:  # re-measured on its own (--loss-only)
        lines[-3:-3] = [
            "",
            f"Measured by `{lt['command']}` at commit {lt['commit']}.",
        ]
    for n, key in ((1, ""), (2, "threads2_")):
        if f"{key}ctc_loss_s" not in lt:
            continue
        lines.append(f"| torch ctc_loss | {n} | {lt[f'{key}ctc_loss_s']} | 1.0 | - |")
        for backend in ("torch", "numba"):
            if f"{key}rnnt_{backend}_s" in lt:
                ratio = lt[f"{key}rnnt_{backend}_ratio"]
                verdict = ("met" if ratio <= 3 else "not met") if n == 1 else "-"
                lines.append(
                    f"| aural rnnt_loss ({backend}) | {n} | "
                    f"{lt[f'{key}rnnt_{backend}_s']} | {ratio} | {verdict} |"
                )
    if "streaming" in r:
        lines += [
            "",
            "## Streaming latency (benchmarks/streaming_librispeech.py part A: "
            "simulated real time, 100 ms chunks, CPU-time clock)",
            "",
            "| model | kind | end of speech -> final p50 / p90 | onset -> first "
            "partial p50 / p90 | stream WER / offline WER | CPU s per audio s |",
            "|---|---|---|---|---|---|",
        ]
        for name, key in (("CTC", "ctc"), ("transducer", "transducer")):
            s = r["streaming"][key]
            lines.append(
                f"| {name} (Whisper features) | {s['streaming']} | "
                f"{_lat(s['final_latency_s'])} | {_lat(s['first_partial_latency_s'])} | "
                f"{_pct(s['stream_wer'])} / {_pct(s['offline_wer'])} | {s['stream_rtf']} |"
            )
    if "native" in r:
        n = r["native"]
        lines += [
            "",
            "Native streaming (chunk-causal fbank transducer, chunk "
            f"{n['chunk_s']} s, trained here on FSDD digits (takes 0-19 of 6 speakers) for "
            f"{n['train_steps']} steps / {n['train_s']} s, streamed on held-out "
            f"recordings (take 49 of 2 speakers) + 1.5 s silence): final after the end of the audio "
            f"{_lat(n['final_after_audio_end_s'])} s (the endpoint rule waits 0.4 s "
            f"without tokens), first partial {_lat(n['first_partial_after_audio_start_s'])} "
            f"s after the audio starts, {n['digits_correct']} first finals exactly "
            f"the digit, {n['stream_rtf']} CPU s per audio s.",
            "",
            "FSDD recordings are trimmed to the spoken digit, so this model never saw "
            "silence in training: after the digit's final it makes up words in the "
            "appended silence "
            f"({n.get('extra_finals_in_silence', 'n/a')} extra finals over the "
            f"{n['digits_correct'].split('/')[1]} streams). The latency of the digit's "
            "final is the endpoint rule's wait (0.4 s without a token) plus up to one "
            "chunk; the equality of streaming and offline decoding is tested in "
            "tests/training/test_rnnt_model.py.",
        ]
    lines += ["", "## Targets (issue 22)", ""] + r["targets"]
    return "\n".join(lines) + "\n"


def _pct(x: float | None) -> str:
    return "n/a" if x is None else f"{100 * x:.1f}%"


def _lat(s: dict[str, float]) -> str:
    return f"{s['p50']} / {s['p90']}" if s else "n/a"


def targets(r: dict[str, Any]) -> list[str]:
    c = r["models"]["ctc"]["accuracy"]["rows"]
    t = r["models"]["transducer"]["accuracy"]["rows"]
    lt = r["loss_timing"]
    out = [
        f"- transducer greedy WER matches CTC greedy: {_pct(t[0]['wer'])} vs "
        f"{_pct(c[0]['wer'])}: {'met' if t[0]['wer'] <= c[0]['wer'] + 0.01 else 'not met'}",
        f"- transducer beam beats CTC (beam): {_pct(t[1]['wer'])} vs {_pct(c[1]['wer'])}"
        f": {'met' if t[1]['wer'] < c[1]['wer'] else 'not met'}; "
        f"transducer beam vs CTC greedy {_pct(t[1]['wer'])} vs {_pct(c[0]['wer'])}",
    ]
    best = "numba" if "rnnt_numba_ratio" in lt else "torch"
    ratio = lt[f"rnnt_{best}_ratio"]
    out.append(
        f"- RNN-T loss <= 3x ctc_loss on the same batch (CPU, one thread): {best} "
        f"back-end (the default on a CPU) {ratio}x: "
        f"{'met' if ratio <= 3 else 'not met'} (torch back-end "
        f"{lt['rnnt_torch_ratio']}x)"
    )
    return out


def _shown_arguments(argv: list[str]) -> str:
    """The command line as run, the --setup paragraph (printed below it) elided."""
    shown = list(argv)
    for i, arg in enumerate(shown[:-1]):
        if arg == "--setup":
            shown[i + 1] = "(the paragraph below)"
    return shlex.join(shown)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--ctc", default=str(HERE.parent / "runs" / "tvc_ctc"))
    ap.add_argument(
        "--transducer", default=str(HERE.parent / "runs" / "tvc_transducer")
    )
    ap.add_argument("--beam-size", type=int, default=8)
    ap.add_argument("--lm-weight", type=float, default=0.5)
    ap.add_argument("--loss-batch", type=int, default=8)
    ap.add_argument("--loss-repeats", type=int, default=5)
    ap.add_argument(
        "--streaming",
        default="redecode,native",
        help="streaming measurements: redecode (the two Whisper-feature models), "
        "native (a chunk-causal fbank transducer trained here on digits); '' = none",
    )
    ap.add_argument("--native-steps", type=int, default=300)
    ap.add_argument(
        "--train-minutes",
        default="30",
        help="(for the record) the wall-clock budget of each training round, comma "
        "separated when a run was resumed (--resume) for more rounds",
    )
    ap.add_argument(
        "--ctc-model",
        default=None,
        help="the CTC model evaluated (default: the run's best/; e.g. "
        "runs/tvc_ctc/checkpoints/step_0000250 to compare at a step)",
    )
    ap.add_argument("--transducer-model", default=None, help="as --ctc-model")
    ap.add_argument(
        "--commands-file",
        default=None,
        help="the training commands as run, one a line (replaces the ones "
        "--train-minutes writes)",
    )
    ap.add_argument(
        "--setup", default=None, help="how the two models were trained (one paragraph)"
    )
    ap.add_argument("--out", default=str(RESULTS / "transducer_vs_ctc"))
    ap.add_argument(
        "--loss-only",
        action="store_true",
        help="re-measure only the loss alone into the existing .json",
    )
    ap.add_argument(
        "--native-only",
        action="store_true",
        help="re-measure only native streaming into the existing .json",
    )
    ap.add_argument(
        "--markdown-only",
        action="store_true",
        help="rewrite the .md from the existing .json (no measurement)",
    )
    args = ap.parse_args()
    if args.native_only:  # re-measure the native stream, keep the rest
        out = Path(args.out)
        saved = json.loads(out.with_suffix(".json").read_text())
        with tempfile.TemporaryDirectory() as tmp:
            saved["native"] = native_streaming(args.native_steps, Path(tmp))
        saved["commands"][-1] += " && " + " ".join(
            ["OMP_NUM_THREADS=1 python benchmarks/transducer_vs_ctc.py", *sys.argv[1:]]
        )
        out.with_suffix(".json").write_text(json.dumps(saved, indent=1))
        args.markdown_only = True
    if args.loss_only:  # re-measure the loss timing, keep the rest
        out = Path(args.out)
        saved = json.loads(out.with_suffix(".json").read_text())
        saved["loss_timing"] = loss_timing(
            Path(args.ctc), Path(args.transducer), args.loss_batch, args.loss_repeats
        )
        saved["loss_timing"]["command"] = " ".join(
            ["OMP_NUM_THREADS=1 python benchmarks/transducer_vs_ctc.py", *sys.argv[1:]]
        )
        saved["loss_timing"]["commit"] = git_commit()
        out.with_suffix(".json").write_text(json.dumps(saved, indent=1))
        args.markdown_only = True
    if args.markdown_only:
        out = Path(args.out)
        saved = json.loads(out.with_suffix(".json").read_text())
        saved["targets"] = targets(saved)
        out.with_suffix(".md").write_text(markdown(saved))
        return

    load_before = [round(x, 2) for x in os.getloadavg()]
    utts = dev_utterances()
    runs = {"ctc": Path(args.ctc), "transducer": Path(args.transducer)}
    models = {
        "ctc": Path(args.ctc_model or args.ctc),
        "transducer": Path(args.transducer_model or args.transducer),
    }
    train_commands = (
        Path(args.commands_file).read_text().strip().splitlines()
        if args.commands_file
        else [
            f"OMP_NUM_THREADS=1 aural train --config "
            f"recipes/librispeech_ljspeech_whisper_{name}.yaml --output-dir "
            f"runs/tvc_{name} --max-minutes {minutes}{' --resume' if i else ''} &"
            for i, minutes in enumerate(args.train_minutes.split(","))
            for name in ("ctc", "transducer")
        ]
    )
    result: dict[str, Any] = {
        "setup": args.setup,
        "commands": train_commands
        + [
            "OMP_NUM_THREADS=1 python benchmarks/transducer_vs_ctc.py "
            + _shown_arguments(sys.argv[1:])
        ],
        "commit": git_commit(),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores (shared)",
        "utterances": [u for u, _, _ in utts],
        "models": {},
    }
    for name, run in runs.items():
        print(f"{name}: training summary, accuracy", flush=True)
        result["models"][name] = {
            "training": training_summary(run, models[name]),
            "accuracy": accuracy(models[name], utts, args.beam_size, args.lm_weight),
        }
    print("step timing", flush=True)
    result["step_timing"] = step_timing(
        models["ctc"], models["transducer"], 6, args.loss_repeats
    )
    print("loss timing", flush=True)
    result["loss_timing"] = loss_timing(
        models["ctc"], models["transducer"], args.loss_batch, args.loss_repeats
    )
    kinds = [k for k in args.streaming.split(",") if k]
    if "redecode" in kinds:
        print("re-decode streaming", flush=True)
        result["streaming"] = {
            name: redecode_streaming(run, None) for name, run in models.items()
        }
    if "native" in kinds:
        print("native streaming", flush=True)
        with tempfile.TemporaryDirectory() as tmp:
            result["native"] = native_streaming(args.native_steps, Path(tmp))
    result["load_before"] = load_before
    result["load_after"] = [round(x, 2) for x in os.getloadavg()]
    result["targets"] = targets(result)
    out = Path(args.out)
    out.with_suffix(".json").write_text(json.dumps(result, indent=1))
    out.with_suffix(".md").write_text(markdown(result))
    print(markdown(result))


if __name__ == "__main__":
    main()
