"""Attack: a hurried town's list with a consent date in the future (2052 typed for 2025). Imported as it is, that
subscriber's consent is «newer» than any OFF they wrote in the app's chats, so the history's OFF never removes them.
A consent date after today is refused, row by row, with the reason.
"""

from __future__ import annotations

import time
from contextlib import closing
from pathlib import Path

from site_tools.cli.subscribers import import_csv
from site_tools.devtools.meta_events import change_body, history_chunks
from site_tools.service.events import process_event
from site_tools.store import Store

from .conftest import Town
from .test_coexistence import DAY, said
from .test_coexistence_rate import in_coexistence


def test_a_consent_date_in_the_future_is_refused(town: Town, sqlite_url: str, tmp_path: Path) -> None:
    config = in_coexistence(town).config
    now = time.time()
    csv = tmp_path / "lista.csv"
    csv.write_text("numero;data consenso\n3330000401;12/03/2052\n3330000402;12/03/2024\n", encoding="utf-8")
    with closing(Store.open(sqlite_url)) as store:
        result = import_csv(store, config, csv)
        assert result.added == 1 and len(result.rejected) == 1
        assert result.rejected[0].line == 2 and "futuro" in result.rejected[0].message
        history = history_chunks(
            [{"citizen": p, "messages": [said("VALFIORITA OFF", now - 10 * DAY)]} for p in ("393330000401", "393330000402")],
            "15550783881", now)  # fmt: skip
        for value in history:
            process_event(store, config, change_body("history", value).decode(), number_id="106540352242922")
        for phone in ("393330000401", "393330000402"):
            sub = store.subscribers.get(phone)
            assert sub is None or sub.status == "left"
