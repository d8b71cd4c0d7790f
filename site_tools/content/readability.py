"""How easy a summary is to read: the Gulpease index, the Italian readability index, against the town's threshold.

Gulpease = 89 + (300 × sentences − 10 × characters) / words, from 0 (hardest) to 100 (easiest). It counts characters,
not syllables, so it needs no language: textstat's backend function is called directly, without ``set_lang``
(which changes state shared by every caller of the module).
"""

from __future__ import annotations

from collections.abc import Iterable

from site_tools.content.config import TownConfig
from site_tools.content.frontmatter import Parsed
from site_tools.content.problems import Problem


def gulpease(text: str) -> float:
    """The index of ``text``, within 0 to 100 (a very short text can score above 100)."""
    from textstat.backend.metrics import gulpease_index  # type: ignore[import-untyped]  # only when asked

    return max(0.0, min(100.0, float(gulpease_index(text))))


def readability_warnings(config: TownConfig, records: Iterable[Parsed]) -> list[Problem]:
    """A warning for each valid bulletin whose summary scores below ``extra.town.readability.gulpease_min``."""
    if config.readability is None:
        return []
    threshold = config.readability.gulpease_min
    warnings = []
    for r in records:
        if r.bulletin is None or not r.bulletin.summary.strip():
            continue
        if not any(ch.isalnum() for ch in r.bulletin.summary):
            # textstat scores a text without words 0: not «hard to read», and not what the editor must fix
            warnings.append(
                Problem(
                    r.shown,
                    r.line("summary"),
                    "summary",
                    "la sintesi non contiene parole (solo simboli o emoji): chi la legge, o la ascolta con un "
                    "lettore di schermo, non capisce di cosa si tratta.",
                    "scrivi in una o due frasi brevi cosa succede, dove e quando. È un avvertimento: l'avviso parte "
                    "lo stesso.",
                )
            )
            continue
        score = gulpease(r.bulletin.summary)
        if score < threshold:
            warnings.append(
                Problem(
                    r.shown,
                    r.line("summary"),
                    "summary",
                    f"la sintesi è difficile da leggere: indice Gulpease {score:.0f} su 100, sotto la soglia "
                    f"del Comune ({threshold}).",
                    "scrivi frasi brevi (un punto ogni 15-20 parole) e parole semplici e corte; togli le formule "
                    "burocratiche («si comunica che», «in ottemperanza a»). È un avvertimento: l'avviso parte lo stesso.",
                )
            )
    return warnings
