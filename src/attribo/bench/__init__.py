"""Benchmarks behind `attribo bench`; each prints one JSON object."""
