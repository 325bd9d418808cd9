"""aural.decoding."""
