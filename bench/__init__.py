"""Benchmarks: each figure against a floor measured in the same run on the same servers.

`bench/run` (or `python -m bench`) runs them all; `python -m bench.<figure> --help` runs one with smaller sizes.
"""
