"""A post left «uncertain» (Facebook's answer never came) that the editor finds online: the guide says «se c'è, non
fare nulla», but every later run then warned and failed (exit 1) for ever, and the only way out, resending,
would post it twice. ``--confirm-uncertain`` records it as published; a resend names its one channel."""

from __future__ import annotations

from .conftest import Town
from .services import simulator
from .test_channels import cli
from .test_publisher import URGENT, add
from .test_social_channels import social_town

ONLY_FACEBOOK = """telegram: "@valfiorita_avvisi"
    facebook:
      page_id: "1234567890"
      page_url: https://www.facebook.com/ComuneDiValfiorita"""


def test_an_uncertain_post_found_online_is_confirmed_and_never_resent(town: Town, tmp_path) -> None:
    social_town(town, ONLY_FACEBOOK)
    url = f"sqlite:///{tmp_path / 's.db'}"
    with simulator("--latency", "0") as sim:
        env = {**sim.env(), "SITE_TOOLS_DB": url, "SITE_TOOLS_HTTP_TIMEOUT": "2"}
        assert cli(town, "publish", env=env).returncode == 0
        sim.configure(social_answer_delay=4)  # the post goes online, its answer comes too late
        add(town, URGENT, "allerta-rossa")
        first = cli(town, "publish", "--channel", "facebook", env=env)
        assert first.returncode == 1 and len(sim.messages()["facebook"]) == 1
        sim.configure(social_answer_delay=0)
        warned = cli(town, "publish", "--channel", "facebook", env=env)
        assert warned.returncode == 1 and "--confirm-uncertain" in warned.stderr
        # Both flags are for one post: without --channel every uncertain post of the bulletin would be resent.
        assert cli(town, "publish", "--only", "allerta-rossa", "--resend-uncertain", env=env).returncode == 2
        confirmed = cli(
            town, "publish", "--only", "allerta-rossa", "--channel", "facebook", "--confirm-uncertain", env=env
        )
        assert confirmed.returncode == 0, confirmed.stderr
        assert "segnato come pubblicato" in confirmed.stdout
        later = cli(town, "publish", env=env)
        assert later.returncode == 0, later.stderr
        assert "incert" not in later.stderr
        assert len(sim.messages()["facebook"]) == 1
        again = cli(town, "publish", "--only", "allerta-rossa", "--channel", "facebook", "--confirm-uncertain", env=env)
        assert again.returncode == 1 and "non ha un post dall'esito incerto" in again.stderr
