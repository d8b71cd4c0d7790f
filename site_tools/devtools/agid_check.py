"""``scripts/agid-check``: AGID's own checker run against the demo site, over HTTP and over HTTPS.

Builds the demo town's site, serves it at the root of two local origins — plain HTTP, and HTTPS with a
certificate from a throwaway CA (:mod:`site_tools.devtools.throwaway_ca`) that this run's Chromium (NSS database
in a temporary HOME) and Node (``NODE_EXTRA_CA_CERTS``) trust — runs the checker against both at once, keeps its
reports (JSON + HTML) and prints the table of the audits that apply to a news site (:mod:`agid_report`), in
Markdown, ready for docs/reference/agid-checker.md.

The checker is not on npm and CI cannot reach GitHub: this is for a developer's machine with the checker
fetched and built (docs/reference/agid-checker.md says how); its folder comes from ``--checker`` or
``PA_WEBSITE_VALIDATOR``.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import click

from site_tools.content.identity import MAIN_SITE_SECTIONS
from site_tools.devtools import agid_report
from site_tools.devtools.main_site_standin import write_standin
from site_tools.devtools.throwaway_ca import make_ca, serve, trust_in_nss

#: The checker's options, as the issue ran it: a municipal site, every audit, every page it finds.
CHECKER_OPTIONS = ("--type", "municipality", "--scope", "online", "--accuracy", "all", "--view", "false")
#: Where the checker's entry point is inside its folder once built (``npm run build``).
ENTRY = Path("dist") / "index.js"
CHROMIUM = Path("/usr/bin/chromium")
REPO = Path(__file__).resolve().parents[2]


class Missing(click.ClickException):
    """Something this run needs is not on the machine: the message says what and how to get it."""


def find_checker(given: str | None) -> Path:
    if not given:
        raise Missing(
            "AGID's checker is not configured: fetch and build italia/pa-website-validator-ng (see "
            "docs/reference/agid-checker.md), then pass its folder with --checker or PA_WEBSITE_VALIDATOR."
        )
    folder = Path(given).expanduser().resolve()
    if not (folder / ENTRY).is_file():
        raise Missing(
            f"AGID's checker is missing at {folder}: no {ENTRY} there. Clone italia/pa-website-validator-ng "
            "into that folder and build it (npm ci --ignore-scripts && npm run build; see "
            "docs/reference/agid-checker.md)."
        )
    return folder


def find_chromium(given: str | None = None) -> Path:
    path = Path(given or CHROMIUM)
    if not path.is_file():
        raise Missing(f"Chromium is missing at {path}: apt-get install chromium (or set PUPPETEER_EXECUTABLE_PATH).")
    return path


def git_commit(folder: Path) -> str:
    done = subprocess.run(["git", "-C", str(folder), "rev-parse", "HEAD"], capture_output=True, text=True)
    return done.stdout.strip() if done.returncode == 0 else "unknown (not a git checkout)"


@dataclass(frozen=True)
class Run:
    label: str  # "HTTP" or "HTTPS"
    url: str
    report: Path  # the JSON the checker writes
    log: Path
    process: subprocess.Popen[bytes]


def start(checker: Path, label: str, url: str, out: Path, env: dict[str, str]) -> Run:
    name = label.lower()
    log = out / f"{name}.log"
    command = ["node", "--max-old-space-size=4096", str(checker / ENTRY), *CHECKER_OPTIONS]
    command += ["--destination", str(out), "--report", name, "--website", url, "--concurrentPages", "4"]
    with log.open("wb") as sink:
        process = subprocess.Popen(command, cwd=checker, env=env, stdout=sink, stderr=subprocess.STDOUT)
    return Run(label, url, out / f"{name}.json", log, process)


#: ``website:`` in ``extra.town``: the town's main site, under which the menu's and the FAQ's links go.
WEBSITE_LINE = re.compile(r"^(\s+website:)\s*\S+\s*$", re.MULTILINE)


def main_site_variant(config: Path, into: Path, main_site: str) -> Path:
    """A copy of the town's configuration with its main site (``extra.town.website``) at ``main_site``, the
    local stand-in (:mod:`main_site_standin`), in ``into`` beside links to everything else in the configuration's
    folder (``content/``…), which the configuration names by relative paths."""
    text = config.read_text(encoding="utf-8")
    written = [field for field in MAIN_SITE_SECTIONS if re.search(rf"^\s+{field}:", text, re.MULTILINE)]
    if len(WEBSITE_LINE.findall(text)) != 1 or written:
        raise Missing(
            f"{config}: the script points the town's main site at a local stand-in by rewriting the one "
            f"«website:» line of extra.town, and expects no {', '.join(MAIN_SITE_SECTIONS)} written there "
            f"(found: {', '.join(written) or 'no single website line'}). Check the demo's mkdocs.yml."
        )
    into.mkdir(parents=True)
    for entry in config.parent.iterdir():
        if entry.name != config.name:
            (into / entry.name).symlink_to(entry)
    variant = into / config.name
    variant.write_text(WEBSITE_LINE.sub(lambda m: f"{m.group(1)} {main_site}", text), encoding="utf-8")
    return variant


def build_demo_site(config: Path, into: Path) -> Path:
    from site_tools.site.build import build_site

    return build_site(config, into)


@click.command()
@click.option("--checker", envvar="PA_WEBSITE_VALIDATOR", help="The checker's folder (built).")
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    default=REPO / "data" / "agid-check",
    show_default=True,
    help="Where the reports go (replaced).",
)
@click.option(
    "--config",
    type=click.Path(path_type=Path, exists=True),
    default=REPO / "mkdocs.yml",
    show_default=True,
    help="The town whose site is checked (the demo town by default).",
)
@click.option("--timeout", default=1800, show_default=True, help="Seconds one checker run may take.")
@click.option(
    "--chromium",
    "chromium_path",
    envvar="PUPPETEER_EXECUTABLE_PATH",
    help=f"The Chromium the checker drives (default {CHROMIUM}).",
)
def main(checker: str | None, out: Path, config: Path, timeout: int, chromium_path: str | None = None) -> None:
    """Run AGID's checker against the demo site over HTTP and HTTPS; print the summary table in Markdown."""
    checker_dir = find_checker(checker)
    chromium = find_chromium(chromium_path)
    if shutil.which("certutil") is None:
        raise Missing("certutil is missing (Chromium's trust store for the run's CA): apt-get install libnss3-tools")
    commit = git_commit(checker_dir)
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    started = time.monotonic()
    with ExitStack() as stack:
        work = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="agid-check-")))
        ca = make_ca(work / "ca")
        home = work / "home"
        trust_in_nss(home, ca.ca_cert)
        # The town's main site: a stand-in on another host (localhost), so the checker walks through it and
        # audits the site's own pages only (main_site_standin).
        standin_dir = work / "main-site"
        standin_dir.mkdir()
        main_site = stack.enter_context(serve(standin_dir, ca.server_context(), host="localhost"))
        write_standin(standin_dir, main_site)
        click.echo(f"Building the site, its main site at the local stand-in {main_site}…", err=True)
        site = build_demo_site(main_site_variant(config.resolve(), work / "config", main_site), work / "site")
        http_url = stack.enter_context(serve(site))
        https_url = stack.enter_context(serve(site, ca.server_context()))
        env = {
            **os.environ,
            "HOME": str(home),  # Chromium reads its NSS database from $HOME/.pki/nssdb
            "NODE_EXTRA_CA_CERTS": str(ca.ca_cert),
            "PUPPETEER_EXECUTABLE_PATH": str(chromium),
            "PUPPETEER_SKIP_DOWNLOAD": "1",
        }
        runs = [start(checker_dir, label, url, out, env) for label, url in (("HTTP", http_url), ("HTTPS", https_url))]
        click.echo(f"The checker runs against {http_url} and {https_url} (logs in {out})…", err=True)
        deadline = time.monotonic() + timeout
        for run in runs:
            try:
                run.process.wait(timeout=max(1.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                run.process.kill()
                run.process.wait()
    failed = [run for run in runs if run.process.returncode != 0 or not run.report.exists()]
    for run in failed:
        click.echo(f"The {run.label} run failed (exit {run.process.returncode}): see {run.log}", err=True)
    if failed:
        sys.exit(1)
    results = {run.label: agid_report.load(run.report) for run in runs}
    minutes = (time.monotonic() - started) / 60
    table = agid_report.markdown(results)
    header = (
        f"site-tools {git_commit(REPO)[:7]}; checker commit {commit}; both runs together took {minutes:.1f} min."
        f" Reports: {out}\n\n"
    )
    (out / "summary.md").write_text(header + table, encoding="utf-8")
    click.echo(header + table)


if __name__ == "__main__":
    main()
