"""Renderers: a Bulletin in, a channel's message out. One module per channel.

The rules about lengths live in :mod:`site_tools.content.limits`; the rules about
how Markdown becomes each channel's markup live in :mod:`site_tools.markdown.text`.
"""
