"""The ``site-tools`` command: the group, and where each subcommand lives.

Each subcommand is a thin layer over the package that does the work:
:mod:`.content` (editors), :mod:`.publish` (sending), :mod:`.subscribers`
(the list), :mod:`.service` (webhooks), :mod:`.staff` (the counter's staff and
retention), :mod:`.backup` (backup and restore), :mod:`.dev` (demo and simulator).

Town staff use these commands: they speak Italian, click's own words too
(:mod:`.italian`, installed here before any option is declared).
"""

from __future__ import annotations

import importlib
from pathlib import Path

import click

from site_tools import __version__
from site_tools.cli import italian
from site_tools.cli.common import Context

italian.install()

#: Each subcommand and where it lives: imported only when it runs (``publish`` must not wait for the site
#: generator, the web service or the counter to be imported: the first urgent message is timed).
COMMANDS = {
    "init": ("init", "init"),
    "validate": ("content", "validate"),
    "new": ("content", "new"),
    "build": ("content", "build"),
    "serve": ("content", "serve"),
    "cms-config": ("content", "cms_config"),
    "preview": ("content", "preview"),
    "publish": ("publish", "publish"),
    "adopt": ("publish", "adopt"),
    "visible-state": ("publish", "visible_state_command"),
    "deliveries": ("publish", "deliveries"),
    "digest": ("digest", "digest"),
    "channel-issues": ("channel_issues", "channel_issues"),
    "webhook": ("service", "webhook"),
    "webhook-events": ("service", "webhook_events"),
    "subscribers": ("subscribers", "subscribers"),
    "staff": ("staff", "staff"),
    "counter": ("staff", "counter"),
    "whatsapp": ("whatsapp", "whatsapp"),
    "webpush": ("webpush", "webpush"),
    "newsletter": ("newsletter", "newsletter"),
    "backup": ("backup", "backup_command"),
    "restore": ("backup", "restore_command"),
    "demo": ("dev", "demo"),
    "simulator": ("dev", "simulator"),
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return [*super().list_commands(ctx), *(name for name in COMMANDS if name not in self.commands)]

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in COMMANDS:
            module, attr = COMMANDS[cmd_name]
            command = getattr(importlib.import_module(f"site_tools.cli.{module}"), attr)
            italian.adapt([command])
            self.add_command(command, cmd_name)
        return super().get_command(ctx, cmd_name)


@click.group(cls=LazyGroup)
@click.version_option(__version__)
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, path_type=Path),
    envvar="SITE_TOOLS_CONFIG",
    help="Il mkdocs.yml del Comune (se manca: cercato a partire dalla cartella corrente).",
)
@click.pass_context
def main(ctx: click.Context, config_path: Path | None) -> None:
    """Gli avvisi del Comune: controllarli, costruire il sito, pubblicarli."""
    ctx.obj = Context(config_path)


italian.adapt([main])


if __name__ == "__main__":  # pragma: no cover
    main()
