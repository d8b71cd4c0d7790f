"""«VALFIORITA OFF» and, right after, «VALFIORITA SETTIMANALE» (two messages typed in a row, or a backlog Meta
delivers at once after an outage): the citizen ends up subscribed, but the opt-out's confirmation waits a second
(so that a running fan-out sees the opt-out first) and so arrived *after* the subscription's: the last word the
citizen read was «Cancellazione confermata», the opposite of the truth. Replies to one citizen leave in the order
of the messages they answer."""

from __future__ import annotations

from contextlib import closing

from site_tools.store.choices import WEEKLY

from .services import phones
from .test_choices import _send, service  # noqa: F401 (the fixture: a town with the digest)
from .test_subscriptions import Service


def test_the_last_reply_is_the_answer_to_the_last_message(service: Service) -> None:  # noqa: F811
    (citizen,) = phones(1)
    _send(service, citizen, "VALFIORITA ON", "wamid.o1")
    service.drained()
    _send(service, citizen, "VALFIORITA OFF", "wamid.o2", later=1)
    _send(service, citizen, "VALFIORITA SETTIMANALE", "wamid.o3", later=2)
    service.drained()
    with closing(service.store()) as store:
        sub = store.subscribers.get(citizen)
        assert sub is not None and sub.status == "active" and sub.choice == WEEKLY
    texts = service.texts_to(citizen)
    assert len(texts) == 3, texts
    assert "Cancellazione confermata" in texts[1]
    assert "Iscrizione confermata" in texts[2] and "riepilogo settimanale" in texts[2]
