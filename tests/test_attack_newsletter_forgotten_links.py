# ruff: noqa: F811 — the fixtures are imported from the modules that define them
"""After an address is erased (``forget``), the links in the e-mails it was sent must not act on someone else.

SQLite gives a new row the highest id + 1, so erasing the newest address freed its id for the next person who
signed up; the links are signed over the id (never the address), so the erased person's old unsubscribe link
(valid for ever) unsubscribed the newcomer, and their confirmation link (7 days) could confirm the newcomer's
pending address without the newcomer's consent."""

from __future__ import annotations

from site_tools.channels import email as email_channel
from site_tools.channels import newsletter_tokens as tokens
from site_tools.store import Store

from .conftest import Town
from .test_newsletter import SECRET, ask, link_in, local, news_town, service_client, sink  # noqa: F401


def test_an_erased_address_s_links_never_act_on_the_next_subscriber(
    news_town: Town,
    sink,
    store_url: str,
) -> None:
    box, port = sink
    store = Store.open(store_url)
    store.newsletter.add_active(["primo@esempio.it", "cancellato@esempio.it"], "test", "test")
    erased_id = store.newsletter.db.scalar(
        "SELECT id FROM newsletter_addresses WHERE address = ?", ("cancellato@esempio.it",)
    )
    old_unsubscribe = email_channel.unsubscribe_url(news_town.config, SECRET, int(erased_id))
    old_confirm = email_channel.confirm_url(news_town.config, SECRET, int(erased_id))
    assert store.newsletter.forget("cancellato@esempio.it")
    assert (
        store.newsletter.db.scalar("SELECT COUNT(*) FROM newsletter_addresses WHERE address LIKE ?", ("%cancellato@%",))
        == 0
    )  # erased: the address is nowhere in the store
    for client in service_client(news_town.config, port, store_url):
        assert ask(client, "nuovo@esempio.it").status_code == 303
        # The erased person's confirmation link does not confirm the newcomer.
        assert client.post(local(old_confirm)).status_code == 400
        [confirmation] = box.received_by("nuovo@esempio.it")
        assert (
            client.post(local(link_in(confirmation.message.get_content(), "/newsletter/conferma"))).status_code == 200
        )
        # Nor does their unsubscribe link unsubscribe the newcomer.
        assert client.post(local(old_unsubscribe), data={"List-Unsubscribe": "One-Click"}).status_code == 400
    new_id = store.newsletter.db.scalar("SELECT id FROM newsletter_addresses WHERE address = ?", ("nuovo@esempio.it",))
    assert store.newsletter.status(int(new_id)) == "active"
    assert tokens.check(SECRET, tokens.UNSUBSCRIBE, local(old_unsubscribe).split("t=")[1]) == erased_id
    store.close()
