"""aural.training."""
