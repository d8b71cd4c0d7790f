"""``site-tools validate``, ``new``, ``build``, ``serve`` and ``preview``: the editors' commands."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import click

from site_tools.cli.common import Context, friendly, pass_ctx, store_for
from site_tools.content.answers import load_answers
from site_tools.content.bulletin import Priority
from site_tools.content.loading import load_content
from site_tools.content.problems import InvalidContent, Problem


@click.command()
@click.argument("paths", nargs=-1, type=click.Path(exists=True, path_type=Path))
@click.option(
    "--base",
    default=None,
    help="Git revision whose published addresses must not change (default: the PR's base branch, else HEAD).",
)
@click.option("--now", "now_text", envvar="SITE_TOOLS_NOW", help="Check as at this time.")
@pass_ctx
@friendly
def validate(ctx: Context, paths: tuple[Path, ...], base: str | None, now_text: str | None) -> None:
    """Check the configuration and the bulletins; list every problem.

    With PATHS, report only on those files or folders (the rest of the
    content is still read, to check references and duplicates). A published
    bulletin whose address would change is a warning (exit 0).
    """
    from site_tools.content.addresses import default_base, moved_addresses
    from site_tools.content.dates import now as current_time

    config = ctx.config
    extra = [f for p in paths for f in ([p] if p.is_file() else sorted(p.rglob("*.md")))]
    content = load_content(config, extra_files=extra)
    at = current_time(config.timezone, now_text)
    warn(moved_addresses(config, content.records, at, base or default_base()))
    answers, answer_problems = load_answers(config)  # the counter's canned answers, if any
    content.problems.extend(answer_problems)
    problems = content.problems_for(paths)
    if not paths:
        problems += config.site_problems  # the footer's fields: they stop the site build, not the publisher
    if problems:
        raise InvalidContent(problems)
    checked = len(extra) if paths else len(content.bulletins)
    also = f" e {len(answers)} risposte pronte dello sportello" if answers and not paths else ""
    click.echo(f"Tutto in ordine: {checked} avvisi{also} controllati, nessun problema.")


def warn(warnings: list[Problem]) -> None:
    """Warnings: printed (and annotated on GitHub) but the command still succeeds."""
    from site_tools.settings import current

    for warning in warnings:
        click.echo(f"Attenzione: {warning.format()}", err=True)
        if current().github_actions:
            click.echo(warning.github_annotation("warning"))


@click.command()
@click.option("--title", default=None, help="Title of the bulletin.")
@click.option("--summary", default=None, help="Short text for phones.")
@click.option("--category", default=None, help="Category slug, label or number in the list.")
@click.option("--priority", type=click.Choice([p.value for p in Priority]), default=None)
@click.option("--date", "when", default=None, help="Schedule at this date and time (default: dated when merged).")
@click.option("--type", "kind", type=click.Choice(["avviso", "notizia", "comunicato", "bando"]), default="avviso")
@pass_ctx
@friendly
def new(
    ctx: Context,
    title: str | None,
    summary: str | None,
    category: str | None,
    priority: str | None,
    when: str | None,
    kind: str,
) -> None:
    """Write a new bulletin with valid frontmatter under content/, asking what is missing.

    A wrong answer is asked again, alone: the others are kept. Without a
    date the bulletin is dated when it is merged.
    """
    from site_tools.cli.asking import ask_draft
    from site_tools.content.authoring import write_new

    config = ctx.config
    given = {"title": title, "summary": summary, "categories": category, "priority": priority, "date": when}
    path = write_new(config, ask_draft(config, given, kind))
    click.echo(f"Creato {path.relative_to(config.root).as_posix()}: aprilo e scrivi il testo completo.")


@click.command()
@click.option("--strict", is_flag=True, help="Fail on any warning, such as a broken link.")
@click.option(
    "--site-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Where to write the site (default: site/).",
)
@click.option("--now", "now_text", envvar="SITE_TOOLS_NOW", help="Build the site as it is at this time.")
@pass_ctx
@friendly
def build(ctx: Context, strict: bool, site_dir: Path | None, now_text: str | None) -> None:
    """Build the public site (MkDocs + mkdocs-material) into site/."""
    import time

    from site_tools.site.build import build_site

    config = ctx.config
    if now_text:
        os.environ["SITE_TOOLS_NOW"] = now_text
    started = time.monotonic()
    out = build_site(config.path, site_dir, strict)
    click.echo(f"Sito costruito in {out} ({time.monotonic() - started:.1f} s).")


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option(
    "--cms/--no-cms",
    default=None,
    help="Also start the web editor's local backend (decap-server) on content/ (default: when extra.town.editor is set).",
)
@pass_ctx
@friendly
def serve(ctx: Context, host: str, port: int, cms: bool | None) -> None:
    """Preview the site at http://127.0.0.1:8000/, rebuilt on every save; the web editor at /admin/."""
    from site_tools.site.admin import LOCAL_BACKEND_ENV, decap_config
    from site_tools.site.build import serve_site
    from site_tools.site.local_editor import local_backend

    config = ctx.config
    if cms is None:
        cms = config.editor is not None
    if not cms:
        serve_site(config.path, host, port)
        return
    decap_config(config)  # a town without the editor block gets the Italian explanation now
    signal.signal(signal.SIGTERM, _interrupt)  # a plain `kill` ends the preview like Ctrl-C: backend stopped too
    with local_backend(config, host) as api:
        os.environ[LOCAL_BACKEND_ENV] = api
        click.echo(f"Editor web: http://{host}:{port}/admin/ (salva direttamente in content/)", err=True)
        click.echo(f"Anteprima del sito: http://{host}:{port}/", err=True)
        serve_site(config.path, host, port)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


@click.command("cms-config")
@click.option(
    "--output", "-o", type=click.Path(dir_okay=False, path_type=Path), default=None, help="Write here (default: print)."
)
@click.option("--local-backend", default=None, help="URL of a decap-server to use from localhost (offline editing).")
@pass_ctx
@friendly
def cms_config(ctx: Context, output: Path | None, local_backend: str | None) -> None:
    """The web editor's config.yml (Decap CMS), generated from mkdocs.yml: the build puts it in admin/."""
    from site_tools.site.admin import config_yaml

    text = config_yaml(ctx.config, local_backend)
    if output is None:
        click.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")
        click.echo(f"Scritto {output}.", err=True)


@click.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("--now", "now_text", envvar="SITE_TOOLS_NOW")
@click.option("--recipients", type=int, default=None, help="Subscribers to assume (default: the store, if reachable).")
@click.option("--output", type=click.File("a"), default="-", help="Append to this file (e.g. $GITHUB_STEP_SUMMARY).")
@pass_ctx
@friendly
def preview(ctx: Context, paths: tuple[Path, ...], now_text: str | None, recipients: int | None, output) -> None:  # type: ignore[no-untyped-def]
    """Markdown preview of bulletins on every channel: text, counts, recipients, time, cost."""
    from site_tools.content.dates import now as current_time
    from site_tools.delivery.preview import preview_markdown
    from site_tools.settings import Settings, reveal

    config = ctx.config
    # Site pages (home, privacy…) may change in the same pull request: only bulletins are previewed.
    bulletins = config.bulletins_path.resolve()
    existing = [p for p in paths if p.is_file() and p.suffix == ".md" and bulletins in p.resolve().parents]
    content = load_content(config, extra_files=existing)
    problems = content.problems_for(existing) if existing else []
    if problems:
        raise InvalidContent(problems)
    settings = Settings.from_env()
    if recipients is None and settings.db_url:
        with store_for(config, reveal(settings.db_url)) as store:
            recipients = store.subscribers.count_active()
    output.write(preview_markdown(content, existing, current_time(config.timezone, now_text), recipients, settings))
