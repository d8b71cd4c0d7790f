"""Attack: a history message whose timestamp is ahead of the clock (the phone app's clock was wrong). Its ON became
a consent «in the future»: the citizen's OFF written today is older than it, so when Meta delivers that history
chunk again (at least once, chunks repeat) the old ON subscribed them again over their OFF.
"""

from __future__ import annotations

import re
import time
from contextlib import closing
from datetime import datetime
from zoneinfo import ZoneInfo

from site_tools.devtools.meta_events import change_body
from site_tools.service.events import process_event
from site_tools.store import Store

from .conftest import Town
from .services import phones
from .test_attack_coex_live_off import NUMBER_ID, message
from .test_coexistence import DAY
from .test_coexistence_rate import in_coexistence


def test_a_history_on_dated_ahead_of_the_clock_never_outlives_a_later_off(town: Town, sqlite_url: str) -> None:
    path = in_coexistence(town).root / "mkdocs.yml"  # connected today: the history's messages are older than today
    text = path.read_text(encoding="utf-8")
    path.write_text(
        re.sub(r"since: \S+", f"since: {datetime.now(ZoneInfo('Europe/Rome')).date()}", text), encoding="utf-8"
    )
    config = town.config
    now = time.time()
    (phone,) = phones(1, 950)
    chunk = {"history": [{"metadata": {"phase": 0, "chunk_order": 1, "progress": 100}, "threads": [
        {"id": phone, "messages": [{"from": phone, "id": "wamid.h.1", "timestamp": str(int(now + DAY)),
                                    "type": "text", "text": {"body": "VALFIORITA ON"}}]}]}]}  # fmt: skip
    body = change_body("history", chunk).decode()
    with closing(Store.open(sqlite_url)) as store:
        process_event(store, config, body, number_id=NUMBER_ID)
        sub = store.subscribers.get(phone)
        assert sub is not None and sub.status == "active" and sub.consent_at is not None
        assert sub.consent_at <= time.time()  # never a consent in the future
        process_event(
            store, config, message(phone, "VALFIORITA OFF", "wamid.live.off", time.time() + 1), number_id=NUMBER_ID
        )
        process_event(store, config, body, number_id=NUMBER_ID)  # Meta delivers the chunk again
        sub = store.subscribers.get(phone)
        assert sub is not None and sub.status == "left"
