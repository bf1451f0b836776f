"""Corpora: pinned files, download/verify, loading, keyword features, splits."""
