"""``site-tools demo`` and ``site-tools simulator``: the whole system on one machine, and the local APIs."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from site_tools.cli.common import EXIT_PROBLEMS, Context, friendly, pass_ctx


@click.command()
@click.option("--citizens", default=15000, show_default=True, type=int, help="Simulated citizens who subscribe.")
@click.option(
    "--rate",
    default=1000.0,
    show_default=True,
    type=float,
    help="Messages per second of the simulated number (WhatsApp: 80 by default, up to 1,000).",
)
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Where the demo keeps its SQLite store and site (default: data/demo, wiped at start).",
)
@click.option(
    "--serve/--no-serve", default=None, help="Serve the site at the end until Ctrl-C (default: on a terminal)."
)
@pass_ctx
@friendly
def demo(ctx: Context, citizens: int, rate: float, data_dir: Path | None, serve: bool | None) -> None:
    """(Per sviluppatori) Tutto il sistema su questa macchina: sito, cittadini simulati, un avviso urgente, ricevute."""
    from site_tools.devtools.demo import run_demo

    config = ctx.config
    summary = run_demo(
        config,
        citizens,
        rate,
        data_dir or config.root / "data" / "demo",
        sys.stdin.isatty() if serve is None else serve,
    )
    if summary.get("missing") or summary.get("duplicates"):
        sys.exit(EXIT_PROBLEMS)


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8900, show_default=True, type=int)
@click.option("--mps", default=80.0, show_default=True, type=float, help="Throughput cap, messages per second.")
@click.option("--latency", default=0.150, show_default=True, type=float, help="Seconds before each answer.")
@click.option("--daily-limit", type=int, default=None, help="Unique recipients per 24 h (messaging limit tier).")
@click.option("--error-rate", type=float, default=0.0, help="Share of 5xx answers.")
@click.option("--timeout-rate", type=float, default=0.0, help="Share of requests never answered.")
@click.option("--drop-rate", type=float, default=0.0, help="Share of connections dropped.")
@click.option("--undeliverable-suffix", default=None, help="Numbers ending so fail later with 131026.")
@click.option("--marketing-cap-suffix", default=None, help="Numbers ending so: the digest fails later with 131049.")
@click.option("--marketing-stopped-suffix", default=None, help="Numbers ending so: the digest fails later with 131050.")
@click.option("--webhook-url", default=None, help="Where to post status webhooks (the subscriptions service).")
@click.option("--app-secret", envvar="WHATSAPP_APP_SECRET", default="sim-app-secret", show_default=True)
@click.option("--enforce-window", is_flag=True, help="Refuse free text outside the 24-hour window (131047).")
@click.option(
    "--town-config",
    type=click.Path(dir_okay=False, exists=True),
    default=None,
    help="A mkdocs.yml: the account's templates exactly as that town declares them (else their bodies only).",
)
def simulator(
    host: str,
    port: int,
    mps: float,
    latency: float,
    daily_limit: int | None,
    error_rate: float,
    timeout_rate: float,
    drop_rate: float,
    undeliverable_suffix: str | None,
    marketing_cap_suffix: str | None,
    marketing_stopped_suffix: str | None,
    webhook_url: str | None,
    app_secret: str,
    enforce_window: bool,
    town_config: str | None,
) -> None:
    """(Per sviluppatori) Le API di WhatsApp, del Canale e di Telegram simulate in locale, per prove e dimostrazioni."""
    from site_tools.devtools.simulator import SimConfig, run

    run(
        SimConfig(
            mps=mps,
            latency=latency,
            daily_limit=daily_limit,
            error_rate=error_rate,
            timeout_rate=timeout_rate,
            drop_rate=drop_rate,
            undeliverable_suffix=undeliverable_suffix,
            marketing_cap_suffix=marketing_cap_suffix,
            marketing_stopped_suffix=marketing_stopped_suffix,
            webhook_url=webhook_url,
            app_secret=app_secret,
            enforce_window=enforce_window,
            town_config=town_config,
        ),
        host=host,
        port=port,
    )
