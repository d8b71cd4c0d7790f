"""A summary with no word in it (emoji, punctuation) has no Gulpease index: textstat gives 0 for it, and the
warning said «difficile da leggere: indice Gulpease 0 … scrivi frasi brevi», which is not what is wrong. The editor
is told the summary has no words, and what to write instead."""

from __future__ import annotations

from .command import site_tools
from .conftest import Town
from .test_readability import bulletin, with_threshold


def test_an_emoji_only_summary_is_warned_as_wordless_not_as_hard(town: Town) -> None:
    with_threshold(town, 40)
    bulletin(town, "festa", "🎉 🎄 🎉 🎄 🎉 🎄 🎉 🎄 🎉 🎄 🎉 !!!")
    ran = site_tools("validate", cwd=town.root)
    assert ran.returncode == 0, ran.stderr
    assert "Gulpease 0" not in ran.stderr
    assert "difficile da leggere" not in ran.stderr
    assert "content/notizie/2026/2026-11-20-festa.md:6: [summary] la sintesi non contiene parole" in ran.stderr
