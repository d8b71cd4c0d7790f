"""The ``site-tools`` command: the group, and where each subcommand lives.

Each subcommand is a thin layer over the package that does the work:
:mod:`.content` (editors), :mod:`.publish` (sending), :mod:`.subscribers`
(the list), :mod:`.service` (webhooks), :mod:`.staff` (the counter's staff and
retention), :mod:`.dev` (demo and simulator).
"""

from __future__ import annotations

from pathlib import Path

import click

from site_tools import __version__
from site_tools.cli.common import Context


@click.group()
@click.version_option(__version__)
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, path_type=Path),
    envvar="SITE_TOOLS_CONFIG",
    help="mkdocs.yml of the town (default: found from the current folder).",
)
@click.pass_context
def main(ctx: click.Context, config_path: Path | None) -> None:
    """Bulletins of an Italian town hall: validate, build the site, publish."""
    ctx.obj = Context(config_path)


from site_tools.cli import content, dev, publish, service, staff, subscribers  # noqa: E402  (commands attach to main)

for command in (
    content.validate,
    content.new,
    content.build,
    content.serve,
    content.cms_config,
    content.preview,
    publish.publish,
    publish.adopt,
    publish.visible_state_command,
    publish.deliveries,
    service.webhook,
    service.webhook_events,
    subscribers.subscribers,
    staff.staff,
    staff.counter,
    dev.demo,
    dev.simulator,
):
    main.add_command(command)

if __name__ == "__main__":  # pragma: no cover
    main()
