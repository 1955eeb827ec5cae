"""Benchmarks, each side by side with the baseline its issue names (``make bench``)."""
