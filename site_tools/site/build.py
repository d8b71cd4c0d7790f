"""``site-tools build`` and ``site-tools serve``: MkDocs with the town's configuration."""

from __future__ import annotations

import logging
import os
from pathlib import Path

from mkdocs import exceptions
from mkdocs.commands.build import build as mkdocs_build
from mkdocs.config import load_config as mkdocs_config

from site_tools.content.problems import InvalidContent, Problem


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def build_site(config_file: Path, site_dir: Path | None = None, strict: bool = False) -> Path:
    """Build; raise InvalidContent with MkDocs' warnings (broken links…) when strict."""
    os.environ.setdefault("NO_MKDOCS_2_WARNING", "1")
    collect = _Collect()
    logging.getLogger("mkdocs").addHandler(collect)
    try:
        options = {"config_file": str(config_file), "strict": strict}
        if site_dir:
            options["site_dir"] = str(site_dir)
        config = mkdocs_config(**options)
        mkdocs_build(config)
        return Path(config.site_dir)
    except exceptions.PluginError as exc:
        raise InvalidContent([Problem(config_file.name, None, None, f"il sito non si può costruire:\n{exc}",
                                      "correggi i problemi elencati e riprova.")]) from exc
    except exceptions.Abort as exc:
        warnings = "\n".join(f"  - {m}" for m in collect.messages) or str(exc)
        raise InvalidContent([Problem(config_file.name, None, None,
                                      f"la costruzione in modalità rigorosa (--strict) ha trovato problemi:\n{warnings}",
                                      "correggi i link indicati: di solito un file rinominato o scritto male.")]) from exc
    finally:
        logging.getLogger("mkdocs").removeHandler(collect)


def serve_site(config_file: Path, host: str, port: int) -> None:
    from mkdocs.commands.serve import serve

    os.environ.setdefault("NO_MKDOCS_2_WARNING", "1")
    serve(config_file=str(config_file), dev_addr=f"{host}:{port}", livereload=True)
