"""Benchmark harness: Tidemark vs CNCF Distribution (see README.md)."""
