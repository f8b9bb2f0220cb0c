"""Content trust: the public keys a project trusts to sign what it serves."""
