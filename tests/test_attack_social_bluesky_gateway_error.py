"""A gateway's 502 or 504 in front of Bluesky's PDS after ``createRecord``: the post may be online (the answer was
lost). The SDK raises a NetworkError with a response for 502 and a RequestException for 504; both were «failed», so
the next run posted again. They are «uncertain» now, and no later run posts a second one on a guess."""

from __future__ import annotations

import pytest

from .conftest import Town
from .services import simulator
from .test_publisher import URGENT, add, publish
from .test_social_channels import ONLY_BLUESKY, first_run, social_town, states


@pytest.mark.parametrize("status", [502, 504])
def test_a_gateway_error_after_the_post_is_uncertain(town: Town, sqlite_url: str, status: int) -> None:
    social_town(town, ONLY_BLUESKY)
    with simulator("--latency", "0") as sim:
        first_run(town, sqlite_url, sim)
        sim.configure(bluesky_gateway_status=status, bluesky_gateway_errors=1)
        add(town, URGENT, "allerta-rossa")
        plan, report = publish(town, sqlite_url, sim)
        (result,) = [r for r in report.results if r.channel == "bluesky"]
        assert result.state == "uncertain", result.detail
        assert "controlla l'account Bluesky prima di ripubblicare" in (result.detail or "")
        plan, again = publish(town, sqlite_url, sim)
        assert states(again).get("bluesky") is None
        assert [c for _, c in again.uncertain] == ["bluesky"]
        assert len(sim.messages()["bluesky"]) == 1
