"""Attack: a citizen who wrote ON in the app's chats before the number was connected writes OFF live, before Meta
delivered the history (it comes in chunks, hours later, and may be shared later still). The live OFF found no
subscriber to unsubscribe; the history's older ON must not subscribe them afterwards: the OFF was their last word.
The same holds for someone who had left long ago, wrote ON in the app since, then OFF live.
"""

from __future__ import annotations

import json
import time
from contextlib import closing

from site_tools.devtools.meta_events import change_body, history_chunks
from site_tools.service.events import process_event
from site_tools.store import Store

from .conftest import Town
from .services import phones
from .test_coexistence import DAY, on
from .test_coexistence_rate import in_coexistence

NUMBER_ID = "106540352242922"


def message(phone: str, text: str, wamid: str, at: float) -> str:
    """A citizen's text message, as Meta's ``messages`` webhook carries it."""
    value = {
        "metadata": {"phone_number_id": NUMBER_ID},
        "messages": [{"from": phone, "id": wamid, "timestamp": str(int(at)), "type": "text", "text": {"body": text}}],
    }
    return json.dumps({"object": "whatsapp_business_account",
                       "entry": [{"id": "1", "changes": [{"field": "messages", "value": value}]}]})  # fmt: skip


def test_a_live_off_before_the_history_arrives_is_not_undone_by_the_historys_older_on(
    town: Town, sqlite_url: str
) -> None:
    config = in_coexistence(town).config
    now = time.time()
    (never_seen, left_long_ago) = phones(2, 900)
    with closing(Store.open(sqlite_url)) as store:
        store.subscribers.subscribe(left_long_ago, "keyword", "VALFIORITA ON", at=now - 300 * DAY)
        store.subscribers.unsubscribe(left_long_ago, at=now - 200 * DAY)
        for i, phone in enumerate((never_seen, left_long_ago)):  # OFF, live, now
            process_event(
                store, config, message(phone, "VALFIORITA OFF", f"wamid.live.off.{i}", now), number_id=NUMBER_ID
            )
        history = history_chunks(
            [{"citizen": never_seen, "messages": [on(now - 30 * DAY)]},
             {"citizen": left_long_ago, "messages": [on(now - 40 * DAY)]}], "15550783881", now)  # fmt: skip
        for value in history:
            process_event(store, config, change_body("history", value).decode(), number_id=NUMBER_ID)
        for phone in (never_seen, left_long_ago):
            sub = store.subscribers.get(phone)
            assert sub is None or sub.status == "left", "an old ON in the history undid a live OFF"
        assert store.db.scalar("SELECT COUNT(*) FROM outbox") == 0
