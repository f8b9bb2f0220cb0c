"""Scanning: what a vulnerability database says and how versions compare (issue 14)."""
