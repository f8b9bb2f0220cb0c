"""Routes that only read: OCI pull, catalog, referrers, upload status."""
