"""Replication: a log follower that copies artifacts to and from other registries
(ADR 0036)."""
