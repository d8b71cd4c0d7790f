"""A retry follows the subscriber's current choice: a citizen deferred by Meta's marketing cap (131049) who then
writes «VALFIORITA TUTTO» (or «SOLO URGENTI») must not receive the digest 24 hours later; likewise a bulletin's
retry for someone who has since chosen «solo urgenti»."""

from __future__ import annotations

from contextlib import closing

from site_tools.store import Store
from site_tools.store.choices import URGENT_ONLY, WEEKLY

from .conftest import Town
from .services import phones, simulator
from .test_digest import BULLETINS, IN, config_with_digest, send, subscribe, write


def test_a_deferred_digest_is_not_sent_to_someone_who_chose_otherwise_meanwhile(town: Town, store_url: str) -> None:
    config_with_digest(town)
    write(town, **{k: BULLETINS[k] for k in IN})
    stays, leaves = phones(2, 100)
    subscribe(store_url, {WEEKLY: [stays, leaves]})
    with simulator("--latency", "0.01") as sim:
        sim.configure(fail_with=131049)  # both at the marketing cap: deferred by 24 hours
        first = send(town, store_url, sim.env())
        assert "non concluso" in first.output, first.output
        sim.configure(fail_with=None)
        with closing(Store.open(store_url)) as store:
            assert store.subscribers.choose(leaves, URGENT_ONLY)  # «VALFIORITA SOLO URGENTI» the next morning
            store.db.execute("UPDATE deliveries SET next_attempt_at = 0 WHERE state = 'retry'")  # 24 hours later
        before = len(sim.messages()["whatsapp"])
        again = send(town, store_url, sim.env())
        assert again.exit_code == 0, again.output
        resent = [m["to"] for m in sim.messages()["whatsapp"][before:]]
    assert resent == [stays]
    with closing(Store.open(store_url)) as store:
        row = store.db.one(
            "SELECT d.state FROM deliveries d JOIN subscribers s ON s.id = d.subscriber_id WHERE s.phone = ?",
            (leaves,),
        )
        assert row == ("skipped",)
        assert store.subscribers.get(leaves).choice == URGENT_ONLY
        assert store.subscribers.get(stays).choice == WEEKLY
