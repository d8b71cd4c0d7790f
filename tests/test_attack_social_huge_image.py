"""A bulletin whose image is a «decompression bomb» (a small file that decodes to hundreds of millions of pixels,
as a huge scan or a hostile upload is): the Bluesky post still goes, without the picture, and the run neither
crashes nor leaves the post «uncertain» for the next runs."""

from __future__ import annotations

import os

from PIL import Image

from .conftest import Town
from .services import simulator
from .test_publisher import URGENT, add, publish
from .test_social_channels import ONLY_BLUESKY, first_run, social_town, states


def _bomb(path: os.PathLike[str]) -> None:
    """20,000 × 10,000 pixels (Pillow refuses more than 178 million) in a bit over 1 MB: a black page with noise."""
    image = Image.new("1", (20_000, 10_000))
    image.paste(Image.frombytes("1", (3000, 3000), os.urandom(3000 * 3000 // 8)))
    image.save(path, "PNG")


def test_a_huge_image_is_left_out_of_the_card_and_the_post_still_goes(town: Town, sqlite_url: str) -> None:
    social_town(town, ONLY_BLUESKY)
    image = town.config.content_dir / "img" / "mappa-enorme.png"
    image.parent.mkdir(parents=True, exist_ok=True)
    _bomb(image)
    assert image.stat().st_size > 1_000_000  # over Bluesky's limit: the channel must decode it to shrink it
    with simulator("--latency", "0") as sim:
        first_run(town, sqlite_url, sim)
        add(town, URGENT.replace("priority: urgent", "priority: urgent\nimage: /img/mappa-enorme.png"), "allerta")
        plan, report = publish(town, sqlite_url, sim)
        (result,) = [r for r in report.results if r.channel == "bluesky"]
        assert result.state == "done", result.detail
        assert "senza immagine" in result.detail
        (post,) = sim.messages()["bluesky"]
        assert "thumb" not in str(post)
        plan, again = publish(town, sqlite_url, sim)
        assert again.uncertain == [] and states(again).get("bluesky") is None
