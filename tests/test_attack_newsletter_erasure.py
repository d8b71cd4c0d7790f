# ruff: noqa: F811 — the fixtures are imported from the modules that define them
"""A citizen asks the town to erase their newsletter address (GDPR art. 17): the town's staff must be able to,
without Python. The only way was ``store.newsletter.forget(address)``, which the docs named as if it were a
command."""

from __future__ import annotations

from click.testing import CliRunner

from site_tools.cli.main import main
from site_tools.store import Store

from .conftest import Town
from .test_newsletter import news_town  # noqa: F401 — fixture


def forget(town: Town, address: str, db: str):
    config = str(town.root / "mkdocs.yml")
    return CliRunner().invoke(main, ["--config", config, "newsletter", "forget", address, "--db", db])


def test_the_staff_erase_an_address_with_a_command(news_town: Town, store_url: str) -> None:
    store = Store.open(store_url)
    store.newsletter.add_active(["Anna.Bianchi@esempio.it", "altro@esempio.it"], "test", "test")
    ran = forget(news_town, "anna.bianchi@ESEMPIO.it", store_url)  # as the citizen wrote it in the request
    assert ran.exit_code == 0, ran.output
    assert "dati cancellati" in ran.output and "anna" not in ran.output.lower()  # never echoed to a terminal log
    assert store.newsletter.count() == 1
    assert (
        store.newsletter.db.scalar("SELECT COUNT(*) FROM newsletter_addresses WHERE LOWER(address) LIKE ?", ("%anna%",))
        == 0
    )
    again = forget(news_town, "anna.bianchi@esempio.it", store_url)
    assert again.exit_code == 0 and "nulla da cancellare" in again.output
    wrong = forget(news_town, "anna.bianchi esempio.it", store_url)
    assert wrong.exit_code != 0 and "non è un indirizzo e-mail" in wrong.output
    store.close()
