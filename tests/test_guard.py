"""Cheap rejection, as units: bounded reading, signatures and tokens that never raise, bounded nesting."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from starlette.requests import Request

from site_tools.service.guard import Rejected, depth, load_json, read_body
from site_tools.service.signature import same_secret, signature, valid_signature

SECRET = "app-secret"


def request(chunks: list[bytes], headers: dict[str, str] | None = None, pause: float = 0.0) -> Request:
    raw = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in (headers or {}).items()]
    scope = {"type": "http", "method": "POST", "path": "/webhook", "headers": raw, "query_string": b""}
    parts = list(chunks)

    async def receive() -> dict[str, Any]:
        if pause:
            await asyncio.sleep(pause)
        body = parts.pop(0) if parts else b""
        return {"type": "http.request", "body": body, "more_body": bool(parts)}

    return Request(scope, receive)


def test_a_body_is_read_up_to_the_limit_then_refused() -> None:
    assert asyncio.run(read_body(request([b"a" * 10, b"b" * 10]), limit=20)) == b"a" * 10 + b"b" * 10
    with pytest.raises(Rejected) as too_big:
        asyncio.run(read_body(request([b"a" * 10] * 5), limit=20))
    assert too_big.value.status == 413


def test_a_declared_length_over_the_limit_is_refused_without_reading() -> None:
    with pytest.raises(Rejected) as info:
        asyncio.run(read_body(request([], {"Content-Length": "99999999"}), limit=1000))
    assert info.value.status == 413
    with pytest.raises(Rejected):
        asyncio.run(read_body(request([], {"Content-Length": "-1"}), limit=1000))


def test_a_body_that_trickles_is_cut_off() -> None:
    with pytest.raises(Rejected) as info:
        asyncio.run(read_body(request([b"{"] * 50, pause=0.05), timeout=0.2))
    assert info.value.status == 408


@pytest.mark.parametrize(
    "header",
    [None, b"", b"sha256=", b"sha256=" + b"0" * 64, "sha256=àèìòù".encode(), b"\xff\xfe\x00", b"md5=abc", b"x" * 5000],
)
def test_bad_signatures_are_false_never_an_exception(header: bytes | None) -> None:
    assert valid_signature(SECRET, b"{}", header) is False


def test_the_right_signature_on_the_raw_bytes_is_true() -> None:
    body = json.dumps({"text": "Valfiorità"}).encode()  # ASCII-escaped, as Meta sends
    assert valid_signature(SECRET, body, signature(SECRET, body).encode())
    assert not valid_signature(SECRET, body + b" ", signature(SECRET, body).encode())


@pytest.mark.parametrize("given", ["token", "tokeN", "tökén", "\udcff", "", None, b"\xff"])
def test_verify_tokens_compare_without_raising(given: Any) -> None:
    assert same_secret("token", given) is (given == "token")


def test_nesting_is_bounded_without_recursion() -> None:
    deep = b"[" * 100_000 + b"]" * 100_000
    with pytest.raises(Rejected) as info:
        load_json(deep)
    assert info.value.status == 400
    assert depth({"a": [{"b": [1]}]}) == 4
    meta_like = {"entry": [{"changes": [{"value": {"messages": [{"text": {"body": "x"}}]}}]}]}
    assert load_json(json.dumps(meta_like).encode()) == meta_like


@pytest.mark.parametrize("body", [b"{not json", b"\xff\xfe", b"", b'{"a": NaN'])
def test_malformed_json_is_a_400(body: bytes) -> None:
    with pytest.raises(Rejected) as info:
        load_json(body)
    assert info.value.status == 400
