"""``site-tools subscribers import``: the lists towns actually have (Excel in Italy), landlines refused, a dry run."""

from __future__ import annotations

from contextlib import closing
from pathlib import Path

from click.testing import CliRunner, Result

from site_tools.cli.main import main
from site_tools.cli.subscribers import header_key
from site_tools.phones import whatsapp_refusal
from site_tools.store import Store, consent

from .conftest import Town

#: As Excel (Italian locale) saves «CSV UTF-8»: a BOM, «;», CRLF, capitals and accents in the headers.
EXCEL = (
    "\ufeffCellulare;Data Consènso;Note\r\n"
    "333 000 0101;12/03/2024;lista 1\r\n"
    "+39 333 000 0102;2024-03-13;lista 1\r\n"
    "0731 538111;2024-03-13;centralino\r\n"
    "800 123456;2024-03-13;numero verde\r\n"
    "12345;2024-03-14;\r\n"
    "3330000103;31/02/2024;\r\n"
    ";;\r\n"
)


def run(town: Town, db: str, *args: str) -> Result:
    return CliRunner().invoke(main, ["--config", str(town.root / "mkdocs.yml"), "subscribers", *args, "--db", db])


def test_headers_are_compared_without_case_accents_or_underscores() -> None:
    assert header_key("Data_Consènso ") == "data consenso"
    assert header_key("TELEFONO") == "telefono"
    assert header_key("data-del-consenso") == "data del consenso"


def test_the_number_type_decides_who_can_be_on_whatsapp() -> None:
    assert whatsapp_refusal("333 000 0101") is None  # MOBILE
    assert whatsapp_refusal("+1 212 555 0123") is None  # FIXED_LINE_OR_MOBILE (North America)
    assert whatsapp_refusal("0731 538111") == "numero fisso: non può ricevere WhatsApp"
    assert whatsapp_refusal("12345") == "numero non valido"
    assert "cellulare" in (whatsapp_refusal("800 123456") or "")


def test_an_excel_file_imports_its_mobiles_and_refuses_each_other_row_with_its_reason(
    town: Town, tmp_path: Path
) -> None:
    csv_file = tmp_path / "broadcast.csv"
    csv_file.write_bytes(EXCEL.encode("utf-8"))
    db = f"sqlite:///{tmp_path / 'store.db'}"
    result = run(town, db, "import", str(csv_file))
    assert result.exit_code == 1, result.output
    assert "Importati 2 nuovi iscritti; 0 erano già presenti." in result.stdout
    assert "rifiutate: 1 (numero fisso: non può ricevere WhatsApp)" in result.stdout
    assert "rifiutate: 1 (numero non valido)" in result.stdout
    assert "broadcast.csv:4: [Cellulare] «" in result.stderr and "numero fisso" in result.stderr
    assert "broadcast.csv:5: [Cellulare]" in result.stderr and "numero di cellulare" in result.stderr
    assert "broadcast.csv:6: [Cellulare]" in result.stderr
    assert "broadcast.csv:7: [Data Consènso] data del consenso non valida" in result.stderr
    assert "4 righe NON importate" in result.stderr  # the empty line Excel leaves at the end is no row
    for digits in ("538111", "123456", "12345", "0000101", "0000102"):
        assert digits not in result.output  # numbers only masked
    with closing(Store.open(db)) as store:
        assert store.subscribers.count_active() == 2
        sub = store.subscribers.get("393330000101")
        assert sub is not None and consent.basis(sub.consent_source) == consent.CSV_IMPORT
        assert store.subscribers.get("390731538111") is None


def test_a_comma_separated_file_with_plain_headers(town: Town, tmp_path: Path) -> None:
    csv_file = tmp_path / "lista.csv"
    csv_file.write_text('telefono,data\n"333 000 0104",2024-03-13\n', encoding="utf-8")
    result = run(town, f"sqlite:///{tmp_path / 'store.db'}", "import", str(csv_file))
    assert result.exit_code == 0, result.output
    assert "Importato 1 nuovo iscritto; 0 erano già presenti." in result.stdout


def test_a_number_excel_turned_into_a_figure_is_refused_with_how_to_save_it_again(town: Town, tmp_path: Path) -> None:
    csv_file = tmp_path / "lista.csv"
    csv_file.write_text("numero;data\n3,93333E+11;2024-03-13\n3330000106;2024-03-13\n", encoding="utf-8")
    result = run(town, f"sqlite:///{tmp_path / 'store.db'}", "import", str(csv_file))
    assert "Importato 1 nuovo iscritto" in result.stdout
    assert (
        "lista.csv:2: [numero] «3,93333E+11»: Excel ha trasformato il numero in notazione scientifica" in result.stderr
    )
    assert "formatta la colonna come Testo" in result.stderr


def test_missing_headers_are_named(town: Town, tmp_path: Path) -> None:
    csv_file = tmp_path / "lista.csv"
    csv_file.write_text("nome;cellulare\nMario;3330000105\n", encoding="utf-8")
    result = run(town, f"sqlite:///{tmp_path / 'store.db'}", "import", str(csv_file))
    assert result.exit_code == 1
    assert "manca la colonna della data del consenso" in result.stderr
    assert "intestazioni trovate: nome, cellulare" in result.stderr


def test_a_dry_run_counts_new_already_and_refused_and_writes_nothing(town: Town, tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'store.db'}"
    first = tmp_path / "prima.csv"
    first.write_text("numero;data consenso\n3330000101;2024-03-12\n", encoding="utf-8")
    assert run(town, db, "import", str(first)).exit_code == 0
    csv_file = tmp_path / "broadcast.csv"
    csv_file.write_bytes(EXCEL.encode("utf-8"))
    result = run(town, db, "import", str(csv_file), "--dry-run")
    assert "Prova (--dry-run): nulla è stato scritto." in result.stdout
    assert "Sarebbe importato 1 nuovo iscritto; 1 è già presente; 4 righe rifiutate." in result.stdout
    assert "rifiutate: 1 (numero fisso: non può ricevere WhatsApp)" in result.stdout
    assert "broadcast.csv:4:" in result.stderr
    with closing(Store.open(db)) as store:
        assert store.subscribers.count_active() == 1
        assert store.subscribers.get("393330000102") is None
