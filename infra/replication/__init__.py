"""Talking to other registries over the OCI Distribution API, for the replication worker.

`distribution.RegistryClient` is the client; `errors` says which failures are worth a retry;
`auth` answers Basic and Bearer challenges; `throttle` keeps blob bytes under a KB/s limit.
"""
