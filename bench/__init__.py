"""Benchmarks: ``python -m bench COMMAND … --json FILE``. Each prints a table and writes JSON.

Benchmarks measure and never assert; ratios are against a baseline run in the same process.
"""
