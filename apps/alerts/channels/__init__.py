"""Notification channels, each a plug-in module behind the interface in `base`."""
