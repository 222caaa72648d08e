"""newsdesk: topic, stance and summary models for news, and fast batch inference."""

__version__ = "0.1.0"
