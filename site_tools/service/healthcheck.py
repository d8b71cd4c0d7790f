"""``python -m site_tools.service.healthcheck [URL]``: is the service healthy? For a container's HEALTHCHECK.

Exit 0 when ``URL`` (default :data:`DEFAULT_URL`) answers 200; 1 otherwise, with the reasons on standard error:
the ``problems`` the service lists in its 503, or why it could not be reached. Standard library only (the
image has no curl) and nothing of the package imported: it runs every few seconds and must start fast.
"""

from __future__ import annotations

import json
import sys
import urllib.error
import urllib.request

DEFAULT_URL = "http://127.0.0.1:8080/health"
TIMEOUT = 10.0


def check(url: str = DEFAULT_URL, timeout: float = TIMEOUT) -> list[str]:
    """The problems of the service at ``url`` (an empty list: healthy)."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 - the URL is the operator's
            if response.status == 200:
                return []
            return [f"{url} answered {response.status}"]
    except urllib.error.HTTPError as exc:
        return [f"{url} answered {exc.code}", *_problems(exc.read())]
    except (urllib.error.URLError, OSError) as exc:
        reason = exc.reason if isinstance(exc, urllib.error.URLError) else exc
        return [f"{url} unreachable: {reason}"]


def _problems(body: bytes) -> list[str]:
    try:
        problems = json.loads(body).get("problems", [])
    except (ValueError, AttributeError):
        return []
    return [str(p) for p in problems] if isinstance(problems, list) else []


def main(argv: list[str]) -> int:
    problems = check(argv[0] if argv else DEFAULT_URL)
    for problem in problems:
        print(problem, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
