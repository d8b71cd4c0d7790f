"""Attack: a category sent with the town's own template («avviso_scuola», say) during the transition. The variant
the town submits is «avviso_comunale_transizione» only; a message named «avviso_scuola_transizione» is a template
Meta does not know (error 132001): every bulletin of that category would fail for the whole transition.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date

from site_tools.render.whatsapp_template import render_template
from site_tools.service.meta_templates import project_templates

from .test_transition import ALERT, PLANNED


def test_a_category_with_its_own_template_is_sent_under_a_name_that_exists() -> None:
    slug = ALERT.categories[0]
    own = tuple(c.model_copy(update={"template": "avviso_scuola"}) if c.slug == slug else c for c in PLANNED.categories)
    config = replace(PLANNED, categories=own)
    known = {t["name"] for t in project_templates(config)} | {c.template for c in config.categories}
    for day in (date(2027, 1, 9), date(2027, 1, 10), date(2027, 2, 10)):
        assert render_template(ALERT, config, day).name in known
    assert render_template(ALERT, PLANNED, date(2027, 1, 10)).name == "avviso_comunale_transizione"
