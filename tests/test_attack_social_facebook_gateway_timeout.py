"""A 504 from a proxy in front of the Graph API: the Page post may well be online (the answer was lost, not the
request). The Graph API has no idempotency key, so a retry could post it twice: the post is «uncertain», as after a
timeout, and no later run posts it again on a guess."""

from __future__ import annotations

from .conftest import Town
from .services import simulator
from .test_publisher import URGENT, add, publish
from .test_social_channels import first_run, social_town, states

ONLY_FACEBOOK = """telegram: "@valfiorita_avvisi"
    facebook:
      page_id: "1234567890"
      page_url: https://www.facebook.com/ComuneDiValfiorita"""


def test_a_gateway_timeout_from_facebook_is_uncertain_not_retried(town: Town, sqlite_url: str) -> None:
    social_town(town, ONLY_FACEBOOK)
    with simulator("--latency", "0") as sim:
        first_run(town, sqlite_url, sim)
        sim.configure(facebook_gateway_timeouts=1)
        add(town, URGENT, "allerta-rossa")
        plan, report = publish(town, sqlite_url, sim)
        (result,) = [r for r in report.results if r.channel == "facebook"]
        assert result.state == "uncertain", result.detail
        assert "controlla la Pagina Facebook prima di ripubblicare" in (result.detail or "")
        assert len(sim.messages()["facebook"]) == 1
        plan, again = publish(town, sqlite_url, sim)
        assert states(again).get("facebook") is None
        assert [c for _, c in again.uncertain] == ["facebook"]
        assert len(sim.messages()["facebook"]) == 1
