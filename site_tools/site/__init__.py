"""The public site: everything generator-specific lives in this package.

The site is built with ProperDocs, the maintained continuation of MkDocs 1.x
(MkDocs itself has had no release since 2024-08), and mkdocs-material. When
this package is imported before any ``mkdocs`` module, ``mkdocs.*`` imports
are aliased to ``properdocs.*`` so that the theme and this package's plugin
run on ProperDocs; under a plain ``mkdocs build`` (already imported) nothing
is aliased and everything still works: ``mkdocs.yml`` is read by both.

Moving to another generator (Zensical, Hugo…) means replacing this package;
content, the Bulletin model, renderers and feeds stay as they are.
"""

import sys

if "mkdocs" not in sys.modules:
    import properdocs.replacement  # noqa: F401
