"""The Mastodon access token goes to ``extra.town.mastodon.instance``, a value from the repository: an address of
the server's own network (loopback, a cloud's metadata service, a private address), one with a user name and a
password in it or an odd port is refused, in Italian, before any token could be sent there."""

from __future__ import annotations

import pytest

from site_tools.content.config import load_config
from site_tools.content.problems import InvalidContent

from .conftest import Town
from .test_social_channels import social_town

HOSTILE = [
    "https://127.0.0.1",
    "https://localhost",
    "https://169.254.169.254",
    "https://[::1]",
    "https://10.0.0.7",
    "https://mastodon",  # one label: a name of the local network
    "https://utente:segreto@mastodon.example",
    "https://mastodon.example:8443",
]


@pytest.mark.parametrize("instance", HOSTILE)
def test_an_instance_on_the_servers_own_network_is_refused(town: Town, instance: str) -> None:
    account = instance.replace("https://", "https://", 1) + "/@valfiorita"
    social_town(
        town,
        **{"instance: https://mastodon.example": f"instance: {instance}",
           "https://mastodon.example/@valfiorita": account},
    )  # fmt: skip
    with pytest.raises(InvalidContent) as info:
        load_config(town.root / "mkdocs.yml")
    message = str(info.value)
    assert "mastodon.instance" in message
    assert "non è l'indirizzo pubblico di un server Mastodon" in message
    assert "segreto" not in message  # a password written in the address is not repeated


def test_a_public_instance_is_accepted(town: Town) -> None:
    social_town(
        town,
        **{"instance: https://mastodon.example": "instance: https://mastodon.uno/",
           "https://mastodon.example/@valfiorita": "https://mastodon.uno/@valfiorita"},
    )  # fmt: skip
    assert load_config(town.root / "mkdocs.yml").mastodon.instance == "https://mastodon.uno"  # type: ignore[union-attr]
