"""The staff inbox (sportello) under an attacker who never logs in: guesses, bursts, stolen cookies, odd file names."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from site_tools.service.counter import auth

from .test_counter_web import PASSWORD, Desk, csrf, make_desk


@pytest.fixture
def desk(tmp_path: Path) -> Iterator[Desk]:
    yield from make_desk(f"sqlite:///{tmp_path / 'store.db'}")


def test_a_burst_of_concurrent_guesses_cannot_outrun_the_login_throttle(desk: Desk) -> None:
    """docs/operations/counter.md: after 5 wrong passwords for a user, every further try waits. The throttle is read before the
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


@pytest.mark.parametrize(
    "filename",
    ["Ricevuta €50.pdf", "справка.pdf", "foto 😀.jpg", 'a"\r\nSet-Cookie: sportello=x; b.pdf', "città.pdf"],
)
def test_a_citizens_document_with_any_file_name_can_be_downloaded(desk: Desk, filename: str) -> None:
    """The file name comes from the citizen's phone. It went raw into Content-Disposition: a «€», Cyrillic
    or an emoji made the download a 500 (headers are Latin-1), CR/LF went into the header (uvicorn refuses
    that: 500 again)."""
    import re
    import time
    from urllib.parse import unquote

    from site_tools.store.conversations import Inbound

    cid, mid = desk.store.conversations.record_inbound(
        "393330009999", Inbound("w.name", "document", None, time.time(), "55", "application/pdf", None, filename)
    )
    desk.store.conversations.media_stored(mid, b"%PDF-1.4 test", "application/pdf")
    desk.login()
    answer = desk.client.get(f"/sportello/conversazioni/{cid}/media/{mid}")
    assert answer.status_code == 200 and answer.content == b"%PDF-1.4 test"
    raw = answer.headers.get_list("content-disposition")
    assert len(raw) == 1 and raw[0].isascii() and not any(c in raw[0] for c in "\r\n")
    assert not any(k.lower() == "set-cookie" and "sportello=x" in v for k, v in answer.headers.multi_items())
    star = re.search(r"filename\*=UTF-8''([^;\s]+)", raw[0], re.I)  # RFC 6266: browsers take this one first
    plain = re.search(r'filename="([^"]*)"', raw[0])
    assert raw[0].startswith("attachment;") and plain
    shown = unquote(star.group(1)) if star else plain.group(1)
    wanted = "".join(c for c in filename if c.isprintable()).replace('"', "").replace("\\", "")
    assert shown == wanted


def test_guesses_from_elsewhere_cannot_lock_a_member_out_of_their_own_browser(tmp_path: Path) -> None:
    """Review: with only a per-user throttle, one wrong try every 15 minutes keeps «mario» blocked forever.
    The browser where mario logged in before keeps a device cookie; its tries are counted on their own."""
    for office in make_desk(f"sqlite:///{tmp_path / 'store.db'}"):
        assert office.login().status_code == 303  # mario's office browser: now a known device
        assert auth.DEVICE_COOKIE in office.client.cookies
        office.client.post("/sportello/esci", data={"csrf": csrf(office.client.get("/sportello/").text)})
        attacker = _stranger(office)
        for _ in range(auth.PER_USER.free + 2):
            attacker.post("/sportello/accesso", data={"csrf": csrf(attacker.get("/sportello/accesso").text),
                                                      "utente": "mario", "password": "indovino"})  # fmt: skip
        blocked = attacker.post("/sportello/accesso", data={"csrf": csrf(attacker.get("/sportello/accesso").text),
                                                            "utente": "mario", "password": PASSWORD})  # fmt: skip
        assert blocked.status_code == 429  # a browser mario never used is still throttled, right password or not
        assert office.login().status_code == 303  # but mario, at his own desk, gets in
        forged = _stranger(office)
        forged.cookies.set(auth.DEVICE_COOKIE, office.client.cookies[auth.DEVICE_COOKIE] + "x", path="/sportello")
        answer = forged.post("/sportello/accesso", data={"csrf": csrf(forged.get("/sportello/accesso").text),
                                                         "utente": "mario", "password": PASSWORD})  # fmt: skip
        assert answer.status_code == 429  # a tampered cookie is no device


def test_a_stolen_device_cookie_is_throttled_on_its_own_and_only_for_its_user(desk: Desk) -> None:
    assert desk.login().status_code == 303
    cookie = desk.client.cookies[auth.DEVICE_COOKIE]
    desk.client.post("/sportello/esci", data={"csrf": csrf(desk.client.get("/sportello/").text)})
    for _ in range(auth.PER_USER.free):
        assert desk.login(password="sbagliata").status_code == 401
    assert desk.login().status_code == 429  # guessing with the cookie is throttled like any user
    assert desk.client.cookies[auth.DEVICE_COOKIE] == cookie
    assert auth.device_key("s" * 40, cookie, "anna") is None  # mario's device says nothing about anna


def _stranger(desk: Desk) -> Any:
    """Another browser on the same service (no cookies of its own)."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from starlette.testclient import TestClient

    return TestClient(desk.client.app, base_url="https://testserver")


def test_staff_passwords_are_hashed_at_a_cost_that_slows_down_a_stolen_database() -> None:
    """The service's own argon2 cost, at least OWASP's minimum (19 MiB, 2 passes): the other tests in this process
    use a cheap one (conftest.py), so this is where the real one is checked."""
    import importlib

    from argon2 import PasswordHasher

    auth = importlib.reload(importlib.import_module("site_tools.service.counter.auth"))  # as the service loads it
    hasher: PasswordHasher = auth.HASHER
    assert hasher.memory_cost >= 19 * 1024 and hasher.time_cost >= 2
    stored = auth.hash_password("una password da sportello")
    assert stored.startswith("$argon2id$") and f"m={hasher.memory_cost},t={hasher.time_cost}" in stored
    assert auth.verify_password(stored, "una password da sportello") and not auth.verify_password(stored, "altra")
