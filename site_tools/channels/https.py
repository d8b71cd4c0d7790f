"""The TLS context of the channels' HTTPS clients (httpx), prepared on a thread as a publish starts.

Building it reads the certificate store: about 0.1 s, mostly outside the GIL. The first urgent message is a
Telegram post (the first channel in sending order) and need not wait for it: :func:`prepare` starts it while
the run reads its configuration and the new bulletins; :func:`context` waits for it if needed.
The context is httpx's own default (``httpx.create_ssl_context``: certifi, or ``SSL_CERT_FILE``/``SSL_CERT_DIR``).
"""

from __future__ import annotations

import ssl
import threading
from concurrent.futures import Future

_pending: Future[ssl.SSLContext] | None = None
_lock = threading.Lock()


def prepare() -> None:
    """Start building the context (once per process), on a thread."""
    global _pending
    with _lock:
        if _pending is not None:
            return
        _pending = Future()
    # Not a daemon: a run with nothing to send may end while the thread still imports httpx or reads the
    # certificate store, and a daemon thread caught in that during the interpreter's shutdown crashed the
    # process (SIGSEGV after «Niente da pubblicare adesso», seen in CI). Joined at exit instead: ≤ 0.1 s.
    threading.Thread(target=_build, args=(_pending,), name="tls-context").start()


def context() -> ssl.SSLContext:
    """The context (built now if :func:`prepare` was not called); a failure to build it is raised here."""
    prepare()
    assert _pending is not None
    return _pending.result()


def _build(future: Future[ssl.SSLContext]) -> None:
    try:
        import httpx

        future.set_result(httpx.create_ssl_context())
    except BaseException as exc:  # noqa: BLE001 — handed to whoever asks for the context
        future.set_exception(exc)
