"""What staff can answer with: the canned answers and the town's bulletins, searchable.

Suggestions match a citizen's question against bulletin titles and summaries
(and canned answers' titles and keywords) by Italian word stems (Snowball),
so «chiusa», «chiusura» and «chiuso» meet. Reloaded from ``content/`` by
the counter's housekeeping, so a merged pull request reaches the inbox
without a restart.
"""

from __future__ import annotations

import logging
import re
import threading
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

import snowballstemmer

from site_tools.content.answers import Answer, load_answers
from site_tools.content.bulletin import Bulletin
from site_tools.content.cache import ParseCache
from site_tools.content.config import TownConfig
from site_tools.content.loading import load_content
from site_tools.content.problems import Problem

log = logging.getLogger("site_tools.counter")

STOPWORDS = frozenset(
    """a ad al allo alla ai agli alle anche ancora avere aveva c che chi ci come con contro cosa cui da dal dallo
    dalla dai dagli dalle degli dei del dell della delle dello di dove e ed era essere gli ha hai hanno ho i il in
    io la le lei li lo loro lui ma me mi mia mio ne nei nel nella nelle nello no noi non nostro o per perche piu
    quale quando quanto quello questa queste questi questo se sei si sia sono su sua sue sul sulla suo ti tra tu
    tutti tutto un una uno vi voi buongiorno buonasera salve grazie gentile cortesemente vorrei sapere scusate
    potete posso devo comune informazione informazioni domanda""".split()
)
_WORD = re.compile(r"[a-z0-9]+")


@lru_cache(maxsize=1)
def _stemmer() -> snowballstemmer.stemmer:
    return snowballstemmer.stemmer("italian")


@lru_cache(maxsize=200_000)
def _stem(word: str) -> str:
    """One word's stem, remembered: the bulletins' words are a town's vocabulary, so reading 10,000 bulletins
    again (after every push) stems almost nothing (Snowball in pure Python: seconds for the whole archive)."""
    return str(_stemmer().stemWord(word))


def stems(text: str) -> set[str]:
    """Lower case, accents off, stop words out, Italian stems."""
    plain = "".join(c for c in unicodedata.normalize("NFKD", text.lower()) if not unicodedata.combining(c))
    return {_stem(w) for w in _WORD.findall(plain) if len(w) > 2 and w not in STOPWORDS}


@dataclass(frozen=True)
class Suggestion:
    title: str
    summary: str
    url: str
    date: datetime
    active: bool


@dataclass(frozen=True)
class _Indexed:
    bulletin: Bulletin
    title: frozenset[str]
    text: frozenset[str]


class Library:
    def __init__(self, config: TownConfig):
        self.config = config
        self.answers: list[Answer] = []
        self.problems: list[Problem] = []
        self._index: list[_Indexed] = []
        self._answer_stems: list[tuple[Answer, frozenset[str]]] = []
        self._lock = threading.Lock()
        self.loaded = False

    def refresh(self, cache: ParseCache | None = None) -> None:
        """Read the canned answers and the bulletins again (from a worker thread; ``cache``: the store's parses,
        so that only the bulletins changed since are parsed)."""
        answers, problems = load_answers(self.config)
        for problem in problems:
            log.warning("canned answer not usable: %s", problem.format().splitlines()[0])
        content = load_content(self.config, check_bodies=False, cache=cache)
        index = []
        for b in content.bulletins:
            labels = " ".join(c.label for slug in b.categories if (c := self.config.category(slug)))
            index.append(_Indexed(b, frozenset(stems(b.title)), frozenset(stems(f"{b.summary} {labels}"))))
        answer_stems = [(a, frozenset(stems(f"{a.title} {' '.join(a.keywords)}"))) for a in answers]
        with self._lock:
            self.answers, self.problems, self._index, self._answer_stems = answers, problems, index, answer_stems
            self.loaded = True

    def answer(self, slug: str) -> Answer | None:
        return next((a for a in self.answers if a.slug == slug), None)

    def bulletins_for(self, question: str, now: datetime, limit: int = 5) -> list[Suggestion]:
        """Published bulletins whose title or summary shares words with the question, best first."""
        wanted = stems(question)
        if not wanted:
            return []
        scored = []
        for item in self._index:
            b = item.bulletin
            if not b.is_visible(now):
                continue
            score = 3 * len(wanted & item.title) + len(wanted & item.text)
            if score:
                scored.append((score, b.is_active(now), b.date, b))
        scored.sort(key=lambda s: (s[0], s[1], s[2]), reverse=True)
        return [
            Suggestion(b.title, b.summary, self.config.site_url + b.url_path, b.date, active)
            for _, active, _, b in scored[:limit]
        ]

    def answers_for(self, question: str, limit: int = 3) -> list[Answer]:
        wanted = stems(question)
        scored = sorted(((len(wanted & s), a) for a, s in self._answer_stems if wanted & s), key=lambda x: -x[0])
        return [a for _, a in scored[:limit]]
