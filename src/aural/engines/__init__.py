"""aural.engines."""
