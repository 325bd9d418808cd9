"""aural.data."""
