"""The `tidemark` command line, one module per verb (`main` parses and dispatches)."""

from infra.wiring.cli.main import main

__all__ = ["main"]
