"""``site-tools init``: a new town's repository, holding only the town, at this release of site-tools.

What a town gets is declared here once: the questions (:mod:`.questions`, answered as ``extra.town`` and
validated by the same model ``site-tools validate`` uses), the files (:mod:`.files`, from the templates in
``town/``), the GitHub workflows (:mod:`.workflows`: ``workflows/`` is the one source of this repository's
workflows and of every town's) and the web editor's npm manifest (:mod:`.npm`, derived from this repository's
lock file).
"""
