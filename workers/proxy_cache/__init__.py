"""Proxy-cache projects' background work: storing what was pulled through (ADR 0037)."""
