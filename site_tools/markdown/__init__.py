"""Markdown bodies: rendering them as the site does and what its HTML allow-list removes; channel text."""
