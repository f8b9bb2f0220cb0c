"""Routes that change state: OCI push and delete."""
