"""Benchmarks on the public data sets in ../shared (never shipped, never used by tests)."""
