"""The ctc engine on a tiny randomly initialised wav2vec2 model saved to tmp_path (no
downloads)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from aural.audio import Waveform, load
from aural.decoding.options import DecodeOptions
from aural.engines import create_engine
from aural.errors import ConfigError, ModelNotFoundError, OptionConflictError

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ'"


def save_tiny_ctc(folder: Path, group_norm: bool = False) -> Path:
    """Save a seeded, randomly initialised Wav2Vec2ForCTC and its processor.

    ``group_norm`` builds the wav2vec2-base flavour, whose feature extractor takes no
    attention mask."""
    vocab = {"<pad>": 0, "<s>": 1, "</s>": 2, "<unk>": 3, "|": 4}
    vocab.update({c: 5 + i for i, c in enumerate(LETTERS)})
    (folder / "vocab.json").write_text(json.dumps(vocab))
    tokenizer = transformers.Wav2Vec2CTCTokenizer(
        str(folder / "vocab.json"),
        unk_token="<unk>",
        pad_token="<pad>",
        word_delimiter_token="|",
    )
    extractor = transformers.Wav2Vec2FeatureExtractor(
        feature_size=1,
        sampling_rate=16000,
        padding_value=0.0,
        do_normalize=True,
        return_attention_mask=not group_norm,
    )
    processor = transformers.Wav2Vec2Processor(
        feature_extractor=extractor, tokenizer=tokenizer
    )
    torch.manual_seed(0)
    config = transformers.Wav2Vec2Config(
        vocab_size=len(vocab),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        conv_dim=(16,) * 7,
        num_conv_pos_embeddings=16,
        num_conv_pos_embedding_groups=2,
        feat_extract_norm="group" if group_norm else "layer",
        do_stable_layer_norm=not group_norm,
        pad_token_id=0,
    )
    model = transformers.Wav2Vec2ForCTC(config)
    with (
        torch.no_grad()
    ):  # spread the logits, favour blank and "|" so outputs look like words
        model.lm_head.weight *= 60.0
        model.lm_head.bias[0] += 2.0
        model.lm_head.bias[4] += 1.0
    model.save_pretrained(folder)
    processor.save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def tiny_ctc_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_tiny_ctc(tmp_path_factory.mktemp("tiny_ctc"))


@pytest.fixture(scope="module")
def engine(tiny_ctc_dir):
    return create_engine("ctc", str(tiny_ctc_dir))


@pytest.fixture(scope="module")
def noise() -> list[Waveform]:
    rng = np.random.default_rng(1)
    return [
        Waveform((rng.normal(size=n) * 0.1).astype(np.float32), 16000)
        for n in (16000, 27200, 6400, 40000)
    ]


def test_loads_vocabulary_blank_and_frame_rate(engine):
    assert engine.name == "ctc"
    assert engine.vocabulary[:5] == ["<pad>", "<s>", "</s>", "<unk>", "|"]
    assert engine.blank == 0 and engine.word_delimiter == "|"
    assert engine.frame_duration == pytest.approx(0.02)


def test_greedy_text_matches_transformers_own_decoding(engine, tiny_ctc_dir, noise):
    processor = transformers.AutoProcessor.from_pretrained(tiny_ctc_dir)
    model = transformers.AutoModelForCTC.from_pretrained(tiny_ctc_dir).eval()
    ours = engine.transcribe_batch(noise, DecodeOptions(beam_size=1))
    for w, t in zip(noise, ours):
        feats = processor(w.samples, sampling_rate=16000, return_tensors="pt")
        with torch.no_grad():
            ids = model(feats.input_values).logits.argmax(-1)
        # transformers keeps <s>/</s> in the text (aural drops special tokens)
        decoded = re.sub(r"<[^>]+>", "", processor.batch_decode(ids)[0])
        reference = " ".join(decoded.split())
        assert t.text == reference
    assert any(" " in t.text for t in ours)  # the biased head emits words, not one blob


def test_batch_equals_one_by_one(engine, noise):
    batched = engine.posteriors_batch(noise, batch_size=4)
    for w, post in zip(noise, batched):
        single = engine.posteriors(w)
        assert post.log_probs.shape == single.log_probs.shape
        assert np.allclose(post.log_probs, single.log_probs, atol=1e-4)
    options = DecodeOptions(beam_size=4)
    assert [t.text for t in engine.transcribe_batch(noise, options)] == [
        engine.transcribe(w, options).text for w in noise
    ]


def test_group_norm_model_batches_only_equal_lengths(tmp_path, noise):
    engine = create_engine("ctc", str(save_tiny_ctc(tmp_path, group_norm=True)))
    inputs = [*noise, noise[0]]  # two inputs of equal length may share a batch
    batched = engine.posteriors_batch(inputs, batch_size=8)
    for w, post in zip(inputs, batched):
        assert np.allclose(post.log_probs, engine.posteriors(w).log_probs, atol=1e-4)


def test_long_audio_is_windowed_and_stitched(tiny_ctc_dir, noise):
    windowed = create_engine("ctc", str(tiny_ctc_dir), window_s=1.0, overlap_s=0.4)
    whole = create_engine("ctc", str(tiny_ctc_dir), window_s=60.0)
    w = noise[3]  # 2.5 s -> windows [0, 1.0), [0.6, 1.6), [1.2, 2.2), [1.8, 2.5)
    stitched = windowed.posteriors(w).log_probs
    assert abs(stitched.shape[0] - whole.posteriors(w).log_probs.shape[0]) <= 2
    # frames 0..39 come from the first window: they equal the model run on that slice
    # alone
    first = whole.posteriors(w.slice(0.0, 1.0)).log_probs
    assert np.allclose(stitched[:35], first[:35], atol=1e-4)
    # the middle of the second window (1.0 s .. 1.2 s = frames 50..60)
    second = whole.posteriors(w.slice(0.6, 1.6)).log_probs
    assert np.allclose(stitched[50:60], second[20:30], atol=1e-4)
    t = windowed.transcribe(w, DecodeOptions(beam_size=1))
    ends = [x.end for x in t.words]
    assert ends == sorted(ends) and (not ends or ends[-1] <= w.duration + 1e-6)


def test_real_recording_beam_with_hotwords_keeps_invariants(engine, dev_clean):
    flac = min(dev_clean.rglob("*.flac"))
    w = load(flac)
    t = engine.transcribe(w, DecodeOptions(beam_size=4, hotwords=("ABC",)))
    assert t.info.engine == "ctc" and t.info.duration == pytest.approx(w.duration)
    last = 0.0
    for seg in t.segments:
        assert seg.text == " ".join(x.text for x in seg.words)
        for word in seg.words:
            assert last - 1e-6 <= word.start <= word.end <= w.duration + 1e-6
            assert 0.0 <= word.probability <= 1.0
            last = word.end


def test_engine_uses_an_lm_file(tiny_ctc_dir, noise, tmp_path):
    from aural.decoding.lm import estimate_kneser_ney

    lm_path = tmp_path / "lm.arpa"
    lm_path.write_text(estimate_kneser_ney([["a", "b"], ["b", "a"]], 2).to_arpa())
    e = create_engine("ctc", str(tiny_ctc_dir), lm=str(lm_path), lm_weight=2.0)
    t = e.transcribe(noise[0], DecodeOptions(beam_size=4))
    assert t.info.options["lm"] == str(lm_path)
    with pytest.raises(OptionConflictError, match="beam_size"):
        e.transcribe(noise[0], DecodeOptions(beam_size=1))


def test_hotwords_with_greedy_conflict(engine, noise):
    with pytest.raises(OptionConflictError, match="ABC"):
        engine.transcribe(noise[0], DecodeOptions(beam_size=1, hotwords=("ABC",)))


def test_wrong_rate_is_rejected(engine):
    with pytest.raises(ConfigError, match="16000 Hz"):
        engine.transcribe(Waveform(np.zeros(8000, dtype=np.float32), 8000))


def test_missing_folder_and_offline_hub_id_raise_model_not_found(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelNotFoundError, match="config.json"):
        create_engine("ctc", str(tmp_path / "empty"))
    with pytest.raises(ModelNotFoundError, match="aural-test/no-such-ctc-model"):
        create_engine("ctc", "aural-test/no-such-ctc-model", local_files_only=True)


@pytest.mark.parametrize(
    ("options", "named"),
    [
        (DecodeOptions(language="fr"), "English-only.*language='fr'"),
        (DecodeOptions(task="translate"), "cannot translate"),
        (DecodeOptions(temperature=0.4), "temperature=0.4"),
        (DecodeOptions(initial_prompt="a prompt"), "initial_prompt"),
    ],
)
def test_ctc_refuses_what_it_cannot_honour(engine, noise, options, named):
    """Each option the engine cannot honour is a ConfigError naming it, before any audio
    (it used to be ignored), from every entry point alike."""
    with pytest.raises(ConfigError, match=named):
        engine.check_options(options)
    with pytest.raises(ConfigError, match=named):
        engine.transcribe(noise[0], options)
    with pytest.raises(ConfigError, match=named):
        engine.transcribe_batch(noise[:2], options)
    with pytest.raises(ConfigError, match=named):
        engine.stream(options)


def test_ctc_stream_never_conditions_its_buffer_again(engine, dev_clean, monkeypatch):
    """A stream's audio is conditioned once, causally, by the stream; its decodes must
    not go through the engine's public path, which conditions again with the
    quiet-recording gain the stream leaves out (they used to: CTC streams called
    transcribe_batch)."""
    import aural.engines.base as base

    calls = []
    real = base.condition
    monkeypatch.setattr(
        base,
        "condition",
        lambda samples, name: calls.append(name) or real(samples, name),
    )
    speech = load(sorted(dev_clean.rglob("*.flac"))[0]).samples
    quiet = (speech * (0.03 / np.abs(speech).max())).astype(
        np.float32
    )  # peaks at -30 dBFS
    session = engine.stream(DecodeOptions(beam_size=1), encoding="pcm_f32le")
    session.feed(quiet)
    session.finish()
    assert session.stats.final_decodes + session.stats.partial_decodes > 0  # it decoded
    assert calls == []
    engine.transcribe(Waveform(quiet, 16000), DecodeOptions(beam_size=1))
    assert calls == ["ctc"]  # the public path does condition (the spy works)
