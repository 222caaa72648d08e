"""newsdesk: topic, stance and summary models for news, and fast batch inference."""

from newsdesk.version import __version__

__all__ = ["__version__"]
