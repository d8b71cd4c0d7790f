"""``site-tools`` run in this process (click's CliRunner), answering as the finished process would."""

from __future__ import annotations

import contextlib
import io
import logging
from dataclasses import dataclass
from pathlib import Path

from click.testing import CliRunner

from site_tools.cli.main import main


@dataclass(frozen=True)
class Ran:
    """What a test checks of a command: the exit code and what it printed (as ``subprocess.CompletedProcess``)."""

    returncode: int
    stdout: str
    stderr: str


def site_tools(*args: str, cwd: Path, input: str | None = None, env: dict[str, str | None] | None = None) -> Ran:
    """``site-tools ARGS`` started in ``cwd``, with ``input`` on its standard input and ``env`` added to the
    environment (a ``None`` value removes a variable). An exception the command does not handle fails the test
    with its traceback, as a crash would. What the command logs is part of its standard error, as in a process
    (where Python prints it there), so that a test of what reaches the terminal sees it."""
    logged = io.StringIO()
    handler = logging.StreamHandler(logged)
    logging.getLogger().addHandler(handler)
    try:
        with contextlib.chdir(cwd):
            result = CliRunner().invoke(main, list(args), input=input, env=env, prog_name="site-tools")
    finally:
        logging.getLogger().removeHandler(handler)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return Ran(result.exit_code, result.stdout, result.stderr + logged.getvalue())


__all__ = ["Ran", "site_tools"]
