"""The aural engine over a saved checkpoint, and ONNX / int8 export equivalence."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest
import torch

from aural.audio import load
from aural.audio.features import FeatureOptions
from aural.decoding.options import DecodeOptions
from aural.engines import create_engine
from aural.errors import ConfigError, ModelNotFoundError
from aural.models.checkpoint import load_model, save_model
from aural.models.conformer import ConformerCtc, conformer_preset
from aural.text.tokenizers import CharTokenizer

pytest.importorskip("onnxruntime")


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A seeded, untrained tiny model saved the way the trainer saves one."""
    folder = tmp_path_factory.mktemp("ckpt")
    tok = CharTokenizer.from_texts(
        ["zero one two three four five six seven eight nine"]
    )
    torch.manual_seed(0)
    model = ConformerCtc(
        conformer_preset(
            "tiny",
            num_features=40,
            vocab_size=tok.vocab_size,
            d_model=64,
            num_layers=2,
            dropout=0.0,
        )
    )
    model.set_feature_stats(torch.full((40,), -5.0), torch.full((40,), 3.0))
    save_model(folder, model.eval(), FeatureOptions(num_mels=40, cmvn="none"))
    tok.save(folder)
    return folder


@pytest.fixture(scope="module")
def exported(checkpoint: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    from aural.training.export import export_onnx, quantize_int8

    out = tmp_path_factory.mktemp("onnx")
    quantize_int8(export_onnx(checkpoint, out))
    return out


def test_engine_transcribes_real_audio(checkpoint: Path, dev_clean: Path) -> None:
    engine = create_engine("aural", model=str(checkpoint), window_seconds=5.0)
    wave = load(min(dev_clean.rglob("*.flac")), sample_rate=16_000)
    result = engine.transcribe(wave, DecodeOptions(beam_size=1))
    assert result.info.engine == "aural" and result.info.duration == pytest.approx(
        wave.duration
    )
    assert (
        len(result.segments) >= 1
    )  # an untrained model still emits (random) characters
    starts = [s.start for s in result.segments]
    assert starts == sorted(starts) and result.segments[-1].end <= wave.duration + 1e-6
    for seg in result.segments:
        assert all(
            seg.start - 1e-6 <= w.start <= w.end <= seg.end + 0.05 for w in seg.words
        )
        assert seg.text == " ".join(w.text for w in seg.words)
    beam = engine.transcribe(wave, DecodeOptions(beam_size=4))
    assert isinstance(beam.text, str)
    batch = engine.transcribe_batch(
        [wave, wave.slice(0.0, 1.0)], DecodeOptions(beam_size=1)
    )
    assert batch[0].text == result.text


def test_engine_errors_name_the_problem(checkpoint: Path, tmp_path: Path) -> None:
    with pytest.raises(ModelNotFoundError, match="needs a checkpoint"):
        create_engine("aural")
    with pytest.raises(ModelNotFoundError, match=str(tmp_path)):
        create_engine("aural", model=str(tmp_path))
    with pytest.raises(ConfigError, match="beam_width"):
        create_engine("aural", model=str(checkpoint), beam_width=3)
    engine = create_engine("aural", model=str(checkpoint))
    with pytest.raises(ConfigError, match="fr"):
        engine.transcribe(_silence(), DecodeOptions(language="fr"))


def _silence():  # type: ignore[no-untyped-def]
    from aural.audio.waveform import Waveform

    return Waveform(np.zeros(16_000, dtype=np.float32), 16_000)


def test_onnx_matches_torch_and_int8_is_close(checkpoint: Path, exported: Path) -> None:
    import onnxruntime as ort

    model = load_model(checkpoint).model
    torch.manual_seed(1)
    feats, lengths = torch.randn(3, 301, 40) * 3 - 5, torch.tensor([301, 250, 77])
    with torch.no_grad():
        ref, ref_lengths = model(feats, lengths)
    outs = {}
    for name in ("model.onnx", "model.int8.onnx"):
        sess = ort.InferenceSession(
            str(exported / name), providers=["CPUExecutionProvider"]
        )
        outs[name] = sess.run(
            None, {"features": feats.numpy(), "lengths": lengths.numpy()}
        )
    lp, lp_lengths = outs["model.onnx"]
    assert lp_lengths.tolist() == ref_lengths.tolist()
    for i, n in enumerate(ref_lengths.tolist()):
        np.testing.assert_allclose(lp[i, :n], ref[i, :n].numpy(), atol=1e-4)
    q, _ = outs["model.int8.onnx"]
    probs_ref = ref[0, :75].exp().numpy()
    assert (
        np.abs(np.exp(q[0, :75]) - probs_ref).max() < 0.15
    )  # quantisation error, bounded
    int8_size = (exported / "model.int8.onnx").stat().st_size
    assert int8_size < 0.6 * (exported / "model.onnx").stat().st_size


def test_engine_runs_exported_onnx(
    exported: Path, checkpoint: Path, dev_clean: Path
) -> None:
    wave = load(sorted(dev_clean.rglob("*.flac"))[1], sample_rate=16_000)
    torch_text = create_engine("aural", model=str(checkpoint)).transcribe(wave).text
    onnx_engine = create_engine("aural", model=str(exported))
    assert onnx_engine.runtime == "onnx"
    assert onnx_engine.transcribe(wave).text == torch_text
    int8 = create_engine("aural", model=str(exported), onnx_file="model.int8.onnx")
    t0 = time.perf_counter()
    assert isinstance(int8.transcribe(wave).text, str)
    assert time.perf_counter() - t0 < 30


def test_engine_with_a_word_lm(
    checkpoint: Path, dev_clean: Path, tmp_path: Path
) -> None:
    """The aural engine fuses an n-gram LM like the ctc engine; the CLI passes --lm."""
    from typer.testing import CliRunner

    from aural.cli import app
    from aural.decoding.lm import estimate_kneser_ney
    from aural.errors import OptionConflictError

    arpa = tmp_path / "lm.arpa"
    arpa.write_text(
        estimate_kneser_ney([["one", "two"], ["two", "three"]], order=2).to_arpa()
    )
    flac = min(dev_clean.rglob("*.flac"))
    wave = load(flac, sample_rate=16_000)
    engine = create_engine("aural", model=str(checkpoint), lm=str(arpa), lm_weight=0.7)
    result = engine.transcribe(wave)  # no options: a beam, since there is an LM
    assert (
        result.info.options["lm"] == str(arpa)
        and result.info.options["lm_weight"] == 0.7
    )
    assert result.info.options["beam_size"] == 8
    with pytest.raises(OptionConflictError, match="beam"):
        engine.transcribe(wave, DecodeOptions(beam_size=1))
    runner = CliRunner()
    out = runner.invoke(
        app,
        [
            "transcribe",
            str(flac),
            "--engine",
            "aural",
            "--model",
            str(checkpoint),
            "--lm",
            str(arpa),
            "--beam-size",
            "4",
            "-q",
        ],
    )
    assert out.exit_code == 0, out.output
    out = runner.invoke(app, ["transcribe", str(flac), "--lm", str(arpa)])
    assert (
        out.exit_code == 2
        and "--lm is for the engines that take it (aural, ctc)" in out.output
    )
    out = runner.invoke(app, ["transcribe", str(flac), "--lm-vocabulary", str(arpa)])
    assert out.exit_code == 2 and "goes with a KenLM binary --lm" in out.output
    out = runner.invoke(
        app,
        [
            "transcribe",
            str(flac),
            "--engine",
            "aural",
            "--model",
            str(checkpoint),
            "--lm",
            str(arpa),
            "--lm-vocabulary",
            str(arpa),
        ],
    )
    assert out.exit_code == 2 and "lists its own words" in out.output
    out = runner.invoke(
        app,
        [
            "transcribe",
            str(flac),
            "--engine",
            "aural",
            "--model",
            str(checkpoint),
            "--lm",
            str(tmp_path / "missing.arpa"),
        ],
    )
    assert (
        out.exit_code != 0
        and "missing.arpa" in out.output
        and "Traceback" not in out.output
    )
