"""Urgent bulletins → CAP 1.2 alerts (OASIS Common Alerting Protocol), in Italian.

One ``alert`` per bulletin. A bulletin that updates or cancels an earlier
one is ``msgType`` ``Update`` or ``Cancel`` with ``references`` naming it.
Times carry an explicit offset (``+01:00``): the schema forbids ``Z``.
"""

from __future__ import annotations

from datetime import datetime

from lxml import etree

from site_tools.content.bulletin import Bulletin
from site_tools.content.config import TownConfig
from site_tools.markdown.scan import plain_text

NS = "urn:oasis:names:tc:emergency:cap:1.2"
#: Our categories → CAP's fixed list (Geo Met Safety Security Rescue Fire Health Env Transport Infra CBRNE Other).
CAP_CATEGORY = {
    "emergenza": "Safety",
    "protezione-civile": "Safety",
    "meteo": "Met",
    "viabilita": "Transport",
    "scuola": "Safety",
    "servizi": "Infra",
    "ambiente": "Env",
}


def cap_time(moment: datetime, config: TownConfig) -> str:
    """``2026-11-21T16:45:00+01:00``: seconds, explicit offset, never ``Z``."""
    return moment.astimezone(config.timezone).replace(microsecond=0).isoformat()


def sender(config: TownConfig) -> str:
    return config.site_url.split("//", 1)[-1].strip("/")


def identifier(config: TownConfig, b: Bulletin) -> str:
    return f"{sender(config)}.{b.id}"


def cap_alert(config: TownConfig, b: Bulletin, by_id: dict[str, Bulletin]) -> etree._Element:
    def sub(parent: etree._Element, name: str, text: str) -> etree._Element:
        element = etree.SubElement(parent, f"{{{NS}}}{name}")
        element.text = text
        return element

    alert = etree.Element(f"{{{NS}}}alert", nsmap={None: NS})  # type: ignore[dict-item]  # lxml: None is the default namespace
    sub(alert, "identifier", identifier(config, b))
    sub(alert, "sender", sender(config))
    sub(alert, "sent", cap_time(b.date, config))
    sub(alert, "status", "Actual")
    sub(alert, "msgType", "Cancel" if b.cancels else "Update" if b.updates else "Alert")
    sub(alert, "scope", "Public")
    earlier = by_id.get(b.refers_to or "")
    if earlier is not None:
        sub(alert, "references", f"{sender(config)},{identifier(config, earlier)},{cap_time(earlier.date, config)}")
    info = etree.SubElement(alert, f"{{{NS}}}info")
    sub(info, "language", "it-IT")
    for cap_category in dict.fromkeys(CAP_CATEGORY.get(c, "Other") for c in b.categories):
        sub(info, "category", cap_category)
    label = config.category(b.categories[0])
    sub(info, "event", label.label if label else b.categories[0])
    sub(info, "urgency", "Immediate" if b.urgent else "Expected")
    sub(info, "severity", "Severe" if b.urgent else "Moderate")
    sub(info, "certainty", "Observed" if b.urgent else "Likely")
    sub(info, "effective", cap_time(b.date, config))
    if b.expires:
        sub(info, "expires", cap_time(b.expires, config))
    sub(info, "senderName", config.name)
    sub(info, "headline", b.title)
    sub(info, "description", f"{b.summary}\n\n{plain_text(b.body)}".strip())
    sub(info, "web", config.site_url + b.url_path)
    area = etree.SubElement(info, f"{{{NS}}}area")
    sub(area, "areaDesc", b.area or f"Territorio del {config.name}")
    return alert


def cap_xml(config: TownConfig, b: Bulletin, by_id: dict[str, Bulletin]) -> bytes:
    return etree.tostring(cap_alert(config, b, by_id), xml_declaration=True, encoding="UTF-8", pretty_print=True)


def cap_bulletins(bulletins: list[Bulletin], now: datetime) -> list[Bulletin]:
    """What the CAP feed carries: active urgent bulletins, and what updates or cancels one."""
    by_id = {b.id: b for b in bulletins}
    urgent_ids = {b.id for b in bulletins if b.urgent}
    cancelled = {b.cancels for b in bulletins if b.cancels and b.is_visible(now)}
    chosen = []
    for b in bulletins:
        if not b.is_active(now):
            continue
        if b.urgent and b.id not in cancelled:
            chosen.append(b)
        elif b.refers_to in urgent_ids and ((expires := by_id[b.refers_to].expires) is None or expires > now):
            chosen.append(b)
    return sorted(chosen, key=lambda b: b.date, reverse=True)
