"""Attack: «Non iscrivimi» («don't subscribe me») in the app's chats of the last 180 days. NON is a courtesy word
around a keyword, so the message read as ON and the history made the citizen a subscriber, on the basis «storico»,
against their own words. A keyword of opting in under a NON is not consent: it counts as an opt-out (an unwanted
message is the worse mistake), live and in the history.
"""

from __future__ import annotations

import time
from contextlib import closing

import pytest

from site_tools.devtools.meta_events import change_body, history_chunks
from site_tools.service.events import process_event
from site_tools.service.keywords import Intent, intent
from site_tools.store import Store

from .conftest import Town
from .services import phones
from .test_attack_coex_live_off import NUMBER_ID
from .test_coexistence import DAY, said
from .test_coexistence_rate import in_coexistence


@pytest.mark.parametrize(
    "text", ["Non iscrivimi", "non mi iscrivete", "NON attivare", "Valfiorita, non iscrivermi grazie"]
)
def test_a_negated_opt_in_is_never_consent(town: Town, text: str) -> None:
    assert intent(text, town.config.whatsapp) is not Intent.ON  # type: ignore[arg-type]


def test_the_history_does_not_subscribe_who_wrote_non_iscrivimi(town: Town, sqlite_url: str) -> None:
    config = in_coexistence(town).config
    now = time.time()
    (phone,) = phones(1, 980)
    with closing(Store.open(sqlite_url)) as store:
        for value in history_chunks(
            [{"citizen": phone, "messages": [said("Non iscrivimi", now - 20 * DAY)]}], "15550783881", now
        ):
            process_event(store, config, change_body("history", value).decode(), number_id=NUMBER_ID)
        sub = store.subscribers.get(phone)
        assert sub is None or sub.status == "left"
