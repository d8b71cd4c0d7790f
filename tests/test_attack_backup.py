"""Backups and restores against a wrong clock and crafted files."""

from __future__ import annotations

from pathlib import Path

from site_tools.store import Store

from .test_backup import backup_to


def test_keep_never_deletes_the_backup_it_has_just_written(tmp_path: Path) -> None:
    # A backup named by a clock that was wrong (a server that booted in 2099 before NTP) sorts after every real one:
    # «--keep 1» must not then delete tonight's backup and keep only that one.
    url = f"sqlite:///{tmp_path / 'store.db'}"
    Store.open(url).close()
    folder = tmp_path / "backups"
    folder.mkdir()
    (folder / "site-tools-20990101T000000Z.sqlite").write_text("x")
    newest = backup_to(url, folder, "--keep", "1")
    assert newest.is_file()


def test_restore_names_its_target_without_a_password_given_as_a_parameter(tmp_path: Path) -> None:
    # libpq takes the password in the query string too (postgresql://u@host/db?password=…): restore prints where it
    # restored to, and must not print that.
    from site_tools.store.database import parse_url

    shown = parse_url("postgresql://site_tools@db:5432/site_tools?sslmode=require&password=s3cr3t").describe()
    assert "s3cr3t" not in shown and "sslmode=require" in shown
    assert "s3cr3t" not in parse_url("postgresql://site_tools:s3cr3t@db/site_tools").describe()
