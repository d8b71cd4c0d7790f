"""Channels: where a rendered bulletin goes. One :class:`~site_tools.channels.base.Channel` interface, one file each.

* :mod:`.whatsapp_list` — the opt-in lists, a template message per subscriber (Cloud API, :mod:`.cloud_api`);
* :mod:`.whatsapp_channel` — the WhatsApp Channel: manual by default (no official API),
  or a third-party gateway only when the town opts in knowingly;
* :mod:`.telegram` — the Bot API, one post to the town's channel;
* :mod:`.facebook`, :mod:`.mastodon`, :mod:`.bluesky` — one post each on the town's Page and accounts
  (:mod:`.posting`: one post, tried again while that is safe);
* :mod:`.email` — the e-mail newsletter, through the town's SMTP server (:mod:`.smtp`, a bounded pool of
  connections; :mod:`.newsletter_tokens`, the signed links);
* :mod:`.errors` — what the sender does with each API error code;
* :mod:`.meta_account` — the WhatsApp Business account at the Graph API (number, templates, subscription).

Adding a channel is adding a file here with a class decorated by
``@register`` (and its name and label in the editors' vocabulary,
``site_tools.content.config.CHANNELS``, which ``mkdocs.yml`` and the
frontmatter are validated against).
"""

from __future__ import annotations

import importlib
import pkgutil

from site_tools.channels.base import REGISTRY, Channel
from site_tools.content.config import TownConfig
from site_tools.settings import Settings

_INFRASTRUCTURE = {
    "base",
    "errors",
    "cloud_api",
    "meta_account",
    "posting",
    "smtp",
    "newsletter_tokens",
}  # not channels: not loaded on the publish's path


def _discover() -> None:
    for module in pkgutil.iter_modules(__path__):
        if module.name not in _INFRASTRUCTURE and not module.name.startswith("_"):
            importlib.import_module(f"{__name__}.{module.name}")


def names() -> tuple[str, ...]:
    """Every channel, in sending order (one-post channels before the fan-out)."""
    return REGISTRY.names()


def create(config: TownConfig, settings: Settings) -> dict[str, Channel]:
    """One instance of every channel for one run, by name, in sending order."""
    return REGISTRY.create(config, settings)


_discover()
