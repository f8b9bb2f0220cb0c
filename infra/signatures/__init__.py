"""Signature verification for the content-trust pull gates (cosign and notation formats)."""
