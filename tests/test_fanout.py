"""The fan-out and the pacer as units: a fake sender, an in-memory SQLite store, no process, no network.

Each test runs in milliseconds; the end-to-end behaviour over real HTTP (the simulator) and on PostgreSQL is
in test_publisher.py.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from site_tools.channels.base import Outcome
from site_tools.channels.errors import Action, classify_whatsapp
from site_tools.delivery.clock import SYSTEM_CLOCK
from site_tools.delivery.fanout import FanOut, FanOutOptions, Stop
from site_tools.delivery.pacer import Pacer
from site_tools.store import Store

from .services import phones, steady, wait_for

BULLETIN = "allerta-rossa"


def ok(phone: str, n: int) -> Outcome:
    return Outcome(True, message_id=f"wamid.{phone}.{n}")


def error(code: int, status: int = 400, **extra: Any) -> Outcome:
    return Outcome(
        False, classify_whatsapp(code, status), code=code, http_status=status, detail=f"code {code}", **extra
    )


class FakeSender:
    """Answers as a script says (default: accept everything); remembers every request."""

    def __init__(self, script: Callable[[str, int], Outcome] = ok):
        self.script = script
        self.calls: Counter[str] = Counter()
        self.accepted: Counter[str] = Counter()
        self.lock = threading.Lock()

    async def send(self, payload: dict[str, Any]) -> Outcome:
        phone = payload["to"]
        with self.lock:
            self.calls[phone] += 1
            n = self.calls[phone]
        await asyncio.sleep(0)
        outcome = self.script(phone, n)
        if outcome.ok:
            self.accepted[phone] += 1
        return outcome


class FastClock:
    """Wall time frozen at the epoch (every retry is due at once); waits shortened to a blink."""

    def time(self) -> float:
        return 0.0

    def monotonic(self) -> float:
        return asyncio.get_running_loop().time()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(min(seconds, 0.002))


class VirtualClock:
    """Time stands still unless a test moves it; sleeps return at once and are remembered."""

    def __init__(self) -> None:
        self.now = 0.0
        self.wakes: list[float] = []

    def time(self) -> float:
        return self.now

    def monotonic(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.wakes.append(self.now + seconds)


@pytest.fixture
def store() -> Iterator[Store]:
    store = Store.open("sqlite:///:memory:")
    yield store
    store.close()


def subscribe(store: Store, n: int) -> list[str]:
    numbers = phones(n)
    store.subscribers.bulk_subscribe(numbers, "test")
    return numbers


def payload(phone: str) -> dict[str, Any]:
    return {"to": phone, "type": "template"}


def options(**changes: Any) -> FanOutOptions:
    base: dict[str, Any] = {"rate": 1000.0, "progress": False, "tick": 0.005, "retry_base": 0.001}
    return FanOutOptions(**{**base, **changes})


def run(
    store: Store, sender: FakeSender, clock: Any = None, run_id: str = "run-1", priority: str = "normal", **opts: Any
) -> Any:
    fan = FanOut(store, sender, run_id, options(**opts), clock=clock or FastClock())
    return asyncio.run(fan.run(BULLETIN, payload, priority))


def states(store: Store) -> dict[str, int]:
    return store.ledger.delivery_counts(BULLETIN).get("whatsapp_list", {})


# -- once to everyone ---------------------------------------------------------------------------------


def test_everyone_gets_it_once_and_the_ledger_knows(store: Store) -> None:
    numbers = subscribe(store, 60)
    sender = FakeSender()
    report = run(store, sender)
    assert report.state == "done" and report.accepted == 60 and report.recipients == 60
    assert sender.calls == Counter(numbers)
    assert states(store) == {"accepted": 60}


def test_a_second_run_sends_nothing_again(store: Store) -> None:
    subscribe(store, 20)
    run(store, FakeSender())
    again = FakeSender()
    report = run(store, again, run_id="run-2")
    assert report.accepted == 0 and not again.calls


def test_a_new_subscriber_gets_it_on_the_next_run_and_nobody_else(store: Store) -> None:
    subscribe(store, 10)
    run(store, FakeSender())
    store.subscribers.subscribe("393339999999", "whatsapp")
    later = FakeSender()
    run(store, later, run_id="run-2")
    assert later.calls == Counter({"393339999999": 1})


def test_only_active_subscribers_are_claimed(store: Store) -> None:
    numbers = subscribe(store, 5)
    store.subscribers.unsubscribe(numbers[2])
    sender = FakeSender()
    run(store, sender)
    assert numbers[2] not in sender.calls and len(sender.calls) == 4


# -- errors, by code ----------------------------------------------------------------------------------


def test_transient_errors_are_retried_and_sent_once(store: Store) -> None:
    numbers = subscribe(store, 30)
    sender = FakeSender(lambda phone, n: error(131000, 500) if n == 1 else ok(phone, n))
    report = run(store, sender)
    assert report.state == "done" and report.accepted == 30 and report.retries >= 30
    assert sender.accepted == Counter(numbers)
    assert states(store) == {"accepted": 30}


def test_attempts_are_bounded(store: Store) -> None:
    subscribe(store, 4)
    sender = FakeSender(lambda phone, n: error(131000, 500))
    report = run(store, sender, max_attempts=3, error_streak=1000)
    assert report.state == "done" and sum(report.failed.values()) == 4
    assert set(sender.calls.values()) == {3}
    assert states(store) == {"failed:131000": 4}


def test_undeliverable_is_not_retried_and_is_counted_against_the_number(store: Store) -> None:
    numbers = subscribe(store, 6)
    bad = set(numbers[:2])
    sender = FakeSender(lambda phone, n: error(131026) if phone in bad else ok(phone, n))
    report = run(store, sender)
    assert report.failed == Counter({"131026": 2}) and report.accepted == 4
    assert all(sender.calls[p] == 1 for p in bad)
    failures = store.db.all("SELECT failures FROM subscribers WHERE phone IN (?, ?)", tuple(bad))
    assert [f for (f,) in failures] == [1, 1]


def test_a_credential_error_stops_the_run_and_loses_nobody(store: Store) -> None:
    subscribe(store, 200)
    sender = FakeSender(lambda phone, n: error(190, 401))
    report = run(store, sender, rate=2000.0)
    assert report.state == Stop.FAILED.value and "190" in (report.reason or "")
    assert sum(sender.calls.values()) <= options(rate=2000.0).in_flight()  # only what was already under way
    # Nobody is lost: everyone is still owed the bulletin by a later run.
    assert store.ledger.pending_count(BULLETIN, "whatsapp_list") + report.accepted == 200
    fixed = FakeSender()
    assert run(store, fixed, run_id="run-2").accepted == 200


def test_the_quality_limit_pauses_cleanly(store: Store) -> None:
    subscribe(store, 50)
    sender = FakeSender(lambda phone, n: error(131048) if phone.endswith("0000010") else ok(phone, n))
    report = run(store, sender, rate=200.0)
    assert report.state == Stop.PAUSED.value and "131048" in (report.reason or "")
    assert report.accepted + store.ledger.pending_count(BULLETIN, "whatsapp_list") == 50


def test_a_streak_of_server_errors_pauses_the_run(store: Store) -> None:
    subscribe(store, 40)
    report = run(store, FakeSender(lambda phone, n: error(131000, 500)), error_streak=5, rate=100.0)
    assert report.state == Stop.PAUSED.value and "5 errori di fila" in (report.reason or "")


def test_throttling_slows_down_and_costs_no_attempt(store: Store) -> None:
    numbers = subscribe(store, 10)
    sender = FakeSender(lambda phone, n: error(130429, 429) if n == 1 else ok(phone, n))
    fan = FanOut(store, sender, "run-1", options(max_attempts=2), clock=FastClock())
    report = asyncio.run(fan.run(BULLETIN, payload))
    assert report.throttled == 10 and report.accepted == 10 and fan.pacer.rate < fan.pacer.target
    attempts = store.db.all("SELECT attempts FROM deliveries")
    assert {a for (a,) in attempts} == {1}  # refunded: max_attempts=2 was never in danger
    assert sender.accepted == Counter(numbers)


def test_the_api_saying_stopped_is_an_opt_out(store: Store) -> None:
    numbers = subscribe(store, 3)
    run(store, FakeSender(lambda phone, n: error(131050) if phone == numbers[0] else ok(phone, n)))
    assert store.subscribers.get(numbers[0]).status == "left"


# -- opt-out, urgent first, bounded duplicates ---------------------------------------------------------


def test_an_opt_out_during_the_run_is_honoured_before_the_next_request(store: Store) -> None:
    numbers = subscribe(store, 120)
    leaving = numbers[100:]

    def script(phone: str, n: int) -> Outcome:
        if phone == numbers[10]:
            for p in leaving:  # these citizens send OFF while the run is at number 10
                store.subscribers.unsubscribe(p)
        return ok(phone, n)

    sender = FakeSender(script)
    report = run(store, sender, rate=300.0, clock=SYSTEM_CLOCK)  # real pacing: 0.4 s, opt-outs polled meanwhile
    assert not set(leaving) & set(sender.calls), "a citizen who opted out got the bulletin"
    assert report.skipped == 20 and report.accepted == 100


def test_a_normal_run_waits_while_an_urgent_one_is_being_sent(store: Store) -> None:
    subscribe(store, 20)
    store.ledger.claim_publication("fuga-di-gas", "whatsapp_list", "api", "urgent", shared=True)
    sender = FakeSender()
    result: dict[str, Any] = {}

    def normal() -> None:
        fan = FanOut(store, sender, "run-n", options(rate=20.0, stale_after=0.3))
        result["report"] = asyncio.run(fan.run(BULLETIN, payload, "normal"))

    thread = threading.Thread(target=normal)
    thread.start()
    wait_for(lambda: 1 <= sum(sender.calls.values()) < 20, timeout=10)
    # It stopped sending (at 20 a second the rest would be out in a second)…
    assert steady(lambda: sum(sender.calls.values()), window=0.5) < 20
    store.ledger.finish_publication("fuga-di-gas", "whatsapp_list", "done")  # …until the urgent one is done
    thread.join(timeout=20)
    assert result["report"].accepted == 20


def test_answers_waiting_for_the_ledger_are_bounded_by_design(store: Store) -> None:
    """A slow ledger stops new requests: at most in_flight + max_unrecorded sent without being recorded."""
    numbers = subscribe(store, 400)
    gate = threading.Event()
    real = store.ledger.record_results

    def slow_ledger(results: Any) -> None:
        gate.wait(10)
        real(results)

    store.ledger.record_results = slow_ledger  # type: ignore[method-assign]
    sender = FakeSender()
    opts = {"rate": 5000.0, "max_in_flight": 16, "max_unrecorded": 16}
    result: dict[str, Any] = {}
    thread = threading.Thread(target=lambda: result.update(report=run(store, sender, **opts)))
    thread.start()
    wait_for(lambda: sum(sender.calls.values()) >= 16)
    # Sending stops while the ledger is slow (unbounded, all 400 would be out in a tenth of a second).
    sent = steady(lambda: sum(sender.calls.values()), window=0.5)
    assert sent <= options(**opts).duplicate_bound() == 32
    gate.set()
    thread.join(timeout=30)
    assert result["report"].accepted == 400 and sender.calls == Counter(numbers)


# -- the pacer -----------------------------------------------------------------------------------------


def test_the_pacer_spaces_starts_one_over_r_apart() -> None:
    clock = VirtualClock()
    pacer = Pacer(80.0, clock)

    async def starts() -> None:
        await asyncio.gather(*(pacer.wait() for _ in range(160)))

    asyncio.run(starts())
    wakes = [0.0, *clock.wakes]  # the first start needs no wait
    assert len(wakes) == 160
    gaps = {round(b - a, 9) for a, b in zip(wakes, wakes[1:], strict=False)}
    assert gaps == {round(1 / 80, 9)}
    assert wakes[-1] == pytest.approx(159 / 80)  # 160 starts in two seconds: never more than 80 a second


def test_the_pacer_saves_no_slot_during_an_idle_moment() -> None:
    clock = VirtualClock()
    pacer = Pacer(10.0, clock)
    asyncio.run(pacer.wait())
    clock.now = 60.0  # a minute of silence
    asyncio.run(pacer.wait())
    asyncio.run(pacer.wait())
    assert clock.wakes == [pytest.approx(60.1)]  # no burst: the third start still waits its 1/R


def test_the_pacer_backs_off_when_throttled_then_recovers() -> None:
    clock = VirtualClock()
    pacer = Pacer(100.0, clock)
    pacer.throttled(2.0)
    assert pacer.rate == pytest.approx(70.0)
    asyncio.run(pacer.wait())
    assert clock.wakes == [pytest.approx(2.0)]  # paused for what the API asked
    pacer.throttled(1.0)  # within half a second of the first cut: no second cut
    assert pacer.rate == pytest.approx(70.0)
    for second in range(3, 30):
        clock.now = float(second)
        asyncio.run(pacer.wait())
    assert pacer.rate == pytest.approx(100.0)  # crept back to the configured rate, never above


def test_codes_are_classified_as_the_spec_says() -> None:
    assert classify_whatsapp(130429, 400) is Action.THROTTLE and classify_whatsapp(None, 429) is Action.THROTTLE
    assert classify_whatsapp(190, 401) is Action.STOP_RUN and classify_whatsapp(132001, 404) is Action.STOP_RUN
    assert classify_whatsapp(131026, 400) is Action.PERMANENT and classify_whatsapp(131050, 400) is Action.OPT_OUT
    assert classify_whatsapp(131000, 500) is Action.RETRY and classify_whatsapp(None, 502) is Action.RETRY


def test_a_citizen_at_the_marketing_cap_waits_a_day_and_the_run_does_not(store: Store) -> None:
    numbers = subscribe(store, 5)
    capped = numbers[0]
    sender = FakeSender(lambda phone, n: error(131049) if phone == capped else ok(phone, n))
    report = run(store, sender, clock=SYSTEM_CLOCK)
    assert report.state == "waiting" and report.accepted == 4 and sender.calls[capped] == 1
    (due,) = store.db.all("SELECT next_attempt_at FROM deliveries WHERE state = 'retry'")
    assert due[0] - time.time() > 23.9 * 3600  # Meta: not before 24 hours
