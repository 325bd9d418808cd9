"""aural.serving."""
