"""Reads of artifacts: lists, one artifact, tags, accessories, additions."""
