"""Benchmarks: each compares a capability against a ceiling measured in the same run and records ratios."""
