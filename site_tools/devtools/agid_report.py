"""The audits of AGID's checker that apply to a town's news site, read from the checker's JSON report.

The checker (``italia/pa-website-validator-ng``) writes ``<report>.json``: ``{"audits": {id: audit}}``, each audit
with its criterion ``code`` (``C.SI.3.3``…), a ``score`` (1 passed, 0.5 passed with reservations, 0 failed) and
tables of what it found: ``pagesItems``, ``wrongPages``, ``pagesInError`` — each ``{"headings": [...],
"pages": [{...}, ...]}`` whose rows list their values in the order of the headings. Its verdict sentence
(«Il link non è nel footer…») is only in ``<report>.html``, in the audit's tab (``<div id="id-<audit id>">``,
``<span class="h5">``). The reason shown here is that sentence and those tables, in the checker's own
(Italian) words.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lxml import html as lxml_html


@dataclass(frozen=True)
class Applicable:
    code: str  # the criterion, as the checker's report names it
    name: str  # short English name
    reads: str  # what the checker looks at, for the docs' table


#: The 9 audits that apply to a news-and-alerts site (docs/reference/agid-checker.md says why the others don't).
APPLICABLE = (
    Applicable("C.SI.1.1", "fonts", "computed font families of <h>/<p> on the pages it reaches"),
    Applicable("C.SI.1.5", "topics", "`all-topics` page and `topic-element` links vs. the controlled vocabulary"),
    Applicable("C.SI.2.3", "FAQ", 'footer link `data-element="faq"` to an existing page'),
    Applicable("C.SI.2.4", "report a problem", 'footer link `data-element="report-inefficiency"`'),
    Applicable("C.SI.2.5", "page feedback", "the «Quanto sono chiare…» component on first/second-level pages"),
    Applicable("C.SI.3.1", "cookies", "cookies set by the pages it reaches (technical only)"),
    Applicable("C.SI.3.2", "accessibility statement", "footer `accessibility-link` to form.agid.gov.it/view/…"),
    Applicable("C.SI.3.3", "privacy", "footer `privacy-policy-link` to an existing HTTPS page"),
    Applicable("C.SI.3.4", "legal notes", "`legal-notes` link; `legal-notes-section` title and `legal-notes-body`"),
)

#: The address the checker writes for a page it looked for and could not find («Servizio», «Pagina di primo
#: livello»…): the page's name follows it, the reason is in the error next to it.
PLACEHOLDER = "https://temppagenotavailable/"
#: Longest reason kept in a table cell; the whole report is in the HTML next to it.
REASON_LIMIT = 400


@dataclass(frozen=True)
class Result:
    code: str
    name: str
    score: float | None  # None: the audit is not in the report (it did not run)
    reason: str

    @property
    def verdict(self) -> str:
        if self.score is None:
            return "not run"
        if self.score >= 1:
            return "pass"
        if self.score > 0:
            return "partial"
        return "fail"


def _rows(table: Any) -> list[str]:
    """Each row of one of the checker's tables as «heading: value; …» (a row without headings: its values)."""
    if not isinstance(table, dict):
        return []
    headings = [str(h) for h in table.get("headings") or []]
    rows = []
    for page in table.get("pages") or []:
        if not isinstance(page, dict):
            continue
        values = [v for k, v in page.items() if k != "show"]
        if len(headings) != len(values):
            parts = [str(v) for v in values if str(v) != ""]
        elif headings and headings[0].endswith(":"):
            # A table whose first heading is a sentence («Pagine nelle quali…:») and first column the page;
            # PLACEHOLDER stands for a page the checker could not find, which its error then explains.
            page = [] if PLACEHOLDER in str(values[0]) else [str(values[0])]
            parts = page + [f"{h}: {v}" for h, v in zip(headings[1:], values[1:], strict=True) if str(v) != ""]
        else:
            parts = [f"{h}: {v}" for h, v in zip(headings, values, strict=True) if str(v) != ""]
        if parts:
            rows.append("; ".join(parts))
    return rows


def verdicts(report_html: str) -> dict[str, str]:
    """The checker's verdict sentence per audit id, from its HTML report (audits without one are left out)."""
    document = lxml_html.fromstring(report_html)
    found = {}
    for pane in document.iter("div"):
        pane_id = pane.get("id") or ""
        if "tab-pane" not in (pane.get("class") or "").split() or not pane_id.startswith("id-"):
            continue
        spans = [span for span in pane.iter("span") if "h5" in (span.get("class") or "").split()]
        sentence = " ".join("".join(str(t) for t in spans[0].itertext()).split()) if spans else ""
        if sentence:
            found[pane_id.removeprefix("id-")] = sentence
    return found


def reason(audit: dict[str, Any], verdict: str = "") -> str:
    """The verdict, then what the checker found: wrong pages, then items, then errors (each line once)."""
    lines: list[str] = [verdict] if verdict else []
    for key in ("wrongPages", "pagesItems", "pagesInError"):
        for line in _rows(audit.get(key)):
            if line not in lines:
                lines.append(line)
    if not lines:
        lines.append(str(audit.get("errorMessage") or "") or "nothing found (no row in the report)")
    text = " | ".join(lines).replace("\n", " ")
    return text if len(text) <= REASON_LIMIT else text[: REASON_LIMIT - 1] + "…"


def summarize(report: dict[str, Any], sentences: dict[str, str] | None = None) -> list[Result]:
    """The :data:`APPLICABLE` audits of a report, in that order (``sentences``: :func:`verdicts` of its HTML)."""
    sentences = sentences or {}
    audits = report.get("audits") or {}
    by_code = {a.get("code"): (i, a) for i, a in audits.items() if isinstance(a, dict)}
    results = []
    for applicable in APPLICABLE:
        if applicable.code not in by_code:
            results.append(Result(applicable.code, applicable.name, None, "not in the report"))
            continue
        audit_id, audit = by_code[applicable.code]
        score = audit.get("score")
        results.append(
            Result(
                applicable.code,
                applicable.name,
                float(score) if isinstance(score, (int, float)) else 0.0,
                reason(audit, sentences.get(audit_id, "")),
            )
        )
    return results


def load(report_json: Path) -> list[Result]:
    """A report's summary; its verdict sentences come from the HTML beside it when there is one."""
    report_html = report_json.with_suffix(".html")
    sentences = verdicts(report_html.read_text(encoding="utf-8")) if report_html.exists() else {}
    return summarize(json.loads(report_json.read_text(encoding="utf-8")), sentences)


def passed(results: list[Result]) -> int:
    return sum(1 for r in results if r.verdict == "pass")


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def markdown(runs: dict[str, list[Result]]) -> str:
    """One table: a row per applicable audit, a verdict and the checker's reason per run (``{"HTTP": …}``)."""
    labels = list(runs)
    head = "| audit | " + " | ".join(f"{label} | {label}: the checker's reason" for label in labels) + " |"
    rule = "|---|" + "---|---|" * len(labels)
    lines = [head, rule]
    for i, applicable in enumerate(APPLICABLE):
        cells = [f"{applicable.code} {applicable.name}"]
        for label in labels:
            result = runs[label][i]
            cells += [f"**{result.verdict}**", _cell(result.reason)]
        lines.append("| " + " | ".join(cells) + " |")
    totals = ", ".join(f"{label}: {passed(runs[label])} of {len(APPLICABLE)} pass" for label in labels)
    return "\n".join(lines) + f"\n\n{totals}.\n"
