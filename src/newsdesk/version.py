"""The package version, in a module of its own so the lowest layers can record it."""

__version__ = "0.2.0"
