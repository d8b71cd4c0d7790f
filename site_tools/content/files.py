"""Which files in ``content/`` may become part of the public site.

Everything in ``content/`` is copied to the site, and ProperDocs follows
symbolic links: a link to a file of the machine (``/proc/self/environ``, a
key) would make it public. So: no symbolic link anywhere in ``content/``, no
path that climbs out of it, only file types a browser shows without running
them, and a ceiling on every size (:mod:`site_tools.content.limits`).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

from site_tools.content import limits
from site_tools.content.problems import Problem, display_path
from site_tools.formatting import file_size

IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".gif", ".webp", ".avif"})
#: Documents published as they are: none of them runs in the site's origin.
DOCUMENT_SUFFIXES = frozenset(
    {".pdf", ".odt", ".ods", ".odp", ".doc", ".docx", ".xls", ".xlsx", ".ppt", ".pptx", ".csv", ".txt", ".zip"}
)
#: Why the types a browser would run as part of the site are refused (the rest: "not a known type").
RUNNABLE = {
    ".html": "una pagina HTML può eseguire codice nel sito",
    ".htm": "una pagina HTML può eseguire codice nel sito",
    ".xhtml": "una pagina HTML può eseguire codice nel sito",
    ".svg": "un'immagine SVG aperta da sola può eseguire codice nel sito",
    ".svgz": "un'immagine SVG aperta da sola può eseguire codice nel sito",
    ".js": "un file JavaScript è codice",
    ".mjs": "un file JavaScript è codice",
    ".css": "un foglio di stile cambierebbe l'aspetto di tutto il sito",
    ".xml": "un file XML può contenere codice (XSLT)",
    ".xsl": "un file XSLT è codice",
}

SYMLINK = (
    "il file è un collegamento simbolico (symlink): non è ammesso in content/.",
    "metti nel repository il file vero, non un collegamento: un collegamento potrebbe pubblicare un file del computer.",
)


def human(size: int) -> str:
    """``5,2 MB``, ``256 KB``: sizes as an editor reads them (:func:`site_tools.formatting.file_size`)."""
    return file_size(max(size, 1024))


def too_big(size: int, maximum: int, what: str) -> tuple[str, str]:
    return (
        f"il file pesa {human(size)}: {what} può pesare al massimo {human(maximum)}.",
        _FIX_SIZE.get(what, "riduci il file."),
    )


_FIX_SIZE = {
    "un avviso": "un avviso è testo: togli le parti incollate per sbaglio e metti gli allegati in file a parte.",
    "una pagina": "una pagina è testo: togli le parti incollate per sbaglio e metti gli allegati in file a parte.",
    "un'immagine": "riducila (per esempio a 1600 pixel di larghezza, in JPEG) prima di caricarla.",
    "un documento": "riducilo (per esempio salvando il PDF «per il web») o pubblicalo altrove e metti un link.",
}


def escapes(path: Path, root: Path) -> str | None:
    """Why ``path`` may not be published from ``root``: ``"outside"``, ``"symlink"`` (on the way), or None."""
    base = os.path.abspath(root)
    rel = os.path.relpath(os.path.abspath(path), base)
    if rel == os.pardir or rel.startswith(os.pardir + os.sep) or os.path.isabs(rel):
        return "outside"
    if rel != os.curdir and os.path.realpath(os.path.join(base, rel)) != os.path.join(os.path.realpath(base), rel):
        return "symlink"
    return None


def tree_problems(content_dir: Path, root: Path) -> list[Problem]:
    """Symbolic links, refused types and sizes anywhere in ``content/`` (Markdown sizes: their readers)."""
    return list(_walk(content_dir, root))


def _walk(content_dir: Path, root: Path) -> Iterator[Problem]:
    for folder, dirs, names in os.walk(content_dir):
        for name in sorted(dirs):
            if os.path.islink(os.path.join(folder, name)):
                dirs.remove(name)  # never followed
                yield Problem(display_path(Path(folder, name), root), None, None, *SYMLINK)
        for name in sorted(names):
            path = Path(folder, name)
            if os.path.islink(path):
                yield Problem(display_path(path, root), None, None, *SYMLINK)
            elif not name.startswith("."):  # dot files are never published (ProperDocs' exclude_docs)
                problem = _file_problem(path)
                if problem:
                    yield Problem(display_path(path, root), None, None, *problem)


def _file_problem(path: Path) -> tuple[str, str] | None:
    suffix = path.suffix.lower()
    if suffix == ".md":
        return None
    if suffix in IMAGE_SUFFIXES:
        maximum, what = limits.IMAGE_MAX_BYTES, "un'immagine"
    elif suffix in DOCUMENT_SUFFIXES:
        maximum, what = limits.DOCUMENT_MAX_BYTES, "un documento"
    else:
        why = RUNNABLE.get(suffix, "non è un tipo di file che il sito pubblica")
        return (
            f"i file «{suffix or path.name}» non possono stare in content/: {why}.",
            "usa Markdown (.md) per i testi, PNG, JPEG, GIF o WebP per le immagini, PDF o ODT per i documenti.",
        )
    size = path.stat().st_size
    return too_big(size, maximum, what) if size > maximum else None
