"""aural.streaming."""
