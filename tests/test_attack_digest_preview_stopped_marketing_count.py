"""The preview's «N iscritti hanno bloccato i messaggi di marketing (131050): non ricevono più il riepilogo, solo
gli avvisi urgenti» counted every 131050 ever recorded: also a citizen who has since left the list (who gets no
urgent bulletin) and one who chose «settimanale» again (who does get the digest). It counts those it describes."""

from __future__ import annotations

from contextlib import closing

from site_tools.store import Store
from site_tools.store.choices import WEEKLY

from .conftest import Town
from .services import phones, simulator
from .test_digest import BULLETINS, IN, WEEK, config_with_digest, preview, send, subscribe, write


def test_the_stopped_marketing_count_is_of_those_still_on_urgent_only(town: Town, sqlite_url: str) -> None:
    config_with_digest(town)
    write(town, **{k: BULLETINS[k] for k in IN})
    stays, leaves, returns = phones(3, 100)
    subscribe(sqlite_url, {WEEKLY: [stays, leaves, returns]})
    with simulator("--latency", "0.01") as sim:
        sim.configure(fail_with=131050)
        send(town, sqlite_url, sim.env())
    with closing(Store.open(sqlite_url)) as store:
        assert store.subscribers.unsubscribe(leaves)
        assert store.subscribers.choose(returns, WEEKLY)
    shown = preview(town, sqlite_url, "--week", WEEK)
    assert shown.exit_code == 0, shown.output
    assert "⚠️ 1 iscritto ha bloccato i messaggi di marketing (131050)" in shown.output
