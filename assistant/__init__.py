"""Settings, services, the agent, the offline engine and the `retention` CLI."""

__version__ = "0.1.0"
