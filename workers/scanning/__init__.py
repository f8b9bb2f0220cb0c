"""Vulnerability scanning and SBOMs."""
