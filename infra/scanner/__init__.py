"""Tidemark's built-in scanner: a separate process speaking Harbor's Pluggable Scanner
Adapter API v1.2 (`tidemark scanner serve`), with its OSV vulnerability database
(`tidemark vulndb import`). Pure rules live in domain/scanning/; this package does the I/O."""
