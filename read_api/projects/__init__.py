"""Reads of projects: the projects, their members, metadata and summary."""
