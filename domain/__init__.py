"""Tidemark's domain: aggregates, their events and the rules they keep. No I/O."""
