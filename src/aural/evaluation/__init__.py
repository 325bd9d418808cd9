"""aural.evaluation."""
