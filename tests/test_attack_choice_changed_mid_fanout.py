"""A citizen who changes their choice while the digest is going out (claimed already, not yet sent) must not get
it: the fan-out skipped only those who opted out meanwhile, so «VALFIORITA SOLO URGENTI» written during the send
was ignored for that send."""

from __future__ import annotations

import threading
from contextlib import closing

from click.testing import Result

from site_tools.store import Store
from site_tools.store.choices import URGENT_ONLY, WEEKLY

from .conftest import Town
from .services import phones, simulator, wait_for
from .test_digest import BULLETINS, IN, config_with_digest, send, subscribe, write


def test_a_choice_changed_during_the_send_is_honoured(town: Town, sqlite_url: str) -> None:
    config_with_digest(town)
    write(town, **{k: BULLETINS[k] for k in IN})
    weekly = phones(12, 100)
    subscribe(sqlite_url, {WEEKLY: weekly})
    last = weekly[-1]
    results: list[Result] = []
    with simulator("--latency", "0.01") as sim:
        sender = threading.Thread(target=lambda: results.append(send(town, sqlite_url, sim.env(), "--rate", "2")))
        sender.start()
        wait_for(lambda: len(sim.messages()["whatsapp"]) >= 1, timeout=30)  # going out, two a second
        with closing(Store.open(sqlite_url)) as store:
            assert store.subscribers.choose(last, URGENT_ONLY)  # the last one writes «VALFIORITA SOLO URGENTI»
        sender.join(timeout=60)
        (result,) = results
        assert result.exit_code == 0, result.output
        reached = [m["to"] for m in sim.messages()["whatsapp"]]
    assert last not in reached
    assert sorted(reached) == sorted(weekly[:-1])
