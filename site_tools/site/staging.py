"""The site is built beside its folder and moved into place once the final check has given its verdict.

Pages are written while a second process checks them (:mod:`site_tools.site.final_check`): a build stopped
half way (Ctrl-C, a killed job) would leave in ``site/`` pages written but not checked yet. So the build
writes into a hidden sibling, ``.site.building-<pid>``, and :meth:`Staging.put_in_place` swaps it for
``site/`` once the verdict is in (the pages that failed already deleted). Until then ``site/`` holds the
previous build, whole, or nothing. A build that fails before its verdict discards its sibling; one killed
outright leaves it, and the next build into the same folder removes it (its process is gone).

A sibling, not a temporary folder elsewhere: on the same file system, the swap is two renames.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

MARK = ".building-"


class Staging:
    def __init__(self, site_dir: Path) -> None:
        self.site_dir = site_dir
        self.folder = site_dir.with_name(f".{site_dir.name}{MARK}{os.getpid()}")

    def start(self) -> Path:
        """Remove what killed builds left; the empty folder to build into."""
        discard_leftovers(self.site_dir)
        shutil.rmtree(self.folder, ignore_errors=True)
        self.folder.mkdir(parents=True)
        return self.folder

    def put_in_place(self) -> None:
        """The built site becomes ``site_dir``; the previous one is removed."""
        old = self.site_dir.with_name(f".{self.site_dir.name}.previous-{os.getpid()}")
        shutil.rmtree(old, ignore_errors=True)
        if self.site_dir.exists():
            os.rename(self.site_dir, old)
        os.rename(self.folder, self.site_dir)
        shutil.rmtree(old, ignore_errors=True)

    def discard(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)


def discard_leftovers(site_dir: Path, pid: int | None = None) -> None:
    """Remove the sibling folders of builds into ``site_dir`` whose process is gone (or of process ``pid``)."""
    prefix = f".{site_dir.name}{MARK}"
    try:
        names = os.listdir(site_dir.parent)
    except OSError:
        return
    for name in names:
        if not name.startswith(prefix) or not name[len(prefix) :].isdigit():
            continue
        owner = int(name[len(prefix) :])
        if owner == pid or (pid is None and not _alive(owner)):
            shutil.rmtree(site_dir.parent / name, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True
