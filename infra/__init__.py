"""Wiring: settings, stores, storage drivers, logging, the app factory and the CLI."""
