"""Attack: a town in coexistence behind the shipped Caddy. Meta's ``history`` chunks run to several megabytes
(guard.HISTORY_MAX_BODY) and the service reads them; if Caddy cut ``/webhook`` at 1 MB, Meta would get 413 for every
big chunk and the town's history (its subscribers' consent) would never arrive. The other paths stay at 1 MB.
"""

from __future__ import annotations

import re
from pathlib import Path

from site_tools.service.guard import HISTORY_MAX_BODY, MAX_BODY

CADDYFILE = Path(__file__).resolve().parents[1] / "deploy" / "Caddyfile"
UNITS = {"KB": 1000, "MB": 1000**2, "GB": 1000**3, "KiB": 1024, "MiB": 1024**2, "B": 1}


def limits() -> dict[str, int]:
    """The body limit Caddy applies to each of /webhook and /publish (``request_body [@matcher] {max_size …}``)."""
    text = CADDYFILE.read_text(encoding="utf-8")
    matchers = {
        name: (bool(neg), paths.split())
        for name, neg, paths in re.findall(r"^\s*@(\w+) (not )?path (.+)$", text, flags=re.M)
    }
    found: dict[str, int] = {}
    for name, size, unit in re.findall(r"request_body(?: @(\w+))? \{\s*max_size (\d+)\s*([KMG]i?B|B)", text):
        for path in ("/webhook", "/publish"):
            negated, paths = matchers.get(name, (False, [path]))
            if (path in paths) != negated:
                found[path] = min(found.get(path, 1 << 62), int(size) * UNITS[unit])
    return found


def test_caddy_lets_a_history_chunk_through_to_the_webhook_and_keeps_the_rest_at_1_mb() -> None:
    found = limits()
    assert found["/webhook"] >= HISTORY_MAX_BODY, "Caddy cuts Meta's history chunks before the service reads them"
    assert found["/publish"] <= MAX_BODY
