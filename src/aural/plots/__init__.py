"""Pictures: matplotlib figures drawn from arrays and typed results (no engines here).

Each module draws one kind of picture deterministically (fixed sizes, no timestamps in
the files), readable in greyscale. The `aural plot` command gathers the data.
"""
