"""Attack: the cost shown before the Channel invitation is sent, after a first run and some weeks of changes. Two of
the three invited have since left and two new citizens joined: the invitation now goes to the two new ones, and the
count (and cost) shown before sending must say two, not «active minus every row ever written».
"""

from __future__ import annotations

import time
from contextlib import closing

from site_tools.delivery.invitation import CHANNEL, INVITE_ID, estimate
from site_tools.store import Store

from .conftest import Town
from .services import phones


def test_the_invitations_count_and_cost_are_those_of_who_will_receive_it(town: Town, store_url: str) -> None:
    config = town.config
    invited, joined = phones(3, 960), phones(2, 970)
    with closing(Store.open(store_url)) as store:
        for phone in invited:
            store.subscribers.subscribe(phone, "keyword")
            sid = store.subscribers.get(phone)
            assert sid is not None
            store.db.execute(
                "INSERT INTO deliveries (bulletin_id, channel, subscriber_id, state, updated_at) VALUES (?, ?, ?, ?, ?)",
                (INVITE_ID, CHANNEL, sid.id, "accepted", time.time()),
            )
        for phone in invited[:2]:
            store.subscribers.unsubscribe(phone)
        for phone in joined:
            store.subscribers.subscribe(phone, "keyword")
        est = estimate(store, config)
        assert est.recipients == 2
        assert est.cost_eur == 2 * config.price_per_template
