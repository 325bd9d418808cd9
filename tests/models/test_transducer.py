"""The Conformer-transducer's parts and the chunk-causal encoder's exact streaming."""

from __future__ import annotations

import pytest
import torch

from aural.errors import ConfigError
from aural.models.conformer import (
    ConformerEncoder,
    chunk_attention_mask,
    conformer_preset,
)
from aural.models.transducer import (
    ConformerTransducer,
    TransducerOptions,
    TransducerScorer,
)


def _encoder_options(subsampling: int, chunk: int, left: int):  # type: ignore[no-untyped-def]
    return conformer_preset(
        "tiny",
        23,
        12,
        d_model=32,
        num_layers=2,
        num_heads=2,
        conv_kernel=7,
        subsampling_channels=8,
        subsampling=subsampling,
        dropout=0.0,
        chunk_size=chunk,
        left_chunks=left,
    )


@pytest.mark.parametrize(
    ("subsampling", "chunk", "left"), [(4, 4, 0), (4, 3, 2), (1, 5, 1)]
)
def test_stream_chunks_equal_the_offline_chunk_causal_encoder(
    subsampling: int, chunk: int, left: int
) -> None:
    torch.manual_seed(0)
    enc = ConformerEncoder(_encoder_options(subsampling, chunk, left)).eval()
    feats = torch.randn(1, 131, 23)
    with torch.no_grad():
        offline, n = enc(feats, torch.tensor([131]))
        total, done, state, parts = int(n[0]), 0, None, []
        while done < total:
            end = min(total, done + chunk)
            out, state = enc.stream_chunk(enc.subsample_range(feats, done, end), state)
            parts.append(out)
            done = end
    torch.testing.assert_close(torch.cat(parts, 1), offline, atol=1e-5, rtol=1e-5)
    # limited left context keeps the cache bounded
    assert state is not None and state.frames_done == total
    if left:
        assert all(c.keys.shape[2] <= chunk * left for c in state.blocks)


def test_chunk_causal_outputs_ignore_the_future() -> None:
    torch.manual_seed(1)
    enc = ConformerEncoder(_encoder_options(4, 4, 0)).eval()
    a = torch.randn(1, 120, 23)
    b = a.clone()
    b[:, 80:] = torch.randn(1, 40, 23)  # change only the last 40 feature frames
    with torch.no_grad():
        ya, _ = enc(a, torch.tensor([120]))
        yb, _ = enc(b, torch.tensor([120]))
    # encoded frames up to chunk 3 (frames 0..15) read input frames < 4 * 16 + 3
    torch.testing.assert_close(ya[:, :16], yb[:, :16])
    assert not torch.allclose(ya[:, 20:], yb[:, 20:])


def test_chunk_attention_mask() -> None:
    mask = chunk_attention_mask(torch.tensor([5]), 6, 2, 1)[0]
    expected = torch.tensor(
        [
            [1, 1, 0, 0, 0, 0],
            [1, 1, 0, 0, 0, 0],
            [1, 1, 1, 1, 0, 0],
            [1, 1, 1, 1, 0, 0],
            [0, 0, 1, 1, 1, 0],  # key 5 is padding
            [0, 0, 1, 1, 1, 0],
        ],
        dtype=torch.bool,
    )
    assert torch.equal(mask, expected)


def test_transducer_forward_matches_its_parts() -> None:
    torch.manual_seed(2)
    opts = TransducerOptions(
        _encoder_options(4, 0, 0), predictor_dim=16, joiner_dim=24, context_size=2
    )
    model = ConformerTransducer(opts).eval()
    feats = torch.randn(2, 60, 23)
    lengths = torch.tensor([60, 41])
    targets = torch.tensor([[3, 4, 5], [6, 7, 0]])
    with torch.no_grad():
        logits, out_lengths = model(feats, lengths, targets)
        enc, _ = model.encode(feats, lengths)
        assert logits.shape == (2, enc.shape[1], 4, 12)
        assert out_lengths.tolist() == [14, 9]
        # position u of the lattice sees the contexts (y_{u-1}, y_u), blank-padded
        contexts = torch.tensor([[0, 0], [0, 3], [3, 4], [4, 5]])
        pred = model.predict(contexts)
        direct = model.join(enc[0, 5][None], pred)
    torch.testing.assert_close(logits[0, 5], direct)
    scorer = TransducerScorer(model)
    lp = scorer.log_probs(enc[0, 5], scorer.predict([(3, 4)]))
    torch.testing.assert_close(
        torch.from_numpy(lp[0]), torch.log_softmax(direct[2], -1)
    )


def test_options_round_trip_and_errors() -> None:
    opts = TransducerOptions(_encoder_options(1, 8, 2), joiner_dim=20)
    assert TransducerOptions.from_dict(opts.to_dict()) == opts
    with pytest.raises(ConfigError, match="context_size"):
        TransducerOptions(opts.encoder, context_size=0)
    with pytest.raises(ConfigError, match="chunk_size"):
        _encoder_options(4, -1, 0)
    full = ConformerEncoder(_encoder_options(4, 0, 0))
    with pytest.raises(ConfigError, match="chunk-causal"):
        full.stream_chunk(torch.zeros(1, 4, 32))


def test_ctc_head_is_an_optional_training_output(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """``ctc_head``: an auxiliary CTC output on the encoder (before the joiner's
    projection), saved and loaded with the model; a model without it refuses."""
    from aural.audio.features import FeatureOptions
    from aural.models.checkpoint import load_model, save_model

    torch.manual_seed(3)
    opts = TransducerOptions(_encoder_options(4, 0, 0), joiner_dim=24, ctc_head=True)
    model = ConformerTransducer(opts).eval()
    feats, lengths = torch.randn(2, 60, 23), torch.tensor([60, 41])
    targets = torch.tensor([[3, 4, 5], [6, 7, 0]])
    with torch.no_grad():
        logits, out_lengths, ctc = model(feats, lengths, targets, with_ctc=True)
        plain_logits, _ = model(feats, lengths, targets)
        encoded, _ = model.encoder(model.normalizer(feats), lengths)
    assert ctc.shape == (2, logits.shape[1], 12)
    torch.testing.assert_close(ctc, torch.log_softmax(model.ctc_head(encoded), -1))  # type: ignore[misc]
    torch.testing.assert_close(logits, plain_logits)  # the head changes nothing else
    assert torch.allclose(ctc.exp().sum(-1), torch.ones(2, logits.shape[1]))
    save_model(tmp_path, model, FeatureOptions(kind="fbank", num_mels=23))
    loaded = load_model(tmp_path).model
    assert isinstance(loaded, ConformerTransducer) and loaded.options == opts
    torch.testing.assert_close(loaded.state_dict(), model.state_dict())
    bare = ConformerTransducer(TransducerOptions(opts.encoder, joiner_dim=24))
    assert bare.ctc_head is None
    with pytest.raises(ConfigError, match="no CTC head"):
        bare(feats, lengths, targets, with_ctc=True)
    with pytest.raises(ConfigError, match="ctc_head"):
        TransducerOptions(opts.encoder, ctc_head=1)  # type: ignore[arg-type]
