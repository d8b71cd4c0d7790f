"""A first start on an empty folder: the town's repository fetched there before the service reads ``mkdocs.yml``.

A container's content volume (or systemd's state directory) starts empty, and the service needs the town's
``mkdocs.yml`` to start at all; from then on it keeps the checkout at ``main`` by itself (:mod:`.checkout`).
The first fetch is the same as every later one: the remote the server trusts (:func:`~.current.trusted_remote`),
its deploy key, the same refusals (:class:`~.checkout.Checkout`).
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from site_tools.service.checkout import Checkout, CheckoutError
from site_tools.service.current import trusted_remote
from site_tools.settings import Settings


class FirstCloneError(Exception):
    """The folder is empty and the town's repository could not be fetched into it (the message is for staff)."""


def clone_if_empty(root: Path, settings: Settings) -> str | None:
    """Fetch ``main`` into ``root`` and check it out when ``root`` holds no checkout yet (empty, missing, or left
    half-made by a start that failed): the commit checked out; None when a checkout was already there."""
    if (root / ".git").exists() and asyncio.run(Checkout(root, "").current()) is not None:
        return None
    remote = trusted_remote(settings)
    if remote is None:
        raise FirstCloneError(
            f"la cartella {root} non contiene ancora il repository del Comune e non so da dove scaricarlo: "
            "imposta SITE_TOOLS_REPOSITORY (proprietario/nome su GitHub) oppure SITE_TOOLS_REPOSITORY_URL."
        )
    try:
        synced = asyncio.run(Checkout(root, remote, deploy_key=settings.deploy_key).sync())
    except CheckoutError as exc:
        raise FirstCloneError(
            f"non riesco a scaricare il repository del Comune in {root} ({exc}). Controlla SITE_TOOLS_REPOSITORY o "
            "SITE_TOOLS_REPOSITORY_URL e, per un repository privato, SITE_TOOLS_DEPLOY_KEY e known_hosts."
        ) from None
    return synced.commit
