"""aural.models."""
