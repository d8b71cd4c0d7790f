"""Markdown bodies: scanning them for links and HTML, rendering them as channel text."""
