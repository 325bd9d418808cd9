"""aural.text."""
