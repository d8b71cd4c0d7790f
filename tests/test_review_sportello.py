"""Found in review: the staff inbox (sportello) under an attacker who never logs in."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from site_tools.service.counter import auth

from .test_counter_web import Desk, csrf, make_desk


@pytest.fixture
def desk(tmp_path: Path) -> Iterator[Desk]:
    yield from make_desk(f"sqlite:///{tmp_path / 'store.db'}")


def test_a_burst_of_concurrent_guesses_cannot_outrun_the_login_throttle(desk: Desk) -> None:
    """README: after 5 wrong passwords for a user, every further try waits. The throttle is read before the
    (slow) password check and written after it, so guesses sent at the same moment are all checked: 20 at
    once were all answered «errati» (401), and a right password among them logs in."""
    page = desk.client.get("/sportello/accesso")
    token = csrf(page.text)
    codes: list[int] = []
    lock = threading.Lock()
    go = threading.Event()

    def guess(password: str) -> None:
        go.wait(10)
        answer = desk.client.post(
            "/sportello/accesso",
            data={"csrf": token, "utente": "mario", "password": password},
            follow_redirects=False,
        )
        with lock:
            codes.append(answer.status_code)

    threads = [threading.Thread(target=guess, args=(f"tentativo sbagliato {i}",)) for i in range(20)]
    for thread in threads:
        thread.start()
    go.set()
    for thread in threads:
        thread.join(120)
    seen = Counter(codes)
    assert seen[401] <= auth.PER_USER.free, f"{seen[401]} concurrent guesses were checked (throttle allows 5): {seen}"


def test_the_webhook_still_answers_while_a_staff_password_is_being_checked(
    desk: Desk, monkeypatch: pytest.MonkeyPatch
) -> None:
    """argon2 (about 0.2 s a check on this machine) runs on the service's event loop: while anyone — no login
    needed — has a password checked, Meta's webhooks, /health and opt-outs wait. 40 wrong logins at once held
    a GET of /webhook for 7 s over real HTTP. Here the check is held open; /health must still answer."""
    real = auth.verify_password
    entered, release = threading.Event(), threading.Event()

    def slow_verify(stored: str | None, password: str) -> bool:
        entered.set()
        release.wait(15)  # stands for argon2's CPU time, deterministically
        return real(stored, password)

    monkeypatch.setattr(auth, "verify_password", slow_verify)
    login = threading.Thread(target=lambda: desk.login(password="sbagliata, ma lenta"))
    login.start()
    assert entered.wait(10)
    health: dict[str, Any] = {}
    probe = threading.Thread(target=lambda: health.update(code=desk.client.get("/health").status_code))
    probe.start()
    probe.join(8)
    answered = "code" in health
    release.set()
    login.join(30)
    probe.join(30)
    assert answered, "/health (and every webhook) waited for a staff password check on the event loop"
