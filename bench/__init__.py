"""Benchmarks of the portal (design §6, issue 4 item 6): ``python -m bench`` or ``make bench``.

Each figure is a ratio taken in one run; results are written to docs/benchmarks.md.
"""
