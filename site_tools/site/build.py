"""``site-tools build`` and ``site-tools serve``: ProperDocs (the maintained MkDocs 1.x) with the town's configuration.

ProperDocs is a drop-in continuation of MkDocs 1.6 by MkDocs' own
maintainers: it reads ``mkdocs.yml`` and runs ``mkdocs.plugins`` entry points
(mkdocs-material, ours) unchanged, by aliasing ``mkdocs.*`` imports to
``properdocs.*`` (see :mod:`site_tools.site`).
"""

from __future__ import annotations

import logging
import os
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from properdocs import exceptions
from properdocs.commands.build import build as properdocs_build
from properdocs.config import load_config as properdocs_config

from site_tools.content.problems import InvalidContent, Problem
from site_tools.site.staging import discard_leftovers

#: ProperDocs counts strict-mode warnings on its own logger; the theme and plugins log as "mkdocs.*".
LOGGER = "properdocs"


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []
        self.errors: list[str] = []  # ProperDocs logs a plugin's error, then stops with a bare Abort

    def emit(self, record: logging.LogRecord) -> None:
        (self.errors if record.levelno >= logging.ERROR else self.messages).append(record.getMessage())


def _route_mkdocs_logs() -> None:
    """As ``properdocs`` on the command line does: warnings of "mkdocs.*" loggers count too."""
    mkdocs_logger = logging.getLogger("mkdocs")
    mkdocs_logger.parent = logging.getLogger(LOGGER)
    mkdocs_logger.propagate = True


def build_site(config_file: Path, site_dir: Path | None = None, strict: bool = False) -> Path:
    """Build; raise InvalidContent with the generator's warnings (broken links…) when strict."""
    os.environ.setdefault("DISABLE_MKDOCS_2_WARNING", "true")
    _route_mkdocs_logs()
    collect = _Collect()
    logging.getLogger(LOGGER).addHandler(collect)
    try:
        options: dict[str, Any] = {"config_file": str(config_file), "strict": strict}
        if site_dir:
            options["site_dir"] = str(site_dir)
        config = properdocs_config(**options)
        target = Path(config.site_dir)
        with _interruptible(target):
            properdocs_build(config)
        return Path(config.site_dir)
    except exceptions.PluginError as exc:
        raise _cannot_build(config_file, str(exc)) from exc
    except exceptions.Abort as exc:
        if collect.errors or not strict:  # a plugin's error (the strict mode's Abort names the warnings)
            errors = "\n".join(collect.errors) or str(exc)
            raise _cannot_build(config_file, errors) from exc
        warnings = "\n".join("  - " + m.replace("\n", "\n    ") for m in collect.messages) or str(exc)
        raise InvalidContent(
            [
                Problem(
                    config_file.name,
                    None,
                    None,
                    f"la costruzione in modalità rigorosa (--strict) ha trovato problemi:\n{warnings}",
                    "correggi i link indicati: di solito un file rinominato o scritto male.",
                )
            ]
        ) from exc
    finally:
        logging.getLogger(LOGGER).removeHandler(collect)


@contextmanager
def _interruptible(site_dir: Path) -> Iterator[None]:
    """Ctrl-C or SIGTERM during the build: the half-built folder beside ``site_dir`` is removed (the plugin
    builds there: site/staging.py) and ``site_dir`` keeps the previous build. SIGKILL: the next build removes it."""
    main = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _stop) if main else None
    try:
        yield
    except BaseException as exc:
        if not isinstance(exc, Exception):  # KeyboardInterrupt, SystemExit: nothing ran on_build_error
            discard_leftovers(site_dir, pid=os.getpid())
        raise
    finally:
        if main:
            signal.signal(signal.SIGTERM, signal.SIG_DFL if previous is None else previous)


def _stop(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)


def _cannot_build(config_file: Path, errors: str) -> InvalidContent:
    return InvalidContent(
        [
            Problem(
                config_file.name,
                None,
                None,
                f"il sito non si può costruire:\n{errors}",
                "correggi i problemi elencati e riprova.",
            )
        ]
    )


def serve_site(config_file: Path, host: str, port: int) -> None:
    from properdocs.commands.serve import serve

    os.environ.setdefault("DISABLE_MKDOCS_2_WARNING", "true")
    _route_mkdocs_logs()
    serve(config_file=str(config_file), dev_addr=f"{host}:{port}", livereload=True)
