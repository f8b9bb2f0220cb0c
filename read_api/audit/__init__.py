"""Reads of the audit log: Harbor's logs, the extended log, purge runs."""
