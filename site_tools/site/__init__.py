"""The public site: everything MkDocs-specific lives in this package.

Moving to another generator (Zensical, Hugo…) means replacing this package;
content, the Bulletin model, renderers and feeds stay as they are.
"""
