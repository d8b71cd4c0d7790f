"""A ``site-tools`` command run inside a long-lived process (the service), as it runs from a shell.

The service publishes by running ``site-tools publish`` in a thread of its own — the very command a person
runs by hand, with the same options, the same report and the same exit code — but warm: its modules are
imported and its store's parse cache is open. What the command prints goes to ``emit``, a line at a time.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import click

from site_tools.cli.common import EXIT_CRASH, EXIT_PROBLEMS
from site_tools.phones import mask_all
from site_tools.service.capture import captured

log = logging.getLogger("site_tools.service")


def run_command(args: list[str], emit: Callable[[str], None]) -> int:
    """``site-tools <args>`` in this thread, its output to ``emit``; its exit code."""
    from site_tools.cli.main import main

    with captured(emit):
        try:
            main.main(args=args, prog_name="site-tools", standalone_mode=False)
            return 0
        except SystemExit as exc:
            return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else EXIT_PROBLEMS)
        except click.exceptions.Exit as exc:
            return exc.exit_code
        except click.ClickException as exc:
            exc.show()
            return exc.exit_code
        except click.Abort:
            click.echo("Interrotto.", err=True)
            return EXIT_PROBLEMS
        except Exception as exc:  # noqa: BLE001 - a bug in the run must not take the service with it
            log.exception("a command run in process crashed")
            click.echo(f"Errore imprevisto ({type(exc).__name__}): {mask_all(str(exc))[:300]}", err=True)
            return EXIT_CRASH
