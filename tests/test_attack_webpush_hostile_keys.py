# ruff: noqa: F811 — the fixtures are imported from the modules that define them
"""A hostile subscription's keys get a 400 naming the field, never a 500: keys of letters outside base64url that
``str.isalnum`` accepts (accented or non-Latin letters and digits), or of a length no base64 has, crashed the
decoder (an unhandled ``ValueError``), and the service answered «Internal Server Error» in English."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from .test_webpush import SITE, keys, push_town, service, sim, stand_in_subscription  # noqa: F401 — fixtures


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("auth", "é" * 22),  # isalnum, not ASCII
        ("auth", "٣" * 22),  # an Arabic-Indic digit: isalnum too
        ("auth", "A" * 21),  # 21 characters: no base64 is that long (one left over)
        ("p256dh", "B" * 85),  # the same for the key
    ],
)
def test_a_hostile_key_is_a_400_naming_the_field(
    service: Any, keys: tuple[str, Path], sim: Any, field: str, value: str
) -> None:
    sub = stand_in_subscription(sim, keys[0])
    sub["keys"][field] = value
    answer = service.post("/push/iscrizione", json=sub, headers=SITE)
    assert answer.status_code == 400
    assert f"keys.{field}" in answer.json()["errore"]
