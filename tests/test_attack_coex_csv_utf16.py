"""Attack: Excel's «Testo Unicode» export, what a hurried clerk picks to keep the accents: UTF-16 with its byte order
mark, tab-separated. Read as Windows-1252 it became text full of NULs and the import said the columns were missing.
"""

from __future__ import annotations

from contextlib import closing
from pathlib import Path

from site_tools.cli.subscribers import import_csv
from site_tools.store import Store

from .conftest import Town


def test_excels_unicode_text_export_is_imported(town: Town, sqlite_url: str, tmp_path: Path) -> None:
    csv = tmp_path / "lista.txt"
    csv.write_bytes("Cellulare\tData Consènso\r\n333 000 0501\t12/03/2024\r\n".encode("utf-16"))  # BOM included
    with closing(Store.open(sqlite_url)) as store:
        result = import_csv(store, town.config, csv)
        assert (result.added, result.rejected) == (1, [])
        sub = store.subscribers.get("393330000501")
        assert sub is not None and sub.status == "active"
