"""CMU PocketSphinx: the classic HMM-GMM + 3-gram LM baseline, with native streaming."""

from aural.engines.sphinx.engine import SphinxEngine, decoder_segment

__all__ = ["SphinxEngine", "decoder_segment"]
