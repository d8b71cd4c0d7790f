"""Sending: what to publish now (plan), how fast (pacer), to everyone once (fan-out), on every channel (publisher)."""
